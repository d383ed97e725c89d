// A small OpenStack REST session for what the OpenStack provider cannot do: list the servers
// Nova has (the provider reads a server only by id), read the quota. It logs in with the
// credentials the provider itself would use from the environment: `OS_*` variables, or
// `OS_CLOUD` and a clouds.yaml, with their TLS settings (`OS_CACERT`, `OS_INSECURE`; clouds.yaml
// `cacert`, `verify`), so a cloud behind a private CA works here as it does for the provider.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { load as loadYaml } from "js-yaml";
import { Agent, fetch } from "undici";

export interface OpenStackCredentials {
  authUrl: string;
  identity:
    | {
        kind: "password";
        user: { id?: string; name?: string; domain: { id?: string; name?: string } };
        password: string;
        project: { id?: string; name?: string; domain: { id?: string; name?: string } };
      }
    | { kind: "application-credential"; id: string; secret: string };
  region?: string;
  /** The catalog interface: public (default), internal or admin. */
  endpointInterface: string;
  /** TLS: the CA bundle file to trust (`OS_CACERT`), and whether to skip verification. */
  tls: { caFile?: string; insecure: boolean };
}

/** clouds.yaml's `auth` block and the keys the session reads beside it. */
interface CloudEntry {
  auth?: Record<string, string | undefined>;
  region_name?: string;
  interface?: string;
  auth_type?: string;
  cacert?: string;
  verify?: boolean;
}

/** Where python-openstackclient and the provider look for clouds.yaml, in order. */
function cloudsYamlPaths(env: NodeJS.ProcessEnv): string[] {
  if (env.OS_CLIENT_CONFIG_FILE) return [env.OS_CLIENT_CONFIG_FILE];
  return [
    path.resolve("clouds.yaml"),
    path.join(os.homedir(), ".config", "openstack", "clouds.yaml"),
    "/etc/openstack/clouds.yaml",
  ];
}

/** The `OS_*` variables a clouds.yaml entry stands for. */
function cloudEntryAsEnv(entry: CloudEntry): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(entry.auth ?? {})) {
    if (value !== undefined) env[`OS_${key.toUpperCase()}`] = String(value);
  }
  if (entry.region_name) env.OS_REGION_NAME = entry.region_name;
  if (entry.interface) env.OS_INTERFACE = entry.interface;
  if (entry.auth_type) env.OS_AUTH_TYPE = entry.auth_type;
  if (entry.cacert) env.OS_CACERT = entry.cacert;
  if (entry.verify === false) env.OS_INSECURE = "true";
  return env;
}

/**
 * The credentials from the environment, or why there are none. `OS_CLOUD` selects a clouds.yaml
 * entry, which `OS_*` variables override, as with the OpenStack CLI.
 */
export function openStackCredentials(
  env: NodeJS.ProcessEnv,
  readFile: (file: string) => string | undefined = (file) =>
    fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined,
): OpenStackCredentials | { missing: string } {
  let vars: NodeJS.ProcessEnv = env;
  if (env.OS_CLOUD) {
    const files = cloudsYamlPaths(env);
    const text = files.map(readFile).find((t) => t !== undefined);
    if (text === undefined) return { missing: `OS_CLOUD is set but no ${files.join(", ")}` };
    const clouds = (loadYaml(text) as { clouds?: Record<string, CloudEntry> } | null)?.clouds;
    const entry = clouds?.[env.OS_CLOUD];
    if (!entry) return { missing: `clouds.yaml has no cloud named ${env.OS_CLOUD}` };
    vars = { ...cloudEntryAsEnv(entry), ...env };
  }
  const authUrl = vars.OS_AUTH_URL?.replace(/\/+$/, "");
  if (!authUrl) return { missing: "neither OS_AUTH_URL nor OS_CLOUD is set" };
  const common = {
    authUrl: /\/v3$/.test(authUrl) ? authUrl : `${authUrl}/v3`,
    region: vars.OS_REGION_NAME,
    endpointInterface: (vars.OS_INTERFACE ?? "public").replace(/URL$/, ""),
    tls: {
      caFile: vars.OS_CACERT || undefined,
      insecure: /^(true|1|yes)$/i.test(vars.OS_INSECURE ?? ""),
    },
  };
  if (vars.OS_APPLICATION_CREDENTIAL_ID && vars.OS_APPLICATION_CREDENTIAL_SECRET) {
    return {
      ...common,
      identity: {
        kind: "application-credential",
        id: vars.OS_APPLICATION_CREDENTIAL_ID,
        secret: vars.OS_APPLICATION_CREDENTIAL_SECRET,
      },
    };
  }
  const userName = vars.OS_USERNAME ?? vars.OS_USER_NAME;
  if (!vars.OS_PASSWORD || !(userName || vars.OS_USER_ID)) {
    return { missing: "no OS_PASSWORD with OS_USERNAME, nor an application credential" };
  }
  const domain = (id?: string, name?: string) =>
    id || name
      ? { id, name }
      : {
          id: vars.OS_DOMAIN_ID,
          name: vars.OS_DOMAIN_NAME ?? (vars.OS_DOMAIN_ID ? undefined : "Default"),
        };
  return {
    ...common,
    identity: {
      kind: "password",
      user: {
        id: vars.OS_USER_ID,
        name: userName,
        domain: domain(vars.OS_USER_DOMAIN_ID, vars.OS_USER_DOMAIN_NAME),
      },
      password: vars.OS_PASSWORD,
      project: {
        id: vars.OS_PROJECT_ID ?? vars.OS_TENANT_ID,
        name: vars.OS_PROJECT_NAME ?? vars.OS_TENANT_NAME,
        domain: domain(vars.OS_PROJECT_DOMAIN_ID, vars.OS_PROJECT_DOMAIN_NAME),
      },
    },
  };
}

/** Keystone's v3 request body for the credentials (ids win over names, as in Keystone). */
function authBody(identity: OpenStackCredentials["identity"]): unknown {
  if (identity.kind === "application-credential") {
    return {
      auth: {
        identity: {
          methods: ["application_credential"],
          application_credential: { id: identity.id, secret: identity.secret },
        },
      },
    };
  }
  const ref = (o: { id?: string; name?: string; domain: { id?: string; name?: string } }) =>
    o.id
      ? { id: o.id }
      : { name: o.name, domain: o.domain.id ? { id: o.domain.id } : { name: o.domain.name } };
  return {
    auth: {
      identity: {
        methods: ["password"],
        password: { user: { ...ref(identity.user), password: identity.password } },
      },
      scope: { project: ref(identity.project) },
    },
  };
}

interface CatalogEntry {
  type: string;
  endpoints: { interface: string; region?: string; region_id?: string; url: string }[];
}

/** An OpenStack API's answer other than the one expected, with its HTTP status. */
export class OpenStackHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** One connection pool per TLS setting, so a private CA is read once per process. */
const agents = new Map<string, Agent>();

function agentFor(tls: OpenStackCredentials["tls"]): Agent {
  const key = JSON.stringify(tls);
  let agent = agents.get(key);
  if (!agent) {
    const ca = tls.caFile ? fs.readFileSync(tls.caFile, "utf8") : undefined;
    agent = new Agent({ connect: { ca, rejectUnauthorized: !tls.insecure } });
    agents.set(key, agent);
  }
  return agent;
}

/** A Keystone token and the catalog's endpoints; requests carry the token, never log it. */
export class OpenStackSession {
  private constructor(
    private readonly token: string,
    private readonly catalog: CatalogEntry[],
    private readonly credentials: OpenStackCredentials,
    /** The project the token is scoped to (Neutron's quota URLs name it). */
    readonly projectId: string | undefined,
  ) {}

  static async login(credentials: OpenStackCredentials): Promise<OpenStackSession> {
    const res = await fetch(`${credentials.authUrl}/auth/tokens`, {
      dispatcher: agentFor(credentials.tls),
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(authBody(credentials.identity)),
      signal: AbortSignal.timeout(60_000),
    });
    if (res.status !== 201) {
      throw new OpenStackHttpError(
        `Keystone login at ${credentials.authUrl}: HTTP ${res.status}`,
        res.status,
      );
    }
    const body = (await res.json()) as {
      token: { catalog?: CatalogEntry[]; project?: { id: string } };
    };
    const token = res.headers.get("x-subject-token");
    if (!token) throw new Error(`Keystone login at ${credentials.authUrl}: no token in the answer`);
    return new OpenStackSession(
      token,
      body.token.catalog ?? [],
      credentials,
      body.token.project?.id,
    );
  }

  /** The URL of a service of the catalog, for the credentials' interface and region. */
  endpoint(service: string): string {
    const { endpointInterface, region } = this.credentials;
    const found = this.catalog
      .find((s) => s.type === service)
      ?.endpoints.find(
        (e) =>
          e.interface === endpointInterface &&
          (!region || e.region === region || e.region_id === region),
      );
    if (!found) {
      throw new Error(
        `the catalog has no ${endpointInterface} ${service} endpoint` +
          (region ? ` in region ${region}` : ""),
      );
    }
    return found.url.replace(/\/+$/, "");
  }

  /** A request to a service; `path` may also be a full URL (a `next` link). */
  request(method: string, service: string, pathOrUrl: string): ReturnType<typeof fetch> {
    const url = /^https?:/.test(pathOrUrl) ? pathOrUrl : `${this.endpoint(service)}${pathOrUrl}`;
    return fetch(url, {
      dispatcher: agentFor(this.credentials.tls),
      method,
      headers: { "x-auth-token": this.token, accept: "application/json" },
      signal: AbortSignal.timeout(60_000),
    });
  }
}
