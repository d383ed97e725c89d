// Each pool as this `up` leaves it, for operators and the reconciler's metrics: its labels (a
// queued job's pool is the first whose labels hold all of the job's), its size and why, and its
// runners by state.
import { effectiveLabels } from "../rules/github";
import type { SizedPool } from "./demand";
import type { FleetPlan, PlannedRunner } from "./plan";

export interface PoolSummary {
  name: string;
  /** Its runners' labels, GitHub's defaults included. */
  labels: string[];
  size: number;
  sizedBy: string;
  runners: Record<PlannedRunner["state"], number>;
}

export function poolSummaries(
  pools: { name: string; labels: string[] }[],
  fleet: FleetPlan,
  sizes: SizedPool[],
): PoolSummary[] {
  return pools.map((pool) => {
    const runners = { busy: 0, idle: 0, booting: 0, new: 0 };
    for (const r of fleet.runners.filter((x) => x.pool === pool.name)) runners[r.state]++;
    const sized = sizes.find((s) => s.name === pool.name);
    return {
      name: pool.name,
      labels: effectiveLabels(pool.labels),
      size: sized?.quantity ?? 0,
      sizedBy: sized?.reason ?? "GitHub cannot be read: kept as it is",
      runners,
    };
  });
}
