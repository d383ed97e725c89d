// The reconciler end to end: `npm run reconciler`'s process on the real engine, the local
// OpenStack, simulated hosts and the GitHub double, which sends it signed `workflow_job`
// deliveries. It absorbs a burst of jobs, makes one `up` of a burst of webhooks, rejects bad
// deliveries, serves /healthz and /metrics (checked by promtool), pauses, deploys what main's
// config says, waits out a pipeline `up` holding the lock, and stops on SIGTERM mid-`up` leaving
// a stack the next `up` converges.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { fetchJob, jobWaitSeconds } from "../../devkit/github-double/jobs-client";
import { testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import {
  commitConfig,
  configRepository,
  reconcilerHealth,
  ReconcilerProcess,
} from "../../devkit/pulumi/reconciler-process";
import { isSettled } from "../../reconciler/health";
import type { TestStack } from "../../devkit/pulumi/test-stack";
import { runnerTarball } from "../../devkit/runner-hosts/build-tarball";
import { RunnerHostSimulator, startRunnerHostSimulator } from "../../devkit/runner-hosts/simulator";
import { FLEET_METADATA_KEY } from "../../rules/server-metadata";
import { createFleetStack } from "../support/fleet-stack";
import { until } from "../support/until";

const SECRET = "reconciler-webhook-secret";
/** The file a test job waits for on its host, so the test decides when the job ends. */
const JOB_RELEASE = "/home/ubuntu/finish-the-job";

describe("the reconciler", function () {
  const prefix = `rf-recon-${Date.now().toString(36)}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "reconciler-"));
  const pauseFile = path.join(work, "paused");
  let gh: GitHubDouble;
  let sim: RunnerHostSimulator;
  let test: TestStack;
  let api: OpenStackApi;
  let rec: ReconcilerProcess;
  let checkout: string;

  const fleetRunners = () => gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`));
  const fleetServers = async () =>
    (await api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix);
  const setConfig = async (extra: Record<string, string>) => {
    const config = testFleetConfig({
      prefix,
      gh,
      quantity: 0,
      label: "recon",
      extra: {
        busyWaitSeconds: "5",
        metricsEnabled: "false",
        minIdle: "1",
        maxRunners: "8",
        ...extra,
      },
    });
    delete config["runner-fleet:quantity"];
    await test.stack.setAllConfig(config);
  };
  const upStarts = () => rec.matching(/^\S+ up #\d+ \(\w+\) starts/);
  /** Waits until no up runs and the last one succeeded. */
  const settled = async (ms = 240_000) => {
    await until(
      "the reconciler to finish its ups",
      async () => isSettled(await reconcilerHealth(rec.url as string)),
      ms,
    );
  };
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${rec.url}/webhook`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    });
  const sign = (body: string) =>
    `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
  const dispatch = (n: number, labels = ["self-hosted", "recon"], run = "sleep 2") =>
    Array.from(
      { length: n },
      () => gh.control.dispatchJob({ repo: "acme/widgets", labels, run }).id,
    );
  const completed = (ids: number[]) => {
    const done = new Set(
      gh.control
        .webhookDeliveries()
        .filter((d) => d.action === "completed")
        .map((d) => d.jobId),
    );
    return ids.every((id) => done.has(id));
  };

  before(async function () {
    api = await OpenStackApi.login();
    gh = await startGitHubDouble({ runnerTarball: runnerTarball() });
    sim = await startRunnerHostSimulator({
      githubDoubleUrl: gh.url,
      fleetPrefix: prefix,
      stateDir: path.join(work, "hosts"),
    });
    test = await createFleetStack("reconciler");
    await setConfig({});
    ({ checkout } = configRepository(work, test.workDir));
    rec = new ReconcilerProcess(
      {
        ...test.stack.workspace.envVars,
        RUNNER_FLEET_RECONCILER_CHECKOUT: checkout,
        RUNNER_FLEET_RECONCILER_STACK: "test",
        RUNNER_FLEET_RECONCILER_LISTEN: "127.0.0.1:0",
        RUNNER_FLEET_RECONCILER_WEBHOOK_SECRET: SECRET,
        RUNNER_FLEET_RECONCILER_STATE_DIR: path.join(work, "state"),
        RUNNER_FLEET_RECONCILER_PAUSE_FILE: pauseFile,
        RUNNER_FLEET_RECONCILER_LOCK_RETRY_SECONDS: "2",
        RUNNER_FLEET_RECONCILER_STOP_TIMEOUT_SECONDS: "3",
        RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS: "0",
      },
      path.join(work, "reconciler.log"),
    );
    const url = await rec.started();
    gh.control.setWebhook({ url: `${url}/webhook`, secret: SECRET });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(`reconciler's output:\n${rec?.tail(80)}`);
  });

  after(async function () {
    await rec?.stop();
    for (const r of fleetRunners()) if (r.busy) gh.control.finishJob(r.id, { exitCode: 0 });
    await test?.stack.destroy().catch(() => undefined);
    await sim?.stop();
    await gh?.close();
    test?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("reconciles at start: the pool gets its idle runner; /healthz answers", async function () {
    await settled();
    await until("1 idle runner online", () => {
      const list = fleetRunners();
      return list.length === 1 && list[0].status === "online";
    });
    const health = (await (await fetch(`${rec.url}/healthz`)).json()) as Record<string, unknown>;
    assert.equal(health.status, "ok");
    assert.equal(health.paused, false);
  });

  it("bad deliveries change nothing: 401, 400, 204, 413", async function () {
    const before = upStarts().length;
    const job = JSON.stringify({
      action: "queued",
      workflow_job: { id: 9001, status: "queued", labels: ["self-hosted", "recon"] },
    });
    const delivery = { "x-github-event": "workflow_job", "x-github-delivery": "d-9001" };
    assert.equal(
      (await post(job, { ...delivery, "x-hub-signature-256": "sha256=00" })).status,
      401,
    );
    assert.equal((await post(job, delivery)).status, 401);
    assert.equal(
      (await post("{nope", { ...delivery, "x-hub-signature-256": sign("{nope") })).status,
      400,
    );
    const push = JSON.stringify({ ref: "refs/heads/main" });
    assert.equal(
      (
        await post(push, {
          ...delivery,
          "x-github-event": "push",
          "x-hub-signature-256": sign(push),
        })
      ).status,
      204,
    );
    const huge = "x".repeat(2 * 1024 * 1024);
    assert.equal(
      (await post(huge, { ...delivery, "x-hub-signature-256": sign(huge) })).status,
      413,
    );
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(upStarts().length, before, "no up");
    assert.equal(await rec.metric("runner_fleet_queued_jobs", 'pool="default"'), 0);
  });

  it("20 webhooks within a second make at most 2 ups", async function () {
    const before = upStarts().length;
    // Jobs no pool takes: the deliveries trigger ups, and nothing else moves.
    const ids = dispatch(20, ["self-hosted", "no-such-pool"]);
    await until("20 deliveries answered", () =>
      ids.every((id) =>
        gh.control.webhookDeliveries().some((d) => d.jobId === id && d.status === 202),
      ),
    );
    await settled();
    assert.ok(upStarts().length - before <= 2, `${upStarts().length - before} ups`);
    assert.ok(upStarts().length - before >= 1, "an up ran");
    assert.equal(await rec.metric("runner_fleet_queued_jobs", 'pool=""'), 20);
    for (const id of ids) gh.control.cancelJob(id);
    await settled();
  });

  it("absorbs a burst of 6 jobs: each starts on a new runner, and the pool goes back to its idle runner", async function () {
    const ids = dispatch(6);
    await until("the 6 jobs to complete", () => completed(ids), 300_000);
    await settled();
    await until(
      "the pool back at 1 idle runner",
      async () => {
        await settled();
        const list = fleetRunners();
        return list.length === 1 && !list[0].busy && (await fleetServers()).length === 1;
      },
      240_000,
    );
    const jobs = await Promise.all(ids.map((id) => fetchJob(gh, id)));
    assert.deepEqual(
      jobs.map((j) => j.conclusion),
      ids.map(() => "success"),
    );
    const waits = jobs.map(jobWaitSeconds);
    console.log(`      job waits (s): ${waits.sort((a, b) => a - b).join(", ")}`);
  });

  it("/metrics passes promtool and tells the queue, the runners, the ups and the job wait", async function () {
    const text = await rec.metrics();
    const file = path.join(work, "metrics.prom");
    fs.writeFileSync(file, text);
    execFileSync("promtool", ["check", "metrics"], { input: text });
    assert.match(text, /^runner_fleet_runners\{pool="default",state="idle"\} \d+$/m);
    assert.match(text, /^runner_fleet_pool_size\{pool="default"\} 1$/m);
    assert.ok(
      (await rec.metric("runner_fleet_ups_total", 'kind="demand",outcome="succeeded"')) >= 2,
    );
    assert.ok((await rec.metric("runner_fleet_job_wait_seconds_count")) >= 6);
    assert.ok((await rec.metric("runner_fleet_trigger_to_up_seconds_count")) >= 2);
    assert.ok((await rec.metric("runner_fleet_github_writes_last_hour")) >= 6);
  });

  it("paused, it acts on nothing; resumed, it runs what it was asked", async function () {
    fs.writeFileSync(pauseFile, "");
    const before = upStarts().length;
    const ids = dispatch(1, ["self-hosted", "no-such-pool"]);
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(upStarts().length, before);
    const health = (await (await fetch(`${rec.url}/healthz`)).json()) as Record<string, unknown>;
    assert.equal(health.paused, true);
    assert.equal(await rec.metric("runner_fleet_reconciler_paused"), 1);
    fs.rmSync(pauseFile);
    await until("an up after resuming", () => upStarts().length > before, 30_000);
    gh.control.cancelJob(ids[0]);
    await settled();
  });

  it("deploys main's config as merged: minIdle 2 in git makes 2 idle runners", async function () {
    await setConfig({ minIdle: "2" });
    const commit = commitConfig(test.workDir, "minIdle 2");
    // Any trigger deploys the new head; a job no pool takes is the least that moves.
    const ids = dispatch(1, ["self-hosted", "no-such-pool"]);
    await rec.waitFor(new RegExp(`up #\\d+ succeeded in .* at ${commit.slice(0, 12)}`));
    await until("2 idle runners online", () => {
      const list = fleetRunners();
      return list.length === 2 && list.every((r) => r.status === "online" && !r.busy);
    });
    gh.control.cancelJob(ids[0]);
    await settled();
  });

  it("waits out a pipeline up holding the stack's lock, and then deploys", async function () {
    const from = rec.lines.length;
    // Once the pipeline's `up` is refreshing, it holds the lock: a trigger then meets it.
    let begun!: () => void;
    const refreshing = new Promise<void>((resolve) => (begun = resolve));
    const pipeline = test.stack.up({
      refresh: true,
      onOutput: (text) => /refreshing/.test(text) && begun(),
    });
    await refreshing;
    const ids = dispatch(1, ["self-hosted", "no-such-pool"]);
    const result = await pipeline;
    assert.equal(result.summary.result, "succeeded");
    await rec.waitFor(/stack locked: again in 2000 ms/, 60_000, from);
    await rec.waitFor(/up #\d+ succeeded in/, 120_000, from);
    assert.ok((await rec.metric("runner_fleet_ups_total", 'kind="demand",outcome="locked"')) >= 1);
    gh.control.cancelJob(ids[0]);
    await settled();
  });

  it("SIGTERM during an up that creates runners: it stops cleanly and the next up converges", async function () {
    const from = rec.lines.length;
    dispatch(4, ["self-hosted", "recon"], `while [ ! -e ${JOB_RELEASE} ]; do sleep 0.2; done`);
    await rec.waitFor(/up #\d+ \(demand\) starts/, 60_000, from);
    await rec.waitFor(/creating/, 60_000, from);
    rec.signal("SIGTERM");
    assert.equal(await rec.exit(), 0);
    assert.ok(rec.matching(/SIGTERM: stopping/).length === 1);
    // The pipeline takes over: one up converges the stack, and the next changes nothing.
    const first = await test.stack.up({ refresh: true });
    assert.equal(first.summary.result, "succeeded");
    const second = await test.stack.up({ refresh: true });
    assert.equal(second.summary.result, "succeeded");
    const names = (second.outputs.runnerNames.value as string[]).sort();
    assert.deepEqual(
      fleetRunners()
        .map((r) => r.name)
        .sort(),
      names,
      "GitHub's runners are the stack's",
    );
    assert.deepEqual(
      (await fleetServers()).map((s) => s.name).sort(),
      names,
      "Nova's servers are the stack's",
    );
    for (const r of fleetRunners()) if (r.busy) gh.control.finishJob(r.id, { exitCode: 0 });
  });
});
