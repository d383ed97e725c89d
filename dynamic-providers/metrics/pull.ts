// Runner metrics: before a runner's server is deleted, its metrics files are pulled over SSH and
// turned into JSON-lines events (see events.ts) appended to a log file.
//
// Nothing here throws for SSH or file problems: a refused, timed-out or unauthenticated
// connection, a host key other than the pinned one, a file over the size limit or a corrupt file
// is a warning, so the delete path always goes on. Files are sized before they are read (and read
// with a bound), corrupt ones are renamed to `<file>.quarantined` on the host. Messages never
// contain the private key.
//
// npm packages and node built-ins are loaded inside functions: the program that declares teardowns
// never loads ssh2, only the dynamic provider process that pulls metrics does.
import type { Client, ConnectConfig } from "ssh2";
import { parseOpenSshPublicKey } from "../ssh/keys";
import { MAX_METRICS_FILE_BYTES, METRICS_DIR, METRICS_FILES } from "../../rules/metrics-exchange";
import { shellQuote } from "../../rules/shell";
import { appendMetricsEvents } from "./log";
import {
  buildRunnerEvents,
  parsePostJob,
  parsePreJob,
  parseTimestamp,
  ParseResult,
  PostJobMetrics,
  PreJobMetrics,
  RunnerEvent,
} from "./events";

/** Where and how to pull one runner's metrics. */
export interface MetricsTarget {
  /** Address of the runner's server. */
  host: string;
  /** @default 22 */
  port?: number;
  /** @default "ubuntu" */
  username?: string;
  /** OpenSSH or PEM private key of the runner's keypair (unencrypted). */
  privateKey: string;
  /**
   * The server's host key as an OpenSSH public key line (`ssh-ed25519 AAAA... comment`). When
   * given, any other host key is refused and nothing is read.
   */
  hostPublicKey?: string;
  /** @default METRICS_DIR (rules/metrics-exchange.ts) */
  metricsDir?: string;
  /** The fleet's pool (flavor) name, put in every event. */
  flavor: string;
  /** Epoch seconds when the runner's installation started (the server's creation time). */
  installStartTs: number;
  /** JSON-lines file the events are appended to (parent directories are created). */
  logPath: string;
  /** Budget for connecting and reading, in milliseconds. @default 10000 */
  timeoutMs?: number;
  /** Seconds the job was queued on GitHub, if known (runner_start's queue_duration). */
  queueDuration?: number;
  /** GitHub's conclusion of the job, if known (runner_stop's job_conclusion). */
  jobConclusion?: string;
}

/** What a metrics pull produced. */
export interface MetricsPullResult {
  /** The events, as appended to the log file. */
  events: RunnerEvent[];
  /** Everything that went wrong, one sentence each; the caller logs them. */
  warnings: string[];
}

/** Server host key algorithms that present a host key of `type`. */
function hostKeyAlgorithms(type: string): string[] {
  return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}

/** The ssh2 module (CommonJS: its exports are the default export under `import()`). */
export async function loadSsh2(): Promise<typeof import("ssh2")> {
  const mod = await import("ssh2");
  return (mod as unknown as { default?: typeof import("ssh2") }).default ?? mod;
}

/** Output of one remote command. */
interface CommandResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Most output accepted from one remote command; more means something is off. */
const MAX_COMMAND_OUTPUT = 16_384;

/** Runs `command` on an open connection, collecting at most MAX_COMMAND_OUTPUT bytes. */
function runCommand(client: Client, command: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(err);
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let size = 0;
      let code: number | null = null;
      let overflow = false;
      const take = (into: Buffer[]) => (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_COMMAND_OUTPUT) {
          if (!overflow) {
            overflow = true;
            stream.close();
          }
          return;
        }
        into.push(chunk);
      };
      stream.on("data", take(out));
      stream.stderr.on("data", take(errOut));
      stream.on("exit", (c: number | null) => {
        code = c;
      });
      stream.on("close", () => {
        if (overflow) {
          reject(new Error(`more than ${MAX_COMMAND_OUTPUT} bytes of output`));
          return;
        }
        resolve({
          code,
          stdout: Buffer.concat(out),
          stderr: Buffer.concat(errOut).toString("utf8").trim().slice(0, 200),
        });
      });
    });
  });
}

/**
 * The remote script that sizes each file and prints it (base64) if it is small enough, one line
 * per file: `rf-metrics <index> missing|notfile|unreadable|error|size <bytes> [<base64>]`. One command for all
 * files keeps the pull to one round trip; `head -c` bounds the read should a file grow meanwhile.
 */
function readScript(paths: readonly string[]): string {
  const max = MAX_METRICS_FILE_BYTES;
  return paths
    .map(
      (path, i) =>
        `f=${shellQuote(path)}; ` +
        `if [ ! -e "$f" ] && [ ! -L "$f" ]; then echo 'rf-metrics ${i} missing'; ` +
        `elif [ ! -f "$f" ]; then echo 'rf-metrics ${i} notfile'; ` +
        `elif [ ! -r "$f" ]; then echo 'rf-metrics ${i} unreadable'; ` +
        `elif ! s=$(stat -L -c %s -- "$f"); then echo 'rf-metrics ${i} error'; ` +
        `elif [ "$s" -gt ${max} ]; then echo "rf-metrics ${i} size $s"; ` +
        `else echo "rf-metrics ${i} size $s $(head -c ${max} -- "$f" | base64 | tr -d '\\n')"; fi`,
    )
    .join("\n");
}

/** One metrics file as read from the host. */
type FileRead =
  { kind: "missing" } | { kind: "text"; text: string } | { kind: "skipped"; warning: string };

/** Sizes and reads the metrics files (those over the limit are not read), in one command. */
async function readMetricsFiles(
  client: Client,
  paths: readonly string[],
  where: string,
): Promise<FileRead[]> {
  const res = await runCommand(client, readScript(paths));
  const lines = new Map<number, string[]>();
  for (const line of res.stdout.toString("latin1").split("\n")) {
    // Marked lines only: a chatty login shell may print its own.
    const [marker, index, ...rest] = line.split(" ");
    if (marker === "rf-metrics" && /^\d+$/.test(index ?? "")) lines.set(Number(index), rest);
  }
  const detail = res.stderr || `exit status ${res.code ?? "none"}`;
  return paths.map((path, i): FileRead => {
    const [status, sizeText, b64] = lines.get(i) ?? [];
    const failed = (why: string): FileRead => ({
      kind: "skipped",
      warning: `reading ${path} on ${where} failed: ${why}`,
    });
    switch (status) {
      case "missing":
        return { kind: "missing" };
      case "notfile":
        return { kind: "skipped", warning: `${path} on ${where} is not a regular file; not read` };
      case "unreadable":
        return failed("permission denied");
      case "size":
        break;
      case undefined:
        return failed(res.code === 0 ? "no output" : detail);
      default:
        return failed(detail);
    }
    const size = /^\d+$/.test(sizeText ?? "") ? Number(sizeText) : NaN;
    if (Number.isNaN(size)) return failed("unexpected output");
    if (size > MAX_METRICS_FILE_BYTES) {
      return {
        kind: "skipped",
        warning:
          `${path} on ${where} is ${size} bytes, over the ${MAX_METRICS_FILE_BYTES}-byte limit; ` +
          "not read",
      };
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64 ?? "")) return failed("unexpected output");
    const body = Buffer.from(b64 ?? "", "base64");
    // The content comes through base64 on the host: none for a non-empty file means it failed.
    if (body.length === 0 && size > 0) return failed(res.code === 0 ? "no content" : detail);
    return { kind: "text", text: body.toString("utf8") };
  });
}

/** Renames a corrupt file to `<file>.quarantined`; returns the warning that says so. */
async function quarantine(
  client: Client,
  path: string,
  where: string,
  reason: string,
): Promise<string> {
  const what = `${path} on ${where} is corrupt (${reason})`;
  try {
    const q = shellQuote(path);
    const res = await runCommand(client, `mv -f -- ${q} ${shellQuote(`${path}.quarantined`)}`);
    if (res.code === 0) return `${what}; quarantined as ${path}.quarantined`;
    return `${what}; skipped, and it could not be quarantined: ${res.stderr || `exit status ${res.code ?? "none"}`}`;
  } catch (err) {
    return `${what}; skipped, and it could not be quarantined: ${messageOf(err)}`;
  }
}

/** An error's message, for warnings. */
function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why a connection attempt failed, as a warning. */
function connectWarning(
  err: unknown,
  where: string,
  username: string,
  hostKeyMismatch: boolean,
  host: string,
): string {
  if (hostKeyMismatch) return `host key of ${host} does not match the pinned key; nothing was read`;
  const e = err as { level?: string; code?: string } | undefined;
  const message = messageOf(err);
  if (e?.level === "client-authentication") {
    return `SSH authentication as ${username} to ${where} failed (${message})`;
  }
  if (e?.level === "client-timeout") return `SSH to ${where} timed out (${message})`;
  if (e?.code) return `cannot connect to ${where}: ${e.code} (${message})`;
  return `SSH to ${where} failed: ${message}`;
}

/** The parsed metrics files (absent when missing, refused or corrupt). */
interface ParsedMetrics {
  installedTs?: number;
  preJob?: PreJobMetrics;
  postJob?: PostJobMetrics;
}

/** State shared by a pull and its timeout. */
interface PullSession {
  client?: Client;
  /** Set on timeout: the pull stops, and whatever it finds later is ignored. */
  closed: boolean;
  /** What the pull is doing, for the timeout warning. */
  stage: string;
  /** Files parsed so far. */
  parsed: ParsedMetrics;
}

/**
 * Connects, reads the three files, quarantines corrupt ones, and parses them into
 * `session.parsed`, pushing warnings as it goes.
 */
async function pullFiles(
  target: MetricsTarget,
  budgetMs: number,
  session: PullSession,
  warnings: string[],
): Promise<void> {
  const port = target.port ?? 22;
  const username = target.username ?? "ubuntu";
  const where = `${target.host}:${port}`;
  const dir = (target.metricsDir ?? METRICS_DIR).replace(/\/+$/, "") || "/";
  const ssh2 = await loadSsh2();

  const key = ssh2.utils.parseKey(target.privateKey);
  const parsedKey = Array.isArray(key) ? key[0] : key;
  if (parsedKey instanceof Error || !parsedKey || parsedKey.getPrivatePEM() === null) {
    const why = parsedKey instanceof Error ? parsedKey.message : "no private key in it";
    warnings.push(`the private key for ${where} cannot be used (${why}); nothing was read`);
    return;
  }

  const config: ConnectConfig = {
    host: target.host,
    port,
    username,
    privateKey: target.privateKey,
    readyTimeout: Math.max(budgetMs, 1),
    // Only the key given: never an agent or keys from the environment.
    authHandler: ["publickey"],
  };
  let hostKeyMismatch = false;
  if (target.hostPublicKey !== undefined) {
    const pinned = parseOpenSshPublicKey(target.hostPublicKey);
    if ("error" in pinned) {
      warnings.push(
        `the pinned host key for ${where} is unusable (${pinned.error}); not connecting`,
      );
      return;
    }
    config.algorithms = {
      serverHostKey: hostKeyAlgorithms(pinned.type) as NonNullable<
        ConnectConfig["algorithms"]
      >["serverHostKey"],
    };
    config.hostVerifier = (blob: Buffer) => {
      const ok = blob.equals(pinned.blob);
      if (!ok) hostKeyMismatch = true;
      return ok;
    };
  }

  const client = new ssh2.Client();
  session.client = client;
  session.stage = "connecting";
  try {
    await new Promise<void>((resolve, reject) => {
      client.once("ready", () => resolve());
      client.on("error", (err) => reject(err));
      client.once("close", () => reject(new Error("connection closed before authentication")));
      try {
        client.connect(config);
      } catch (err) {
        reject(err);
      }
    });
  } catch (err) {
    client.end();
    if (!session.closed) {
      warnings.push(connectWarning(err, where, username, hostKeyMismatch, target.host));
    }
    return;
  }

  const parsed = session.parsed;
  const files = [
    ["installed", METRICS_FILES.installed, parseTimestamp],
    ["preJob", METRICS_FILES.preJob, parsePreJob],
    ["postJob", METRICS_FILES.postJob, parsePostJob],
  ] as const;
  const paths = files.map(([, name]) => `${dir === "/" ? "" : dir}/${name}`);
  try {
    session.stage = "reading the metrics files";
    let reads: FileRead[];
    try {
      reads = await readMetricsFiles(client, paths, where);
    } catch (err) {
      if (!session.closed)
        warnings.push(`reading metrics files on ${where} failed: ${messageOf(err)}`);
      return;
    }
    for (const [i, [slot, name, parse]] of files.entries()) {
      if (session.closed) return;
      const read = reads[i];
      if (read.kind === "skipped") warnings.push(read.warning);
      if (read.kind !== "text") continue;
      const result: ParseResult<unknown> = parse(read.text);
      if (result.ok) {
        if (slot === "installed") parsed.installedTs = result.value as number;
        else if (slot === "preJob") parsed.preJob = result.value as PreJobMetrics;
        else parsed.postJob = result.value as PostJobMetrics;
      } else {
        session.stage = `quarantining ${name}`;
        const warning = await quarantine(client, paths[i], where, result.reason);
        if (!session.closed) warnings.push(warning);
      }
    }
  } finally {
    client.end();
  }
}

/**
 * Pulls one runner's metrics over SSH and appends their events to `target.logPath`. Never throws
 * for SSH, file or log problems: they come back as warnings. Events are built from what could be
 * read within the budget (`timeoutMs`).
 */
export async function extractRunnerMetrics(target: MetricsTarget): Promise<MetricsPullResult> {
  const warnings: string[] = [];
  const where = `${target.host}:${target.port ?? 22}`;
  const budgetMs = target.timeoutMs ?? 10_000;
  const session: PullSession = { closed: false, stage: "starting", parsed: {} };
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Files parsed before a timeout still count: pullFiles fills session.parsed as it goes.
  const work = pullFiles(target, budgetMs, session, warnings).then(
    () => ({ kind: "done" as const }),
    (err: unknown) => ({ kind: "failed" as const, err }),
  );
  const timeout = new Promise<{ kind: "timeout" }>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "timeout" }), budgetMs);
  });
  const outcome = await Promise.race([work, timeout]);
  clearTimeout(timer);
  if (outcome.kind === "timeout") {
    session.closed = true;
    session.client?.destroy();
    warnings.push(`metrics pull from ${where} timed out after ${budgetMs}ms (${session.stage})`);
  } else if (outcome.kind === "failed") {
    warnings.push(`metrics pull from ${where} failed: ${messageOf(outcome.err)}`);
  }
  const parsed = { ...session.parsed };
  const events = buildRunnerEvents({
    flavor: target.flavor,
    installStartTs: target.installStartTs,
    installedTs: parsed.installedTs,
    preJob: parsed.preJob,
    postJob: parsed.postJob,
    queueDuration: target.queueDuration,
    jobConclusion: target.jobConclusion,
  });
  if (events.length > 0) {
    try {
      await appendMetricsEvents(target.logPath, events);
    } catch (err) {
      warnings.push(`appending metrics events to ${target.logPath} failed: ${messageOf(err)}`);
    }
  }
  return { events, warnings: [...warnings] };
}
