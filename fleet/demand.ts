// Pools sized by the job queue: which pool a queued job counts for, as GitHub matches jobs to
// runners, and how many runners each pool gets from a demand snapshot (or, without one, from what
// it has). Pure functions, so `preview` shows exactly the sizes an `up` will make.
import { effectiveLabels } from "../rules/github";
import { classify, KnownRunner, ObservedRunner, PlanInput } from "./plan";

/** How a pool is sized: a fixed quantity, or by demand between a floor of idle runners and a ceiling. */
export type PoolSizing = { quantity: number } | { minIdle: number; maxRunners: number };

/** A queued job as the demand signal knows it: the labels of its `runs-on`. */
export interface QueuedJob {
  labels: string[];
  /** GitHub's job id, where the signal has it (a resync of the webhook queue needs it). */
  id?: number;
}

/** What the queue asks of the fleet, at one moment. */
export interface DemandSnapshot {
  /** Jobs queued and waiting for a runner. */
  queued: QueuedJob[];
  /** Where it came from, for the log (`webhooks`, `rest`). */
  source: string;
}

/** Queued jobs per pool, in config order; a job counts for one pool at most. */
export interface JobsByPool {
  perPool: Map<string, number>;
  /** Jobs no pool can take: they spawn nothing. */
  unmatched: number;
}

/**
 * Counts each queued job for the first pool, in config order, whose labels (with GitHub's
 * defaults, compared case-insensitively) include all of the job's: the pools a job could run on
 * are those GitHub would hand it to, and counting it once keeps a job from spawning two runners.
 */
export function matchJobsToPools(
  jobs: QueuedJob[],
  pools: { name: string; labels: string[] }[],
): JobsByPool {
  const labelSets = pools.map((p) => ({
    name: p.name,
    labels: new Set(effectiveLabels(p.labels).map((l) => l.toLowerCase())),
  }));
  const perPool = new Map(pools.map((p) => [p.name, 0]));
  let unmatched = 0;
  for (const job of jobs) {
    const wanted = job.labels.map((l) => l.toLowerCase());
    const pool = labelSets.find((p) => wanted.every((l) => p.labels.has(l)));
    if (pool) perPool.set(pool.name, (perPool.get(pool.name) ?? 0) + 1);
    else unmatched++;
  }
  return { perPool, unmatched };
}

/** A pool's runners now, as the plan classifies them. */
export interface PoolCounts {
  busy: number;
  /** Idle and booting runners. */
  notBusy: number;
}

/** Each pool's busy and other live runners, as the plan will classify them. */
export function poolCounts(
  previous: KnownRunner[],
  observed: ObservedRunner[],
  timing: Pick<PlanInput, "now" | "bootGraceSeconds" | "mode">,
): Map<string, PoolCounts> {
  const byName = new Map(observed.map((r) => [r.name, r]));
  const counts = new Map<string, PoolCounts>();
  for (const runner of previous) {
    const verdict = classify(runner, byName.get(runner.name), timing);
    if (!("state" in verdict)) continue;
    const c = counts.get(runner.pool) ?? { busy: 0, notBusy: 0 };
    if (verdict.state === "busy") c.busy++;
    else c.notBusy++;
    counts.set(runner.pool, c);
  }
  return counts;
}

export interface SizedPool {
  name: string;
  quantity: number;
  /** How the size was reached, for people. */
  reason: string;
}

/**
 * The size of each pool for this `up`. A fixed pool keeps its quantity. A demand-sized pool with a
 * snapshot gets min(maxRunners, busy + queued jobs for it + minIdle); without one (a pipeline
 * `up` on an organisation, where GitHub lists no queue) it keeps what it has, busy and not, and
 * at least minIdle idle, within maxRunners, so a pipeline run never undoes what demand built.
 * Then `fleetMaxRunners` caps the sum: pools are cut from the last in config order, never below
 * their busy runners (a busy runner is only removed by the plan's busy rules).
 */
export function sizePools(
  pools: { name: string; sizing: PoolSizing }[],
  counts: Map<string, PoolCounts>,
  demand: JobsByPool | undefined,
  fleetMaxRunners?: number,
): SizedPool[] {
  const sized = pools.map(({ name, sizing }): SizedPool => {
    if ("quantity" in sizing) return { name, quantity: sizing.quantity, reason: "quantity" };
    const { busy, notBusy } = counts.get(name) ?? { busy: 0, notBusy: 0 };
    const cap = (n: number) => Math.min(sizing.maxRunners, n);
    if (demand) {
      const queued = demand.perPool.get(name) ?? 0;
      const quantity = cap(busy + queued + sizing.minIdle);
      return {
        name,
        quantity,
        reason:
          `${busy} busy + ${queued} queued + minIdle ${sizing.minIdle}` +
          (quantity < busy + queued + sizing.minIdle
            ? `, capped at maxRunners ${sizing.maxRunners}`
            : ""),
      };
    }
    const quantity = cap(busy + Math.max(notBusy, sizing.minIdle));
    return {
      name,
      quantity,
      reason: `no demand snapshot: ${busy} busy + ${Math.max(notBusy, sizing.minIdle)} kept (minIdle ${sizing.minIdle})`,
    };
  });
  if (fleetMaxRunners === undefined) return sized;
  let over = sized.reduce((n, p) => n + p.quantity, 0) - fleetMaxRunners;
  for (let i = sized.length - 1; i >= 0 && over > 0; i--) {
    const floor = counts.get(sized[i].name)?.busy ?? 0;
    const cut = Math.min(over, Math.max(0, sized[i].quantity - floor));
    if (cut === 0) continue;
    sized[i] = {
      ...sized[i],
      quantity: sized[i].quantity - cut,
      reason: `${sized[i].reason}, cut by ${cut} to fleetMaxRunners ${fleetMaxRunners}`,
    };
    over -= cut;
  }
  return sized;
}
