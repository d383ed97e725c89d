import * as fs from "node:fs";
import * as path from "node:path";

/** Where devkit/local-cloud/openstack-up.sh keeps its state and wrote `cloud.env`. */
export const cloudDir = process.env.RUNNER_FLEET_OS_DIR ?? "/var/tmp/runner-fleet-openstack";

/**
 * The local cloud's credentials and names, from `cloud.env`. Fails loudly when the cloud is not
 * up: the end-to-end suites must run, never skip.
 */
export function cloudEnv(): Record<string, string> {
  const file = path.join(cloudDir, "cloud.env");
  if (!fs.existsSync(file)) {
    throw new Error(
      `the local OpenStack is not up: ${file} is missing (run devkit/local-cloud/openstack-up.sh)`,
    );
  }
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

/** The OS_* variables of the tenant user, as the program and the OpenStack provider read them. */
export function tenantOsEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(cloudEnv()).filter(([k]) => k.startsWith("OS_")));
}

/** Stack config in the shape `Stack.setAllConfig` takes. */
export type StackConfigMap = Record<string, { value: string; secret?: boolean }>;

/**
 * The config of a test fleet of `quantity` runners for `acme/widgets` on the GitHub double, with
 * the local cloud's flavor, network and image; `extra` keys are added or override (written
 * without `runner-fleet:`; another namespace, such as `openstack:`, is kept).
 */
export function testFleetConfig(opts: {
  prefix: string;
  gh: { url: string; adminToken: string };
  quantity: number;
  label: string;
  extra?: Record<string, string>;
}): StackConfigMap {
  const env = cloudEnv();
  const plain: Record<string, string> = {
    githubPath: "acme/widgets",
    githubApiUrl: opts.gh.url,
    namePrefix: opts.prefix,
    flavor: env.RUNNER_FLEET_FLAVOR,
    network: env.RUNNER_FLEET_NETWORK,
    image: env.RUNNER_FLEET_IMAGE,
    sshSourceCidr: "10.42.0.0/24",
    labels: JSON.stringify([opts.label]),
    quantity: String(opts.quantity),
    ...opts.extra,
  };
  return {
    "runner-fleet:githubToken": { value: opts.gh.adminToken, secret: true },
    ...Object.fromEntries(
      Object.entries(plain).map(([k, value]) => [
        k.includes(":") ? k : `runner-fleet:${k}`,
        { value },
      ]),
    ),
  };
}
