// The stack's configuration, typed and validated in one place. A bad value fails `pulumi preview`
// before any resource changes, with every problem named: key, value received, what is allowed.
import { ConfigReader, RawLookup } from "./config-reader";
import {
  labelsProblem,
  pathProblem,
  RegistrationMode,
} from "../dynamic-providers/github/registration-inputs";

/** One group of runners sharing a flavor, labels and a quantity. */
export interface PoolConfig {
  /** Pool name, part of runner names when the stack has `pools`. */
  name: string;
  flavor: string;
  labels: string[];
  quantity: number;
}

/** How the runner image is found or made. */
export type ImageConfig =
  | { kind: "existing"; ref: string }
  | {
      kind: "build";
      /** Glance name or id of the base (cloud) image the runner is baked into. */
      baseImage: string;
      /** GitHub runner version, `latest` or `2.x.y`. */
      runnerVersion: string;
      architecture: "x86_64" | "aarch64";
      /** Name of the built image in Glance. */
      name: string;
    };

export interface ProxyConfig {
  http?: string;
  https?: string;
  noProxy?: string;
  aproxyAddress?: string;
}

export interface SshDebugRelay {
  host: string;
  port: number;
  rsaFingerprint: string;
  ed25519Fingerprint: string;
}

/** The validated stack configuration (secrets are read separately, as Pulumi secrets). */
export interface FleetConfig {
  githubPath: string;
  githubApiUrl: string;
  registrationMode: RegistrationMode;
  runnerGroup: string;
  namePrefix: string;
  pools: PoolConfig[];
  /** True when the stack configured `pools`, so runner names carry the pool name. */
  namedPools: boolean;
  network: string;
  image: ImageConfig;
  sshSourceCidr: string;
  proxy?: ProxyConfig;
  dockerhubMirror?: string;
  sshDebugRelays: SshDebugRelay[];
  repoPolicyComplianceUrl?: string;
  authorCheck: boolean;
  preJobScript?: string;
  flushBusy: boolean;
  busyWaitSeconds: number;
  bootGraceSeconds: number;
  metrics: { enabled: boolean; logPath: string };
}

const NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const LABEL = {
  pattern: /^[^,\s]{1,256}$/,
  allowed: "must be 1 to 256 characters without commas or spaces",
};
const URL_ = /^https?:\/\/[^\s/?#]+(?:[/?#]\S*)?$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const HOST = /^[A-Za-z0-9.-]{1,253}$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;
/** GitHub runner names are at most 64 characters; a name is `prefix[-pool]-` + 12 hex digits. */
export const RUNNER_NAME_MAX = 64;
const SUFFIX_LENGTH = 13;

/** True for a valid IPv4 CIDR such as `10.0.0.0/8`. */
export function isIpv4Cidr(v: string): boolean {
  const m = CIDR.exec(v);
  return !!m && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}

/**
 * Reads and validates the whole configuration. Throws one error listing every problem.
 * `stack` provides the default name prefix.
 */
export function parseFleetConfig(lookup: RawLookup, stack: string): FleetConfig {
  const r = new ConfigReader(lookup);
  const githubPath = r.requiredString("githubPath", {
    allowed: "an organisation (`my-org`) or a repository (`owner/repo`)",
  });
  const pathIssue = githubPath ? pathProblem(githubPath) : undefined;
  if (pathIssue) r.problems.push(`\`githubPath\` ${pathIssue}`);
  const githubApiUrl = r.string("githubApiUrl", {
    pattern: URL_,
    allowed: "an http(s) URL such as https://api.github.com or https://ghes.example.com/api/v3",
    default: "https://api.github.com",
  }) as string;
  const registrationMode = r.string("registrationMode", {
    pattern: /^(jit|registration-token)$/,
    allowed: '"jit" or "registration-token" (GitHub Enterprise Server < 3.10)',
    default: "jit",
  }) as RegistrationMode;
  const runnerGroup = r.string("runnerGroup", { default: "Default" }) as string;
  if (runnerGroup !== "Default" && githubPath.includes("/")) {
    r.fail(
      "runnerGroup",
      "can only be set for an organisation; repository runners use Default",
      runnerGroup,
    );
  }
  const defaultPrefix = `rf-${stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`.replace(/-+$/, "");
  const namePrefix = r.string("namePrefix", {
    pattern: NAME,
    allowed: "lowercase letters, digits and '-', not starting or ending with '-'",
    default: defaultPrefix,
  }) as string;

  const pools = readPools(r);
  const namedPools = r.has("pools");
  for (const pool of pools) {
    const length = namePrefix.length + (namedPools ? pool.name.length + 1 : 0) + SUFFIX_LENGTH;
    if (length > RUNNER_NAME_MAX) {
      r.problems.push(
        `\`namePrefix\` and pool name make runner names of ${length} characters (${namePrefix}` +
          `${namedPools ? `-${pool.name}` : ""}-<12 hex>); GitHub allows at most ${RUNNER_NAME_MAX}`,
      );
    }
  }

  const config: FleetConfig = {
    githubPath,
    githubApiUrl,
    registrationMode,
    runnerGroup,
    namePrefix,
    pools,
    namedPools,
    network: r.requiredString("network", { allowed: "the name or id of an OpenStack network" }),
    image: readImage(r),
    sshSourceCidr: r.requiredString("sshSourceCidr", {
      allowed: "the IPv4 CIDR the manager connects from over SSH, e.g. 10.0.0.0/8",
    }),
    proxy: readProxy(r),
    dockerhubMirror: r.string("dockerhubMirror", { pattern: URL_, allowed: "an http(s) URL" }),
    sshDebugRelays: readRelays(r),
    repoPolicyComplianceUrl: r.string("repoPolicyComplianceUrl", {
      pattern: URL_,
      allowed: "an http(s) URL",
    }),
    authorCheck: r.boolean("authorCheck", false),
    preJobScript: r.string("preJobScript"),
    flushBusy: r.boolean("flushBusy", false),
    busyWaitSeconds: r.integer("busyWaitSeconds", 0, 86_400, 600),
    bootGraceSeconds: r.integer("bootGraceSeconds", 60, 86_400, 1380),
    metrics: {
      enabled: r.boolean("metricsEnabled", true),
      logPath: r.string("metricsLogPath", { default: "runner-fleet-metrics.log" }) as string,
    },
  };
  if (config.sshSourceCidr && !isIpv4Cidr(config.sshSourceCidr)) {
    r.fail("sshSourceCidr", "must be an IPv4 CIDR such as 10.0.0.0/8", config.sshSourceCidr);
  }
  if (config.repoPolicyComplianceUrl && !lookup("repoPolicyComplianceToken")) {
    r.problems.push(
      "`repoPolicyComplianceToken` is required with `repoPolicyComplianceUrl`: set it with " +
        "pulumi config set --secret repoPolicyComplianceToken",
    );
  }
  if (r.problems.length > 0) {
    throw new Error(
      `invalid runner-fleet configuration:\n${r.problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return config;
}

function readPools(r: ConfigReader): PoolConfig[] {
  if (!r.has("pools")) {
    return [
      {
        name: "default",
        flavor: r.requiredString("flavor", { allowed: "the name of an OpenStack flavor" }),
        labels: readLabels(r),
        quantity: r.integer("quantity", 0, 1000, 1),
      },
    ];
  }
  for (const key of ["quantity", "flavor", "labels"]) {
    if (r.has(key))
      r.fail(key, "cannot be set together with `pools` (set it per pool)", r.raw(key));
  }
  const raw = r.raw("pools");
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 20) {
    r.fail("pools", "must be a list of 1 to 20 pools {name, flavor, labels, quantity}", raw);
    return [];
  }
  const pools: PoolConfig[] = [];
  raw.forEach((p: Record<string, unknown>, i: number) => {
    const key = `pools[${i}]`;
    if (typeof p !== "object" || p === null || Array.isArray(p)) {
      return r.fail(key, "must be an object {name, flavor, labels, quantity}", p);
    }
    rejectUnknownKeys(r, key, p, ["name", "flavor", "labels", "quantity"]);
    if (typeof p.name !== "string" || !NAME.test(p.name) || p.name.length > 20) {
      r.fail(`${key}.name`, "must be 1 to 20 lowercase letters, digits or '-'", p.name);
    }
    if (typeof p.flavor !== "string" || p.flavor === "") {
      r.fail(`${key}.flavor`, "must be the name of an OpenStack flavor", p.flavor);
    }
    const quantity = p.quantity ?? 1;
    if (!Number.isInteger(quantity) || (quantity as number) < 0 || (quantity as number) > 1000) {
      r.fail(`${key}.quantity`, "must be an integer from 0 to 1000", p.quantity);
    }
    const labels = p.labels ?? [];
    const labelIssue = labelsProblem(labels);
    if (labelIssue) r.problems.push(`\`${key}.labels\` ${labelIssue}`);
    pools.push({
      name: String(p.name),
      flavor: String(p.flavor),
      labels: Array.isArray(labels) ? (labels as string[]) : [],
      quantity: Number(quantity),
    });
  });
  const names = pools.map((p) => p.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) r.fail("pools", "must have unique names", dup);
  return pools;
}

/**
 * The labels of the single pool: each label valid and, like a pool's labels, at most 100 in all on
 * GitHub with the default ones.
 */
function readLabels(r: ConfigReader): string[] {
  const labels = r.stringList("labels", LABEL);
  const countIssue = labelsProblem(labels.filter((l) => LABEL.pattern.test(l)));
  if (countIssue) r.problems.push(`\`labels\` ${countIssue}`);
  return labels;
}

/** Records keys of an object value that `allowed` does not list, so a typo is not ignored. */
function rejectUnknownKeys(
  r: ConfigReader,
  key: string,
  value: Record<string, unknown>,
  allowed: string[],
): void {
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    const list = `${allowed.slice(0, -1).join(", ")} and ${allowed[allowed.length - 1]}`;
    r.fail(key, `only allows ${list}`, unknown);
  }
}

/** An object value with only the `fields` listed, or undefined when unset or not an object. */
function readObject(
  r: ConfigReader,
  key: string,
  fields: string[],
): Record<string, unknown> | undefined {
  const v = r.raw(key);
  if (v === undefined) return undefined;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    r.fail(key, `must be an object {${fields.join(", ")}}`, v);
    return undefined;
  }
  rejectUnknownKeys(r, key, v as Record<string, unknown>, fields);
  return v as Record<string, unknown>;
}

function readImage(r: ConfigReader): ImageConfig {
  const build = readObject(r, "imageBuild", ["baseImage", "runnerVersion", "architecture", "name"]);
  const existing = r.string("image");
  if (build && existing) {
    r.fail("image", "cannot be set together with `imageBuild` (pick one)", existing);
  }
  if (!build) {
    if (!existing)
      r.problems.push("`image` is required: the name or id of a Glance image, or set `imageBuild`");
    return { kind: "existing", ref: existing ?? "" };
  }
  const baseImage = build.baseImage;
  if (typeof baseImage !== "string" || baseImage === "") {
    r.fail("imageBuild.baseImage", "must be the name or id of a Glance image", baseImage);
  }
  const runnerVersion = build.runnerVersion ?? "latest";
  if (typeof runnerVersion !== "string" || !/^(latest|\d+\.\d+\.\d+)$/.test(runnerVersion)) {
    r.fail(
      "imageBuild.runnerVersion",
      'must be "latest" or a version such as 2.321.0',
      runnerVersion,
    );
  }
  const architecture = build.architecture ?? "x86_64";
  if (architecture !== "x86_64" && architecture !== "aarch64") {
    r.fail("imageBuild.architecture", 'must be "x86_64" or "aarch64"', architecture);
  }
  const name = build.name ?? "runner-fleet-image";
  if (typeof name !== "string" || !/^[A-Za-z0-9._-]{1,255}$/.test(name)) {
    r.fail("imageBuild.name", "must be 1 to 255 letters, digits, '.', '_' or '-'", name);
  }
  return {
    kind: "build",
    baseImage: String(baseImage),
    runnerVersion: String(runnerVersion),
    architecture: architecture as "x86_64" | "aarch64",
    name: String(name),
  };
}

function readProxy(r: ConfigReader): ProxyConfig | undefined {
  const proxy = readObject(r, "proxy", ["http", "https", "noProxy", "aproxyAddress"]);
  if (!proxy) return undefined;
  const out: ProxyConfig = {};
  for (const key of ["http", "https"] as const) {
    const v = proxy[key];
    if (v === undefined) continue;
    if (typeof v !== "string" || !URL_.test(v)) r.fail(`proxy.${key}`, "must be an http(s) URL", v);
    else out[key] = v;
  }
  if (proxy.noProxy !== undefined) {
    if (typeof proxy.noProxy !== "string" || /\s/.test(proxy.noProxy)) {
      r.fail("proxy.noProxy", "must be a comma-separated list without spaces", proxy.noProxy);
    } else out.noProxy = proxy.noProxy;
  }
  if (proxy.aproxyAddress !== undefined) {
    const v = proxy.aproxyAddress;
    const port = typeof v === "string" ? /^[A-Za-z0-9.-]+:(\d{1,5})$/.exec(v)?.[1] : undefined;
    if (port === undefined || Number(port) < 1 || Number(port) > 65535) {
      r.fail("proxy.aproxyAddress", "must be host:port of the upstream proxy, port 1 to 65535", v);
    } else out.aproxyAddress = v as string;
  }
  return out;
}

function readRelays(r: ConfigReader): SshDebugRelay[] {
  const raw = r.raw("sshDebugRelays");
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    r.fail(
      "sshDebugRelays",
      "must be a list of {host, port, rsaFingerprint, ed25519Fingerprint}",
      raw,
    );
    return [];
  }
  return raw.map((x: Record<string, unknown>, i: number) => {
    const key = `sshDebugRelays[${i}]`;
    if (typeof x === "object" && x !== null && !Array.isArray(x)) {
      rejectUnknownKeys(r, key, x, ["host", "port", "rsaFingerprint", "ed25519Fingerprint"]);
    }
    if (typeof x?.host !== "string" || !HOST.test(x.host))
      r.fail(`${key}.host`, "must be a host name", x?.host);
    if (!Number.isInteger(x?.port) || (x.port as number) < 1 || (x.port as number) > 65535) {
      r.fail(`${key}.port`, "must be a port from 1 to 65535", x?.port);
    }
    for (const f of ["rsaFingerprint", "ed25519Fingerprint"]) {
      if (typeof x?.[f] !== "string" || !FINGERPRINT.test(x[f] as string)) {
        r.fail(`${key}.${f}`, "must be an OpenSSH SHA256 fingerprint (SHA256:...)", x?.[f]);
      }
    }
    return {
      host: String(x?.host),
      port: Number(x?.port),
      rsaFingerprint: String(x?.rsaFingerprint),
      ed25519Fingerprint: String(x?.ed25519Fingerprint),
    };
  });
}
