// The fleet on the real engine, the local OpenStack and the GitHub double: `up` converges to
// `quantity` runners, replaces runners whose job finished, scales down without touching a busy
// runner, refuses to destroy under a running job, and `destroy` leaves nothing on either side.
import * as assert from "node:assert/strict";
import { testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import type { TestStack } from "../../devkit/pulumi/test-stack";
import { createFleetStack } from "../support/fleet-stack";
import { timed } from "../../devkit/timing";
import {
  FLEET_METADATA_KEY,
  RUNNER_ID_METADATA_KEY,
  RUNNER_METADATA_KEY,
  STACK_METADATA_KEY,
} from "../../rules/server-metadata";

describe("the fleet on the real engine", function () {
  const prefix = `rf-e2e-${Date.now().toString(36)}`;
  let gh: GitHubDouble;
  let test: TestStack;
  let api: OpenStackApi;

  const fleetServers = async () =>
    (await api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix);
  const fleetKeypairs = async () =>
    (await api.keypairs()).filter((k) => k.name.startsWith(`${prefix}-`));
  const ghRunners = () => gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`));
  const up = async (label: string) => {
    const result = await timed(label, () => test.stack.up());
    assert.equal(result.summary.result, "succeeded");
    return result;
  };

  before(async function () {
    api = await OpenStackApi.login();
    gh = await startGitHubDouble();
    test = await createFleetStack("fleet");
    await test.stack.setAllConfig(
      testFleetConfig({
        prefix,
        gh,
        quantity: 3,
        label: "e2e",
        extra: { busyWaitSeconds: "3", metricsEnabled: "false" },
      }),
    );
  });

  after(async function () {
    // Leave nothing behind even when a test failed half-way.
    for (const r of ghRunners()) if (r.busy) gh.control.finishJob(r.id, { exitCode: 0 });
    await test?.stack.destroy().catch(() => undefined);
    await gh?.close();
    test?.cleanup();
  });

  it("up with quantity 3 makes 3 ACTIVE servers and 3 registrations", async function () {
    const result = await up("up 0 to 3");
    const servers = await fleetServers();
    assert.equal(servers.length, 3);
    assert.ok(servers.every((s) => s.status === "ACTIVE"));
    assert.deepEqual(
      ghRunners()
        .map((r) => r.name)
        .sort(),
      servers.map((s) => s.name).sort(),
    );
    assert.deepEqual(
      (result.outputs.runnerNames.value as string[]).sort(),
      servers.map((s) => s.name).sort(),
    );
    for (const s of servers) {
      const runner = ghRunners().find((r) => r.name === s.name);
      assert.equal(s.metadata[RUNNER_ID_METADATA_KEY], String(runner?.id));
      // Lean runners: the metrics key comes with the registration, through the userdata.
      assert.equal(s.key_name, null);
    }
    assert.equal((await fleetKeypairs()).length, 0);
  });

  it("a second up with nothing changed changes nothing", async function () {
    const result = await up("up 3, no change");
    assert.equal(result.summary.resourceChanges?.create ?? 0, 0);
    assert.equal(result.summary.resourceChanges?.delete ?? 0, 0);
  });

  it("an unwritable metrics log is a warning, and the up goes on", async function () {
    // A path under a regular file: no directory can be made there, even by root.
    await test.stack.setAllConfig({
      "runner-fleet:metricsEnabled": { value: "true" },
      "runner-fleet:metricsLogPath": { value: "/etc/hostname/runner-fleet-metrics.log" },
    });
    try {
      let output = "";
      const result = await timed("up, metrics log unwritable", () =>
        test.stack.up({ onOutput: (text) => (output += text) }),
      );
      assert.equal(result.summary.result, "succeeded");
      assert.match(
        output,
        /metrics events not written to \/etc\/hostname\/runner-fleet-metrics\.log, the up goes on/,
      );
      assert.equal(result.summary.resourceChanges?.create ?? 0, 0);
      assert.equal(result.summary.resourceChanges?.delete ?? 0, 0);
    } finally {
      await test.stack.setAllConfig({ "runner-fleet:metricsEnabled": { value: "false" } });
      await test.stack.removeConfig("runner-fleet:metricsLogPath");
    }
    await up("up, metrics off again");
  });

  // What a killed `up` leaves: a server the state does not know (a pending create). Made here
  // through Nova's API, with the metadata the program gives its servers.
  const makeLostServer = async (stack: string, name: string, withKeypair: boolean) => {
    if (withKeypair) await api.createKeypair(name);
    return api.createServer({
      name,
      keyName: withKeypair ? name : undefined,
      metadata: {
        [FLEET_METADATA_KEY]: prefix,
        [STACK_METADATA_KEY]: stack,
        [RUNNER_METADATA_KEY]: name,
      },
    });
  };

  it("deletes a server of this stack that two ups in a row did not know, and only that one", async function () {
    const before = (await fleetServers()).map((s) => s.id).sort();
    const stack = (await fleetServers())[0].metadata[STACK_METADATA_KEY];
    assert.match(stack, /^organization\/fleet\/test#[0-9a-f]{16}$/, "servers name their stack");
    const lostName = `${prefix}-lost0000000a`;
    const lost = await makeLostServer(stack, lostName, true);
    // Same prefix, another stack: not ours to delete.
    const other = await makeLostServer(`${stack}-other`, `${prefix}-other000000a`, false);
    const fleetIds = async () =>
      (await fleetServers())
        .map((s) => s.id)
        .filter((id) => id !== other && id !== lost)
        .sort();
    try {
      const first = await up("up noting a lost server");
      assert.deepEqual(first.outputs.lostServerCandidates.value, [lost]);
      assert.deepEqual(first.outputs.sweptServers.value, []);
      assert.ok(
        (await api.servers()).some((s) => s.id === lost),
        "a first up only notes it",
      );

      const preview = await test.stack.preview();
      const changes = preview.changeSummary;
      assert.ok((changes.update ?? 0) >= 1, `the sweep's update: ${JSON.stringify(changes)}`);
      assert.equal((changes.create ?? 0) + (changes.delete ?? 0) + (changes.replace ?? 0), 0);
      assert.match(preview.stdout, new RegExp(`this up deletes them: ${lost} \\(${lostName}\\)`));
      assert.ok(
        (await api.servers()).some((s) => s.id === lost),
        "a preview deletes nothing",
      );

      const second = await up("up sweeping a lost server");
      assert.deepEqual(second.outputs.sweptServers.value, [lost]);
      assert.deepEqual(second.outputs.lostServerCandidates.value, []);
      assert.deepEqual(second.outputs.knownServerIds.value, await fleetIds());
      const ids = (await api.servers()).map((s) => s.id);
      assert.ok(!ids.includes(lost), "the lost server is deleted");
      assert.ok(ids.includes(other), "another stack's server is left alone");
      assert.ok(!(await fleetKeypairs()).some((k) => k.name === lostName), "and its keypair");
      assert.deepEqual(await fleetIds(), before, "the fleet's own servers are untouched");
    } finally {
      await api.deleteServer(other);
    }
  });

  it("replaces a runner whose job finished (gone from GitHub) on the next up", async function () {
    const [done, ...rest] = ghRunners().map((r) => r.name);
    gh.control.startJob(done);
    gh.control.finishJob(done, { exitCode: 0 });
    await up("up replacing 1");
    const names = (await fleetServers()).map((s) => s.name);
    assert.equal(names.length, 3);
    assert.ok(!names.includes(done), "the finished runner's server is gone");
    for (const name of rest) assert.ok(names.includes(name), `${name} was kept`);
    assert.equal(ghRunners().length, 3);
    assert.equal((await fleetKeypairs()).length, 0);
  });

  it("scales 3 to 1 removing idle runners and keeping a busy one", async function () {
    for (const r of ghRunners()) gh.control.setOnline(r.id);
    const busy = ghRunners()[1].name;
    gh.control.startJob(busy);
    await test.stack.setConfig("runner-fleet:quantity", { value: "1" });
    await up("up 3 to 1");
    assert.deepEqual(
      (await fleetServers()).map((s) => s.name),
      [busy],
    );
    assert.deepEqual(
      ghRunners().map((r) => r.name),
      [busy],
    );
    assert.equal(ghRunners()[0].busy, true, "its job still runs");
  });

  it("refuses to destroy a busy runner's server, and keeps it", async function () {
    await assert.rejects(test.stack.destroy(), /still running a job after 3s/);
    assert.equal((await fleetServers()).length, 1);
  });

  it("destroy leaves 0 servers, 0 fleet keypairs and 0 GitHub runners once the job ended", async function () {
    gh.control.finishJob(ghRunners()[0].id, { exitCode: 0 });
    // A lost server too: the destroy's sweep, after every known server is gone, deletes it.
    const stack = (await fleetServers())[0].metadata[STACK_METADATA_KEY];
    await makeLostServer(stack, `${prefix}-lost0000000b`, true);
    const result = await timed("destroy", () => test.stack.destroy());
    assert.equal(result.summary.result, "succeeded");
    assert.equal((await fleetServers()).length, 0);
    assert.equal((await fleetKeypairs()).length, 0);
    assert.equal(ghRunners().length, 0);
    const groups = (await api.securityGroups()).filter((g) => g.name === `${prefix}-runners`);
    assert.equal(groups.length, 0);
  });

  it("fails preview on a bad config with the key, the value and what is allowed, changing nothing", async function () {
    await test.stack.setConfig("runner-fleet:quantity", { value: "-3" });
    await assert.rejects(
      test.stack.preview(),
      /`quantity` must be an integer from 0 to 1000, got "-3"/,
    );
    await assert.rejects(test.stack.up(), /`quantity` must be an integer from 0 to 1000/);
    assert.equal((await fleetServers()).length, 0);
    assert.equal(ghRunners().length, 0);
  });
});
