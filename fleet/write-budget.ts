// Plans only the new runners GitHub's hourly write budget allows (rules/github-write-budget.ts).
// A new runner costs one write now (its JIT config or registration) and one when it leaves; a
// runner this `up` removes costs one. An `up` that spends past the budget meets GitHub's
// secondary limit halfway, so the plan holds back what does not fit and says how many wait.
import type { FleetPlan } from "./plan";

export interface WriteBudgetVerdict {
  perHour: number;
  /** Writes the ledger holds from the last hour. */
  used: number;
  /** New runners the plan wanted, and how many the budget allowed. */
  wanted: number;
  allowed: number;
}

/**
 * Keeps the new runners that fit in what the hour has left after this `up`'s removals: new
 * runners of a rollout last (an outdated runner whose replacement waits stays as it is).
 */
export function fitPlanToWriteBudget(
  plan: FleetPlan,
  budget: { perHour: number; used: number },
): { plan: FleetPlan; verdict: WriteBudgetVerdict } {
  const removals = plan.dropped.length + plan.handovers.length;
  const fresh = plan.runners.filter((r) => r.state === "new");
  const room = Math.max(0, budget.perHour - budget.used - removals);
  const verdict = { ...budget, wanted: fresh.length, allowed: Math.min(room, fresh.length) };
  if (fresh.length <= room) return { plan, verdict };
  const byPriority = [...fresh.filter((r) => !r.replaces), ...fresh.filter((r) => r.replaces)];
  const held = new Set(byPriority.slice(room).map((r) => r.name));
  const stays = new Set(fresh.filter((r) => held.has(r.name) && r.replaces).map((r) => r.replaces));
  const kept = plan.handovers.filter((h) => stays.has(h.from.name)).map((h) => h.from);
  return {
    plan: {
      ...plan,
      runners: [
        ...plan.runners.filter((r) => r.state !== "new"),
        ...kept,
        ...fresh.filter((r) => !held.has(r.name)),
      ],
      handovers: plan.handovers.filter((h) => !stays.has(h.from.name)),
      rollouts: plan.rollouts.map((r) => ({
        ...r,
        replacing: r.replacing.filter((x) => !stays.has(x.from)),
        waiting: [...r.waiting, ...r.replacing.filter((x) => stays.has(x.from)).map((x) => x.from)],
      })),
    },
    verdict,
  };
}

/** The operator's line when the budget held new runners back. */
export function writeBudgetWarning(v: WriteBudgetVerdict): string | undefined {
  if (v.allowed === v.wanted) return undefined;
  return (
    `GitHub's write budget allows ${v.allowed} of ${v.wanted} new runners ` +
    `(${v.used} of ${v.perHour} writes used in the last hour); ${v.wanted - v.allowed} wait ` +
    `for a later up`
  );
}
