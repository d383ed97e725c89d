// A fault-injecting HTTP proxy for tests: it sits in front of one upstream (Nova, or the GitHub
// double), logs every request with its time and answer, and applies the rules a test switched
// on: answer an error without forwarding, forward and then answer an error (the upstream acted,
// the client never learns it), hold the upstream's answer until released, or rewrite a JSON
// answer. Only Node built-ins; 127.0.0.1 only.
import * as http from "node:http";

/** One request the proxy saw. */
export interface ProxiedRequest {
  /** Epoch milliseconds when it arrived. */
  at: number;
  method: string;
  /** Path and query, as the client sent it. */
  path: string;
  /** The status the client got (0 if the client went away first). */
  status: number;
  /** The rule that changed the answer, if one did. */
  rule?: string;
  /** The body the client sent and the one it got (kept only when `keepBodies` says so). */
  requestBody?: string;
  body?: string;
}

/** What a rule does to a matching request. */
export type FaultAction =
  /** Answer `status` without forwarding: the upstream never sees the request. */
  | { kind: "fail"; status: number }
  /** Forward, drop the upstream's answer and answer `status`: the upstream acted, unknown to the client. */
  | { kind: "fail-after-forward"; status: number }
  /** Forward, then hold the upstream's answer until `release()` of the rule is called. */
  | { kind: "hold" }
  /** Forward, then rewrite the JSON answer (the status stays). */
  | { kind: "rewrite"; transform: (body: unknown, path: string) => unknown }
  /** Call `fn` (e.g. switch on a fault of the upstream), then forward. */
  | { kind: "call"; fn: () => void };

/** A rule: which requests (method and a path pattern), what to do, and how many times. */
export interface FaultRuleSpec {
  name: string;
  method: string;
  path: RegExp;
  action: FaultAction;
  /** How many matching requests it applies to; default: until removed. */
  count?: number;
}

/** A rule once added: how often it applied, and how to end it. */
export interface FaultRule {
  readonly spec: FaultRuleSpec;
  /** Requests it applied to so far. */
  hits: number;
  /** Upstream answers it holds now (for `hold`): the upstream acted, the client waits. */
  held: number;
  /** Resolves held answers (for `hold`): they go to the client now. */
  release(): void;
  /** Removes the rule; held answers are released. */
  remove(): void;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Every request so far, oldest first. */
  log: ProxiedRequest[];
  add(spec: FaultRuleSpec): FaultRule;
  /** Removes every rule, releasing held answers. */
  clear(): void;
  close(): Promise<void>;
}

interface LiveRule extends FaultRule {
  waiters: (() => void)[];
  released: boolean;
}

/** Headers that describe a body the proxy may re-encode, or the connection itself. */
const HOP_HEADERS = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "content-encoding",
]);

function readBody(stream: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

/** Sends one request upstream and returns its whole answer. */
function forward(
  upstream: URL,
  req: http.IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: upstream.host };
    delete headers["accept-encoding"]; // answers stay plain, so rewrites can read them
    const out = http.request(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (res) => {
        readBody(res).then(
          (b) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: b }),
          reject,
        );
      },
    );
    out.on("error", reject);
    out.end(body);
  });
}

function send(
  res: http.ServerResponse,
  status: number,
  headers: http.IncomingHttpHeaders,
  body: Buffer,
): void {
  const kept: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP_HEADERS.has(k)) kept[k] = v;
  kept["content-length"] = String(body.length);
  res.writeHead(status, kept).end(body);
}

/**
 * Starts a proxy on 127.0.0.1 in front of `target` (e.g. `http://127.0.0.1:8774`). Rules are
 * checked in the order they were added; the first match applies.
 */
export async function startFaultProxy(
  target: string,
  opts: { keepBodies?: (path: string) => boolean } = {},
): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: LiveRule[] = [];
  const log: ProxiedRequest[] = [];

  const match = (method: string, path: string): LiveRule | undefined =>
    rules.find(
      (r) =>
        r.spec.method === method &&
        r.spec.path.test(path) &&
        (r.spec.count === undefined || r.hits < r.spec.count),
    );

  const server = http.createServer((req, res) => {
    const entry: ProxiedRequest = {
      at: Date.now(),
      method: req.method ?? "GET",
      path: req.url ?? "/",
      status: 0,
    };
    log.push(entry);
    void (async () => {
      const body = await readBody(req);
      const rule = match(entry.method, entry.path);
      if (rule) {
        rule.hits++;
        entry.rule = rule.spec.name;
      }
      const action = rule?.spec.action;
      if (opts.keepBodies?.(entry.path)) entry.requestBody = body.toString("utf8");
      if (action?.kind === "call") action.fn();
      const answer = (status: number, headers: http.IncomingHttpHeaders, b: Buffer) => {
        entry.status = status;
        if (opts.keepBodies?.(entry.path)) entry.body = b.toString("utf8");
        send(res, status, headers, b);
      };
      const fault = (status: number) =>
        answer(
          status,
          { "content-type": "application/json" },
          Buffer.from(JSON.stringify({ computeFault: { code: status, message: "injected" } })),
        );
      if (action?.kind === "fail") return fault(action.status);
      const up = await forward(upstream, req, body);
      if (action?.kind === "fail-after-forward") return fault(action.status);
      if (action?.kind === "hold" && rule && !rule.released) {
        rule.held++;
        await new Promise<void>((resolve) => rule.waiters.push(resolve));
        rule.held--;
      }
      if (action?.kind === "rewrite" && up.body.length > 0) {
        const json = JSON.parse(up.body.toString("utf8")) as unknown;
        const rewritten = Buffer.from(JSON.stringify(action.transform(json, entry.path)));
        return answer(up.status, up.headers, rewritten);
      }
      answer(up.status, up.headers, up.body);
    })().catch((err: unknown) => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;

  const add = (spec: FaultRuleSpec): FaultRule => {
    const rule: LiveRule = {
      spec,
      hits: 0,
      held: 0,
      waiters: [],
      released: false,
      release() {
        rule.released = true;
        for (const w of rule.waiters.splice(0)) w();
      },
      remove() {
        rule.release();
        const i = rules.indexOf(rule);
        if (i >= 0) rules.splice(i, 1);
      },
    };
    rules.push(rule);
    return rule;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    add,
    clear() {
      for (const r of [...rules]) r.remove();
    },
    close() {
      for (const r of [...rules]) r.remove();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
