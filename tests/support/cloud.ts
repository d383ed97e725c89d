import * as fs from "node:fs";
import * as path from "node:path";

/** Where tests/cloud/openstack-up.sh keeps its state and wrote `cloud.env`. */
export const cloudDir = process.env.RUNNER_FLEET_OS_DIR ?? "/var/tmp/runner-fleet-openstack";

/**
 * The local cloud's credentials and names, from `cloud.env`. Fails loudly when the cloud is not
 * up: the end-to-end suites must run, never skip.
 */
export function cloudEnv(): Record<string, string> {
  const file = path.join(cloudDir, "cloud.env");
  if (!fs.existsSync(file)) {
    throw new Error(
      `the local OpenStack is not up: ${file} is missing (run tests/cloud/openstack-up.sh)`,
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
