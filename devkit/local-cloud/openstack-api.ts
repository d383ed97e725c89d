// The test side's one OpenStack REST client: checks what exists through the real APIs, as an
// operator would, independently of the program under test and of its provider plugin, and makes
// or removes what tests stand up by hand (servers, keypairs, images). Talks to the local cloud on
// 127.0.0.1 only.
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { pipeline } from "node:stream/promises";
import { cloudEnv } from "./cloud-env";

/** A server as Nova's API returns it (the fields the tests read). */
export interface NovaServer {
  id: string;
  name: string;
  status: string;
  metadata: Record<string, string>;
  key_name: string | null;
  addresses: Record<string, { addr: string }[]>;
  /** The image it booted (empty when it booted from a volume). */
  image?: { id: string } | "";
  "OS-EXT-SRV-ATTR:user_data"?: string;
}

export class OpenStackApi {
  private constructor(
    private readonly token: string,
    private readonly endpoints: Record<string, string>,
    /** The logged-in user's id. */
    readonly userId: string,
  ) {}

  /**
   * Logs in as the tenant user (to its project, or to `project`), or as the admin with
   * `admin: true`.
   */
  static async login(opts: { admin?: boolean; project?: string } = {}): Promise<OpenStackApi> {
    const env = cloudEnv();
    const [user, password, project] = opts.admin
      ? [
          env.RUNNER_FLEET_ADMIN_USERNAME,
          env.RUNNER_FLEET_ADMIN_PASSWORD,
          env.RUNNER_FLEET_ADMIN_PROJECT,
        ]
      : [env.OS_USERNAME, env.OS_PASSWORD, opts.project ?? env.OS_PROJECT_NAME];
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
    return new OpenStackApi(
      res.headers.get("x-subject-token") ?? "",
      endpoints,
      body.token.user.id,
    );
  }

  /** The public URL of a service of the catalog (`compute`, `network`, `image`). */
  endpoint(service: string): string {
    const url = this.endpoints[service];
    if (!url) throw new Error(`the catalog has no public ${service} endpoint`);
    return url;
  }

  /** Any call, JSON body optional; the caller reads the status. */
  request(method: string, service: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.endpoint(service)}${path}`, {
      method,
      headers: { "x-auth-token": this.token, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** A request; `body` is sent as JSON unless it is a Buffer. Throws unless 2xx. */
  async checked(
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
    const res = await fetch(`${this.endpoint(service)}${path}`, {
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
    const url = new URL(`${this.endpoint(service)}${path}`);
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
    const res = await this.checked(service, method, path, opts);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  async get<T>(service: string, path: string, microversion?: string): Promise<T> {
    const headers: Record<string, string> = { "x-auth-token": this.token };
    if (microversion) headers["openstack-api-version"] = `compute ${microversion}`;
    const res = await fetch(`${this.endpoints[service]}${path}`, { headers });
    if (!res.ok) throw new Error(`GET ${service}${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** Servers of the project (or of all projects for an admin with `allTenants`). */
  async servers(opts: { allTenants?: boolean } = {}): Promise<NovaServer[]> {
    const q = opts.allTenants ? "?all_tenants=1" : "";
    return (await this.get<{ servers: NovaServer[] }>("compute", `/servers/detail${q}`, "2.3"))
      .servers;
  }

  /**
   * Creates a server on the tenant network with the cloud's image and flavor, as a program
   * would (used to stand in for one a killed `up` left behind); returns its id once ACTIVE.
   */
  async createServer(spec: {
    name: string;
    keyName?: string;
    metadata: Record<string, string>;
  }): Promise<string> {
    const env = cloudEnv();
    const { flavors } = await this.get<{ flavors: { id: string; name: string }[] }>(
      "compute",
      "/flavors",
    );
    const flavor = flavors.find((f) => f.name === env.RUNNER_FLEET_FLAVOR);
    if (!flavor) throw new Error(`no flavor ${env.RUNNER_FLEET_FLAVOR}`);
    const res = await this.request("POST", "compute", "/servers", {
      server: {
        name: spec.name,
        imageRef: env.RUNNER_FLEET_IMAGE_ID,
        flavorRef: flavor.id,
        networks: [{ uuid: env.RUNNER_FLEET_NETWORK_ID }],
        ...(spec.keyName ? { key_name: spec.keyName } : {}),
        metadata: spec.metadata,
      },
    });
    if (res.status !== 202) throw new Error(`POST server: HTTP ${res.status} ${await res.text()}`);
    const { server } = (await res.json()) as { server: { id: string } };
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { server: got } = await this.get<{ server: { status: string } }>(
        "compute",
        `/servers/${server.id}`,
      );
      if (got.status === "ACTIVE") return server.id;
      if (got.status === "ERROR" || Date.now() > deadline) {
        throw new Error(`server ${spec.name} is ${got.status}, not ACTIVE`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Deletes a server, if there, and waits until Nova no longer has it. */
  async deleteServer(id: string): Promise<void> {
    const res = await this.request("DELETE", "compute", `/servers/${id}`);
    if (res.status !== 204 && res.status !== 404) {
      throw new Error(`DELETE server ${id}: HTTP ${res.status}`);
    }
    const deadline = Date.now() + 120_000;
    while ((await this.request("GET", "compute", `/servers/${id}`)).status !== 404) {
      if (Date.now() > deadline) throw new Error(`server ${id} is not deleted`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Creates a keypair (Nova makes the key). */
  async createKeypair(name: string): Promise<void> {
    const res = await this.request("POST", "compute", "/os-keypairs", { keypair: { name } });
    if (res.status !== 200 && res.status !== 201) {
      throw new Error(`POST keypair ${name}: HTTP ${res.status} ${await res.text()}`);
    }
  }

  async keypairs(): Promise<{ name: string }[]> {
    const body = await this.get<{ keypairs: { keypair: { name: string } }[] }>(
      "compute",
      "/os-keypairs",
    );
    return body.keypairs.map((k) => k.keypair);
  }

  async securityGroups(): Promise<{ id: string; name: string; security_group_rules: unknown[] }[]> {
    return (
      await this.get<{
        security_groups: { id: string; name: string; security_group_rules: unknown[] }[];
      }>("network", "/v2.0/security-groups")
    ).security_groups;
  }

  async images(): Promise<{ id: string; name: string; status: string; architecture?: string }[]> {
    return (
      await this.get<{ images: { id: string; name: string; status: string }[] }>(
        "image",
        "/v2/images",
      )
    ).images;
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
