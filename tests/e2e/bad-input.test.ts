// Bad stack configs, each one change from a valid baseline: `parseFleetConfig` rejects every one
// with problems that name the key, show the value received and say what is allowed, and on the
// real engine `pulumi preview` fails with the same problems before anything happens: no resource
// in the state, no server, keypair, security group or image in OpenStack, no runner (and not a
// single request) on the GitHub double. No secret of the stack appears in any message.
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { parseFleetConfig } from "../../config/fleet-config";
import { fleetProgram } from "../../program";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { cloudEnv, tenantOsEnv } from "../../devkit/local-cloud/cloud-env";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import { createTestStack, TestStack } from "../../devkit/pulumi/test-stack";
import { FLEET_METADATA_KEY } from "../../rules/server-metadata";

/** Stack config by key without the `runner-fleet:` namespace, as `pulumi config get` shows it. */
type StackConfig = Record<string, string>;

/** One bad config: a change of the baseline and the problems it must be rejected with. */
interface Row {
  what: string;
  /** Keys set over the baseline; `undefined` removes the key. */
  change: Record<string, string | undefined>;
  /** Every problem reported, in order, each matched against its whole line. */
  problems: RegExp[];
}

const prefix = `rf-bad-${Date.now().toString(36)}`;
const sentinel = crypto.randomBytes(8).toString("hex");
const secrets: StackConfig = {
  githubToken: `ghp_SENTINEL${sentinel}`,
  githubAppPrivateKey: `SENTINEL-app-key-${sentinel}`,
  repoPolicyComplianceToken: `SENTINEL-policy-${sentinel}`,
};

/** The names the baseline takes from the environment; rows never depend on them. */
interface Context {
  githubApiUrl: string;
  flavor: string;
  network: string;
  image: string;
}

/** A valid stack: a repository's fleet of two runners, with every secret set. */
function baseline(ctx: Context): StackConfig {
  return {
    githubPath: "acme/widgets",
    githubApiUrl: ctx.githubApiUrl,
    ...secrets,
    namePrefix: prefix,
    flavor: ctx.flavor,
    network: ctx.network,
    image: ctx.image,
    sshSourceCidr: "10.42.0.0/24",
    labels: '["e2e"]',
    quantity: "2",
    metricsEnabled: "false",
  };
}

function withChange(base: StackConfig, change: Row["change"]): StackConfig {
  const out = { ...base };
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out;
}

/** A regex matching exactly this problem line. */
const line = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);

const POOL = { name: "small", flavor: "m1.small", labels: ["gpu"], quantity: 2 };
/** `pools` instead of the baseline's `quantity`, `flavor` and `labels`. */
const pools = (list: unknown[]) => ({
  pools: JSON.stringify(list),
  quantity: undefined,
  flavor: undefined,
  labels: undefined,
});
const imageBuild = (build: unknown) => ({ image: undefined, imageBuild: JSON.stringify(build) });
const RELAY = {
  host: "tmate.example",
  port: 10022,
  rsaFingerprint: `SHA256:${"a".repeat(43)}`,
  ed25519Fingerprint: `SHA256:${"b".repeat(43)}`,
};
const relay = (fields: Record<string, unknown>) => ({
  sshDebugRelays: JSON.stringify([{ ...RELAY, ...fields }]),
});

const PATH_ALLOWED = "must be an organisation (`my-org`) or a repository (`owner/repo`)";
const API_URL_ALLOWED =
  "must be an http(s) URL such as https://api.github.com or https://ghes.example.com/api/v3";
const QUANTITY_ALLOWED = "must be an integer from 0 to 1000";
const LABEL_ALLOWED = "must be 1 to 256 characters without commas or spaces";
const CIDR_ALLOWED =
  "must be an IPv4 network such as 10.0.0.0/8 (its first address, no leading zeros)";
const CREDENTIALS_REFUSED =
  "must not hold a user or password: it would be stored in plain config and state, and readable by every job";
const PREFIX_ALLOWED = "must be lowercase letters, digits and '-', not starting or ending with '-'";
const POOL_SHAPE = "{name, flavor, labels, and quantity or minIdle and maxRunners}";
const POOLS_ALLOWED = `must be a list of 1 to 20 pools ${POOL_SHAPE}`;
const POOL_NAME_ALLOWED = "must be 1 to 20 lowercase letters, digits or '-'";
const IMAGE_REQUIRED = "`image` is required: the name or id of a Glance image, or set `imageBuild`";
const APROXY_ALLOWED = "must be host:port of the upstream proxy, port 1 to 65535";
const FINGERPRINT_ALLOWED = "must be an OpenSSH SHA256 fingerprint (SHA256:...)";
const longPrefix = `${prefix}-${"a".repeat(51 - prefix.length)}`;
const poolPrefix = `${prefix}-${"b".repeat(34 - prefix.length)}`;
const manyLabels = Array.from({ length: 99 }, (_, i) => `label-${i}`);
const longLabel = "l".repeat(257);
const longImageName = `${prefix}-${"i".repeat(254 - prefix.length)}`;

const rows: Row[] = [
  // Required keys.
  {
    what: "githubPath missing",
    change: { githubPath: undefined },
    problems: [
      line("`githubPath` is required: an organisation (`my-org`) or a repository (`owner/repo`)"),
    ],
  },
  {
    what: "network missing",
    change: { network: undefined },
    problems: [line("`network` is required: the name or id of an OpenStack network")],
  },
  {
    what: "image missing, without imageBuild",
    change: { image: undefined },
    problems: [line(IMAGE_REQUIRED)],
  },
  {
    what: "flavor missing, without pools",
    change: { flavor: undefined },
    problems: [line("`flavor` is required: the name of an OpenStack flavor")],
  },
  {
    what: "sshSourceCidr missing",
    change: { sshSourceCidr: undefined },
    problems: [
      line(
        "`sshSourceCidr` is required: the IPv4 CIDR the manager connects from over SSH, e.g. 10.0.0.0/8",
      ),
    ],
  },
  // GitHub paths, URLs and registration.
  {
    what: "githubPath with three parts",
    change: { githubPath: "acme/widgets/extra" },
    problems: [line(`\`githubPath\` ${PATH_ALLOWED}, got "acme/widgets/extra"`)],
  },
  {
    what: "githubPath: an organisation name of 40 characters (GitHub allows 39)",
    change: { githubPath: "o".repeat(40) },
    problems: [line(`\`githubPath\` ${PATH_ALLOWED}, got "${"o".repeat(40)}"`)],
  },
  {
    what: "githubPath: a repository named ..",
    change: { githubPath: "acme/.." },
    problems: [line(`\`githubPath\` ${PATH_ALLOWED}, got "acme/.."`)],
  },
  {
    what: "githubApiUrl without a scheme",
    change: { githubApiUrl: "api.github.com" },
    problems: [line(`\`githubApiUrl\` ${API_URL_ALLOWED}, got "api.github.com"`)],
  },
  {
    what: "githubApiUrl with an ftp scheme",
    change: { githubApiUrl: "ftp://ghes.example.com/api/v3" },
    problems: [line(`\`githubApiUrl\` ${API_URL_ALLOWED}, got "ftp://ghes.example.com/api/v3"`)],
  },
  {
    what: "registrationMode not a mode",
    change: { registrationMode: "pat" },
    problems: [
      line(
        '`registrationMode` must be "jit" or "registration-token" (GitHub Enterprise Server < 3.10), got "pat"',
      ),
    ],
  },
  {
    what: "runnerGroup on a repository",
    change: { runnerGroup: "ci" },
    problems: [
      line(
        '`runnerGroup` can only be set for an organisation; repository runners use Default, got "ci"',
      ),
    ],
  },
  // Numbers and booleans.
  {
    what: "quantity an empty string",
    change: { quantity: "" },
    problems: [line(`\`quantity\` ${QUANTITY_ALLOWED}, got ""`)],
  },
  {
    what: "githubApiUrl with a user and password",
    change: { githubApiUrl: "https://bot:hunter2@ghes.example.com/api/v3" },
    problems: [
      line(`\`githubApiUrl\` ${CREDENTIALS_REFUSED}, got "https://***@ghes.example.com/api/v3"`),
    ],
  },
  {
    what: "proxy.https with credentials",
    change: { proxy: '{"https":"http://user:pw@proxy.example:3128"}' },
    problems: [line(`\`proxy.https\` ${CREDENTIALS_REFUSED}, got "http://***@proxy.example:3128"`)],
  },
  {
    what: "dockerhubMirror with a token as user",
    change: { dockerhubMirror: "https://tok@mirror.example" },
    problems: [
      line(`\`dockerhubMirror\` ${CREDENTIALS_REFUSED}, got "https://***@mirror.example"`),
    ],
  },
  {
    what: "a 70 KB preJobScript, too long for the userdata",
    change: { preJobScript: `# ${"x".repeat(70_000)}\necho ok` },
    problems: [
      /^`preJobScript` \(70010 bytes\) make the runners' userdata \d+ characters in base64, with room for a JIT config of \d+; OpenStack allows at most 65535: shorten it by at least \d+ bytes$/,
    ],
  },
  {
    what: "quantity negative",
    change: { quantity: "-1" },
    problems: [line(`\`quantity\` ${QUANTITY_ALLOWED}, got "-1"`)],
  },
  {
    what: "quantity 1001",
    change: { quantity: "1001" },
    problems: [line(`\`quantity\` ${QUANTITY_ALLOWED}, got "1001"`)],
  },
  {
    what: "quantity not an integer",
    change: { quantity: "2.5" },
    problems: [line(`\`quantity\` ${QUANTITY_ALLOWED}, got "2.5"`)],
  },
  {
    what: "quantity a word",
    change: { quantity: "three" },
    problems: [line(`\`quantity\` ${QUANTITY_ALLOWED}, got "three"`)],
  },
  {
    what: "busyWaitSeconds not an integer",
    change: { busyWaitSeconds: "1.5" },
    problems: [line('`busyWaitSeconds` must be an integer from 0 to 86400, got "1.5"')],
  },
  {
    what: "busyWaitSeconds over a day",
    change: { busyWaitSeconds: "86401" },
    problems: [line('`busyWaitSeconds` must be an integer from 0 to 86400, got "86401"')],
  },
  {
    what: "bootGraceSeconds under its minimum of 60",
    change: { bootGraceSeconds: "59" },
    problems: [line('`bootGraceSeconds` must be an integer from 60 to 86400, got "59"')],
  },
  {
    what: "rolloutSurge neither a count nor a share",
    change: { rolloutSurge: "150%" },
    problems: [
      line(
        "`rolloutSurge` must be a number of runners from 0 to 1000 (0 pauses rollouts), or a " +
          'share such as "25%" (1% to 100%), got "150%"',
      ),
    ],
  },
  {
    what: "rolloutWaitSeconds beyond the boot grace",
    change: { bootGraceSeconds: "120", rolloutWaitSeconds: "121" },
    problems: [line('`rolloutWaitSeconds` must be at most bootGraceSeconds (120), got "121"')],
  },
  {
    what: "authorCheck not a boolean",
    change: { authorCheck: "yes" },
    problems: [line('`authorCheck` must be true or false, got "yes"')],
  },
  {
    what: "flushBusy as 1",
    change: { flushBusy: "1" },
    problems: [line('`flushBusy` must be true or false, got "1"')],
  },
  {
    what: "metricsEnabled as on",
    change: { metricsEnabled: "on" },
    problems: [line('`metricsEnabled` must be true or false, got "on"')],
  },
  {
    what: "forceRelease as one name, not a list",
    change: { forceRelease: "rf-e2e-0123456789ab" },
    problems: [line('`forceRelease` must be a list of strings, got "rf-e2e-0123456789ab"')],
  },
  {
    what: "forceRelease naming something no runner can be called",
    change: { forceRelease: '["rf e2e"]' },
    problems: [
      line(
        "`forceRelease[]` must be 1 to 64 letters, digits or '-', starting and ending with a " +
          `letter or digit (it is the hostname), got "rf e2e"`,
      ),
    ],
  },
  // Labels.
  {
    what: "labels as a comma-separated string",
    change: { labels: "gpu,x64" },
    problems: [line('`labels` must be a list of strings, got "gpu,x64"')],
  },
  {
    what: "a label with a space",
    change: { labels: '["e2e","gpu x64"]' },
    problems: [line(`\`labels[]\` ${LABEL_ALLOWED}, got "gpu x64"`)],
  },
  {
    what: "a label that is a number",
    change: { labels: "[42]" },
    problems: [line(`\`labels[]\` ${LABEL_ALLOWED}, got 42`)],
  },
  {
    what: "a label of 257 characters",
    change: { labels: JSON.stringify([longLabel]) },
    problems: [line(`\`labels[]\` ${LABEL_ALLOWED}, got "${longLabel}"`)],
  },
  {
    what: "99 labels (GitHub allows 100 with self-hosted and linux)",
    change: { labels: JSON.stringify(manyLabels) },
    problems: [
      line(
        "`labels` at most 100 labels are allowed on GitHub, including self-hosted and linux; got 99",
      ),
    ],
  },
  // CIDRs.
  {
    what: "sshSourceCidr with a /33",
    change: { sshSourceCidr: "10.0.0.0/33" },
    problems: [line(`\`sshSourceCidr\` ${CIDR_ALLOWED}, got "10.0.0.0/33"`)],
  },
  {
    what: "sshSourceCidr with an octet over 255",
    change: { sshSourceCidr: "300.1.2.0/24" },
    problems: [line(`\`sshSourceCidr\` ${CIDR_ALLOWED}, got "300.1.2.0/24"`)],
  },
  {
    what: "sshSourceCidr without a prefix length",
    change: { sshSourceCidr: "10.42.0.7" },
    problems: [line(`\`sshSourceCidr\` ${CIDR_ALLOWED}, got "10.42.0.7"`)],
  },
  {
    what: "sshSourceCidr with host bits set",
    change: { sshSourceCidr: "10.42.0.7/24" },
    problems: [line(`\`sshSourceCidr\` ${CIDR_ALLOWED}, got "10.42.0.7/24"`)],
  },
  {
    what: "sshSourceCidr with a leading zero",
    change: { sshSourceCidr: "010.0.0.0/8" },
    problems: [line(`\`sshSourceCidr\` ${CIDR_ALLOWED}, got "010.0.0.0/8"`)],
  },
  {
    what: "sshSourceCidr in IPv6",
    change: { sshSourceCidr: "::/0" },
    problems: [line(`\`sshSourceCidr\` ${CIDR_ALLOWED}, got "::/0"`)],
  },
  // Names.
  {
    what: "namePrefix with capitals",
    change: { namePrefix: `${prefix}-Big` },
    problems: [line(`\`namePrefix\` ${PREFIX_ALLOWED}, got "${prefix}-Big"`)],
  },
  {
    what: "namePrefix ending with -",
    change: { namePrefix: `${prefix}-` },
    problems: [line(`\`namePrefix\` ${PREFIX_ALLOWED}, got "${prefix}-"`)],
  },
  {
    what: "namePrefix making runner (and server) names of 65 characters",
    change: { namePrefix: longPrefix },
    problems: [
      line(
        `\`namePrefix\` and pool name make runner names of 65 characters (${longPrefix}-<12 hex>); GitHub allows at most 64`,
      ),
    ],
  },
  {
    what: "namePrefix and a pool name making runner names of 69 characters",
    change: { namePrefix: poolPrefix, ...pools([{ ...POOL, name: "p".repeat(20) }]) },
    problems: [
      line(
        `\`namePrefix\` and pool name make runner names of 69 characters (${poolPrefix}-${"p".repeat(20)}-<12 hex>); GitHub allows at most 64`,
      ),
    ],
  },
  // Conflicting keys.
  {
    what: "quantity together with pools",
    change: { ...pools([POOL]), quantity: "2" },
    problems: [line('`quantity` cannot be set together with `pools` (set it per pool), got "2"')],
  },
  {
    what: "flavor together with pools",
    change: { ...pools([POOL]), flavor: "m1.large" },
    problems: [
      line('`flavor` cannot be set together with `pools` (set it per pool), got "m1.large"'),
    ],
  },
  {
    what: "labels together with pools",
    change: { ...pools([POOL]), labels: '["gpu"]' },
    problems: [line('`labels` cannot be set together with `pools` (set it per pool), got ["gpu"]')],
  },
  {
    what: "image together with imageBuild",
    change: { image: "runner-base", imageBuild: '{"baseImage":"ubuntu-24.04"}' },
    problems: [
      line('`image` cannot be set together with `imageBuild` (pick one), got "runner-base"'),
    ],
  },
  // Pools.
  {
    what: "pools as a string",
    change: { ...pools([]), pools: "small" },
    problems: [line(`\`pools\` ${POOLS_ALLOWED}, got "small"`)],
  },
  {
    what: "pools empty",
    change: pools([]),
    problems: [line(`\`pools\` ${POOLS_ALLOWED}, got []`)],
  },
  {
    what: "21 pools",
    change: pools(Array.from({ length: 21 }, (_, i) => ({ name: `p${i}`, flavor: "m1.small" }))),
    problems: [
      new RegExp(
        `^\`pools\` must be a list of 1 to 20 pools \\{name, flavor, labels, and quantity or minIdle and maxRunners\\}, ` +
          `got \\[\\{"name":"p0","flavor":"m1.small"\\},.*\\{"name":"p20","flavor":"m1.small"\\}\\]$`,
      ),
    ],
  },
  {
    what: "a pool that is a string",
    change: pools(["small"]),
    problems: [line(`\`pools[0]\` must be an object ${POOL_SHAPE}, got "small"`)],
  },
  {
    what: "a pool name with capitals and _",
    change: pools([{ ...POOL, name: "Small_Pool" }]),
    problems: [line(`\`pools[0].name\` ${POOL_NAME_ALLOWED}, got "Small_Pool"`)],
  },
  {
    what: "a pool name of 21 characters",
    change: pools([{ ...POOL, name: "n".repeat(21) }]),
    problems: [line(`\`pools[0].name\` ${POOL_NAME_ALLOWED}, got "${"n".repeat(21)}"`)],
  },
  {
    what: "a pool without a flavor",
    change: pools([{ name: "small", quantity: 1 }]),
    problems: [line("`pools[0].flavor` must be the name of an OpenStack flavor, got undefined")],
  },
  {
    what: "a second pool with a negative quantity",
    change: pools([POOL, { ...POOL, name: "large", quantity: -1 }]),
    problems: [line(`\`pools[1].quantity\` ${QUANTITY_ALLOWED}, got -1`)],
  },
  {
    what: "a pool quantity of 1001",
    change: pools([{ ...POOL, quantity: 1001 }]),
    problems: [line(`\`pools[0].quantity\` ${QUANTITY_ALLOWED}, got 1001`)],
  },
  {
    what: "a pool quantity given as a string",
    change: pools([{ ...POOL, quantity: "2" }]),
    problems: [line(`\`pools[0].quantity\` ${QUANTITY_ALLOWED}, got "2"`)],
  },
  {
    what: "pool labels as a string",
    change: pools([{ ...POOL, labels: "gpu" }]),
    problems: [line('`pools[0].labels` must be a list of strings, got "gpu"')],
  },
  {
    what: "two pools of the same name",
    change: pools([POOL, POOL]),
    problems: [line('`pools` must have unique names, got "small"')],
  },
  {
    what: "a pool key misspelt (quantiy)",
    change: pools([{ name: "small", flavor: "m1.small", quantiy: 5 }]),
    problems: [
      line(
        '`pools[0]` only allows name, flavor, labels, quantity, minIdle and maxRunners, got ["quantiy"]',
      ),
    ],
  },
  {
    what: "a demand-sized pool with quantity too",
    change: pools([{ name: "small", flavor: "m1.small", quantity: 2, maxRunners: 5 }]),
    problems: [
      line(
        "`pools[0].quantity` cannot be set together with `minIdle` and `maxRunners` (a pool is " +
          "sized either way), got 2",
      ),
    ],
  },
  {
    what: "a demand-sized pool whose minIdle is over its maxRunners",
    change: pools([{ name: "small", flavor: "m1.small", minIdle: 4, maxRunners: 3 }]),
    problems: [line("`pools[0].minIdle` must be at most maxRunners (3), got 4")],
  },
  {
    what: "minIdle without maxRunners",
    change: { quantity: undefined, minIdle: "2" },
    problems: [line("`maxRunners` is required with `minIdle`: the pool's ceiling")],
  },
  {
    what: "fleetMaxRunners negative",
    change: { fleetMaxRunners: "-1" },
    problems: [line('`fleetMaxRunners` must be an integer from 0 to 1000, got "-1"')],
  },
  // Image builds.
  {
    what: "imageBuild as a string",
    change: { image: undefined, imageBuild: "ubuntu-24.04" },
    problems: [
      line(
        '`imageBuild` must be an object {baseImage, runnerVersion, architecture, name}, got "ubuntu-24.04"',
      ),
      line(IMAGE_REQUIRED),
    ],
  },
  {
    what: "imageBuild without a baseImage",
    change: imageBuild({ runnerVersion: "latest" }),
    problems: [
      line("`imageBuild.baseImage` must be the name or id of a Glance image, got undefined"),
    ],
  },
  {
    what: "imageBuild.runnerVersion with a v",
    change: imageBuild({ baseImage: "ubuntu-24.04", runnerVersion: "v2.321.0" }),
    problems: [
      line(
        '`imageBuild.runnerVersion` must be "latest" or a version such as 2.321.0, got "v2.321.0"',
      ),
    ],
  },
  {
    what: "imageBuild.architecture arm64",
    change: imageBuild({ baseImage: "ubuntu-24.04", architecture: "arm64" }),
    problems: [line('`imageBuild.architecture` must be "x86_64" or "aarch64", got "arm64"')],
  },
  {
    what: "imageBuild.name of 256 characters (Glance allows 255)",
    change: imageBuild({ baseImage: "ubuntu-24.04", name: `${longImageName}x` }),
    problems: [
      line(
        `\`imageBuild.name\` must be 1 to 255 letters, digits, '.', '_' or '-', got "${longImageName}x"`,
      ),
    ],
  },
  {
    what: "an imageBuild key misspelt (arch)",
    change: imageBuild({ baseImage: "ubuntu-24.04", arch: "aarch64" }),
    problems: [
      line(
        '`imageBuild` only allows baseImage, runnerVersion, architecture and name, got ["arch"]',
      ),
    ],
  },
  // Proxy, mirror, repo-policy-compliance.
  {
    what: "proxy as a URL string",
    change: { proxy: "http://proxy.example:3128" },
    problems: [
      line(
        '`proxy` must be an object {http, https, noProxy, aproxyAddress}, got "http://proxy.example:3128"',
      ),
    ],
  },
  {
    what: "proxy.http without a scheme",
    change: { proxy: '{"http":"proxy.example:3128"}' },
    problems: [line('`proxy.http` must be an http(s) URL, got "proxy.example:3128"')],
  },
  {
    what: "proxy.noProxy with a space",
    change: { proxy: '{"noProxy":"10.0.0.0/8, .corp"}' },
    problems: [
      line(
        '`proxy.noProxy` must be a comma-separated list without spaces, got "10.0.0.0/8, .corp"',
      ),
    ],
  },
  {
    // The userdata refused an empty list that the config took (rules/formats.ts `commaList`).
    what: "proxy.noProxy empty",
    change: { proxy: '{"noProxy":""}' },
    problems: [line('`proxy.noProxy` must be a comma-separated list without spaces, got ""')],
  },
  {
    // The config took 1 to any number of host characters; the userdata (and DNS) at most 253.
    what: "proxy.aproxyAddress with a 254-character host",
    change: { proxy: `{"aproxyAddress":"${"h".repeat(254)}:3128"}` },
    problems: [line(`\`proxy.aproxyAddress\` ${APROXY_ALLOWED}, got "${"h".repeat(254)}:3128"`)],
  },
  {
    what: "proxy.aproxyAddress without a port",
    change: { proxy: '{"aproxyAddress":"proxy.example"}' },
    problems: [line(`\`proxy.aproxyAddress\` ${APROXY_ALLOWED}, got "proxy.example"`)],
  },
  {
    what: "proxy.aproxyAddress with port 70000",
    change: { proxy: '{"aproxyAddress":"proxy.example:70000"}' },
    problems: [line(`\`proxy.aproxyAddress\` ${APROXY_ALLOWED}, got "proxy.example:70000"`)],
  },
  {
    what: "a proxy key that is not allowed (https_proxy)",
    change: { proxy: '{"https_proxy":"http://proxy.example:3128"}' },
    problems: [
      line('`proxy` only allows http, https, noProxy and aproxyAddress, got ["https_proxy"]'),
    ],
  },
  {
    what: "dockerhubMirror without a scheme",
    change: { dockerhubMirror: "mirror.example:5000" },
    problems: [line('`dockerhubMirror` must be an http(s) URL, got "mirror.example:5000"')],
  },
  {
    what: "repoPolicyComplianceUrl without a scheme",
    change: { repoPolicyComplianceUrl: "policy.example" },
    problems: [line('`repoPolicyComplianceUrl` must be an http(s) URL, got "policy.example"')],
  },
  {
    what: "repoPolicyComplianceUrl without its token",
    change: {
      repoPolicyComplianceUrl: "http://policy.example:8080",
      repoPolicyComplianceToken: undefined,
    },
    problems: [
      line(
        "`repoPolicyComplianceToken` is required with `repoPolicyComplianceUrl`: set it with " +
          "pulumi config set --secret repoPolicyComplianceToken",
      ),
    ],
  },
  // SSH debug relays.
  {
    what: "sshDebugRelays as one object instead of a list",
    change: { sshDebugRelays: JSON.stringify(RELAY) },
    problems: [
      line(
        `\`sshDebugRelays\` must be a list of {host, port, rsaFingerprint, ed25519Fingerprint}, got ${JSON.stringify(RELAY)}`,
      ),
    ],
  },
  {
    what: "a relay host with a space",
    change: relay({ host: "tmate example" }),
    problems: [line('`sshDebugRelays[0].host` must be a host name, got "tmate example"')],
  },
  {
    what: "a relay port of 65536",
    change: relay({ port: 65536 }),
    problems: [line("`sshDebugRelays[0].port` must be a port from 1 to 65535, got 65536")],
  },
  {
    what: "a relay port given as a string",
    change: relay({ port: "22" }),
    problems: [line('`sshDebugRelays[0].port` must be a port from 1 to 65535, got "22"')],
  },
  {
    what: "an MD5 rsaFingerprint",
    change: relay({ rsaFingerprint: "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48" }),
    problems: [
      line(
        `\`sshDebugRelays[0].rsaFingerprint\` ${FINGERPRINT_ALLOWED}, got "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"`,
      ),
    ],
  },
  {
    what: "a truncated ed25519Fingerprint",
    change: relay({ ed25519Fingerprint: "SHA256:abc" }),
    problems: [
      line(`\`sshDebugRelays[0].ed25519Fingerprint\` ${FINGERPRINT_ALLOWED}, got "SHA256:abc"`),
    ],
  },
  {
    what: "a relay key that is not allowed (user)",
    change: relay({ user: "git" }),
    problems: [
      line(
        '`sshDebugRelays[0]` only allows host, port, rsaFingerprint and ed25519Fingerprint, got ["user"]',
      ),
    ],
  },
  // Several problems are reported at once.
  {
    what: "three bad keys at once",
    change: { quantity: "-3", githubPath: "a/b/c", sshSourceCidr: "10.0.0.0/33" },
    problems: [
      line(`\`githubPath\` ${PATH_ALLOWED}, got "a/b/c"`),
      line(`\`quantity\` ${QUANTITY_ALLOWED}, got "-3"`),
      line(`\`sshSourceCidr\` ${CIDR_ALLOWED}, got "10.0.0.0/33"`),
    ],
  },
];

const HEADER = "invalid runner-fleet configuration:";

/** The problems of `parseFleetConfig`'s error. */
function problemsOf(message: string): string[] {
  const [first, ...rest] = message.split("\n");
  assert.equal(first, HEADER);
  return rest.map((l) => l.replace(/^ {2}- /, ""));
}

/** The problems of the program's error in the output of a failed `pulumi preview`. */
function engineProblems(message: string): string[] {
  const block = /\n[ \t]*error: invalid runner-fleet configuration:\n((?:[ \t]+- .*\n)+)/.exec(
    message,
  );
  assert.ok(block, `the preview's output has no configuration error:\n${message}`);
  return block[1]
    .trimEnd()
    .split("\n")
    .map((l) => l.replace(/^[ \t]+- /, ""));
}

function assertProblems(actual: string[], expected: RegExp[]): void {
  assert.equal(
    actual.length,
    expected.length,
    `expected ${expected.length} problem(s), got:\n${actual.join("\n")}`,
  );
  expected.forEach((re, i) => assert.match(actual[i], re));
}

function assertNoSecret(message: string): void {
  assert.doesNotMatch(message, /SENTINEL/, "a secret of the stack appears in the message");
  for (const value of Object.values(secrets)) assert.ok(!message.includes(value));
  assert.ok(!message.includes(sentinel));
}

function parseError(config: StackConfig): Error {
  try {
    parseFleetConfig((key) => config[key], "test");
  } catch (err) {
    return err as Error;
  }
  assert.fail("parseFleetConfig accepted the config");
}

describe("bad stack config", function () {
  it(`has a table of ${rows.length} bad configs, at least 30, each with a distinct description`, function () {
    assert.ok(rows.length >= 30);
    assert.equal(new Set(rows.map((r) => r.what)).size, rows.length);
  });

  describe("parseFleetConfig", function () {
    const ctx: Context = {
      githubApiUrl: "http://127.0.0.1:9",
      flavor: "runner.small",
      network: "runners-net",
      image: "runner-base",
    };

    it("accepts the baseline", function () {
      const config = parseFleetConfig((key) => baseline(ctx)[key], "test");
      assert.deepEqual(config.pools[0].sizing, { quantity: 2 });
    });

    for (const row of rows) {
      it(`rejects ${row.what}`, function () {
        const err = parseError(withChange(baseline(ctx), row.change));
        assertProblems(problemsOf(err.message), row.problems);
        assertNoSecret(err.message);
      });
    }
  });

  describe("pulumi preview on the real engine", function () {
    let gh: GitHubDouble;
    let test: TestStack;
    let api: OpenStackApi;
    let base: StackConfig;
    /** The config the stack holds now. */
    let applied: StackConfig = {};

    const mine = (name: string | undefined) => !!name?.toLowerCase().startsWith(prefix);

    /** Brings the stack config to `target` with at most one remove and one set. */
    async function applyConfig(target: StackConfig): Promise<void> {
      const removed = Object.keys(applied).filter((k) => !(k in target));
      const changed = Object.entries(target).filter(([k, v]) => applied[k] !== v);
      applied = {}; // unknown until both calls succeed
      if (removed.length > 0) {
        await test.stack.removeAllConfig(removed.map((k) => `runner-fleet:${k}`));
      }
      if (changed.length > 0) {
        await test.stack.setAllConfig(
          Object.fromEntries(
            changed.map(([k, value]) => [`runner-fleet:${k}`, { value, secret: k in secrets }]),
          ),
        );
      }
      applied = { ...target };
    }

    /** No resource in the state, nothing of the fleet in OpenStack, no runner on GitHub. */
    async function assertNothingChanged(): Promise<void> {
      const [state, servers, keypairs, groups, images] = await Promise.all([
        test.stack.exportStack(),
        api.servers(),
        api.keypairs(),
        api.securityGroups(),
        api.images(),
      ]);
      const resources: { type: string; urn: string }[] = state.deployment?.resources ?? [];
      assert.deepEqual(
        resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => r.urn),
        [],
      );
      assert.deepEqual(
        servers
          .filter((s) => mine(s.name) || mine(s.metadata[FLEET_METADATA_KEY]))
          .map((s) => s.name),
        [],
      );
      assert.deepEqual(
        keypairs.filter((k) => mine(k.name)).map((k) => k.name),
        [],
      );
      assert.deepEqual(
        groups.filter((g) => mine(g.name)).map((g) => g.name),
        [],
      );
      assert.deepEqual(
        images.filter((i) => mine(i.name)).map((i) => i.name),
        [],
      );
      assert.deepEqual(gh.control.runners(), []);
    }

    before(async function () {
      const env = cloudEnv();
      api = await OpenStackApi.login();
      gh = await startGitHubDouble({ tokens: [{ token: secrets.githubToken, access: "admin" }] });
      test = await createTestStack("bad-input", fleetProgram, tenantOsEnv());
      base = baseline({
        githubApiUrl: gh.url,
        flavor: env.RUNNER_FLEET_FLAVOR,
        network: env.RUNNER_FLEET_NETWORK,
        image: env.RUNNER_FLEET_IMAGE,
      });
    });

    after(async function () {
      // Nothing should exist; destroy anyway so a regression leaves nothing behind.
      await test?.stack.destroy().catch(() => undefined);
      await gh?.close();
      test?.cleanup();
    });

    it("previews the baseline cleanly, planning its runners without creating them", async function () {
      await applyConfig(base);
      const result = await test.stack.preview();
      assert.ok((result.changeSummary.create ?? 0) > 0, JSON.stringify(result.changeSummary));
      await assertNothingChanged();
    });

    it("previews SSH open to the world, saying so, and changes nothing", async function () {
      await applyConfig({ ...base, sshSourceCidr: "0.0.0.0/0" });
      let output = "";
      const result = await test.stack.preview({ onOutput: (text) => (output += text) });
      assert.ok((result.changeSummary.create ?? 0) > 0, JSON.stringify(result.changeSummary));
      assert.match(output, /`sshSourceCidr` is 0\.0\.0\.0\/0: every runner's SSH port is open/);
      await assertNothingChanged();
    });

    for (const row of rows) {
      it(`fails on ${row.what}, changing nothing`, async function () {
        const config = withChange(base, row.change);
        await applyConfig(config);
        gh.control.resetRequestCounts();
        let message = "";
        await assert.rejects(test.stack.preview(), (err: Error) => {
          message = err.message;
          return true;
        });
        const problems = engineProblems(message);
        assertProblems(problems, row.problems);
        // Exactly what the pure parse reports: the stack held this row's config and no other.
        assert.deepEqual(problems, problemsOf(parseError(config).message));
        assertNoSecret(message);
        assert.equal(gh.control.requestCounts().total, 0, "the program called GitHub");
        await assertNothingChanged();
      });
    }
  });
});
