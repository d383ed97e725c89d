// The stack's configuration, typed and validated in one place. A bad value fails `pulumi preview`
// before any resource changes, with every problem named: key, value received, what is allowed.
import type { ProxySettings as ProxyConfig, SshDebugRelay } from "../cloud-init/options";
import { ConfigReader, RawLookup } from "./config-reader";
import {
  commaList,
  hasUrlCredentials,
  hostName,
  hostPort,
  httpUrl,
  ipv4Cidr,
  port,
  sshFingerprint,
} from "../rules/formats";
import {
  isRepositoryPath,
  label,
  labelsProblem,
  pathProblem,
  RegistrationMode,
  registrationMode,
  RUNNER_NAME_MAX,
  runnerName,
} from "../rules/github";
import { describedAs, integerRule, patternRule } from "../rules/rule";
import { fleetRunnerNameLength } from "../rules/runner-names";
import { userDataSizeProblem } from "./userdata-settings";
import type { PoolSizing } from "../fleet/demand";
import {
  bootGraceSeconds,
  busyWaitSeconds,
  parseRolloutSurge,
  RolloutSurge,
  rolloutSurgeRule,
  rolloutWaitSeconds,
  settingDefaults,
} from "../rules/settings";

/** One group of runners sharing a flavor, labels and how it is sized. */
export interface PoolConfig {
  /** Pool name, part of runner names when the stack has `pools`. */
  name: string;
  flavor: string;
  labels: string[];
  /** A fixed `quantity`, or `minIdle` and `maxRunners` for a pool sized by the job queue. */
  sizing: PoolSizing;
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

/** The config's proxy and relays are what the userdata takes (cloud-init/options.ts). */
export type { ProxySettings as ProxyConfig, SshDebugRelay } from "../cloud-init/options";

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
  /** A ceiling on the runners of all pools together (demand-sized pools are cut first from the last). */
  fleetMaxRunners?: number;
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
  /**
   * Runners whose server may go although GitHub cannot confirm their release (a credential that
   * lost access). Read by the providers at the delete; validated here.
   */
  forceRelease: string[];
  busyWaitSeconds: number;
  bootGraceSeconds: number;
  /** How many runners of each pool one `up` replaces with new ones (fleet/rollout.ts). */
  rolloutSurge: RolloutSurge;
  /** How long an `up` waits for a replacement to come online before it keeps the old runner. */
  rolloutWaitSeconds: number;
  metrics: { enabled: boolean; logPath: string };
}

/** A name prefix or pool name: part of runner names and hostnames, so lowercase. */
const namePart = patternRule(
  /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/,
  "lowercase letters, digits and '-', not starting or ending with '-'",
);
/** A pool name is at most this long, so names stay readable and within RUNNER_NAME_MAX. */
const POOL_NAME_MAX = 20;
const quantity = integerRule(0, 1000);

/**
 * Reads and validates the whole configuration. Throws one error listing every problem.
 * `stack` provides the default name prefix.
 */
export function parseFleetConfig(lookup: RawLookup, stack: string): FleetConfig {
  const r = new ConfigReader(lookup);
  const githubPath = r.requiredString(
    "githubPath",
    "an organisation (`my-org`) or a repository (`owner/repo`)",
  );
  const pathIssue = githubPath ? pathProblem(githubPath) : undefined;
  if (pathIssue) r.problems.push(`\`githubPath\` ${pathIssue}`);
  const githubApiUrl = r.string("githubApiUrl", {
    rule: describedAs(
      httpUrl,
      "an http(s) URL such as https://api.github.com or https://ghes.example.com/api/v3",
    ),
    default: settingDefaults.githubApiUrl,
  }) as string;
  const mode = r.string("registrationMode", {
    rule: registrationMode,
    default: settingDefaults.registrationMode,
  }) as RegistrationMode;
  const runnerGroup = r.string("runnerGroup", { default: settingDefaults.runnerGroup }) as string;
  if (runnerGroup !== settingDefaults.runnerGroup && isRepositoryPath(githubPath)) {
    r.fail(
      "runnerGroup",
      "can only be set for an organisation; repository runners use Default",
      runnerGroup,
    );
  }
  const defaultPrefix = `rf-${stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`.replace(/-+$/, "");
  const namePrefix = r.string("namePrefix", { rule: namePart, default: defaultPrefix }) as string;

  const pools = readPools(r);
  const namedPools = r.has("pools");
  for (const pool of pools) {
    const length = fleetRunnerNameLength(namePrefix, namedPools ? pool.name : undefined);
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
    registrationMode: mode,
    runnerGroup,
    namePrefix,
    pools,
    namedPools,
    ...(r.has("fleetMaxRunners")
      ? { fleetMaxRunners: r.integer("fleetMaxRunners", quantity, 0) }
      : {}),
    network: r.requiredString("network", "the name or id of an OpenStack network"),
    image: readImage(r),
    sshSourceCidr: r.requiredString(
      "sshSourceCidr",
      "the IPv4 CIDR the manager connects from over SSH, e.g. 10.0.0.0/8",
    ),
    proxy: readProxy(r),
    dockerhubMirror: r.string("dockerhubMirror", { rule: httpUrl }),
    sshDebugRelays: readRelays(r),
    repoPolicyComplianceUrl: r.string("repoPolicyComplianceUrl", { rule: httpUrl }),
    authorCheck: r.boolean("authorCheck", false),
    preJobScript: r.string("preJobScript"),
    flushBusy: r.boolean("flushBusy", settingDefaults.flushBusy),
    forceRelease: r.stringList("forceRelease", runnerName),
    busyWaitSeconds: r.integer("busyWaitSeconds", busyWaitSeconds, settingDefaults.busyWaitSeconds),
    bootGraceSeconds: r.integer(
      "bootGraceSeconds",
      bootGraceSeconds,
      settingDefaults.bootGraceSeconds,
    ),
    rolloutSurge: parseRolloutSurge(
      r.string("rolloutSurge", { rule: rolloutSurgeRule, default: settingDefaults.rolloutSurge }),
    ) ?? { percent: 25 },
    rolloutWaitSeconds: r.integer(
      "rolloutWaitSeconds",
      rolloutWaitSeconds,
      settingDefaults.rolloutWaitSeconds,
    ),
    metrics: {
      enabled: r.boolean("metricsEnabled", true),
      logPath: r.string("metricsLogPath", { default: "runner-fleet-metrics.log" }) as string,
    },
  };
  if (config.sshSourceCidr) r.check("sshSourceCidr", ipv4Cidr, config.sshSourceCidr);
  // A replacement still offline past the boot grace counts as dead anyway: waiting longer is moot.
  if (r.has("rolloutWaitSeconds") && config.rolloutWaitSeconds > config.bootGraceSeconds) {
    r.fail(
      "rolloutWaitSeconds",
      `must be at most bootGraceSeconds (${config.bootGraceSeconds})`,
      r.raw("rolloutWaitSeconds"),
    );
  }
  if (config.repoPolicyComplianceUrl && !lookup("repoPolicyComplianceToken")) {
    r.problems.push(
      "`repoPolicyComplianceToken` is required with `repoPolicyComplianceUrl`: set it with " +
        "pulumi config set --secret repoPolicyComplianceToken",
    );
  }
  rejectUrlCredentials(r, {
    githubApiUrl: config.githubApiUrl,
    "proxy.http": config.proxy?.http,
    "proxy.https": config.proxy?.https,
    dockerhubMirror: config.dockerhubMirror,
    repoPolicyComplianceUrl: config.repoPolicyComplianceUrl,
  });
  // Only a config valid so far can be rendered; its size is the last check.
  const sizeProblem = r.problems.length === 0 ? userDataSizeProblem(config) : undefined;
  if (sizeProblem) r.problems.push(sizeProblem);
  if (r.problems.length > 0) {
    throw new Error(
      `invalid runner-fleet configuration:\n${r.problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return config;
}

/**
 * URL settings are plain config, written into the state and every runner's userdata: a user or
 * password in one would be readable there (and by every job). The value is shown without them.
 */
function rejectUrlCredentials(r: ConfigReader, urls: Record<string, string | undefined>): void {
  for (const [key, url] of Object.entries(urls)) {
    if (url === undefined || !hasUrlCredentials(url)) continue;
    r.fail(
      key,
      "must not hold a user or password: it would be stored in plain config and state, and " +
        "readable by every job",
      url.replace(/^(https?:\/\/)[^\s/?#]*@/, "$1***@"),
    );
  }
}

/** Settings that are valid but deserve a second look; `preview` shows them. */
export function fleetConfigWarnings(config: FleetConfig): string[] {
  const warnings: string[] = [];
  if (config.sshSourceCidr === "0.0.0.0/0") {
    warnings.push(
      "`sshSourceCidr` is 0.0.0.0/0: every runner's SSH port is open to any address; set the " +
        "CIDR the metrics pull connects from",
    );
  }
  return warnings;
}

/** What a pool object may hold. */
const POOL_KEYS = ["name", "flavor", "labels", "quantity", "minIdle", "maxRunners"];
const POOL_SHAPE = "{name, flavor, labels, and quantity or minIdle and maxRunners}";

/**
 * How a pool is sized, from its `quantity` or its `minIdle` and `maxRunners` (`key` prefixes the
 * settings' names in problems: "" for the single pool, `pools[i].` for one of `pools`).
 */
function readSizing(
  r: ConfigReader,
  key: string,
  values: { quantity?: unknown; minIdle?: unknown; maxRunners?: unknown },
): PoolSizing {
  const integer = (name: string, v: unknown, fallback: number) => {
    if (v === undefined) return fallback;
    const n = typeof v === "string" && /^\d+$/.test(v.trim()) && key === "" ? Number(v) : v;
    if (!quantity.test(n)) {
      r.fail(`${key}${name}`, `must be ${quantity.allowed}`, v);
      return fallback;
    }
    return n as number;
  };
  const byDemand = values.minIdle !== undefined || values.maxRunners !== undefined;
  if (!byDemand) return { quantity: integer("quantity", values.quantity, 1) };
  if (values.quantity !== undefined) {
    r.fail(
      `${key}quantity`,
      "cannot be set together with `minIdle` and `maxRunners` (a pool is sized either way)",
      values.quantity,
    );
  }
  if (values.maxRunners === undefined) {
    r.problems.push(`\`${key}maxRunners\` is required with \`${key}minIdle\`: the pool's ceiling`);
  }
  const minIdle = integer("minIdle", values.minIdle, 0);
  const maxRunners = integer("maxRunners", values.maxRunners, minIdle);
  if (minIdle > maxRunners) {
    r.fail(`${key}minIdle`, `must be at most maxRunners (${maxRunners})`, values.minIdle);
  }
  return { minIdle, maxRunners };
}

function readPools(r: ConfigReader): PoolConfig[] {
  if (!r.has("pools")) {
    const lookup = (k: string) => r.text(k);
    return [
      {
        name: "default",
        flavor: r.requiredString("flavor", "the name of an OpenStack flavor"),
        labels: readLabels(r),
        sizing: readSizing(r, "", {
          quantity: lookup("quantity"),
          minIdle: lookup("minIdle"),
          maxRunners: lookup("maxRunners"),
        }),
      },
    ];
  }
  for (const key of ["quantity", "minIdle", "maxRunners", "flavor", "labels"]) {
    if (r.has(key))
      r.fail(key, "cannot be set together with `pools` (set it per pool)", r.raw(key));
  }
  const raw = r.raw("pools");
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 20) {
    r.fail("pools", `must be a list of 1 to 20 pools ${POOL_SHAPE}`, raw);
    return [];
  }
  const pools: PoolConfig[] = [];
  raw.forEach((p: Record<string, unknown>, i: number) => {
    const key = `pools[${i}]`;
    if (typeof p !== "object" || p === null || Array.isArray(p)) {
      return r.fail(key, `must be an object ${POOL_SHAPE}`, p);
    }
    rejectUnknownKeys(r, key, p, POOL_KEYS);
    if (!namePart.test(p.name) || (p.name as string).length > POOL_NAME_MAX) {
      r.fail(
        `${key}.name`,
        `must be 1 to ${POOL_NAME_MAX} lowercase letters, digits or '-'`,
        p.name,
      );
    }
    if (typeof p.flavor !== "string" || p.flavor === "") {
      r.fail(`${key}.flavor`, "must be the name of an OpenStack flavor", p.flavor);
    }
    const labels = p.labels ?? [];
    const labelIssue = labelsProblem(labels);
    if (labelIssue) r.problems.push(`\`${key}.labels\` ${labelIssue}`);
    pools.push({
      name: String(p.name),
      flavor: String(p.flavor),
      labels: Array.isArray(labels) ? (labels as string[]) : [],
      sizing: readSizing(r, `${key}.`, p),
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
  const labels = r.stringList("labels", label);
  const countIssue = labelsProblem(labels.filter((l) => label.test(l)));
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
    if (r.check(`proxy.${key}`, httpUrl, v)) out[key] = v as string;
  }
  if (proxy.noProxy !== undefined && r.check("proxy.noProxy", commaList, proxy.noProxy)) {
    out.noProxy = proxy.noProxy as string;
  }
  const aproxy = proxy.aproxyAddress;
  if (aproxy !== undefined && r.check("proxy.aproxyAddress", hostPort, aproxy)) {
    out.aproxyAddress = aproxy as string;
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
    r.check(`${key}.host`, hostName, x?.host);
    r.check(`${key}.port`, port, x?.port);
    for (const f of ["rsaFingerprint", "ed25519Fingerprint"]) {
      r.check(`${key}.${f}`, sshFingerprint, x?.[f]);
    }
    return {
      host: String(x?.host),
      port: Number(x?.port),
      rsaFingerprint: String(x?.rsaFingerprint),
      ed25519Fingerprint: String(x?.ed25519Fingerprint),
    };
  });
}
