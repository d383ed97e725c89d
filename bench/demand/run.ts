// The demand bench (`npm run bench:demand`): one job trace (bench/demand/trace.ts) run against
// (a) a fixed quantity with a scheduled `up --refresh` and (b) the reconciler with a pool sized by
// the queue, in the same run, on the real engine, the local OpenStack, simulated hosts and the
// GitHub double. Reports per mode the job wait (started − queued, from the double's jobs API),
// idle runner-minutes, `up`s run and GitHub requests per job; for the reconciler its floor (a
// trigger to a new runner online, alone), trigger → `up` start, and the `up`s 20 webhooks make.
// Writes bench/results/demand-latest.{json,md} and demand-trace.svg, and quotes the table in the
// README.
//
//   npx tsx bench/demand/run.ts [--interval-minutes 5] [--floor-runs 3]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { repoRoot } from "../../devkit/pulumi/toolchain";
import { quoteInReadme } from "../report";
import { traceChart } from "./chart";
import { DEBOUNCE_MS, reconcilerMode, scheduledMode, type ModeResult } from "./modes";
import { median, percentile, TRACE } from "./trace";

const QUANTITY = 4;
const MIN_IDLE = 1;
const MAX_RUNNERS = 12;

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const range = (xs: number[]) => `${round(Math.min(...xs))}–${round(Math.max(...xs))}`;

interface Row {
  figure: string;
  scheduled: string;
  reconciler: string;
  target: string;
  met: string;
}

function rows(a: ModeResult, b: ModeResult): Row[] {
  const floor = median(b.floor ?? []);
  const p95 = (m: ModeResult) => percentile(m.waits, 95);
  const waits = (m: ModeResult) =>
    `${round(median(m.waits))} / ${round(p95(m))} / ${round(Math.max(...m.waits))} s`;
  const triggerP95 = percentile(b.triggerToUpMs ?? [], 95) / 1000;
  const idleTriggerP95 =
    percentile((b.triggerToUpMs ?? []).slice(0, b.floor?.length ?? 0), 95) / 1000;
  const yes = (ok: boolean) => (ok ? "yes" : "no");
  const waitBound = 1.5 * floor + DEBOUNCE_MS / 1000;
  return [
    {
      figure: "job wait p50 / p95 / max",
      scheduled: waits(a),
      reconciler: waits(b),
      target: `(b) p95 ≤ 1.5 × floor + debounce = ${round(waitBound)} s; ≥ 5× lower than (a)`,
      met: `${yes(p95(b) <= waitBound)}; ${yes(p95(b) * 5 <= p95(a))} (${round(p95(a) / Math.max(p95(b), 0.001))}×)`,
    },
    {
      figure: "idle runner-minutes (trace start → last job done)",
      scheduled: `${round(a.idleRunnerMinutes)} (${round(a.seconds / 60)} min)`,
      reconciler: `${round(b.idleRunnerMinutes)} (${round(b.seconds / 60)} min)`,
      target: "(b) ≤ (a)",
      met: yes(b.idleRunnerMinutes <= a.idleRunnerMinutes),
    },
    { figure: "ups run", scheduled: String(a.ups), reconciler: String(b.ups), target: "", met: "" },
    {
      figure: "GitHub requests per job",
      scheduled: String(round(a.githubRequestsPerJob)),
      reconciler: String(round(b.githubRequestsPerJob)),
      target: "",
      met: "",
    },
    {
      figure: `floor: trigger → new runner online, alone (median of ${b.floor?.length} runs, min–max)`,
      scheduled: "",
      reconciler: `${round(floor)} s (${range(b.floor ?? [])})`,
      target: "",
      met: "",
    },
    {
      figure: "webhook → up start p95: idle / every up of the trace",
      scheduled: "",
      reconciler: `${round(idleTriggerP95, 2)} / ${round(triggerP95, 2)} s`,
      target: "≤ 2 s",
      met: `${yes(idleTriggerP95 <= 2)} / ${yes(triggerP95 <= 2)}`,
    },
    {
      figure: "ups started by 20 webhooks within a second",
      scheduled: "",
      reconciler: String(b.upsFor20Webhooks),
      target: "≤ 2",
      met: yes((b.upsFor20Webhooks ?? 99) <= 2),
    },
    {
      figure: "jobs that did not succeed (a busy runner removed fails its job)",
      scheduled: String(a.failedJobs),
      reconciler: String(b.failedJobs),
      target: "0",
      met: yes(a.failedJobs === 0 && b.failedJobs === 0),
    },
    {
      figure: "left on Nova and GitHub after destroy",
      scheduled: String(a.orphans),
      reconciler: String(b.orphans),
      target: "0",
      met: yes(a.orphans === 0 && b.orphans === 0),
    },
  ];
}

function markdown(r: Row[], intervalMinutes: number, started: string): string {
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
  const head =
    `Measured ${started} by \`npm run bench:demand\` (${os.cpus().length} CPUs, load ${load} at the end). ` +
    `The trace: ${TRACE.bursts} bursts of ${TRACE.jobsPerBurst} jobs, each queued within ` +
    `${TRACE.spreadMs / 1000} s, ${TRACE.gapMs / 60_000} min apart, jobs of 30–60 s; run once per mode, ` +
    `(a) then (b). (a) quantity ${QUANTITY}, \`up --refresh\` every ${intervalMinutes} min from the first ` +
    `burst; (b) the reconciler, minIdle ${MIN_IDLE}, maxRunners ${MAX_RUNNERS}, debounce ` +
    `${DEBOUNCE_MS / 1000} s. Waits are per job (24 jobs): started − queued from the double's jobs API.`;
  const lines = [
    "| figure | (a) scheduled | (b) reconciler | target | met? |",
    "| --- | --- | --- | --- | --- |",
    ...r.map((x) => `| ${x.figure} | ${x.scheduled} | ${x.reconciler} | ${x.target} | ${x.met} |`),
  ];
  return `${head}\n\n${lines.join("\n")}\n\n![Runners, busy runners and queued jobs over the trace, both modes](bench/results/demand-trace.svg)\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "interval-minutes": { type: "string", default: "5" },
      "floor-runs": { type: "string", default: "3" },
    },
  });
  const intervalMinutes = Number(values["interval-minutes"]);
  const floorRuns = Number(values["floor-runs"]);
  const started = `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`;
  const id = Date.now().toString(36);
  const a = await scheduledMode(`rfd-${id}-a`, QUANTITY, intervalMinutes * 60);
  const b = await reconcilerMode(`rfd-${id}-b`, MIN_IDLE, MAX_RUNNERS, floorRuns);
  const table = rows(a, b);
  const dir = path.join(repoRoot, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  const md = markdown(table, intervalMinutes, started);
  fs.writeFileSync(
    path.join(dir, "demand-latest.json"),
    `${JSON.stringify({ started, intervalMinutes, rows: table, modes: [a, b] }, null, 2)}\n`,
  );
  fs.writeFileSync(path.join(dir, "demand-latest.md"), md);
  fs.writeFileSync(
    path.join(dir, "demand-trace.svg"),
    await traceChart([
      { mode: `(a) ${a.mode}`, samples: a.samples },
      { mode: `(b) ${b.mode}`, samples: b.samples },
    ]),
  );
  const readme = path.join(repoRoot, "README.md");
  quoteInReadme(readme, md, "demand-latest.md");
  execFileSync(path.join(repoRoot, "node_modules", ".bin", "prettier"), [
    "--write",
    readme,
    path.join(dir, "demand-latest.md"),
    path.join(dir, "demand-latest.json"),
  ]);
  console.log(md);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
