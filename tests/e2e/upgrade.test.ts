// An upgrade on the real engine, the local OpenStack, simulated hosts and the GitHub double: a
// fleet deployed by the previous release's code (its program, its @pulumi/pulumi, its dynamic
// providers at the addresses its state records) is taken over by this checkout as a user's
// upgrade does — same state, new code. The previous release built each runner of six resources
// (a Nova keypair and an SshHostKey among them); this code builds lean runners of four. The
// upgrade is a rollout: `refresh` changes nothing, the first `up` replaces the idle runner by a
// lean one and leaves the busy runner and its six resources as they are, the busy runner's
// metrics are still pulled with its keypair's key when its job ends, and `destroy` leaves nothing.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { fleetProgram } from "../../program";
import { tenantOsEnv, testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { runnerTarball } from "../../devkit/runner-hosts/build-tarball";
import { RunnerHostSimulator, startRunnerHostSimulator } from "../../devkit/runner-hosts/simulator";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import { PreviousCodeStack } from "../../devkit/pulumi/previous-code";
import type { TestStack } from "../../devkit/pulumi/test-stack";
import { timed } from "../../devkit/timing";
import { FLEET_METADATA_KEY } from "../../rules/server-metadata";
import { until, untilAllOnline } from "../support/until";

/**
 * The code a user upgrades from: the last commit of six-resource runners (a Nova keypair and an
 * SshHostKey each). Its state names the dynamic providers by the addresses that must never
 * change. Move it forward when a release is cut, so the test always upgrades from what users run.
 */
const PREVIOUS_RELEASE = "35e2c9e";

/** The file a test job waits for on its host, so the test decides when the job ends. */
const JOB_RELEASE = "/home/ubuntu/finish-the-job";

/** Each resource an operation changed, as `op type name`, from its events. */
function changeRecorder() {
  const changed: string[] = [];
  const onEvent = (event: EngineEvent) => {
    const m = event.resOutputsEvent?.metadata;
    // "read" is the StackReference's read of the stack's own outputs, every deployment.
    if (!m || m.op === "same" || m.op === "read") return;
    changed.push(`${m.op} ${m.type} ${m.urn.split("::").pop()}`);
  };
  return { changed, onEvent };
}

type StateResource = {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
};

/**
 * What a resource is: its id and outputs (a "same" step records the program's inputs anew, e.g.
 * the provider's `__defaults` bookkeeping, and when and from where it was registered).
 */
const content = (list: StateResource[]) =>
  list
    .map(({ urn, type, id, outputs }) => ({ urn, type, id, outputs }))
    .sort((a, b) => a.urn.localeCompare(b.urn));

describe(`an upgrade from ${PREVIOUS_RELEASE} (six resources a runner) to lean runners`, function () {
  const prefix = `rf-upg-${Date.now().toString(36)}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "upgrade-"));
  const metricsLog = path.join(work, "metrics.log");
  let gh: GitHubDouble;
  let sim: RunnerHostSimulator;
  let api: OpenStackApi;
  let previous: PreviousCodeStack | undefined;
  let test: TestStack;
  /** The runners the previous code made: the busy one, and the idle one. */
  let busy = "";
  let idle = "";
  /** The busy runner's resources in the state, as the previous code wrote them. */
  let busyResources: StateResource[] = [];

  const fleetServers = async () =>
    (await api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix);
  const fleetKeypairs = async () =>
    (await api.keypairs()).filter((k) => k.name.startsWith(`${prefix}-`));
  const fleetGroups = async () =>
    (await api.securityGroups()).filter((g) => g.name.startsWith(`${prefix}-`));
  const ghRunners = () => gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`));
  const resources = async () =>
    ((await test.stack.exportStack()).deployment?.resources ?? []) as StateResource[];
  /** The resources of one runner: its component and the children named after it. */
  const resourcesOf = async (runner: string) =>
    (await resources()).filter((r) => r.urn.split("::").pop()?.startsWith(runner));
  const metrics = (): { event: string; status?: string; flavor?: string }[] =>
    fs.existsSync(metricsLog)
      ? fs
          .readFileSync(metricsLog, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line))
      : [];

  before(async function () {
    api = await OpenStackApi.login();
    gh = await startGitHubDouble({ runnerTarball: runnerTarball() });
    sim = await startRunnerHostSimulator({
      githubDoubleUrl: gh.url,
      fleetPrefix: prefix,
      stateDir: path.join(work, "hosts"),
    });
    previous = await timed(
      `old code ${PREVIOUS_RELEASE}: checkout (npm ci unless cached), stack, config`,
      () =>
        PreviousCodeStack.create({
          commit: PREVIOUS_RELEASE,
          projectName: "upgrade",
          program: fleetProgram,
          config: {
            ...testFleetConfig({
              prefix,
              gh,
              quantity: 2,
              label: "upgrade",
              extra: { busyWaitSeconds: "5", rolloutSurge: "2", rolloutWaitSeconds: "120" },
            }),
            "runner-fleet:metricsLogPath": { value: metricsLog },
          },
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
    await sim?.stop();
    await gh?.close();
    test?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it(`the code of ${PREVIOUS_RELEASE} deploys 2 runners of six resources, each with a Nova keypair`, async function () {
    const result = await timed(`up with ${PREVIOUS_RELEASE}`, () =>
      (previous as PreviousCodeStack).upWithPreviousCode(),
    );
    assert.equal(result.summary.result, "succeeded");
    const online = await untilAllOnline(ghRunners, 2);
    [busy, idle] = online.map((r) => r.name).sort();
    assert.deepEqual((await fleetKeypairs()).map((k) => k.name).sort(), [busy, idle]);
    assert.deepEqual((await fleetServers()).map((s) => s.key_name).sort(), [busy, idle]);
    for (const name of [busy, idle]) {
      assert.deepEqual((await resourcesOf(name)).map((r) => r.type.split(":").pop()).sort(), [
        "HostKey",
        "Instance",
        "Keypair",
        "RunnerGuard",
        "RunnerRegistration",
        "RunnerServer",
      ]);
    }
    // The state names the old code's dynamic providers by address (module and export).
    const addresses = new Set(
      (await resources())
        .filter((r) => r.inputs?.__provider !== undefined)
        .map((r) => {
          const m = /moduleFile: "([^"]+)", exportName: "([^"]+)"/.exec(
            String(r.inputs?.__provider),
          );
          assert.ok(m, `a loader by address: ${String(r.inputs?.__provider).slice(0, 200)}`);
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

  it("refresh with the current code changes nothing", async function () {
    const { changed, onEvent } = changeRecorder();
    const result = await timed("refresh with HEAD", () => test.stack.refresh({ onEvent }));
    assert.equal(result.summary.result, "succeeded");
    // The program's StackReference to its own stack read no outputs in the first deployment (there
    // were none yet); a refresh reads that deployment's. Any stack's first refresh does that.
    assert.deepEqual(
      changed,
      changed.length ? ["update pulumi:pulumi:StackReference previous-deployment"] : [],
      result.stdout,
    );
  });

  it("the first up replaces the idle runner by a lean one and leaves the busy runner and its six resources as they are", async function () {
    gh.control.dispatchJob({
      repo: "acme/widgets",
      runnerName: busy,
      run: `while [ ! -e ${JOB_RELEASE} ]; do sleep 0.2; done`,
    });
    await until("the job to start", () => ghRunners().find((r) => r.name === busy && r.busy));
    busyResources = await resourcesOf(busy);

    const preview = await timed("preview with HEAD", () => test.stack.preview());
    assert.match(
      preview.stdout,
      new RegExp(
        `pool default: 2 runners outdated \\(runnerModel changed\\); this up replaces 1 ` +
          `\\(rolloutSurge 2\\): ${idle} by \\S+; busy, they go when their job ends: ${busy}`,
      ),
    );
    const applied = changeRecorder();
    const result = await timed("up with HEAD: the rollout to lean runners", () =>
      test.stack.up({ onEvent: applied.onEvent }),
    );
    assert.equal(result.summary.result, "succeeded");

    // Nothing of the busy runner changed: no step but "same", the same six resources and outputs.
    assert.deepEqual(
      applied.changed.filter((c) => c.split(" ").pop()?.startsWith(busy)),
      [],
      applied.changed.join("\n"),
    );
    assert.deepEqual(content(await resourcesOf(busy)), content(busyResources));
    assert.ok(ghRunners().find((r) => r.name === busy)?.busy, "the busy runner keeps its job");

    // The idle runner went (its six resources, its server and keypair); a lean runner replaced it.
    const lean = ghRunners().find((r) => r.name !== busy);
    assert.ok(lean && lean.name !== idle, JSON.stringify(ghRunners()));
    assert.equal(lean.status, "online", "the rollout waited for the replacement to come online");
    assert.deepEqual(await resourcesOf(idle), []);
    assert.deepEqual((await resourcesOf(lean.name)).map((r) => r.type.split(":").pop()).sort(), [
      "Instance",
      "RunnerGuard",
      "RunnerRegistration",
      "RunnerServer",
    ]);
    const servers = await fleetServers();
    assert.deepEqual(servers.map((s) => s.name).sort(), [busy, lean.name].sort());
    assert.equal(servers.find((s) => s.name === lean.name)?.key_name, null);
    assert.deepEqual(
      (await fleetKeypairs()).map((k) => k.name),
      [busy],
    );
    // The idle runner's teardown pulled its metrics with its keypair's key.
    assert.ok(
      metrics().some((e) => e.event === "runner_installed"),
      JSON.stringify(metrics()),
    );
  });

  it("when the busy runner's job ends, its metrics are pulled with its keypair's key and a lean runner takes its place", async function () {
    const host = sim.hosts().find((h) => h.serverName === busy);
    assert.ok(host);
    fs.writeFileSync(path.join(host.dir, "fs", JOB_RELEASE), "");
    await until("the busy runner to leave", () => !ghRunners().some((r) => r.name === busy));
    const stopsBefore = metrics().filter((e) => e.event === "runner_stop").length;
    const result = await timed("up with HEAD after the job", () => test.stack.up());
    assert.equal(result.summary.result, "succeeded");
    const stops = metrics().filter((e) => e.event === "runner_stop");
    assert.equal(stops.length, stopsBefore + 1, JSON.stringify(metrics()));
    assert.equal(stops[stops.length - 1].status, "normal");

    const servers = await fleetServers();
    assert.equal(servers.length, 2);
    assert.ok(servers.every((s) => s.key_name === null && s.name !== busy));
    assert.deepEqual(await fleetKeypairs(), []);
    const outputs = await test.stack.outputs();
    const recorded = outputs.runners.value as { name: string; model?: string }[];
    assert.deepEqual(
      recorded.map((r) => r.model),
      ["lean", "lean"],
    );
    const types = new Set((await resources()).map((r) => r.type));
    assert.ok(!types.has("openstack:compute/keypair:Keypair"));
    assert.ok(!types.has("pulumi-nodejs:dynamic/ssh:HostKey"));
    await untilAllOnline(ghRunners, 2);
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
