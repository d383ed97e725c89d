// The sandbox's reconciler: `npm run reconciler`'s process as a daemon beside the GitHub double,
// deploying the `sandbox` stack's config from a git repository in .sandbox/ (the stack's work
// folder is its ops clone), with the double's signed `workflow_job` deliveries as triggers; and a
// burst of jobs it absorbs, shown from its log and the double's jobs. It refreshes only once a
// day: the sandbox changes only when its own double sends deliveries, so the tests that run
// beside it leave it alone.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fetchJob, jobWaitSeconds } from "../devkit/github-double/jobs-client";
import { configRepository, reconcilerHealth } from "../devkit/pulumi/reconciler-process";
import { isSettled, type ReconcilerHealth } from "../reconciler/health";
import { toolchainEnv } from "../devkit/pulumi/toolchain";
import { tenantOsEnv } from "../devkit/local-cloud/cloud-env";
import { alive, control, daemon, dir, type Double, say, waitFor } from "./support";

const logFile = path.join(dir, "reconciler.log");
const stateDir = path.join(dir, "reconciler");

/** Starts the reconciler on `workDir`'s committed config unless it runs; returns its URL. */
export async function startReconciler(
  gh: Double,
  workDir: string,
  passphrase: string,
): Promise<string> {
  const { checkout } = configRepository(path.join(dir, "config"), workDir);
  const secretFile = path.join(dir, "webhook-secret");
  if (!fs.existsSync(secretFile)) {
    fs.writeFileSync(secretFile, crypto.randomBytes(24).toString("hex"), { mode: 0o600 });
  }
  const starting = !alive(path.join(dir, "reconciler.pid"));
  const from = starting ? logLines().length : 0;
  daemon("reconciler", "reconciler/main.ts", [], {
    ...process.env,
    ...toolchainEnv(),
    ...tenantOsEnv(),
    PULUMI_CONFIG_PASSPHRASE: passphrase,
    RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS: "0",
    RUNNER_FLEET_RECONCILER_CHECKOUT: checkout,
    RUNNER_FLEET_RECONCILER_STACK: "sandbox",
    RUNNER_FLEET_RECONCILER_LISTEN: "127.0.0.1:0",
    RUNNER_FLEET_RECONCILER_WEBHOOK_SECRET_FILE: secretFile,
    RUNNER_FLEET_RECONCILER_STATE_DIR: stateDir,
    RUNNER_FLEET_RECONCILER_REFRESH_SECONDS: "86400",
  });
  const url = await waitFor("the reconciler to listen", async () => {
    const lines = logLines();
    const found = lines.map((l) => /listening on (http:\/\/\S+)/.exec(l)?.[1]).filter(Boolean);
    return found.at(-1);
  });
  await control(gh, "setWebhook", {
    url: `${url}/webhook`,
    secret: fs.readFileSync(secretFile, "utf8"),
  });
  if (starting) {
    await settled(url);
    say(`reconciler up at ${url}; its first up (a refresh):`);
    printUps(logLines().slice(from));
  }
  return url;
}

/** Queues `n` jobs at once and shows the reconciler absorbing them, until the pool is back. */
export async function burst(gh: Double, url: string, n: number, idle: number): Promise<void> {
  const from = logLines().length;
  say(`a burst of ${n} jobs, queued at once`);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const job = await control<{ id: number }>(gh, "dispatchJob", {
      repo: "acme/widgets",
      labels: ["self-hosted", "sandbox"],
      run: "sleep 3; echo built",
    });
    ids.push(job.id);
  }
  const jobs = await waitFor(
    `the ${n} jobs to complete`,
    async () => {
      const list = await Promise.all(ids.map((id) => fetchJob(gh, id)));
      return list.every((j) => j.status === "completed") ? list : undefined;
    },
    600_000,
  );
  await waitFor(
    `the pool back at ${idle} idle runners`,
    async () => {
      const health = await settled(url, 5_000).catch(() => undefined);
      if (!health) return undefined;
      const runners = (
        await control<{ name: string; status: string; busy: boolean }[]>(gh, "runners")
      ).filter((r) => r.name.startsWith("sandbox-"));
      return runners.length === idle && runners.every((r) => r.status === "online" && !r.busy)
        ? true
        : undefined;
    },
    600_000,
  );
  const waits = jobs.map(jobWaitSeconds).sort((a, b) => a - b);
  say(`the reconciler's ups for the burst:`);
  printUps(logLines().slice(from));
  say(
    `burst absorbed: ${n} jobs, each waited ${waits.join(", ")} s for a runner ` +
      `(${jobs.filter((j) => j.conclusion === "success").length} succeeded); ` +
      `the pool is back at ${idle} idle runners`,
  );
}

/** Stops the reconciler (SIGTERM: the up in flight ends first). */
export async function stopReconciler(): Promise<void> {
  const pidFile = path.join(dir, "reconciler.pid");
  if (!alive(pidFile)) return;
  process.kill(-Number(fs.readFileSync(pidFile, "utf8")), "SIGTERM");
  await waitFor(
    "the reconciler to stop",
    async () => (alive(pidFile) ? undefined : true),
    1_200_000,
  );
}

/** The reconciler's health once no up runs or waits, and the last one succeeded. */
async function settled(url: string, ms = 600_000): Promise<ReconcilerHealth> {
  return waitFor(
    "the reconciler's ups to end",
    async () => {
      const health = await reconcilerHealth(url);
      return isSettled(health) ? health : undefined;
    },
    ms,
  );
}

/** The log's complete lines (a line being written is not one yet). */
function logLines(): string[] {
  if (!fs.existsSync(logFile)) return [];
  return fs.readFileSync(logFile, "utf8").split("\n").slice(0, -1);
}

/** The reconciler's lines about its ups (not each up's own output). */
function printUps(lines: string[]): void {
  for (const line of lines.filter((l) => /^\S+ up #\d+ /.test(l))) console.log(`  ${line}`);
}
