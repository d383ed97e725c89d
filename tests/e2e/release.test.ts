// Releasing runners when GitHub access is lost, on the real engine, the local OpenStack and the
// GitHub double: a credential that lost access (a revoked token, a repository dropped from a
// token's access, an uninstalled App) makes `destroy` fail and keep a busy runner's server, since
// GitHub's 404 can no longer mean "gone"; listing the runner in `forceRelease` and running
// `destroy --run-program` lets its server go.
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import type { TestStack } from "../../devkit/pulumi/test-stack";
import { createFleetStack } from "../support/fleet-stack";
import { timed } from "../../devkit/timing";
import { FLEET_METADATA_KEY } from "../../rules/server-metadata";

const TOKENS = ["revoked", "dropped", "spare"].map((name) => ({
  token: `ghp_${name}${crypto.randomBytes(12).toString("hex")}`,
  access: "admin" as const,
}));
const APP = { appId: 4242, installationId: 77 };
const appKeys = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });

describe("releasing runners when GitHub access is lost", function () {
  const prefix = `rf-release-${Date.now().toString(36)}`;
  let gh: GitHubDouble;
  let test: TestStack;
  let api: OpenStackApi;

  const fleetServers = async () =>
    (await api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix);
  const ghRunners = () => gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`));
  const setConfig = (key: string, value: string, secret = false) =>
    test.stack.setConfig(`runner-fleet:${key}`, { value, secret });
  /** Deploys one runner and starts a job on it; returns its name. */
  const busyRunner = async (label: string): Promise<string> => {
    await timed(`${label}: up`, () => test.stack.up());
    const [runner] = ghRunners();
    gh.control.setOnline(runner.id);
    gh.control.startJob(runner.id);
    return runner.name;
  };
  /** Access is lost: `destroy` fails closed, then the lever lets the server go. */
  const failsClosedThenForceReleases = async (name: string, error: RegExp) => {
    await assert.rejects(test.stack.destroy(), error);
    assert.deepEqual(
      (await fleetServers()).map((s) => s.name),
      [name],
      "the busy runner's server is kept",
    );
    await test.stack.setConfig("runner-fleet:forceRelease", { value: JSON.stringify([name]) });
    const result = await timed("forceRelease: destroy --run-program", () =>
      test.stack.destroy({ runProgram: true }),
    );
    assert.equal(result.summary.result, "succeeded");
    assert.deepEqual(await fleetServers(), []);
    await test.stack.removeConfig("runner-fleet:forceRelease");
    // GitHub still holds it, as the operator accepted; the test ends its job for the next case.
    gh.control.finishJob(name, { exitCode: 0 });
  };

  before(async function () {
    api = await OpenStackApi.login();
    gh = await startGitHubDouble({
      tokens: TOKENS,
      apps: [
        {
          ...APP,
          publicKeyPem: appKeys.publicKey.export({ type: "spki", format: "pem" }) as string,
        },
      ],
    });
    test = await createFleetStack("release");
    await test.stack.setAllConfig(
      testFleetConfig({
        prefix,
        gh: { url: gh.url, adminToken: TOKENS[0].token },
        quantity: 1,
        label: "release",
        extra: { busyWaitSeconds: "3", metricsEnabled: "false" },
      }),
    );
  });

  after(async function () {
    await test?.stack.setConfig("runner-fleet:githubToken", {
      value: TOKENS[2].token,
      secret: true,
    });
    await test?.stack.setConfig("runner-fleet:forceRelease", {
      value: JSON.stringify(ghRunners().map((r) => r.name)),
    });
    await test?.stack.destroy({ runProgram: true }).catch(() => undefined);
    await gh?.close();
    test?.cleanup();
  });

  it("a revoked token: destroy fails and keeps the busy runner's server; forceRelease lets it go", async function () {
    const name = await busyRunner("revoked token");
    gh.control.revokeToken(TOKENS[0].token);
    await failsClosedThenForceReleases(name, /HTTP 401.*may have lost access/s);
  });

  it("a repository dropped from the token's access (GitHub answers 404): the same", async function () {
    await setConfig("githubToken", TOKENS[1].token, true);
    const name = await busyRunner("dropped repository");
    gh.control.dropRepositoryAccess({ repo: "acme/widgets", token: TOKENS[1].token });
    await failsClosedThenForceReleases(name, /HTTP 404.*may have lost access/s);
  });

  it("an uninstalled App (its token request answers 404): the same", async function () {
    await test.stack.removeConfig("runner-fleet:githubToken");
    await setConfig("githubAppId", String(APP.appId));
    await setConfig("githubAppInstallationId", String(APP.installationId));
    await setConfig(
      "githubAppPrivateKey",
      appKeys.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
      true,
    );
    const name = await busyRunner("uninstalled app");
    gh.control.uninstallApp(APP.installationId);
    await failsClosedThenForceReleases(name, /HTTP 404.*may have lost access/s);
  });
});
