// The reconciler's Prometheus metrics (prom-client), served at /metrics: the queue per pool as
// the webhooks tell it, the runners by state per pool as the last `up` left them, each `up`'s
// outcome and duration, how long jobs waited for a runner, and the GitHub write budget.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { matchJobsToPools, type QueuedJob } from "../fleet/demand";
import type { PoolSummary } from "../fleet/pool-summary";
import type { UpKind, UpOutcome } from "./trigger-loop";

export class ReconcilerMetrics {
  readonly registry = new Registry();
  private pools: PoolSummary[] = [];

  private readonly queued = new Gauge({
    name: "runner_fleet_queued_jobs",
    help: 'Jobs queued for a runner, by the pool that takes them (pool "": none matches)',
    labelNames: ["pool"],
    registers: [this.registry],
  });
  private readonly runners = new Gauge({
    name: "runner_fleet_runners",
    help: "Runners by pool and state, as the last up left them",
    labelNames: ["pool", "state"],
    registers: [this.registry],
  });
  private readonly poolSize = new Gauge({
    name: "runner_fleet_pool_size",
    help: "The size the last up gave each pool",
    labelNames: ["pool"],
    registers: [this.registry],
  });
  private readonly ups = new Counter({
    name: "runner_fleet_ups_total",
    help: "Pulumi ups the reconciler ran, by kind and outcome",
    labelNames: ["kind", "outcome"],
    registers: [this.registry],
  });
  private readonly upSeconds = new Histogram({
    name: "runner_fleet_up_duration_seconds",
    help: "How long each up took, by kind",
    labelNames: ["kind"],
    buckets: [5, 10, 20, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });
  private readonly jobWait = new Histogram({
    name: "runner_fleet_job_wait_seconds",
    help: "From a job queued to a runner starting it (the webhook's created_at and started_at)",
    buckets: [1, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });
  private readonly triggerDelay = new Histogram({
    name: "runner_fleet_trigger_to_up_seconds",
    help: "From the first trigger an up answers to the start of that up (debounce and waiting out an up in flight)",
    buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  private readonly triggers = new Counter({
    name: "runner_fleet_webhook_deliveries_total",
    help: "Webhook deliveries received, by what became of them",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly paused = new Gauge({
    name: "runner_fleet_reconciler_paused",
    help: "1 while the pause switch is on",
    registers: [this.registry],
  });
  readonly upInProgress = new Gauge({
    name: "runner_fleet_up_in_progress",
    help: "1 while an up runs",
    registers: [this.registry],
  });
  readonly githubWrites = new Gauge({
    name: "runner_fleet_github_writes_last_hour",
    help: "GitHub content-generating requests in the last hour (the secondary limit's budget)",
    registers: [this.registry],
  });
  readonly githubWriteBudget = new Gauge({
    name: "runner_fleet_github_write_budget_per_hour",
    help: "GitHub content-generating requests the reconciler allows itself per hour",
    registers: [this.registry],
  });

  upEnded(kind: UpKind, outcome: UpOutcome, seconds: number, pools?: PoolSummary[]): void {
    this.ups.inc({ kind, outcome });
    this.upSeconds.observe({ kind }, seconds);
    if (!pools) return;
    this.pools = pools;
    this.runners.reset();
    this.poolSize.reset();
    for (const p of pools) {
      this.poolSize.set({ pool: p.name }, p.size);
      for (const [state, n] of Object.entries(p.runners)) {
        this.runners.set({ pool: p.name, state }, n);
      }
    }
  }

  queueChanged(queued: QueuedJob[]): void {
    const { perPool, unmatched } = matchJobsToPools(queued, this.pools);
    this.queued.reset();
    for (const [pool, n] of perPool) this.queued.set({ pool }, n);
    this.queued.set({ pool: "" }, unmatched);
  }

  delivery(outcome: string): void {
    this.triggers.inc({ outcome });
  }

  triggerToUp(seconds: number): void {
    this.triggerDelay.observe(seconds);
  }

  jobStarted(waitSeconds: number): void {
    if (Number.isFinite(waitSeconds) && waitSeconds >= 0) this.jobWait.observe(waitSeconds);
  }
}
