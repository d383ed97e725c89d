// The fleet in a tenant whose instance quota is smaller than `quantity`, on the real engine, the
// local OpenStack (a project of its own, so the sandbox and other suites keep their quota) and
// the GitHub double. The program reads Nova's and Neutron's limits and plans only what fits: each
// `up` succeeds, nothing piles up (registrations on GitHub and in the state never outnumber servers, and lean
// runners make no Nova keypair),
// `preview` says how many runners the quota allows, and raising the quota lets the next `up`
// converge. Counts after each `up` are printed as `[quota]` lines for the record.
import * as assert from "node:assert/strict";
import { testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { QuotaTenant, quotaTenant } from "../../devkit/local-cloud/quota-tenant";
import type { TestStack } from "../../devkit/pulumi/test-stack";
import { createFleetStack } from "../support/fleet-stack";
import { timed } from "../../devkit/timing";
import type { QuotaVerdict } from "../../fleet/quota";
import { FLEET_METADATA_KEY } from "../../rules/server-metadata";

const QUOTA = 5;
const QUANTITY = 8;

interface Counts {
  servers: number;
  registrations: number;
  /** RunnerRegistration resources in the state (a lean runner's SSH keys come with it). */
  registrationsInState: number;
  /** Nova keypairs of the fleet: lean runners have none. */
  keypairs: number;
}

describe("the fleet within the tenant's quota", function () {
  const prefix = `rf-quota-${Date.now().toString(36)}`;
  const note = (line: string) => console.log(`      [quota] ${line}`);
  const savedEnv = { ...process.env };
  let tenant: QuotaTenant;
  let gh: GitHubDouble;
  let test: TestStack;

  const counts = async (): Promise<Counts> => {
    const resources = ((await test.stack.exportStack()).deployment.resources ?? []) as {
      type: string;
    }[];
    return {
      servers: (await tenant.api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix)
        .length,
      registrations: gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`)).length,
      registrationsInState: resources.filter((r) => r.type.endsWith(":RunnerRegistration")).length,
      keypairs: (await tenant.api.keypairs()).filter((k) => k.name.startsWith(`${prefix}-`)).length,
    };
  };
  const quotaOutput = async () =>
    (await test.stack.outputs()).serverQuota.value as { wanted: number; allowed: number };
  const setQuantity = (quantity: number) =>
    test.stack.setConfig("runner-fleet:quantity", { value: String(quantity) });

  before(async function () {
    tenant = await quotaTenant("runners-quota", "10.43.0.0/24");
    await tenant.setInstances(QUOTA);
    gh = await startGitHubDouble();
    test = await createFleetStack("quota", tenant.osEnv);
    // No simulated hosts: the runners stay offline inside their boot grace, kept as booting.
    await test.stack.setAllConfig(
      testFleetConfig({
        prefix,
        gh,
        quantity: 3,
        label: "quota",
        extra: { network: tenant.network, busyWaitSeconds: "3", metricsEnabled: "false" },
      }),
    );
  });

  after(async function () {
    await test?.stack.destroy().catch(() => undefined);
    await tenant?.setInstances(1000).catch(() => undefined);
    await gh?.close();
    test?.cleanup();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  });

  it(`makes 3 runners in a tenant with room for ${QUOTA} servers`, async function () {
    await timed("quota: up 3", () => test.stack.up());
    assert.deepEqual(await counts(), {
      servers: 3,
      registrations: 3,
      registrationsInState: 3,
      keypairs: 0,
    });
  });

  it(`previews quantity ${QUANTITY} saying the quota allows 2 of 5 new runners, changing nothing`, async function () {
    await setQuantity(QUANTITY);
    const preview = await test.stack.preview();
    note(`preview: ${JSON.stringify(preview.changeSummary)}`);
    assert.match(preview.stdout, /quota allows 2 of 5 new runners \(instances 2 free\)/);
    const resources = (await test.stack.exportStack()).deployment.resources as { urn: string }[];
    const perRunner = resources.filter((r) => r.urn.includes("RunnerServer")).length / 3;
    assert.equal(preview.changeSummary.create, 2 * perRunner, "the resources of 2 runners");
    assert.deepEqual(await counts(), {
      servers: 3,
      registrations: 3,
      registrationsInState: 3,
      keypairs: 0,
    });
  });

  it("three ups in a row each succeed, and none makes more than the quota allows", async function () {
    const after: Counts[] = [];
    const verdicts: { wanted: number; allowed: number }[] = [];
    for (let i = 1; i <= 3; i++) {
      const result = await timed(`quota: up ${i} at quantity ${QUANTITY}`, () => test.stack.up());
      assert.equal(result.summary.result, "succeeded");
      after.push(await counts());
      verdicts.push(await quotaOutput());
      note(`up ${i}: ${JSON.stringify(after[i - 1])}, quota ${JSON.stringify(verdicts[i - 1])}`);
    }
    for (const c of after) {
      assert.deepEqual(c, {
        servers: QUOTA,
        registrations: QUOTA,
        registrationsInState: QUOTA,
        keypairs: 0,
      });
    }
    assert.deepEqual(
      verdicts.map((v) => [v.wanted, v.allowed]),
      [
        [5, 2],
        [3, 0],
        [3, 0],
      ],
    );
  });

  it("raising the quota lets the next up converge to quantity", async function () {
    await tenant.setInstances(QUANTITY + 2);
    await timed("quota: up after raising the quota", () => test.stack.up());
    const c = await counts();
    note(`after raising the quota: ${JSON.stringify(c)}`);
    assert.deepEqual(c, {
      servers: QUANTITY,
      registrations: QUANTITY,
      registrationsInState: QUANTITY,
      keypairs: 0,
    });
    const verdict = (await test.stack.outputs()).serverQuota.value as QuotaVerdict;
    assert.deepEqual(
      [verdict.wanted, verdict.allowed, verdict.limitedBy, verdict.room.instances],
      [3, 3, [], QUANTITY + 2 - QUOTA],
    );
  });

  it("a rollout without room lets outdated runners go first, within the surge, and fills their places next", async function () {
    await tenant.setInstances(QUANTITY);
    await test.stack.setAllConfig({
      "runner-fleet:rolloutSurge": { value: "2" },
      "runner-fleet:preJobScript": { value: "true" },
    });
    const first = await timed("quota: rollout with the quota full, up 1", () => test.stack.up());
    const dropped = first.outputs.droppedRunners.value as { cause: string }[];
    assert.deepEqual(
      dropped.map((d) => d.cause),
      ["replaced-without-room", "replaced-without-room"],
    );
    assert.equal((await counts()).servers, QUANTITY - 2);
    const second = await timed("quota: rollout with the quota full, up 2", () => test.stack.up());
    const specs = (second.outputs.runners.value as { spec: string }[]).map((r) => r.spec);
    const current = (second.outputs.rollouts.value as { spec: string }[])[0]?.spec;
    note(`rollout without room, after up 2: ${JSON.stringify(await counts())}`);
    // Two runners of the new spec in the room the first up made; two more outdated ones went.
    assert.equal(specs.filter((s) => s === current).length, 2);
    assert.equal((await counts()).servers, QUANTITY - 2);
    assert.deepEqual(
      (second.outputs.droppedRunners.value as { cause: string }[]).map((d) => d.cause),
      ["replaced-without-room", "replaced-without-room"],
    );
  });

  it("destroy leaves no server, keypair or registration", async function () {
    await timed("quota: destroy", () => test.stack.destroy());
    assert.deepEqual(await counts(), {
      servers: 0,
      registrations: 0,
      registrationsInState: 0,
      keypairs: 0,
    });
  });
});
