// An upgrade on the real engine, the local OpenStack and the GitHub double: a fleet deployed by
// the previous release's code (its program, its @pulumi/pulumi, its dynamic providers at the
// addresses its state records) is taken over by this checkout as a user's upgrade does — same
// state, new code. `refresh` changes nothing and `up` only records the stack identity in the sweep (the same
// servers, the same GitHub registrations), and `destroy` with the new code leaves nothing on either side.
import * as assert from "node:assert/strict";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { fleetProgram } from "../../program";
import { tenantOsEnv, testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import { PreviousCodeStack } from "../../devkit/pulumi/previous-code";
import type { TestStack } from "../../devkit/pulumi/test-stack";
import { timed } from "../../devkit/timing";
import { FLEET_METADATA_KEY, STACK_METADATA_KEY } from "../../rules/server-metadata";

/**
 * The code a user upgrades from: the last commit before the layout change (config/, fleet/,
 * cloud-init/, the guard renamed RunnerTeardown behind a shim at its old address). Its state
 * names the dynamic providers by the addresses that change had to keep. Move it forward when a
 * release is cut, so the test always upgrades from what users run.
 */
const PREVIOUS_RELEASE = "d43edef";

/** Resource changes other than "same", e.g. `{ update: 2 }`. */
const changesOf = (changes: Record<string, number> | undefined) =>
  Object.fromEntries(Object.entries(changes ?? {}).filter(([op, n]) => op !== "same" && n > 0));

/** Each resource an operation changed, as `op type name [properties]`, from its events. */
function changeRecorder() {
  const changed: string[] = [];
  const onEvent = (event: EngineEvent) => {
    const m = event.resOutputsEvent?.metadata;
    // "read" is the StackReference's read of the stack's own outputs, every deployment.
    if (!m || m.op === "same" || m.op === "read") return;
    const properties = m.diffs?.length ? ` [${m.diffs.join(", ")}]` : "";
    changed.push(`${m.op} ${m.type} ${m.urn.split("::").pop()}${properties}`);
  };
  return { changed, onEvent };
}

describe(`an upgrade from ${PREVIOUS_RELEASE} on the real engine`, function () {
  const prefix = `rf-upg-${Date.now().toString(36)}`;
  let gh: GitHubDouble;
  let api: OpenStackApi;
  let previous: PreviousCodeStack | undefined;
  let test: TestStack;
  /** Server id and GitHub runner id of each runner, by name, as the previous code made them. */
  let deployed: { name: string; serverId: string; runnerId: number }[] = [];
  /** The serialized dynamic providers (`__provider`) the previous code recorded, by URN. */
  let recordedProviders: Record<string, { inputs: unknown; outputs: unknown }> = {};

  const fleetServers = async () =>
    (await api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix);
  const fleetKeypairs = async () =>
    (await api.keypairs()).filter((k) => k.name.startsWith(`${prefix}-`));
  const fleetGroups = async () =>
    (await api.securityGroups()).filter((g) => g.name.startsWith(`${prefix}-`));
  const ghRunners = () => gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`));
  const current = async () =>
    (await fleetServers())
      .map((s) => ({
        name: s.name,
        serverId: s.id,
        runnerId: ghRunners().find((r) => r.name === s.name)?.id ?? -1,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  /** `__provider` of every dynamic resource in the state, inputs and outputs, by URN. */
  const serializedProviders = async () => {
    type Resource = {
      urn: string;
      inputs?: Record<string, unknown>;
      outputs?: Record<string, unknown>;
    };
    const resources = ((await test.stack.exportStack()).deployment?.resources ?? []) as Resource[];
    return Object.fromEntries(
      resources
        .filter((r) => r.inputs?.__provider !== undefined)
        .map((r) => [r.urn, { inputs: r.inputs?.__provider, outputs: r.outputs?.__provider }]),
    );
  };

  before(async function () {
    api = await OpenStackApi.login();
    gh = await startGitHubDouble();
    previous = await timed(
      `old code ${PREVIOUS_RELEASE}: checkout (npm ci unless cached), stack, config`,
      () =>
        PreviousCodeStack.create({
          commit: PREVIOUS_RELEASE,
          projectName: "upgrade",
          program: fleetProgram,
          config: testFleetConfig({
            prefix,
            gh,
            quantity: 2,
            label: "upgrade",
            extra: { metricsEnabled: "false" },
          }),
          env: { ...tenantOsEnv(), RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS: "0" },
        }),
    );
    console.log(
      `      [previous-code] ${previous.checkout.reused ? "reused" : "built"} ${previous.checkout.root}`,
    );
    test = previous.test;
  });

  after(async function () {
    // Leave nothing behind even when a test failed half-way, and destroy with the current code.
    previous?.useHead();
    if (gh) for (const r of ghRunners()) if (r.busy) gh.control.finishJob(r.id, { exitCode: 0 });
    await test?.stack.destroy().catch(() => undefined);
    await gh?.close();
    test?.cleanup();
  });

  it(`the code of ${PREVIOUS_RELEASE} deploys 2 runners`, async function () {
    const result = await timed(`up with ${PREVIOUS_RELEASE}`, () =>
      (previous as PreviousCodeStack).upWithPreviousCode(),
    );
    assert.equal(result.summary.result, "succeeded");
    deployed = await current();
    assert.equal(deployed.length, 2);
    assert.ok((await fleetServers()).every((s) => s.status === "ACTIVE"));
    assert.deepEqual(
      ghRunners()
        .map((r) => r.name)
        .sort(),
      deployed.map((r) => r.name),
    );
    assert.ok(deployed.every((r) => r.runnerId > 0));
    assert.deepEqual(
      (result.outputs.runnerNames as string[]).slice().sort(),
      deployed.map((r) => r.name),
    );
    // The state names the old code's dynamic providers by address (module and export), each
    // serialized as a loader of a few hundred bytes, not as its code.
    recordedProviders = await serializedProviders();
    assert.equal(Object.keys(recordedProviders).length, 2 * 3 + 1, "3 per runner and the sweep");
    const addresses = new Set(
      Object.values(recordedProviders).map(({ inputs }) => {
        const m = /moduleFile: "([^"]+)", exportName: "([^"]+)"/.exec(String(inputs));
        assert.ok(m && String(inputs).length < 4096, `a loader by address: ${String(inputs)}`);
        return `${m[1]}#${m[2]}`;
      }),
    );
    assert.deepEqual([...addresses].sort(), [
      "github-runner#GitHubRunnerProvider",
      "lost-server-sweep#LostServerSweepProvider",
      "runner-guard#RunnerGuardProvider",
      "ssh-host-key#SshHostKeyProvider",
    ]);
  });

  it("refresh with the current code succeeds and changes only the self StackReference", async function () {
    const { changed, onEvent } = changeRecorder();
    const result = await timed("refresh with HEAD", () => test.stack.refresh({ onEvent }));
    assert.equal(result.summary.result, "succeeded");
    console.log(`      refresh changed: ${JSON.stringify(changed)}`);
    // The program's StackReference to its own stack read no outputs in the first deployment (there
    // were none yet); a refresh reads that deployment's. Any stack's first refresh does that.
    assert.deepEqual(
      changed,
      changed.length ? ["update pulumi:pulumi:StackReference previous-deployment"] : [],
      result.stdout,
    );
    assert.deepEqual(await current(), deployed);
  });

  it("up with the current code succeeds and changes only the sweep, which records the stack identity", async function () {
    const planned = changeRecorder();
    const preview = await timed("preview --diff with HEAD", () =>
      test.stack.preview({ diff: true, onEvent: planned.onEvent }),
    );
    if (planned.changed.length > 0) console.log(preview.stdout);
    const applied = changeRecorder();
    const result = await timed("up with HEAD", () =>
      test.stack.up({ diff: true, onEvent: applied.onEvent }),
    );
    assert.equal(result.summary.result, "succeeded");
    // The lost-server sweep records the new stack identity beside the legacy one (and where the
    // runners live, for its busy check at destroy): an update in place of that one resource.
    // No runner, server, keypair or registration changes.
    const sweepUpdate = ["update pulumi-nodejs:dynamic/openstack:LostServerSweep lost-servers"];
    assert.deepEqual(changesOf(preview.changeSummary), { update: 1 }, preview.stdout);
    assert.deepEqual(planned.changed, sweepUpdate, preview.stdout);
    assert.deepEqual(changesOf(result.summary.resourceChanges), { update: 1 }, result.stdout);
    assert.deepEqual(applied.changed, sweepUpdate, result.stdout);
    // The servers keep the legacy mark, still recognised; new servers get the new identity.
    const legacy = (await fleetServers()).map((s) => s.metadata[STACK_METADATA_KEY]);
    const outputs = await test.stack.outputs();
    assert.deepEqual([...new Set(legacy)], [outputs.legacyStackIdentity.value]);
    assert.match(outputs.stackIdentity.value as string, new RegExp(`^${legacy[0]}#[0-9a-f]{16}$`));
    // Even where a provider's diff would not notice: the current code serializes each dynamic
    // provider exactly as the previous release did (the loader and its address), so the state
    // holds the same `__provider`, and what refreshes and destroys load is unchanged. The sweep,
    // updated, records its loader again: the same address, now with `configure` (its busy check
    // at destroy reads the credentials).
    const now = await serializedProviders();
    const isSweep = (urn: string) => urn.endsWith("::lost-servers");
    const unchanged = (all: typeof now) =>
      Object.fromEntries(Object.entries(all).filter(([urn]) => !isSweep(urn)));
    assert.deepEqual(unchanged(now), unchanged(recordedProviders));
    const [sweepUrn] = Object.keys(now).filter(isSweep);
    assert.match(
      String(now[sweepUrn].inputs),
      /moduleFile: "lost-server-sweep", exportName: "LostServerSweepProvider", method: "configure"/,
    );
  });

  it("keeps the servers and the GitHub registrations the previous code made", async function () {
    assert.deepEqual(await current(), deployed);
    assert.ok((await fleetServers()).every((s) => s.status === "ACTIVE"));
    assert.equal((await fleetKeypairs()).length, 2);
    assert.equal(ghRunners().length, 2);
  });

  it("destroy with the current code leaves no server, keypair, group or runner", async function () {
    const result = await timed("destroy with HEAD", () => test.stack.destroy());
    assert.equal(result.summary.result, "succeeded");
    assert.deepEqual(await fleetServers(), []);
    assert.deepEqual(await fleetKeypairs(), []);
    assert.deepEqual(await fleetGroups(), []);
    assert.deepEqual(ghRunners(), []);
  });
});
