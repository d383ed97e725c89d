// The `reconciliation` metrics event of one `pulumi up`, per pool: what the plan found and kept.
import type { DropCause, FleetPlan } from "./plan";
import { reconciliationEvent, ReconciliationEvent } from "../dynamic-providers/metrics/events";

/** The causes that count a runner as crashed: it was seen on GitHub and never came online. */
const CRASHED: readonly DropCause[] = ["offline-past-boot-grace"];

/**
 * One event per pool: runners the plan dropped as dead (offline past the boot grace) are
 * `crashed`, kept idle and booting ones `idle`, busy ones `active`; `duration` is the seconds the
 * program took to observe and plan.
 */
export function reconciliationEvents(
  plan: FleetPlan,
  pools: { name: string; quantity: number }[],
  timestamp: number,
  duration: number,
): ReconciliationEvent[] {
  return pools.map((pool) => {
    const runners = plan.runners.filter((r) => r.pool === pool.name);
    return reconciliationEvent({
      flavor: pool.name,
      timestamp,
      crashedRunners: plan.dropped.filter((d) => d.pool === pool.name && CRASHED.includes(d.cause))
        .length,
      idleRunners: runners.filter((r) => r.state === "idle" || r.state === "booting").length,
      activeRunners: runners.filter((r) => r.state === "busy").length,
      expectedRunners: pool.quantity,
      duration,
    });
  });
}
