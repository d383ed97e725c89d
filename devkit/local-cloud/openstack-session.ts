// A Keystone session for what devkit/local-cloud/openstack-api.ts does not do: requests other than
// JSON GETs (creating servers, keypairs and images as the tenant; deleting them) and binary
// downloads (Glance image data as the admin). Talks to the local cloud on 127.0.0.1 only.
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { pipeline } from "node:stream/promises";
import { cloudEnv } from "./cloud-env";

export class OpenStackSession {
  private constructor(
    readonly token: string,
    private readonly endpoints: Record<string, string>,
    /** The logged-in user's id. */
    readonly userId: string,
  ) {}

  /** Logs in as the tenant user (OS_* of cloud.env), or as the admin with `admin: true`. */
  static async login(opts: { admin?: boolean } = {}): Promise<OpenStackSession> {
    const env = cloudEnv();
    const [user, password, project] = opts.admin
      ? [
          env.RUNNER_FLEET_ADMIN_USERNAME,
          env.RUNNER_FLEET_ADMIN_PASSWORD,
          env.RUNNER_FLEET_ADMIN_PROJECT,
        ]
      : [env.OS_USERNAME, env.OS_PASSWORD, env.OS_PROJECT_NAME];
    const res = await fetch(`${env.OS_AUTH_URL}/auth/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ["password"],
            password: { user: { name: user, domain: { name: "Default" }, password } },
          },
          scope: { project: { name: project, domain: { name: "Default" } } },
        },
      }),
    });
    if (res.status !== 201) throw new Error(`keystone login as ${user}: HTTP ${res.status}`);
    const body = (await res.json()) as {
      token: {
        user: { id: string };
        catalog: { type: string; endpoints: { interface: string; url: string }[] }[];
      };
    };
    const endpoints: Record<string, string> = {};
    for (const service of body.token.catalog) {
      const pub = service.endpoints.find((e) => e.interface === "public");
      if (pub) endpoints[service.type] = pub.url.replace(/\/$/, "");
    }
    return new OpenStackSession(
      res.headers.get("x-subject-token") ?? "",
      endpoints,
      body.token.user.id,
    );
  }

  url(service: string, path: string): string {
    const base = this.endpoints[service];
    if (!base) throw new Error(`no ${service} endpoint in the service catalog`);
    return `${base}${path}`;
  }

  /** A request; `body` is sent as JSON unless it is a Buffer. Throws unless 2xx. */
  async request(
    service: string,
    method: string,
    path: string,
    opts: {
      body?: unknown;
      microversion?: string;
      headers?: Record<string, string>;
      timeoutMs?: number;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { "x-auth-token": this.token, ...opts.headers };
    if (opts.microversion) headers["openstack-api-version"] = `compute ${opts.microversion}`;
    let body: RequestInit["body"];
    if (Buffer.isBuffer(opts.body)) {
      body = new Uint8Array(opts.body);
      headers["content-type"] ??= "application/octet-stream";
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(this.url(service, path), {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
    });
    if (!res.ok) {
      throw new OpenStackError(
        res.status,
        `${method} ${service}${path}: HTTP ${res.status} ${await res.text()}`,
      );
    }
    return res;
  }

  /**
   * Streams a GET's body into a file. node:http rather than fetch: undici can trip over its own
   * assertion when a server closes the connection while a large body is paused by backpressure.
   */
  async download(service: string, path: string, file: string, timeoutMs = 600_000): Promise<void> {
    const url = new URL(this.url(service, path));
    const get = url.protocol === "https:" ? https.get : http.get;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = get(
        url,
        { headers: { "x-auth-token": this.token }, timeout: timeoutMs },
        resolve,
      );
      req.on("timeout", () => req.destroy(new Error(`GET ${service}${path}: timed out`)));
      req.on("error", reject);
    });
    if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) {
      res.resume();
      throw new OpenStackError(
        res.statusCode ?? 0,
        `GET ${service}${path}: HTTP ${res.statusCode}`,
      );
    }
    await pipeline(res, fs.createWriteStream(file));
  }

  async json<T>(
    service: string,
    method: string,
    path: string,
    opts: { body?: unknown; microversion?: string } = {},
  ): Promise<T> {
    const res = await this.request(service, method, path, opts);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }
}

/** A non-2xx answer of an OpenStack API. */
export class OpenStackError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
