// The reconciler: GitHub's webhook deliveries keep a job queue; each change of it triggers an
// `up` of the fleet program (reconciler/trigger-loop.ts) with the queue as its demand snapshot;
// a periodic `up --refresh` heals what no delivery said, with a resync of the queue where GitHub
// lists one. Every change is still a previewable, recorded Pulumi update of the same program.
import * as fs from "node:fs";
import type * as http from "node:http";
import * as path from "node:path";
import type { ConfigMap } from "@pulumi/pulumi/automation";
import { resolveCredentials } from "../dynamic-providers/github/client";
import { DEMAND_FILE_ENV, queuedJobsOf, writeDemandFile } from "../fleet/demand-snapshot";
import { GITHUB_COM_API_URL } from "../rules/github";
import { pruneLedger, WRITE_LEDGER_ENV, WRITES_PER_HOUR_ENV } from "../rules/github-write-budget";
import type { ReconcilerHealth } from "./health";
import { reconcilerServer } from "./http-server";
import { JobQueue } from "./job-queue";
import { ReconcilerMetrics } from "./metrics";
import type { ReconcilerSettings } from "./settings";
import { runUp, syncCheckout, type StackTarget, type UpResult } from "./stack-updates";
import { TriggerLoop, type UpKind, type UpOutcome } from "./trigger-loop";
import { webhookReceiver } from "./webhook-receiver";

export interface ReconcilerDeps {
  program: StackTarget["program"];
  /** The checkout this process's own code was loaded from. */
  codeDir: string;
  /** Called when a fast-forward changed the code of this process's checkout: it must restart. */
  onProgramChanged: () => void;
  log: (line: string) => void;
}

/** Files a fast-forward may change without a restart: the project and stack config. */
const CONFIG_FILE = /^Pulumi(\.[^/]+)?\.yaml$/;

export class Reconciler {
  readonly metrics = new ReconcilerMetrics();
  private readonly queue = new JobQueue();
  private readonly loop: TriggerLoop;
  private readonly server: http.Server;
  private readonly demandFile: string;
  private readonly ledger: string;
  private abort = new AbortController();
  private firstTriggerAt?: number;
  private lastUp?: NonNullable<ReconcilerHealth["lastUp"]>;
  private upCount = 0;

  constructor(
    private readonly settings: ReconcilerSettings,
    private readonly deps: ReconcilerDeps,
  ) {
    fs.mkdirSync(settings.stateDir, { recursive: true, mode: 0o700 });
    this.demandFile = path.join(settings.stateDir, "demand.json");
    this.ledger = path.join(settings.stateDir, "github-writes");
    // The program runs in this process (an inline program) and its providers under the CLI this
    // process starts: both read these.
    process.env[DEMAND_FILE_ENV] = this.demandFile;
    process.env[WRITE_LEDGER_ENV] = this.ledger;
    process.env[WRITES_PER_HOUR_ENV] = String(settings.writesPerHour);
    // A snapshot left by an earlier run is stale: an `up` goes without one until the queue is known.
    fs.rmSync(this.demandFile, { force: true });
    this.metrics.githubWriteBudget.set(settings.writesPerHour);
    this.loop = new TriggerLoop({
      debounceMs: settings.debounceMs,
      refreshMs: settings.refreshSeconds * 1000,
      lockRetryMs: settings.lockRetrySeconds * 1000,
      failureRetryMs: settings.failureRetrySeconds * 1000,
      paused: () => this.paused(),
      run: (kind, reasons) => this.up(kind, reasons),
      log: deps.log,
    });
    this.server = reconcilerServer({
      webhook: webhookReceiver({
        secret: settings.webhookSecret,
        queue: this.queue,
        onAnswer: (status) => this.metrics.delivery(String(status)),
        onChange: (payload) => {
          const job = payload.workflow_job;
          if (payload.action === "in_progress" && job.created_at && job.started_at) {
            this.metrics.jobStarted(
              (Date.parse(job.started_at) - Date.parse(job.created_at)) / 1000,
            );
          }
          this.queueChanged();
          this.trigger(`job ${job.id} ${payload.action}`);
        },
      }),
      health: (): ReconcilerHealth => ({
        status: "ok",
        paused: this.paused(),
        upInProgress: this.loop.busy,
        upPending: this.loop.pending,
        ups: this.upCount,
        lastUp: this.lastUp ?? null,
      }),
      registry: this.metrics.registry,
    });
  }

  /** Listens, then reconciles at once (a refresh) and on every trigger after. */
  async start(): Promise<{ url: string }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.settings.port, this.settings.host, resolve);
    });
    const { port } = this.server.address() as { port: number };
    const host = this.settings.host.includes(":") ? `[${this.settings.host}]` : this.settings.host;
    const url = `http://${host}:${port}`;
    this.deps.log(`listening on ${url} (POST /webhook, GET /healthz, GET /metrics)`);
    this.loop.start();
    return { url };
  }

  /**
   * Stops acting: no new `up`; one in flight may finish within `stopTimeoutSeconds`, then it is
   * cancelled as Ctrl-C cancels (operations in flight end, nothing is killed mid-create).
   */
  async stop(): Promise<void> {
    const inFlight = this.loop.stop();
    if (this.loop.busy) {
      this.deps.log(
        `stopping: the up in flight may finish within ${this.settings.stopTimeoutSeconds} s`,
      );
      const timer = setTimeout(() => this.cancel(), this.settings.stopTimeoutSeconds * 1000);
      await inFlight;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    this.deps.log("stopped");
  }

  /** Cancels the `up` in flight now (a second SIGTERM). */
  cancel(): void {
    if (!this.loop.busy || this.abort.signal.aborted) return;
    this.deps.log("cancelling the up in flight (the CLI lets operations in flight end)");
    this.abort.abort();
  }

  private paused(): boolean {
    const paused = fs.existsSync(this.settings.pauseFile);
    this.metrics.paused.set(paused ? 1 : 0);
    return paused;
  }

  private trigger(reason: string): void {
    this.firstTriggerAt ??= Date.now();
    this.loop.trigger(reason);
  }

  private queueChanged(): void {
    const snapshot = this.queue.snapshot();
    writeDemandFile(this.demandFile, snapshot);
    this.metrics.queueChanged(snapshot.queued);
  }

  private async up(kind: UpKind, reasons: string[]): Promise<UpOutcome> {
    const n = ++this.upCount;
    const waited = this.firstTriggerAt === undefined ? undefined : Date.now() - this.firstTriggerAt;
    this.firstTriggerAt = undefined;
    if (waited !== undefined) this.metrics.triggerToUp(waited / 1000);
    this.metrics.githubWrites.set(pruneLedger(this.ledger, Date.now()).length);
    const why =
      reasons.length > 3
        ? `${reasons.slice(0, 3).join(", ")} and ${reasons.length - 3} more`
        : reasons.join(", ");
    this.deps.log(
      `up #${n} (${kind}) starts: ${why}${waited === undefined ? "" : `, ${waited} ms after the first trigger`}`,
    );
    const synced = await syncCheckout(this.settings).catch((err: Error) => err);
    if (synced instanceof Error) {
      this.deps.log(`up #${n} failed before it started: ${synced.message}`);
      this.metrics.upEnded(kind, "failed", 0);
      return "failed";
    }
    const program = synced.changed.filter((f) => !CONFIG_FILE.test(f));
    if (program.length > 0 && this.settings.checkout === this.deps.codeDir) {
      // The program in this process is the old commit's: never run it on the new commit's config.
      this.deps.log(
        `the program changed at ${synced.commit.slice(0, 12)} ` +
          `(${program.slice(0, 5).join(", ")}): restarting to load it`,
      );
      this.deps.onProgramChanged();
      return "cancelled";
    }
    this.abort = new AbortController();
    this.metrics.upInProgress.set(1);
    const result: UpResult = await runUp(this.target(), kind, {
      commit: synced.commit,
      signal: this.abort.signal,
      onOutput: (text) => this.deps.log(text.replace(/\n$/, "").replace(/^/gm, `  up #${n}| `)),
      beforeUp: kind === "refresh" ? (config) => this.resync(config) : undefined,
    });
    this.metrics.upInProgress.set(0);
    this.metrics.upEnded(kind, result.outcome, result.seconds, result.pools);
    this.metrics.githubWrites.set(pruneLedger(this.ledger, Date.now()).length);
    this.lastUp = {
      kind,
      outcome: result.outcome,
      endedAt: new Date().toISOString(),
      ...(result.commit ? { commit: result.commit } : {}),
    };
    const pools = (result.pools ?? []).map((p) => `${p.name} ${p.size} (${p.sizedBy})`).join("; ");
    this.deps.log(
      `up #${n} ${result.outcome} in ${result.seconds.toFixed(1)} s` +
        (result.commit ? ` at ${result.commit.slice(0, 12)}` : "") +
        (pools ? `: ${pools}` : "") +
        (result.error ? `\n${result.error}` : ""),
    );
    return result.outcome;
  }

  /**
   * Heals missed deliveries: for a repository, the queue becomes GitHub's listing of its queued
   * jobs. An organisation has no listing; its queue is only what the deliveries said.
   */
  private async resync(config: ConfigMap): Promise<void> {
    const value = (key: string) => config[`runner-fleet:${key}`]?.value;
    const apiUrl = value("githubApiUrl") ?? GITHUB_COM_API_URL;
    const githubPath = value("githubPath") ?? "";
    try {
      const credentials = resolveCredentials((key) => config[key]?.value, process.env);
      const listed = await queuedJobsOf(apiUrl, githubPath, credentials);
      if (!listed) return;
      this.queue.resync(
        listed.queued.filter((j) => j.id !== undefined) as { id: number; labels: string[] }[],
      );
      this.queueChanged();
    } catch (err) {
      this.deps.log(
        `the queue was not resynced (the up goes on with the deliveries'): ${(err as Error).message}`,
      );
    }
  }

  private target(): StackTarget {
    const { checkout, remote, branch, stack } = this.settings;
    return { checkout, remote, branch, stack, program: this.deps.program };
  }
}
