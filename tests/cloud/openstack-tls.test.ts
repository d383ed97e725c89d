// The program's own OpenStack calls (the lost-server search, the quota) through an HTTPS front
// with a CA the test makes, in front of the local Keystone, Nova and Neutron: they trust the CA
// given by `OS_CACERT` or by clouds.yaml `cacert`, skip verification with clouds.yaml
// `verify: false`, and without either refuse the certificate and say why (a side path: skipped,
// never a failed deployment).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readTenantCapacity } from "../../dynamic-providers/openstack/tenant-capacity";
import { onTheCloud } from "../../fleet/cloud-side-path";
import { listFleetServers } from "../../fleet/lost-servers";
import { tenantOsEnv } from "../../devkit/local-cloud/cloud-env";
import { startTlsFront, TlsFront } from "../../devkit/local-cloud/tls-front";

const once = { attempts: 1, delayMs: 0 };

describe("the program's OpenStack calls behind a private CA", function () {
  let front: TlsFront;
  let dir: string;
  let plain: Record<string, string>;

  /** The tenant's credentials, as a clouds.yaml entry `front` with `extra` keys. */
  const cloudsYaml = (extra: string): NodeJS.ProcessEnv => {
    const file = path.join(dir, "clouds.yaml");
    fs.writeFileSync(
      file,
      [
        "clouds:",
        "  front:",
        "    auth:",
        `      auth_url: ${front.authUrl}`,
        `      username: ${plain.OS_USERNAME}`,
        `      password: ${plain.OS_PASSWORD}`,
        `      project_name: ${plain.OS_PROJECT_NAME}`,
        "      user_domain_name: Default",
        "      project_domain_name: Default",
        "    region_name: RegionOne",
        `    ${extra}`,
        "",
      ].join("\n"),
    );
    return { OS_CLOUD: "front", OS_CLIENT_CONFIG_FILE: file };
  };

  before(async function () {
    front = await startTlsFront();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "os-tls-"));
    plain = tenantOsEnv();
  });

  after(async function () {
    await front?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("without the CA, refuses the certificate and says why, skipping the search", async function () {
    const env = { ...plain, OS_AUTH_URL: front.authUrl };
    const found = await listFleetServers("rf-tls", ["none"], env, once);
    assert.ok("skipped" in found, JSON.stringify(found));
    assert.match(found.skipped, /^the search failed: fetch failed: .*(certificate|self.signed)/i);
  });

  it("trusts the CA of OS_CACERT: the search and the quota go through the front", async function () {
    const env = { ...plain, OS_AUTH_URL: front.authUrl, OS_CACERT: front.caFile };
    assert.deepEqual(await listFleetServers("rf-tls", ["none"], env, once), []);
    const capacity = await onTheCloud("reading the quota", readTenantCapacity, env, once);
    assert.ok(!("skipped" in capacity), JSON.stringify(capacity));
    assert.ok(capacity.room.instances > 0);
    assert.ok(capacity.flavors.has(plain.RUNNER_FLEET_FLAVOR ?? "runner.small"));
  });

  it("trusts the CA of clouds.yaml `cacert`", async function () {
    const env = cloudsYaml(`cacert: ${front.caFile}`);
    assert.deepEqual(await listFleetServers("rf-tls", ["none"], env, once), []);
  });

  it("skips verification with clouds.yaml `verify: false`, and verifies without it", async function () {
    assert.deepEqual(
      await listFleetServers("rf-tls", ["none"], cloudsYaml("verify: false"), once),
      [],
    );
    const verified = await listFleetServers("rf-tls", ["none"], cloudsYaml("verify: true"), once);
    assert.ok("skipped" in verified, JSON.stringify(verified));
  });
});
