// Rollouts on the real engine, the local OpenStack, simulated hosts and the GitHub double: a change
// of what runners are made of (image, runner release) replaces them by new runners under new
// names, within the surge, without failing on a busy runner and without a moment with no runner
// online; a replacement that never comes online halts the rollout, and a slow one is kept by the
// reconciles during its boot.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { UpResult } from "@pulumi/pulumi/automation";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { runnerTarball } from "../../devkit/runner-hosts/build-tarball";
import {
  BOOT_PROPERTY,
  RunnerHostSimulator,
  startRunnerHostSimulator,
} from "../../devkit/runner-hosts/simulator";
import { testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import type { TestStack } from "../../devkit/pulumi/test-stack";
import { timed } from "../../devkit/timing";
import { FLEET_METADATA_KEY } from "../../rules/server-metadata";
import { createFleetStack } from "../support/fleet-stack";
import { createBaseImage, createGlanceImage, deleteGlanceImages } from "../support/glance-images";
import { until, untilAllOnline } from "../support/until";

/** A lean runner's resources: its component, registration, server and guard. */
const RESOURCES_PER_RUNNER = 4;

/** The file a test job waits for on its host, so the test decides when the job ends. */
const JOB_RELEASE = "/home/ubuntu/finish-the-job";

describe("rollouts that never fail on busy runners", function () {
  const prefix = `rf-roll-${Date.now().toString(36)}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rollout-"));
  const images: Record<string, string> = {};
  let gh: GitHubDouble;
  let sim: RunnerHostSimulator;
  let test: TestStack;
  let api: OpenStackApi;

  const fleetRunners = () => gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`));
  const fleetServers = async () =>
    (await api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix);
  const imagesOfServers = async () =>
    (await fleetServers()).map((s) => (typeof s.image === "object" ? s.image.id : "")).sort();
  const config = (extra: Record<string, string>) => {
    const map = testFleetConfig({
      prefix,
      gh,
      quantity: 3,
      label: "rollout",
      extra: {
        busyWaitSeconds: "5",
        bootGraceSeconds: "150",
        rolloutWaitSeconds: "15",
        metricsEnabled: "false",
        ...extra,
      },
    });
    // The tenant's image is the default; a build replaces it.
    if (extra.imageBuild) delete map["runner-fleet:image"];
    return map;
  };
  const setConfig = async (extra: Record<string, string>) => {
    for (const key of ["image", "imageBuild"]) {
      await test.stack.removeConfig(`runner-fleet:${key}`).catch(() => undefined);
    }
    await test.stack.setAllConfig(config(extra));
  };
  const up = async (label: string): Promise<UpResult> => {
    const logs: string[] = [];
    const result = await timed(label, () => test.stack.up({ onOutput: (line) => logs.push(line) }));
    assert.equal(result.summary.result, "succeeded");
    return Object.assign(result, { log: logs.join("") });
  };
  const logOf = (result: UpResult) => (result as UpResult & { log: string }).log;
  const allOnline = (n: number) => untilAllOnline(fleetRunners, n, 120_000);
  /** Makes a Glance image (a few bytes: the hosts run the test agent), with a boot property. */
  const makeImage = (name: string, boot?: string) => {
    const file = path.join(work, `${name}.raw`);
    fs.writeFileSync(file, Buffer.alloc(4096));
    images[name] = createGlanceImage(
      `${prefix}-${name}`,
      file,
      boot ? { [BOOT_PROPERTY]: boot } : {},
    );
  };

  before(async function () {
    api = await OpenStackApi.login();
    gh = await startGitHubDouble({ runnerTarball: runnerTarball() });
    sim = await startRunnerHostSimulator({
      githubDoubleUrl: gh.url,
      fleetPrefix: prefix,
      stateDir: path.join(work, "hosts"),
    });
    makeImage("a");
    makeImage("b");
    makeImage("broken", "never");
    makeImage("slow", "after-45s");
    test = await createFleetStack("rollout");
    await setConfig({ image: images.a, rolloutSurge: "3" });
  });

  after(async function () {
    for (const r of fleetRunners()) if (r.busy) gh.control.finishJob(r.id, { exitCode: 0 });
    await test?.stack.destroy().catch(() => undefined);
    await sim?.stop();
    await gh?.close();
    deleteGlanceImages(Object.values(images));
    test?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  let busy: string;

  it("an image change with one runner busy: the up succeeds, idle runners are replaced, the busy one keeps its job", async function () {
    await up("rollout: up 0 to 3");
    const first = await allOnline(3);
    busy = first[0].name;
    gh.control.dispatchJob({
      repo: "acme/widgets",
      runnerName: busy,
      run: `while [ ! -e ${JOB_RELEASE} ]; do sleep 0.2; done`,
    });
    await until("the job to start", () => fleetRunners().find((r) => r.name === busy && r.busy));

    // Sample the pool's online runners every second through the rollout.
    const samples: number[] = [];
    const sampler = setInterval(
      () => samples.push(fleetRunners().filter((r) => r.status === "online").length),
      1000,
    );
    await setConfig({ image: images.b, rolloutSurge: "3" });
    // The preview says what the up will do: which runners, why, and how many.
    const preview = await test.stack.preview();
    assert.match(
      preview.stdout,
      /pool default: 3 runners outdated \(image changed\); this up replaces 2 \(rolloutSurge 3\): \S+ by \S+, \S+ by \S+; busy, they go when their job ends/,
    );
    assert.equal(preview.changeSummary.create, 2 * RESOURCES_PER_RUNNER);
    assert.equal(preview.changeSummary.delete, 2 * RESOURCES_PER_RUNNER);
    const startedAt = Date.now();
    let result: UpResult;
    try {
      result = await up("rollout: image change, 3 runners, 1 busy");
    } finally {
      clearInterval(sampler);
    }
    const rolloutSeconds = (Date.now() - startedAt) / 1000;
    console.log(`      [rollout] 3 runners, 1 busy: ${rolloutSeconds.toFixed(1)} s`);
    assert.ok(samples.length >= 3 && Math.min(...samples) >= 1, JSON.stringify(samples));
    assert.match(
      logOf(result),
      /pool default: 3 runners outdated \(image changed\); this up replaces 2 \(rolloutSurge 3\)/,
    );
    assert.match(logOf(result), new RegExp(`busy, they go when their job ends: ${busy}`));

    // The busy runner keeps its job and server; the idle ones were replaced by new names.
    const runners = fleetRunners();
    assert.ok(runners.find((r) => r.name === busy)?.busy, "the busy runner still runs its job");
    const names = runners.map((r) => r.name);
    assert.equal(names.length, 3);
    assert.deepEqual(
      names.filter((n) => first.some((f) => f.name === n)),
      [busy],
    );
    assert.deepEqual(await imagesOfServers(), [images.a, images.b, images.b].sort());
    // Fresh clocks: each replacement's creation time is this up's.
    const recorded = result.outputs.runners.value as { name: string; createdAt: string }[];
    for (const r of recorded.filter((x) => x.name !== busy)) {
      assert.ok(Date.parse(r.createdAt) >= startedAt - 1000, `${r.name} created ${r.createdAt}`);
    }

    // The job ends; the runner leaves (ephemeral), and the next up fills the pool on image B.
    const host = sim.hosts().find((h) => h.serverName === busy);
    assert.ok(host);
    fs.writeFileSync(path.join(host.dir, "fs", JOB_RELEASE), "");
    await until("the busy runner to leave", () => !fleetRunners().some((r) => r.name === busy));
    const after = await up("rollout: up after the busy runner's job");
    assert.deepEqual(await imagesOfServers(), [images.b, images.b, images.b]);
    assert.doesNotMatch(logOf(after), /outdated/);
    await allOnline(3);
  });

  it("a surge of 1 on a pool of 3 takes three ups", async function () {
    await setConfig({ image: images.a, rolloutSurge: "1" });
    const onA: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const result = await up(`rollout: surge 1, up ${i}`);
      assert.match(logOf(result), /this up replaces 1 \(rolloutSurge 1\)/);
      onA.push((await imagesOfServers()).filter((id) => id === images.a).length);
      assert.equal((await fleetServers()).length, 3, "never more than the pool once an up ends");
    }
    assert.deepEqual(onA, [1, 2, 3]);
    const settled = await up("rollout: surge 1, settled");
    assert.doesNotMatch(logOf(settled), /outdated/);
    await allOnline(3);
  });

  it("a replacement image that never boots stops the rollout after the first runner; reverting the image ends it", async function () {
    const serving = fleetRunners().map((r) => r.name);
    await setConfig({ image: images.broken, rolloutSurge: "1" });
    const first = await up("rollout: broken image, up 1");
    assert.match(logOf(first), /did not come online within 15s: .* stays/);
    const halts = first.outputs.rolloutHalts.value as Record<string, { reason: string }>;
    assert.match(halts.default?.reason ?? "", /did not come online within 15s/);
    // The old runners serve; the one replacement sits there, never online.
    assert.deepEqual(
      fleetRunners()
        .filter((r) => r.status === "online")
        .map((r) => r.name)
        .sort(),
      [...serving].sort(),
    );
    assert.equal((await imagesOfServers()).filter((id) => id === images.broken).length, 1);

    const second = await up("rollout: broken image, up 2 (halted)");
    assert.match(logOf(second), /rollout halted: replacement .* did not come online/);
    assert.equal((await imagesOfServers()).filter((id) => id === images.broken).length, 1);
    assert.equal((await fleetServers()).length, 4);

    // Reverting the image makes the old runners current again: the broken replacement goes.
    await setConfig({ image: images.a, rolloutSurge: "1" });
    const reverted = await up("rollout: image reverted");
    assert.doesNotMatch(logOf(reverted), /outdated/);
    assert.deepEqual(await imagesOfServers(), [images.a, images.a, images.a]);
    assert.deepEqual(reverted.outputs.rolloutHalts.value, {});
  });

  it("a reconcile during a replacement's boot keeps the replacement, and the rollout goes on once it is online", async function () {
    await setConfig({ image: images.slow, rolloutSurge: "1" });
    const first = await up("rollout: slow image, up 1");
    assert.match(logOf(first), /did not come online within 15s/);
    const replacement = (first.outputs.runnerNames.value as string[]).find(
      (n) => !fleetRunners().some((r) => r.name === n && r.status === "online"),
    );
    assert.ok(replacement, "a replacement still booting");
    // The reconcile during its boot keeps it (its clock started at its own creation).
    const during = await up("rollout: slow image, reconcile during the boot");
    assert.ok((during.outputs.runnerNames.value as string[]).includes(replacement));
    assert.equal((await fleetServers()).length, 4);
    await until(
      "the slow replacement to come online",
      () => fleetRunners().find((r) => r.name === replacement && r.status === "online"),
      120_000,
    );
    // Online now: one outdated runner goes, and the next replacement starts (slow again: the
    // runner it replaces stays through this up).
    const next = await up("rollout: slow image, after the replacement came online");
    assert.match(logOf(next), /this up replaces 1 \(rolloutSurge 1\)/);
    assert.ok((next.outputs.runnerNames.value as string[]).includes(replacement));
    const servers = await imagesOfServers();
    assert.equal(servers.filter((id) => id === images.a).length, 2);
    assert.equal(servers.filter((id) => id === images.slow).length, 2);
  });

  it("runnerVersion latest: a new release on GitHub rolls the fleet the same way", async function () {
    // A base image with /home/ubuntu: the build bakes the double's runner into it.
    images.base = createBaseImage(work, `${prefix}-base`);
    const build = JSON.stringify({
      baseImage: images.base,
      runnerVersion: "latest",
      architecture: "x86_64",
      name: `${prefix}-built`,
    });
    await setConfig({ imageBuild: build, rolloutSurge: "3" });
    await up("rollout: onto the built image");
    await allOnline(3);
    const built = await imagesOfServers();
    assert.equal(new Set(built).size, 1);

    gh.control.publishRunnerRelease("2.330.0");
    const rolled = await up("rollout: a new runner release");
    assert.match(
      logOf(rolled),
      /pool default: 3 runners outdated \(image changed\); this up replaces 3/,
    );
    const after = await imagesOfServers();
    assert.equal(after.length, 3);
    assert.equal(new Set(after).size, 1);
    assert.notEqual(after[0], built[0], "the runners boot the image of the new release");
    await allOnline(3);
  });
});
