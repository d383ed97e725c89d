// The two ways of running the fleet that the demand bench compares on one job trace, each on its
// own GitHub double, simulated hosts and stack: (a) a fixed quantity with a scheduled
// `up --refresh`, as the GitOps schedule runs it; (b) the reconciler with a pool sized by the
// queue. Plus the reconciler's floor, measured alone: a trigger to a new runner online.
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { startGitHubDouble, type GitHubDouble } from "../../devkit/github-double";
import { fetchJob, jobWaitSeconds } from "../../devkit/github-double/jobs-client";
import { testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import {
  commitConfig,
  configRepository,
  reconcilerHealth,
  ReconcilerProcess,
} from "../../devkit/pulumi/reconciler-process";
import { isSettled } from "../../reconciler/health";
import { createTestStack, type TestStack } from "../../devkit/pulumi/test-stack";
import { runnerTarball } from "../../devkit/runner-hosts/build-tarball";
import {
  startRunnerHostSimulator,
  type RunnerHostSimulator,
} from "../../devkit/runner-hosts/simulator";
import { tenantOsEnv } from "../../devkit/local-cloud/cloud-env";
import { fleetProgram } from "../../program";
import { leftoverCount, leftovers, sweep } from "../cloud";
import { FleetSampler, type Sample } from "./sampler";
import { median, percentile, traceJobs } from "./trace";

const SECRET = "demand-bench-webhook-secret";
const LABELS = ["self-hosted", "bench"];
export const DEBOUNCE_MS = 1000;

export interface ModeResult {
  mode: string;
  waits: number[];
  idleRunnerMinutes: number;
  ups: number;
  githubRequestsPerJob: number;
  /** Jobs that did not succeed (a busy runner removed fails its job). */
  failedJobs: number;
  orphans: number;
  samples: Sample[];
  /** Seconds from the trace's start to its last job's end. */
  seconds: number;
  /** Reconciler only: trigger → up start of each up, ms. */
  triggerToUpMs?: number[];
  /** Reconciler only: ups started by 20 webhooks within a second. */
  upsFor20Webhooks?: number;
  /** Reconciler only: trigger → new runner online, seconds, each repeat. */
  floor?: number[];
}

interface World {
  gh: GitHubDouble;
  sim: RunnerHostSimulator;
  test: TestStack;
  sink?: http.Server;
  work: string;
  prefix: string;
}

const log = (msg: string) =>
  console.log(`[demand ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

async function world(prefix: string, project: string): Promise<World> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `${project}-`));
  const gh = await startGitHubDouble({ runnerTarball: runnerTarball() });
  const sim = await startRunnerHostSimulator({
    githubDoubleUrl: gh.url,
    fleetPrefix: prefix,
    stateDir: path.join(work, "hosts"),
  });
  const test = await createTestStack(project, fleetProgram, {
    ...tenantOsEnv(),
    RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS: "0",
  });
  return { gh, sim, test, work, prefix };
}

function config(w: World, extra: Record<string, string>, quantity?: number) {
  const map = testFleetConfig({
    prefix: w.prefix,
    gh: w.gh,
    quantity: quantity ?? 0,
    label: "bench",
    extra: { busyWaitSeconds: "30", metricsEnabled: "false", ...extra },
  });
  if (quantity === undefined) delete map["runner-fleet:quantity"];
  return map;
}

/** Waits until the fleet has exactly `n` runners, every one online. */
const allOnline = (w: World, n: number) =>
  until(
    `${n} runners online`,
    () => {
      const list = fleetRunners(w);
      return list.length === n && list.every((r) => r.status === "online") ? true : undefined;
    },
    300_000,
  );

const fleetRunners = (w: World) =>
  w.gh.control.runners().filter((r) => r.name.startsWith(`${w.prefix}-`));

/** Runs the trace on `w` until every job has completed; `onTick` runs the mode's own loop. */
async function runTrace(
  w: World,
  mode: string,
  onTick?: (elapsedMs: number) => Promise<void>,
): Promise<Omit<ModeResult, "ups" | "orphans" | "mode">> {
  const ids: number[] = [];
  const t0 = Date.now();
  const sampler = new FleetSampler(w.gh, w.prefix, () => ids, t0);
  const requestsBefore = w.gh.control.requestCounts().total;
  sampler.start();
  const timers = traceJobs().map((job) =>
    setTimeout(() => {
      ids.push(
        w.gh.control.dispatchJob({
          repo: "acme/widgets",
          labels: LABELS,
          run: `sleep ${job.seconds}`,
        }).id,
      );
    }, job.atMs),
  );
  const total = traceJobs().length;
  const done = () => {
    const completed = new Set(
      w.gh.control
        .webhookDeliveries()
        .filter((d) => d.action === "completed")
        .map((d) => d.jobId),
    );
    return ids.length === total && ids.every((id) => completed.has(id));
  };
  let ticking = Promise.resolve();
  const ticker = setInterval(() => {
    if (onTick) ticking = ticking.then(() => onTick(Date.now() - t0));
  }, 1000);
  try {
    await until(
      `${mode}: the trace's ${total} jobs to complete`,
      () => (done() ? true : undefined),
      40 * 60_000,
    );
  } finally {
    clearInterval(ticker);
    timers.forEach(clearTimeout);
    sampler.stop();
    await ticking;
  }
  const seconds = (Date.now() - t0) / 1000;
  const requests = w.gh.control.requestCounts().total - requestsBefore;
  const jobs = await Promise.all(ids.map((id) => fetchJob(w.gh, id)));
  const waits = jobs.map(jobWaitSeconds);
  log(
    `${mode}: trace done in ${seconds.toFixed(0)} s; waits p50 ${median(waits)} p95 ${percentile(waits, 95)} max ${Math.max(...waits)}`,
  );
  return {
    waits,
    idleRunnerMinutes: sampler.idleRunnerMinutes(seconds),
    githubRequestsPerJob: requests / total,
    failedJobs: jobs.filter((j) => j.conclusion !== "success").length,
    samples: sampler.samples,
    seconds,
  };
}

/** Destroys the stack and counts what is left on Nova and GitHub. */
async function teardown(w: World): Promise<number> {
  await w.test.stack.destroy().catch((err: Error) => log(`destroy failed: ${err.message}`));
  const left = leftoverCount(await leftovers(w.prefix)) + fleetRunners(w).length;
  if (left > 0) await sweep(w.prefix);
  await w.sim.stop();
  w.sink?.close();
  await w.gh.close();
  w.test.cleanup();
  fs.rmSync(w.work, { recursive: true, force: true });
  return left;
}

/** (a) quantity `quantity`, `up --refresh` every `intervalS` seconds from the trace's start. */
export async function scheduledMode(
  prefix: string,
  quantity: number,
  intervalS: number,
): Promise<ModeResult> {
  const mode = `quantity ${quantity}, up --refresh every ${intervalS / 60} min`;
  const w = await world(prefix, "bench-scheduled");
  // The double sends deliveries only to a URL: a sink, so the sampler sees the jobs move.
  w.sink = http.createServer((_req, res) => res.writeHead(204).end());
  await new Promise<void>((r) => w.sink?.listen(0, "127.0.0.1", r));
  w.gh.control.setWebhook({
    url: `http://127.0.0.1:${(w.sink.address() as { port: number }).port}/`,
    secret: SECRET,
  });
  let ups = 0;
  try {
    await w.test.stack.setAllConfig(config(w, {}, quantity));
    await w.test.stack.up();
    await allOnline(w, quantity);
    let next = intervalS * 1000;
    const result = await runTrace(w, mode, async (elapsed) => {
      if (elapsed < next) return;
      next += intervalS * 1000;
      ups++;
      log(`${mode}: scheduled up ${ups} at ${(elapsed / 1000).toFixed(0)} s`);
      await w.test.stack.up({ refresh: true });
    });
    return { mode, ...result, ups, orphans: await teardown(w) };
  } catch (err) {
    await teardown(w);
    throw err;
  }
}

/** (b) the reconciler with minIdle `minIdle` and maxRunners `max`; first, its floor alone. */
export async function reconcilerMode(
  prefix: string,
  minIdle: number,
  max: number,
  floorRuns: number,
): Promise<ModeResult> {
  const mode = `reconciler, minIdle ${minIdle}, maxRunners ${max}`;
  const w = await world(prefix, "bench-reconciler");
  let rec: ReconcilerProcess | undefined;
  try {
    // The floor first, with no idle runner: each job waits for a runner made for it.
    await w.test.stack.setAllConfig(config(w, { minIdle: "0", maxRunners: String(max) }));
    const { checkout } = configRepository(w.work, w.test.workDir);
    rec = new ReconcilerProcess(
      {
        ...w.test.stack.workspace.envVars,
        RUNNER_FLEET_RECONCILER_CHECKOUT: checkout,
        RUNNER_FLEET_RECONCILER_STACK: "test",
        RUNNER_FLEET_RECONCILER_LISTEN: "127.0.0.1:0",
        RUNNER_FLEET_RECONCILER_WEBHOOK_SECRET: SECRET,
        RUNNER_FLEET_RECONCILER_STATE_DIR: path.join(w.work, "state"),
        RUNNER_FLEET_RECONCILER_DEBOUNCE_MS: String(DEBOUNCE_MS),
        RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS: "0",
        // The double has no hourly write limit; the bench lifts the reconciler's to match.
        RUNNER_FLEET_GITHUB_WRITES_PER_HOUR: "100000",
      },
      path.join(w.work, "reconciler.log"),
    );
    const url = await rec.started();
    w.gh.control.setWebhook({ url: `${url}/webhook`, secret: SECRET });
    const r = rec;
    const settled = () =>
      until(
        "the reconciler to settle",
        async () => (isSettled(await reconcilerHealth(url)) ? true : undefined),
        600_000,
      );
    await settled();
    const floor: number[] = [];
    const idleTriggers: number[] = [];
    for (let i = 0; i < floorRuns; i++) {
      const from = r.lines.length;
      const t = Date.now();
      const before = new Set(fleetRunners(w).map((x) => x.name));
      const id = w.gh.control.dispatchJob({
        repo: "acme/widgets",
        labels: LABELS,
        run: "sleep 1",
      }).id;
      await until(
        "a new runner online",
        () =>
          fleetRunners(w).some((x) => !before.has(x.name) && (x.status === "online" || x.busy))
            ? true
            : undefined,
        300_000,
      );
      floor.push((Date.now() - t) / 1000);
      const start = await r.waitFor(
        /up #\d+ \(demand\) starts: .*, (\d+) ms after the first trigger/,
        60_000,
        from,
      );
      idleTriggers.push(Number(/(\d+) ms after the first trigger/.exec(start.line.text)?.[1]));
      await until(
        "the floor job to complete",
        () =>
          w.gh.control.webhookDeliveries().some((d) => d.jobId === id && d.action === "completed")
            ? true
            : undefined,
        300_000,
      );
      await settled();
      await until(
        "the pool back at 0",
        () => (fleetRunners(w).length === 0 ? true : undefined),
        300_000,
      );
      log(`${mode}: floor run ${i + 1}: ${floor.at(-1)?.toFixed(1)} s`);
    }
    // Then the trace, with minIdle runners kept ready.
    await w.test.stack.setAllConfig(
      config(w, { minIdle: String(minIdle), maxRunners: String(max) }),
    );
    commitConfig(w.test.workDir, `minIdle ${minIdle}`);
    const nudge = w.gh.control.dispatchJob({
      repo: "acme/widgets",
      labels: ["self-hosted", "no-pool"],
    }).id;
    await allOnline(w, minIdle);
    w.gh.control.cancelJob(nudge);
    await settled();
    const from = r.lines.length;
    const result = await runTrace(w, mode);
    const traceLines = r.lines.slice(from);
    const starts = traceLines.filter((l) => /up #\d+ \(\w+\) starts/.test(l.text));
    const triggerToUpMs = [
      ...idleTriggers,
      ...starts
        .map((l) => Number(/(\d+) ms after the first trigger/.exec(l.text)?.[1]))
        .filter(Number.isFinite),
    ];
    await settled();
    // 20 webhooks within a second, of jobs no pool takes: how many ups they start.
    const before20 = r.lines.length;
    const ids = Array.from(
      { length: 20 },
      () =>
        w.gh.control.dispatchJob({ repo: "acme/widgets", labels: ["self-hosted", "no-pool"] }).id,
    );
    await until(
      "20 deliveries",
      () =>
        w.gh.control.webhookDeliveries().filter((d) => ids.includes(d.jobId) && d.status !== null)
          .length === 20
          ? true
          : undefined,
      60_000,
    );
    await sleep(DEBOUNCE_MS + 500);
    await settled();
    const upsFor20Webhooks = r.lines
      .slice(before20)
      .filter((l) => /up #\d+ \(\w+\) starts/.test(l.text)).length;
    for (const id of ids) w.gh.control.cancelJob(id);
    await settled();
    const code = await r.stop();
    log(`${mode}: reconciler stopped (exit ${code})`);
    return {
      mode,
      ...result,
      ups: starts.length,
      triggerToUpMs,
      upsFor20Webhooks,
      floor,
      orphans: await teardown(w),
    };
  } catch (err) {
    if (rec) log(`reconciler's output:\n${rec.tail(60)}`);
    await rec?.stop();
    await teardown(w);
    throw err;
  }
}
