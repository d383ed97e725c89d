// The fault suite's audit: after a fault and the converging `up`, nothing may be left over on
// either side and no secret may be readable in the state file or in any captured log.
//
// Leftovers are judged as an operator would, from the real APIs: fleet servers (Nova metadata
// `runner-fleet` = prefix) without a GitHub runner, fleet keypairs without a server, GitHub
// runners without a server. Secrets are searched as the raw value and as the pieces that survive
// re-encoding (JSON escaping, line wrapping): each line of a key, the secret inside a JIT config.
import type { GitHubDouble } from "../../devkit/github-double";
import { decodeJitConfig } from "../../devkit/github-double";
import type { NovaServer, OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import { FLEET_METADATA_KEY } from "../../rules/server-metadata";

/** A secret to look for, with a label that names it without showing it. */
export interface Secret {
  label: string;
  value: string;
}

export interface LeftoverReport {
  servers: NovaServer[];
  /** Fleet servers with no GitHub runner of their name. */
  orphanedServers: string[];
  /** Fleet keypairs with no server of their name. */
  keypairsWithoutServer: string[];
  /** GitHub runners with the fleet's prefix and no server of their name. */
  runnersWithoutServer: string[];
}

/** What is left of the fleet on both sides, and what does not match up. */
export async function leftovers(
  api: OpenStackApi,
  gh: GitHubDouble,
  prefix: string,
): Promise<LeftoverReport> {
  const servers = (await api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix);
  const keypairs = (await api.keypairs()).filter((k) => k.name.startsWith(`${prefix}-`));
  const runners = gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`));
  const serverNames = new Set(servers.map((s) => s.name));
  const runnerNames = new Set(runners.map((r) => r.name));
  return {
    servers,
    orphanedServers: servers.filter((s) => !runnerNames.has(s.name)).map((s) => s.name),
    keypairsWithoutServer: keypairs.filter((k) => !serverNames.has(k.name)).map((k) => k.name),
    runnersWithoutServer: runners.filter((r) => !serverNames.has(r.name)).map((r) => r.name),
  };
}

/**
 * The strings whose presence means a secret leaked: the value, its JSON-escaped form, every
 * line of a multi-line value (a PEM or OpenSSH key survives line re-wrapping only line by line),
 * and for a JIT config the agent secret inside it. Lines shorter than 16 characters (armour,
 * padding) are not distinctive and are skipped.
 */
export function needlesOf(secret: Secret): string[] {
  const v = secret.value;
  const needles = new Set<string>([v, JSON.stringify(v).slice(1, -1)]);
  for (const line of v.split("\n")) {
    const t = line.trim();
    if (t.length >= 16 && !t.startsWith("-----")) needles.add(t);
  }
  if (/^[A-Za-z0-9+/]+=*$/.test(v) && v.length > 40) {
    try {
      const inner = decodeJitConfig(v).secret;
      if (typeof inner === "string" && inner.length >= 16) needles.add(inner);
    } catch {
      // not a JIT config of the double
    }
  }
  return [...needles].filter((n) => n.length >= 16);
}

/** Where each secret appears in `texts` (name → text): `label in name`, never the value. */
export function secretLeaks(secrets: Secret[], texts: Record<string, string>): string[] {
  const leaks: string[] = [];
  for (const secret of secrets) {
    for (const [name, text] of Object.entries(texts)) {
      if (needlesOf(secret).some((n) => text.includes(n))) leaks.push(`${secret.label} in ${name}`);
    }
  }
  return leaks;
}

/**
 * A value of a deployment exported with `--show-secrets`, secrets unwrapped: they appear as
 * `{"4dabf18193072939515e22adb298388d": <sig>, "plaintext": "<JSON of the value>"}`.
 */
export function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (typeof o.plaintext === "string" && "4dabf18193072939515e22adb298388d" in o) {
      return unwrapSecrets(JSON.parse(o.plaintext));
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

/** Every secret value in a deployment exported with `--show-secrets`: keys and registrations. */
export function secretsOfDeployment(deployment: unknown): Secret[] {
  const out: Secret[] = [];
  const resources =
    (deployment as { deployment?: { resources?: unknown[] } }).deployment?.resources ?? [];
  for (const r of resources as { urn: string; outputs?: Record<string, unknown> }[]) {
    const o = (unwrapSecrets(r.outputs) ?? {}) as Record<string, unknown>;
    const name = r.urn.split("::").pop() ?? r.urn;
    // A registration holds the runner's JIT config (or token) and its two private SSH keys; a
    // runner deployed before lean runners holds them in its keypair and host key (`privateKey`).
    const keys = [
      "privateKey",
      "encodedJitConfig",
      "registrationToken",
      "hostPrivateKey",
      "clientPrivateKey",
    ];
    for (const key of keys) {
      const v = o[key];
      if (typeof v === "string" && v.length >= 16)
        out.push({ label: `${key} of ${name}`, value: v });
    }
    // A guard holds the runner's private key inside its metrics settings.
    const metrics = o.metrics as { privateKey?: unknown } | undefined;
    if (typeof metrics?.privateKey === "string") {
      out.push({ label: `metrics.privateKey of ${name}`, value: metrics.privateKey });
    }
  }
  return out;
}
