// Two stacks with the same project and stack names on two file backends in one OpenStack project
// (the real engine, the local cloud, one GitHub double), B's name prefix extending A's (`p` and
// `p-b`: A's search by name, `^p-`, also finds B's servers): each marks its servers with its own
// stack identity, so neither stack's lost-server sweep, at `up` or at `destroy`, touches the
// other's servers; and `destroy`'s sweep checks a busy runner first, as the `up` sweep does.
import * as assert from "node:assert/strict";
import { testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import type { TestStack } from "../../devkit/pulumi/test-stack";
import { createFleetStack } from "../support/fleet-stack";
import { timed } from "../../devkit/timing";
import {
  FLEET_METADATA_KEY,
  RUNNER_METADATA_KEY,
  STACK_METADATA_KEY,
} from "../../rules/server-metadata";

describe("two stacks of the same names on two backends", function () {
  const prefix = `rf-own-${Date.now().toString(36)}`;
  let gh: GitHubDouble;
  let api: OpenStackApi;
  const stacks: TestStack[] = [];

  const prefixes = [prefix, `${prefix}-b`];
  const serversOf = async (identity: string) =>
    (await api.servers()).filter(
      (s) => s.name.startsWith(`${prefix}-`) && s.metadata[STACK_METADATA_KEY] === identity,
    );
  const identityOf = async (t: TestStack) =>
    (await t.stack.outputs()).stackIdentity.value as string;
  const up = async (t: TestStack, label: string) => {
    const result = await timed(label, () => t.stack.up());
    assert.equal(result.summary.result, "succeeded");
  };

  before(async function () {
    api = await OpenStackApi.login();
    gh = await startGitHubDouble();
    for (let i = 0; i < 2; i++) {
      const t = await createFleetStack("ownership");
      await t.stack.setAllConfig(
        testFleetConfig({
          prefix: prefixes[i],
          gh,
          quantity: 1,
          label: "ownership",
          extra: { busyWaitSeconds: "3", metricsEnabled: "false" },
        }),
      );
      stacks.push(t);
    }
  });

  after(async function () {
    for (const r of gh.control.runners()) if (r.busy) gh.control.finishJob(r.id, { exitCode: 0 });
    for (const t of stacks) await t.stack.destroy().catch(() => undefined);
    await gh?.close();
    for (const t of stacks) t.cleanup();
  });

  it("each marks its servers with its own identity, though both are organization/ownership/test", async function () {
    const [a, b] = stacks;
    await up(a, "stack A: up");
    await up(b, "stack B: up");
    const [ia, ib] = [await identityOf(a), await identityOf(b)];
    assert.notEqual(ia, ib);
    for (const id of [ia, ib]) assert.match(id, /^organization\/ownership\/test#[0-9a-f]{16}$/);
    assert.equal((await serversOf(ia)).length, 1);
    assert.equal((await serversOf(ib)).length, 1);
  });

  it("three more ups of A, whose search finds B's servers by name, leave B's server", async function () {
    const [b, a] = stacks;
    const ia = await identityOf(a);
    const before = (await serversOf(ia)).map((s) => s.id);
    for (let i = 1; i <= 3; i++) await up(b, `stack B: up ${i}`);
    const outputs = await b.stack.outputs();
    assert.deepEqual(outputs.lostServerCandidates.value, []);
    assert.deepEqual(outputs.sweptServers.value, []);
    assert.deepEqual(
      (await serversOf(ia)).map((s) => s.id),
      before,
    );
    assert.equal(await identityOf(b), outputs.stackIdentity.value, "B's identity is kept");
  });

  it("A's destroy checks a busy runner before sweeping its lost server, and never sweeps B's", async function () {
    const [a, b] = stacks;
    const [ia, ib] = [await identityOf(a), await identityOf(b)];
    // A lost server of A whose runner is busy on GitHub.
    const lostName = `${prefixes[0]}-lost00000001`;
    const jit = await fetch(`${gh.url}/repos/acme/widgets/actions/runners/generate-jitconfig`, {
      method: "POST",
      headers: { authorization: `Bearer ${gh.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: lostName, runner_group_id: 1, labels: ["x"] }),
    });
    assert.equal(jit.status, 201);
    const lost = await api.createServer({
      name: lostName,
      metadata: {
        [FLEET_METADATA_KEY]: prefixes[0],
        [STACK_METADATA_KEY]: ia,
        [RUNNER_METADATA_KEY]: lostName,
      },
    });
    gh.control.setOnline(lostName);
    gh.control.startJob(lostName);
    await assert.rejects(a.stack.destroy(), /runner .*lost0+1 is still running a job after 3s/);
    assert.ok(
      (await serversOf(ia)).some((s) => s.id === lost),
      "the busy runner's lost server is kept",
    );
    gh.control.finishJob(lostName, { exitCode: 0 });
    await timed("stack A: destroy", () => a.stack.destroy());
    assert.deepEqual(await serversOf(ia), []);
    assert.equal((await serversOf(ib)).length, 1, "B's server is untouched");
    await timed("stack B: destroy", () => b.stack.destroy());
    assert.deepEqual(await serversOf(ib), []);
  });
});
