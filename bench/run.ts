// The benchmarks of runner-fleet: each figure of the fleet next to a baseline measured in the same
// run, alternating which goes first, so the machine's load weighs on both alike.
//
//   npx tsx bench/run.ts [--sizes 10,50,100] [--steady 200] [--preview 500]
//                        [--parallel-n 50] [--parallel-values default,32,64]
//                        [--only up,steady,parallel,memory] [--op-timeout 900] [--quick]
//
// Sections:
//   up        `up` 0→N and `destroy` N→0 of the fleet vs N bare servers + keypairs, for each size;
//             GitHub requests of each (per runner, and the per-`up` fixed cost); the production
//             write pacing (750 ms per JIT config or delete) as a computed projection.
//   steady    `up --refresh` with nothing to change at N runners: wall time vs the baseline's,
//             and the GitHub requests it costs.
//   parallel  `up` 0→N at the engine's default parallelism and at the given values.
//   memory    peak RSS of a `preview` of N runners: the program's process (a child of this one)
//             and the provider plugins (read from /proc), and the engine's separately.
//
// Needs the toolchain (TOOLCHAIN_DIR, from scripts/env.sh) and the local OpenStack. Everything it
// creates carries the run's prefix `rfb-<id>-` and is destroyed before it exits (a REST sweep of
// the prefix backs up a failed destroy). Results: bench/results/latest.{json,md}.
import { execFileSync, spawn } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { startGitHubDouble, type GitHubDouble } from "../devkit/github-double";
import type { RequestCounts } from "../devkit/github-double/types";
import { cloudDir, cloudEnv } from "../devkit/local-cloud/cloud-env";
import { repoRoot, toolchainEnv } from "../devkit/pulumi/toolchain";
import { Leftovers, leftoverCount, leftovers, sweep } from "./cloud";
import { peaksByRole, ProcessPeak, TreeMemorySampler } from "./proc-memory";
import * as fs from "node:fs";
import { options, type Options, type Section } from "./options";
import { describeCounts, fixedRequests, writes } from "./github-counts";
import { EarlierRepeats, pairsSection } from "./pairs";
import { mergeEarlier, quoteInReadme, Results, Row, textTable, writeResults } from "./report";
import {
  BenchStack,
  checkpointBytes,
  createBaselineStack,
  createFleetStack,
  createSpecBaselineStack,
  Kind,
  StepRecorder,
  StepStats,
} from "./stacks";

/** Production pacing of GitHub writes (dynamic-providers/github/client.ts `writeIntervalMs`). */
const PRODUCTION_WRITE_INTERVAL_S = 0.75;
const RATIO_TARGET = 1.2;
const MEMORY_TARGET_MIB = 300;

const log = (msg: string) =>
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const ratioRow = (fleet: number, baseline: number) => round(fleet / baseline, 3);

/** One engine operation as measured. */
interface OpRecord {
  label: string;
  kind: Kind;
  what: "up" | "refresh-up" | "destroy";
  n: number;
  parallel?: number;
  seconds: number;
  changes?: Record<string, number>;
  github: RequestCounts;
  /** nova-api workers uwsgi killed as stuck (harakiri) during the operation: stalls of ≤ 120 s. */
  novaApiStalls: number;
  /** Size of the stack's checkpoint after the operation, its `__provider` part, by type. */
  checkpoint: ReturnType<typeof checkpointBytes>;
  steps: StepStats[];
}

class Bench {
  readonly opts = options();
  readonly runId = Date.now().toString(36);
  readonly root = `rfb-${this.runId}-`;
  gh!: GitHubDouble;
  fleet!: BenchStack;
  baseline!: BenchStack;
  /** Stacks that may hold resources. */
  readonly dirty = new Set<BenchStack>();
  private current: { abort(): void } | undefined;
  interrupted = false;
  readonly ops: OpRecord[] = [];
  /** Every stack made, for the cleanup. */
  readonly created: BenchStack[] = [];
  readonly results: Results = {
    started: new Date().toISOString(),
    options: {},
    environment: {},
    rows: [],
    details: {},
    errors: [],
  };

  /** Aborts the running operation (SIGINT to the CLI, then harder: see `op`). */
  interrupt(): void {
    this.interrupted = true;
    this.current?.abort();
  }

  /** Seconds an operation on `n` runners may take before it is cancelled. */
  timeoutSeconds(n: number): number {
    // Generous: the local nova-api sometimes stalls until uwsgi's harakiri (120 s) frees it.
    return this.opts.opTimeoutSeconds ?? Math.max(600, 15 * n);
  }

  async op(
    s: BenchStack,
    what: OpRecord["what"],
    n: number,
    label: string,
    parallel?: number,
  ): Promise<OpRecord> {
    if (this.interrupted) throw new Error("interrupted");
    const rec = new StepRecorder();
    const ctl = new AbortController();
    // The Automation API's abort sends the CLI one SIGINT, which waits for the provider calls in
    // flight; a call the cloud never answers would hang it forever. So: a second SIGINT (the
    // CLI's hard cancel) after 60 s, SIGKILL after 90 s more — to this run's own CLI only.
    const escalation: NodeJS.Timeout[] = [];
    const abort = () => {
      if (ctl.signal.aborted) return;
      ctl.abort();
      const cmd = what === "destroy" ? "destroy" : "up";
      escalation.push(
        setTimeout(() => signalOwnCli(cmd, "SIGINT"), 60_000),
        setTimeout(() => signalOwnCli(cmd, "SIGKILL"), 150_000),
      );
    };
    this.current = { abort };
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        log(`${label}: no result after ${this.timeoutSeconds(n)} s, cancelling`);
        abort();
      },
      this.timeoutSeconds(n) * 1000,
    );
    const common = { onEvent: rec.onEvent, parallel, signal: ctl.signal };
    const stalls = novaApiStallCounter();
    this.gh.control.resetRequestCounts();
    if (what !== "destroy") this.dirty.add(s);
    const t0 = performance.now();
    let changes: Record<string, number> | undefined;
    try {
      const stack: Stack = s.stack;
      if (what === "destroy") {
        changes = (await stack.destroy(common)).summary.resourceChanges;
        this.dirty.delete(s);
      } else {
        changes = (await stack.up({ ...common, refresh: what === "refresh-up" })).summary
          .resourceChanges;
      }
    } catch (err) {
      const detail = rec.errors.length ? `: ${rec.errors.slice(0, 3).join(" | ")}` : "";
      const e = new Error(
        `${label} failed${timedOut ? ` (cancelled after ${this.timeoutSeconds(n)} s)` : ""}` +
          `${ctl.signal.aborted && !timedOut ? " (interrupted)" : ""}` +
          `${detail}: ${String(err).slice(0, 2000)}`,
      );
      (e as Error & { timedOut?: boolean }).timedOut = timedOut;
      throw e;
    } finally {
      clearTimeout(timer);
      for (const t of escalation) clearTimeout(t);
      this.current = undefined;
    }
    const record: OpRecord = {
      label,
      kind: s.kind,
      what,
      n,
      parallel,
      seconds: round((performance.now() - t0) / 1000, 3),
      changes,
      github: this.gh.control.requestCounts(),
      novaApiStalls: stalls(),
      checkpoint: checkpointBytes(s.test),
      steps: rec.stats(),
    };
    this.ops.push(record);
    log(
      `${label}: ${record.seconds.toFixed(1)} s` +
        (s.kind === "fleet" ? `, ${record.github.total} GitHub requests` : "") +
        `, checkpoint ${(record.checkpoint.bytes / 2 ** 20).toFixed(1)} MiB` +
        (record.novaApiStalls ? `, ${record.novaApiStalls} nova-api stall(s)` : ""),
    );
    return record;
  }

  /** Destroys whatever a failed section left, so the next one starts from 0. */
  async settle(): Promise<void> {
    for (const s of [...this.dirty]) {
      log(`destroying what ${s.kind} holds`);
      await this.op(s, "destroy", 0, `${s.kind} cleanup destroy`).catch((err: unknown) =>
        this.results.errors.push(String(err).slice(0, 500)),
      );
    }
  }

  /**
   * Runs `measure` (operations on `s` that end with its resources destroyed); when one of them
   * was cancelled for taking too long (a cloud call that never returned), cleans up and tries
   * once more. The retry is recorded in the results.
   */
  async retrying<T>(s: BenchStack, what: string, measure: () => Promise<T>): Promise<T> {
    try {
      return await measure();
    } catch (err) {
      if (!(err as { timedOut?: boolean }).timedOut || this.interrupted) throw err;
      this.results.errors.push(`retried ${what} after: ${String(err).slice(0, 300)}`);
      log(`retrying ${what} once, after cleaning up`);
      await this.settle();
      await sweep(s.prefix).catch(() => undefined);
      return measure();
    }
  }

  /** Both stacks in alternating order: `i` even → baseline first. */
  pair(i: number): BenchStack[] {
    return i % 2 === 0 ? [this.baseline, this.fleet] : [this.fleet, this.baseline];
  }

  row(r: Row): void {
    this.results.rows.push(r);
  }

  // ---- section: up 0→N, destroy N→0, GitHub requests, production pacing -------------------

  /** Per size, raw GitHub requests of up + destroy, for the fit of requests over N. */
  private readonly perSize: { n: number; total: number }[] = [];
  /** Set when the up section measured the steady state at its size. */
  private steadyDone = false;

  async upSection(): Promise<void> {
    for (const [i, n] of this.opts.sizes.entries()) {
      const up: Record<string, OpRecord> = {};
      const down: Record<string, OpRecord> = {};
      if (n === this.opts.steady && this.opts.only.includes("steady")) {
        // Both up at once, so the steady state is measured on these servers, not on new ones.
        for (const s of this.pair(i)) {
          await s.setQuantity(n);
          up[s.kind] = await this.retrying(s, `${s.kind} up of ${n}`, () =>
            this.op(s, "up", n, `${s.kind} up 0→${n}`),
          );
        }
        const refresh: Record<string, OpRecord> = {};
        for (const s of this.pair(i + 1)) {
          refresh[s.kind] = await this.op(s, "refresh-up", n, `${s.kind} up --refresh at ${n}`);
        }
        for (const s of this.pair(i)) {
          down[s.kind] = await this.op(s, "destroy", n, `${s.kind} destroy ${n}→0`);
        }
        this.upRows(n, up, down);
        this.steadyRows(n, refresh);
        this.steadyDone = true;
        this.results.details[`steady-${n}`] = { refresh };
      } else {
        for (const s of this.pair(i)) {
          await s.setQuantity(n);
          await this.retrying(s, `${s.kind} up/destroy of ${n}`, async () => {
            up[s.kind] = await this.op(s, "up", n, `${s.kind} up 0→${n}`);
            down[s.kind] = await this.op(s, "destroy", n, `${s.kind} destroy ${n}→0`);
          });
        }
        this.upRows(n, up, down);
      }
      this.results.details[`up-${n}`] = { up, destroy: down };
    }
    if (this.perSize.length >= 2) {
      const fit = linearFit(this.perSize.map((p) => [p.n, p.total]));
      this.row({
        id: "gh-per-runner-fit",
        figure: `GitHub requests per runner: slope of raw up + destroy requests over N = ${this.perSize.map((p) => p.n).join(", ")}`,
        fleet: round(fit.slope, 2),
        baseline: null,
        unit: "",
        target: "≤ 2",
        met: fit.slope <= 2,
        note: `requests ≈ ${fit.intercept.toFixed(1)} + ${fit.slope.toFixed(2)} × N`,
      });
    }
  }

  private upRows(n: number, up: Record<string, OpRecord>, down: Record<string, OpRecord>): void {
    const ratio = ratioRow(up.fleet.seconds, up.baseline.seconds);
    this.row({
      id: `up-${n}`,
      figure: `up 0→${n} runners`,
      fleet: up.fleet.seconds,
      baseline: up.baseline.seconds,
      unit: "s",
      ratio,
      target: `≤ ${RATIO_TARGET}`,
      met: ratio <= RATIO_TARGET,
      note: stallNote(up.fleet, up.baseline),
    });
    this.row({
      id: `destroy-${n}`,
      figure: `destroy ${n}→0 runners`,
      fleet: down.fleet.seconds,
      baseline: down.baseline.seconds,
      unit: "s",
      ratio: ratioRow(down.fleet.seconds, down.baseline.seconds),
      target: "",
      note: stallNote(down.fleet, down.baseline),
    });

    // Production pacing, computed: each write (JIT config, DELETE) starts ≥ 750 ms after the last.
    const f = up.fleet;
    const upWrites = writes(f.github);
    const downWrites = writes(down.fleet.github);
    const step = (type: string) => f.steps.find((x) => x.type.endsWith(type) && x.op === "create");
    const reg = step("RunnerRegistration");
    const server = step("instance:Instance");
    const guard = step("RunnerGuard");
    const pacing = upWrites * PRODUCTION_WRITE_INTERVAL_S;
    // The last JIT config comes ≥ (writes - 1) × 750 ms after the first; then that runner's
    // server is created (the fastest create seen, as paced creates overlap less) and its guard.
    const lastRunner =
      (reg?.firstStartSeconds ?? 0) +
      Math.max(0, upWrites - 1) * PRODUCTION_WRITE_INTERVAL_S +
      (server?.minSeconds ?? 0) +
      (guard?.minSeconds ?? 0) +
      Math.max(0, f.seconds - (guard?.lastEndSeconds ?? f.seconds));
    const projected = Math.max(f.seconds, lastRunner);
    const pr = ratioRow(projected, up.baseline.seconds);
    this.row({
      id: `up-${n}-paced`,
      figure: `up 0→${n} at the production pacing of 750 ms/write (computed, not run)`,
      fleet: round(projected, 1),
      baseline: up.baseline.seconds,
      unit: "s",
      ratio: pr,
      target: `≤ ${RATIO_TARGET}`,
      met: pr <= RATIO_TARGET,
      note:
        `${upWrites} JIT requests × 0.75 s = ${pacing.toFixed(1)} s of pacing; first at ` +
        `${(reg?.firstStartSeconds ?? 0).toFixed(1)} s, fastest server create ` +
        `${(server?.minSeconds ?? 0).toFixed(1)} s; projected = max(measured, last runner's ` +
        `paced finish). The destroy's ${downWrites} DELETEs would take ≥ ` +
        `${(downWrites * PRODUCTION_WRITE_INTERVAL_S).toFixed(1)} s paced (measured unpaced ` +
        `${down.fleet.seconds.toFixed(1)} s)`,
    });

    const cp = f.checkpoint;
    this.row({
      id: `up-${n}-checkpoint`,
      figure: `checkpoint after up 0→${n} (the file backend rewrites it at every step)`,
      fleet: round(cp.bytes / 2 ** 20, 2),
      baseline: round(up.baseline.checkpoint.bytes / 2 ** 20, 2),
      unit: "MiB",
      target: "",
      note:
        `${Math.round((100 * cp.providerBytes) / (cp.bytes || 1))}% of the fleet's is ` +
        "the dynamic providers' serialized code (`__provider`)",
    });

    const upFixed = fixedRequests(f.github);
    const downFixed = fixedRequests(down.fleet.github);
    const raw = f.github.total + down.fleet.github.total;
    const perRunner = (raw - upFixed - downFixed) / n;
    this.perSize.push({ n, total: raw });
    this.row({
      id: `gh-requests-${n}`,
      figure: `GitHub requests of up 0→${n} + destroy (raw)`,
      fleet: raw,
      baseline: up.baseline.github.total + down.baseline.github.total,
      unit: "",
      target: "",
      note:
        `up: ${describeCounts(f.github)}; destroy: ${describeCounts(down.fleet.github)}; ` +
        `fixed cost (listings, downloads, groups): ${upFixed} in the up, ${downFixed} in the destroy`,
    });
    this.row({
      id: `gh-per-runner-${n}`,
      figure: `GitHub requests per runner over its life (N=${n}, fixed cost taken out)`,
      fleet: round(perRunner, 2),
      baseline: null,
      unit: "",
      target: "≤ 2",
      met: perRunner <= 2,
    });
  }

  // ---- section: steady state, up --refresh with nothing to change --------------------------

  async steadySection(): Promise<void> {
    if (this.steadyDone) return; // measured by the up section at the same size
    const n = this.opts.steady;
    const setup: Record<string, OpRecord> = {};
    for (const s of this.pair(1)) {
      await s.setQuantity(n);
      setup[s.kind] = await this.retrying(s, `${s.kind} up of ${n}`, () =>
        this.op(s, "up", n, `${s.kind} up 0→${n} (steady-state setup)`),
      );
    }
    const refresh: Record<string, OpRecord> = {};
    for (const s of this.pair(0)) {
      refresh[s.kind] = await this.op(s, "refresh-up", n, `${s.kind} up --refresh at ${n}`);
    }
    const down: Record<string, OpRecord> = {};
    for (const s of this.pair(1)) {
      down[s.kind] = await this.op(s, "destroy", n, `${s.kind} destroy ${n}→0`);
    }
    this.row({
      id: `steady-up-${n}`,
      figure: `up 0→${n} runners (steady-state setup)`,
      fleet: setup.fleet.seconds,
      baseline: setup.baseline.seconds,
      unit: "s",
      ratio: ratioRow(setup.fleet.seconds, setup.baseline.seconds),
      target: "",
    });
    this.steadyRows(n, refresh);
    this.row({
      id: `steady-destroy-${n}`,
      figure: `destroy ${n}→0 runners`,
      fleet: down.fleet.seconds,
      baseline: down.baseline.seconds,
      unit: "s",
      ratio: ratioRow(down.fleet.seconds, down.baseline.seconds),
      target: "",
    });
    this.results.details[`steady-${n}`] = { setup, refresh, destroy: down };
  }

  private steadyRows(n: number, refresh: Record<string, OpRecord>): void {
    const f = refresh.fleet;
    const b = refresh.baseline;
    const changed = (c?: Record<string, number>) =>
      Object.entries(c ?? {})
        .filter(([k, v]) => k !== "same" && v > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "none";
    const ratio = ratioRow(f.seconds, b.seconds);
    this.row({
      id: `steady-refresh-${n}`,
      figure: `up --refresh with nothing to change, ${n} runners`,
      fleet: f.seconds,
      baseline: b.seconds,
      unit: "s",
      ratio,
      target: `≤ ${RATIO_TARGET}`,
      met: ratio <= RATIO_TARGET,
      note:
        `changes other than "same": fleet ${changed(f.changes)}, baseline ${changed(b.changes)}; ` +
        `the runners are registered and offline within their boot grace, so all are kept` +
        (stallNote(f, b) ? `; ${stallNote(f, b)}` : ""),
    });
    const budget = Math.ceil(n / 100) + 3;
    this.row({
      id: `steady-requests-${n}`,
      figure: `GitHub requests of that up --refresh (${n} runners)`,
      fleet: f.github.total,
      baseline: b.github.total,
      unit: "",
      target: `≤ ${budget}`,
      met: f.github.total <= budget,
      note: describeCounts(f.github),
    });
  }

  // ---- section: engine parallelism ---------------------------------------------------------

  async parallelSection(): Promise<void> {
    const n = this.opts.parallelN;
    const dflt = String(this.results.environment.engineDefaultParallel ?? "?");
    const label = (p: number | undefined) => (p === undefined ? `default (${dflt})` : String(p));
    const times: {
      p: number | undefined;
      fleet: OpRecord;
      baseline?: OpRecord;
      reused: boolean;
    }[] = [];
    for (const [i, p] of this.opts.parallelValues.entries()) {
      // The up section's `up` at this size ran at the default: reuse it rather than run it again.
      const earlier = (kind: string) =>
        this.ops.find(
          (o) => o.kind === kind && o.what === "up" && o.n === n && o.parallel === undefined,
        );
      if (p === undefined && earlier("fleet") && earlier("baseline")) {
        times.push({ p, fleet: earlier("fleet")!, baseline: earlier("baseline")!, reused: true });
        continue;
      }
      const got: Record<string, OpRecord> = {};
      const sides = this.opts.parallelFleetOnly ? [this.fleet] : this.pair(i);
      for (const s of sides) {
        await s.setQuantity(n);
        await this.retrying(s, `${s.kind} up/destroy of ${n} at parallel ${label(p)}`, async () => {
          got[s.kind] = await this.op(s, "up", n, `${s.kind} up 0→${n} parallel ${label(p)}`, p);
          await this.op(s, "destroy", n, `${s.kind} destroy ${n}→0 parallel ${label(p)}`, p);
        });
      }
      times.push({ p, fleet: got.fleet, baseline: got.baseline, reused: false });
    }
    const best = times.reduce((a, b) => (b.fleet.seconds < a.fleet.seconds ? b : a));
    for (const t of times) {
      const notes = [
        t.reused ? "the up section's measurement" : "",
        stallNote(t.fleet, t.baseline) ?? "",
        t === best ? "fastest fleet up of the settings tried" : "",
      ].filter(Boolean);
      this.row({
        id: `parallel-${t.p ?? "default"}`,
        figure: `up 0→${n}, engine parallel ${label(t.p)}`,
        fleet: t.fleet.seconds,
        baseline: t.baseline?.seconds ?? null,
        unit: "s",
        ratio: t.baseline ? ratioRow(t.fleet.seconds, t.baseline.seconds) : undefined,
        target: "",
        note: notes.length ? notes.join("; ") : undefined,
      });
    }
    this.results.details[`parallel-${n}`] = times.map((t) => ({
      parallel: t.p ?? `default (${dflt})`,
      fleetSeconds: t.fleet.seconds,
      baselineSeconds: t.baseline?.seconds,
      reused: t.reused,
    }));
  }

  // ---- section: pairs, the fleet against both baselines, interleaved (bench/pairs.ts) -------

  async pairsSection(): Promise<void> {
    const created = this.created;
    await pairsSection(
      {
        fleet: this.fleet,
        baseline: this.baseline,
        createSpecBaseline: async (userDataBytes) => {
          const s = await createSpecBaselineStack(`${this.root}spec`, userDataBytes);
          created.push(s);
          return s;
        },
        op: (s, what, n, label) => this.op(s, what, n, label),
        retrying: (s, what, measure) => this.retrying(s, what, measure),
        previewMemory: (kind, n, extra) => this.previewMemory(kind, n, extra),
        row: (r) => this.row(r),
        details: this.results.details,
        log,
      },
      {
        n: this.opts.pairsSize,
        previewN: this.opts.pairsPreview,
        repeats: this.opts.repeats,
        bare: this.opts.pairsBare,
        earlier: this.opts.pairsAdd ? earlierRepeats(this.opts.pairsSize) : undefined,
      },
    );
  }

  // ---- section: peak memory of a preview ---------------------------------------------------

  async memorySection(): Promise<void> {
    const n = this.opts.preview;
    const got: Record<string, PreviewMemory> = {};
    for (const kind of ["baseline", "fleet"] as const) {
      log(`${kind} preview of ${n} in a child process`);
      got[kind] = await this.previewMemory(kind, n);
      const m = got[kind];
      log(
        `${kind} preview ${m.seconds.toFixed(1)} s: program ${m.programMiB.toFixed(0)} MiB, ` +
          `providers ${m.providersMiB.toFixed(0)} MiB, engine ${m.engineMiB.toFixed(0)} MiB`,
      );
    }
    const f = got.fleet;
    const b = got.baseline;
    this.row({
      id: `preview-${n}-time`,
      figure: `preview of ${n} runners (nothing created)`,
      fleet: round(f.seconds, 1),
      baseline: round(b.seconds, 1),
      unit: "s",
      ratio: ratioRow(f.seconds, b.seconds),
      target: "",
    });
    this.row({
      id: `preview-${n}-program`,
      figure: `preview ${n}: program process peak RSS`,
      fleet: round(f.programMiB, 0),
      baseline: round(b.programMiB, 0),
      unit: "MiB",
      target: "",
      note: "the Automation API process running the inline program (Node + tsx + @pulumi/pulumi)",
    });
    this.row({
      id: `preview-${n}-providers`,
      figure: `preview ${n}: provider plugins peak RSS (sum)`,
      fleet: round(f.providersMiB, 0),
      baseline: round(b.providersMiB, 0),
      unit: "MiB",
      target: "",
      note:
        `fleet: ${describeRoles(f.roles)}; baseline: ${describeRoles(b.roles)}; ` +
        `largest sampled concurrent sum: fleet ${f.concurrentProvidersMiB.toFixed(0)} MiB`,
    });
    const total = f.programMiB + f.providersMiB;
    this.row({
      id: `preview-${n}-total`,
      figure: `preview ${n}: program + providers peak RSS`,
      fleet: round(total, 0),
      baseline: round(b.programMiB + b.providersMiB, 0),
      unit: "MiB",
      target: `≤ ${MEMORY_TARGET_MIB} MiB`,
      met: total <= MEMORY_TARGET_MIB,
    });
    this.row({
      id: `preview-${n}-engine`,
      figure: `preview ${n}: engine (pulumi CLI) peak RSS`,
      fleet: round(f.engineMiB, 0),
      baseline: round(b.engineMiB, 0),
      unit: "MiB",
      target: "",
    });
    this.results.details[`preview-${n}`] = got;

    // Diagnostic, not a target: how much the engine streams to the program's process per
    // preview, and how much of it is the dynamic providers' serialized code (`__provider`).
    const dn = Math.min(50, n);
    const diag: Record<string, PreviewMemory> = {};
    for (const kind of ["baseline", "fleet"] as const) {
      diag[kind] = await this.previewMemory(kind, dn, { events: true });
    }
    const mib = (x?: number) => round((x ?? 0) / 2 ** 20, 1);
    const fe = diag.fleet.events;
    this.row({
      id: `preview-${dn}-events`,
      figure: `preview ${dn}: engine event stream to the Automation API`,
      fleet: mib(fe?.bytes),
      baseline: mib(diag.baseline.events?.bytes),
      unit: "MiB",
      target: "",
      note:
        `${mib(fe?.providerBytes)} MiB of the fleet's stream ` +
        `(${Math.round((100 * (fe?.providerBytes ?? 0)) / (fe?.bytes || 1))}%) is the dynamic ` +
        `providers' serialized code (the \`__provider\` input of every registration, host key ` +
        `and guard), repeated in each resource's inputs and outputs`,
    });
    this.results.details[`preview-${dn}-events`] = diag;
  }

  previewMemory(
    kind: Kind,
    n: number,
    opts: { events?: boolean; userDataBytes?: number } = {},
  ): Promise<PreviewMemory> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", path.join(__dirname, "preview-child.ts")],
        {
          cwd: repoRoot,
          detached: true, // its own process group, so a timeout ends all of it and nothing else
          stdio: ["ignore", "pipe", "pipe"],
          env: {
            ...process.env,
            BENCH_PREVIEW: JSON.stringify({
              kind,
              n,
              prefix: `${this.root}mem-${kind.slice(0, 1)}`,
              gh: { url: this.gh.url, adminToken: this.gh.adminToken },
              events: opts.events ?? false,
              userDataBytes: opts.userDataBytes,
            }),
          },
        },
      );
      const sampler = new TreeMemorySampler(child.pid!, 100);
      sampler.start();
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const kill = () => {
        try {
          process.kill(-child.pid!, "SIGTERM");
        } catch {
          // already gone
        }
      };
      const timer = setTimeout(kill, this.timeoutSeconds(n) * 1000);
      this.current = { abort: kill };
      child.on("exit", (code) => {
        clearTimeout(timer);
        this.current = undefined;
        const peaks = sampler.stop();
        const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
        if (code !== 0 || !line) {
          reject(new Error(`${kind} preview child exited ${code}: ${err.slice(-2000)}`));
          return;
        }
        const r = JSON.parse(line.slice("BENCH_RESULT ".length)) as {
          seconds: number;
          maxRssKiB: number;
          changes: unknown;
          peakMiB?: Record<string, number>;
          events?: { count: number; bytes: number; providerBytes: number };
        };
        const roles = peaksByRole(peaks);
        resolve({
          seconds: r.seconds,
          changes: r.changes,
          programHeapMiB: r.peakMiB,
          events: r.events,
          programMiB: r.maxRssKiB / 1024,
          providersMiB:
            roles["openstack-provider"] + roles["command-provider"] + roles["dynamic-provider"],
          engineMiB: roles.engine,
          otherMiB: roles.other,
          roles,
          concurrentProvidersMiB: sampler.peakConcurrentProvidersKiB / 1024,
          samples: sampler.samples,
          processes: peaks,
        });
      });
    });
  }
}

interface PreviewMemory {
  seconds: number;
  changes: unknown;
  /** The program process's largest JS heap and off-heap figures, MiB. */
  programHeapMiB?: Record<string, number>;
  /** Diagnostic runs only: the engine's event stream as the Automation API received it. */
  events?: { count: number; bytes: number; providerBytes: number };
  programMiB: number;
  providersMiB: number;
  engineMiB: number;
  otherMiB: number;
  roles: ReturnType<typeof peaksByRole>;
  concurrentProvidersMiB: number;
  samples: number;
  processes: ProcessPeak[];
}

/** Says when the cloud's compute API stalled during a measurement, which then includes it. */
function stallNote(fleet: OpRecord, baseline?: OpRecord): string | undefined {
  const f = fleet.novaApiStalls;
  const b = baseline?.novaApiStalls ?? 0;
  if (!f && !b) return undefined;
  return `nova-api stalled (a worker killed as stuck, ≤ 120 s each) ${f}× during the fleet's, ${b}× during the baseline's`;
}

/**
 * Counts, from now, the stuck nova-api workers uwsgi kills (`HARAKIRI` in nova-api.log): each is
 * a stall of the cloud's compute API of up to 120 s that a figure measured across it includes.
 */
function novaApiStallCounter(): () => number {
  const file = path.join(cloudDir, "log", "nova-api.log");
  const size = () => (fs.existsSync(file) ? fs.statSync(file).size : 0);
  const start = size();
  return () => {
    const end = size();
    if (end <= start) return 0;
    const fd = fs.openSync(file, "r");
    try {
      const buf = Buffer.alloc(end - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      return (buf.toString("utf8").match(/HARAKIRI !!! worker \d+ status !!!/g) ?? []).length;
    } finally {
      fs.closeSync(fd);
    }
  };
}

/**
 * Sends `sig` to the Pulumi CLI running `cmd` that this process started (found in /proc by
 * parent pid and command line), never to anyone else's.
 */
function signalOwnCli(cmd: string, sig: NodeJS.Signals): void {
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[0]?.split("/").pop() === "pulumi" && argv[1] === cmd) {
        log(`sending ${sig} to the engine (pid ${entry})`);
        process.kill(Number(entry), sig);
      }
    } catch {
      // gone meanwhile
    }
  }
}

function describeRoles(r: Record<string, number>): string {
  return Object.entries(r)
    .filter(([k, v]) => v > 0 && k !== "engine" && k !== "other")
    .map(([k, v]) => `${k} ${v.toFixed(0)} MiB`)
    .join(", ");
}

function linearFit(points: [number, number][]): { slope: number; intercept: number } {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const slope = sxx ? sxy / sxx : 0;
  return { slope, intercept: my - slope * mx };
}

/** The CLI's default `--parallel`, as its help states it on this machine. */
function defaultParallel(): string {
  try {
    const help = execFileSync("pulumi", ["up", "--help"], {
      env: { ...process.env, ...toolchainEnv() },
      encoding: "utf8",
    });
    return /--parallel int32 .*\(default (\d+)\)/.exec(help)?.[1] ?? "?";
  } catch {
    return "?";
  }
}

function environment(): Record<string, unknown> {
  let pulumiVersion = "?";
  try {
    pulumiVersion = execFileSync("pulumi", ["version"], {
      env: { ...process.env, ...toolchainEnv() },
      encoding: "utf8",
    }).trim();
  } catch {
    // reported as "?"
  }
  return {
    cpus: os.cpus().length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    loadAverageStart: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" "),
    node: process.version,
    pulumiVersion,
    toolchain: path.basename(process.env.TOOLCHAIN_DIR ?? ""),
    engineDefaultParallel: defaultParallel(),
    githubWriteIntervalMs: 0,
    githubDoubleRateLimit: "raised to 1,000,000/hour so the bench's volume is never throttled",
  };
}

/** `--sweep PREFIX`: removes what an earlier, interrupted run left on the cloud, then exits. */
async function sweepOnly(prefix: string): Promise<void> {
  if (!/^rfb-[a-z0-9]+-$/.test(prefix)) throw new Error(`not a bench run prefix: ${prefix}`);
  const before = await leftovers(prefix);
  const count = (l: Leftovers) =>
    `${l.servers.length} servers, ${l.keypairs.length} keypairs, ${l.securityGroups.length} groups`;
  log(`found ${count(before)}`);
  const after = leftoverCount(before) ? await sweep(prefix) : before;
  log(`left: ${count(after)}`);
  process.exitCode = leftoverCount(after) ? 1 : 0;
}

async function main(): Promise<void> {
  const sweepAt = process.argv.indexOf("--sweep");
  if (sweepAt >= 0) return sweepOnly(process.argv[sweepAt + 1] ?? "");
  const bench = new Bench();
  const { opts, results } = bench;
  results.options = { ...opts };
  cloudEnv(); // fails loudly when the local OpenStack is not up
  toolchainEnv(); // likewise for the toolchain
  results.environment = environment();
  log(`run ${bench.runId}: ${JSON.stringify(opts)}`);
  const onSignal = () => {
    log("interrupted: cancelling the running operation, then cleaning up");
    bench.interrupt();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  bench.gh = await startGitHubDouble();
  bench.gh.control.setRateLimit({ limit: 1_000_000, remaining: 1_000_000 });
  const created = bench.created;
  const ran = new Set<string>();
  results.sections = {};
  try {
    const needStacks = opts.only.some((s) => s !== "memory");
    if (needStacks) {
      bench.fleet = await createFleetStack(`${bench.root}fleet`, bench.gh);
      created.push(bench.fleet);
      bench.baseline = await createBaselineStack(`${bench.root}bare`);
      created.push(bench.baseline);
    }
    const sections: [Section, () => Promise<void>][] = [
      ["up", () => bench.upSection()],
      ["steady", () => bench.steadySection()],
      ["parallel", () => bench.parallelSection()],
      ["memory", () => bench.memorySection()],
      ["pairs", () => bench.pairsSection()],
    ];
    for (const [name, run] of sections) {
      if (!opts.only.includes(name) || bench.interrupted) continue;
      if (name === "steady" && !opts.steady) continue;
      if (name === "memory" && !opts.preview) continue;
      if (name === "pairs" && !opts.pairsSize && !opts.pairsPreview) continue;
      if (name === "parallel" && (!opts.parallelN || !opts.parallelValues.length)) continue;
      log(`section ${name}`);
      for (const part of sectionParts(name, opts)) {
        ran.add(part);
        results.sections![part] = { started: new Date().toISOString(), options: results.options };
      }
      const t0 = performance.now();
      try {
        await run();
      } catch (err) {
        results.errors.push(`section ${name}: ${String(err).slice(0, 1500)}`);
        log(`section ${name} failed: ${String(err).slice(0, 1500)}`);
        await bench.settle();
      }
      log(`section ${name} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  } finally {
    bench.interrupted = false; // the cleanup must run
    await bench.settle();
    // A stack whose destroy failed keeps its state, so `pulumi destroy` can still be run on it.
    const kept = created.filter((s) => bench.dirty.has(s)).map((s) => s.test.stateDir);
    for (const s of created) if (!bench.dirty.has(s)) s.test.cleanup();
    let left = await leftovers(bench.root).catch(() => undefined);
    if (left && leftoverCount(left) > 0) {
      log(`sweeping leftovers of ${bench.root}: ${JSON.stringify(left)}`);
      left = await sweep(bench.root).catch(() => left);
    }
    if (!left || leftoverCount(left) > 0) {
      log(
        `the cloud may still hold resources named ${bench.root}*: remove them with ` +
          `\`npx tsx bench/run.ts --sweep ${bench.root}\`` +
          (kept.length ? `; stack state kept in ${kept.join(", ")}` : ""),
      );
    }
    const runnersLeft = bench.gh.control
      .runners()
      .filter((r) => r.name.startsWith(bench.root))
      .map((r) => r.name);
    results.leftovers = {
      cloud: left ?? "unknown (the cloud did not answer)",
      githubRunners: runnersLeft,
      ...(kept.length ? { stateKept: kept } : {}),
    };
    await bench.gh.close();
    results.details.operations = bench.ops.map(({ steps, ...rest }) => ({
      ...rest,
      steps: steps.filter((s) => s.op !== "same"),
    }));
    results.environment.loadAverageEnd = os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ");
    results.finished = new Date().toISOString();
    const latest = path.join(__dirname, "results", "latest.json");
    if (opts.merge && fs.existsSync(latest)) {
      mergeEarlier(results, JSON.parse(fs.readFileSync(latest, "utf8")) as Results, ran);
    }
    console.log(`\n${textTable(results.rows)}\n`);
    if (results.errors.length) console.log(`errors:\n  ${results.errors.join("\n  ")}\n`);
    console.log(`leftovers: ${JSON.stringify(results.leftovers)}`);
    const files = await writeResults(path.join(__dirname, "results"), results);
    if (quoteInReadme(path.join(repoRoot, "README.md"), fs.readFileSync(files[2], "utf8"))) {
      files.push(path.join(repoRoot, "README.md"));
    }
    console.log(`wrote ${files.map((f) => path.relative(repoRoot, f)).join(", ")}`);
  }
  process.exitCode = results.errors.length ? 1 : 0;
}

/** The pairs repeats at `n` of the last latest.json, for `--pairs-add`. */
function earlierRepeats(n: number): EarlierRepeats {
  const file = path.join(__dirname, "results", "latest.json");
  const last = JSON.parse(fs.readFileSync(file, "utf8")) as Results;
  const pairs = last.details[`pairs-${n}`] as { ops?: EarlierRepeats["ops"]; started?: string };
  if (!pairs?.ops) throw new Error(`--pairs-add: ${file} has no pairs repeats at N=${n}`);
  return { started: pairs.started ?? last.started, ops: pairs.ops };
}

/**
 * The parts of a section whose rows this run measures (report.ts `sectionOf`): the pairs'
 * operations and their previews may each come from a run of their own.
 */
function sectionParts(name: Section, opts: Options): string[] {
  if (name !== "pairs") return [name];
  return [...(opts.pairsSize ? ["pairs"] : []), ...(opts.pairsPreview ? ["pairs-preview"] : [])];
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
