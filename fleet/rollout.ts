// Rollouts as operators see them: which runners an edit outdated and why, what this `up` does about
// it, and which pools' rollouts are halted (recorded in the outputs, so the next `up` holds the
// halt until a runner of the new spec comes online). The choice of runners is the plan's
// (fleet/plan.ts); the handover itself is components/runner-fleet.ts.
import type { HandoverOutcome } from "../components/runner-fleet";
import type { FleetPlan, PoolRollout } from "./plan";
import { changedSettings, RunnerSpec, SpecSettings } from "./runner-spec";

/** A halted rollout: the spec it rolled out, and why it stopped. */
export interface RolloutHalt {
  spec: string;
  reason: string;
}

/** The settings that outdated a pool's runners, from the specs they were made with. */
export function rolloutCauses(
  rollout: PoolRollout,
  plan: FleetPlan,
  specs: Record<string, SpecSettings>,
  current: RunnerSpec,
): string[] {
  const outdated = new Set([
    ...rollout.replacing.map((r) => r.from),
    ...rollout.draining,
    ...rollout.waiting,
    ...(rollout.goFirst ?? []),
  ]);
  const byName = new Map(
    [...plan.runners, ...plan.handovers.map((h) => h.from)].map((r) => [r.name, r]),
  );
  const causes = new Set<string>();
  for (const name of outdated) {
    const spec = byName.get(name)?.spec;
    for (const c of changedSettings(spec ? specs[spec] : undefined, current.settings))
      causes.add(c);
  }
  return [...causes].sort();
}

/** What `preview` and `up` say of a pool's rollout. */
export function rolloutMessage(
  rollout: PoolRollout,
  causes: string[],
  surge: string,
): { level: "info" | "warn"; text: string } {
  const outdated =
    rollout.replacing.length +
    rollout.draining.length +
    rollout.waiting.length +
    (rollout.goFirst?.length ?? 0);
  const parts = [
    `pool ${rollout.pool}: ${outdated} runner${outdated === 1 ? "" : "s"} outdated ` +
      `(${causes.join(", ")} changed)`,
  ];
  if (rollout.halted) {
    parts.push(
      `rollout halted: ${rollout.halted}; the outdated runners keep serving. It resumes when a ` +
        `runner of the new spec comes online, or with a new spec (fix the setting)`,
    );
  } else {
    parts.push(
      `this up replaces ${rollout.replacing.length} (rolloutSurge ${surge})` +
        (rollout.replacing.length > 0
          ? `: ${rollout.replacing.map((r) => `${r.from} by ${r.to}`).join(", ")}`
          : ""),
    );
  }
  if (rollout.goFirst?.length) {
    parts.push(`no quota for replacements, so these go first: ${rollout.goFirst.join(", ")}`);
  }
  if (rollout.draining.length > 0) {
    parts.push(`busy, they go when their job ends: ${rollout.draining.join(", ")}`);
  }
  if (!rollout.halted && rollout.waiting.length > 0) {
    parts.push(`left for later ups: ${rollout.waiting.length}`);
  }
  return { level: rollout.halted ? "warn" : "info", text: parts.join("; ") };
}

/** The halts the plan holds (before any handover of this `up` is known). */
export function plannedHalts(plan: FleetPlan): Record<string, RolloutHalt> {
  const halts: Record<string, RolloutHalt> = {};
  for (const r of plan.rollouts) if (r.halted) halts[r.pool] = { spec: r.spec, reason: r.halted };
  return halts;
}

/** The halts after this `up`'s handovers: a replacement that did not come online halts its pool. */
export function haltsAfter(
  plan: FleetPlan,
  outcomes: HandoverOutcome[],
  waitSeconds: number,
): Record<string, RolloutHalt> {
  const halts = plannedHalts(plan);
  for (const outcome of outcomes.filter((o) => !o.cameOnline)) {
    const rollout = plan.rollouts.find((r) => r.replacing.some((x) => x.to === outcome.to));
    if (!rollout || halts[rollout.pool]) continue;
    halts[rollout.pool] = {
      spec: rollout.spec,
      reason: `replacement ${outcome.to} did not come online within ${waitSeconds}s, so ${outcome.from} stayed`,
    };
  }
  return halts;
}

/** The handovers whose replacement failed, as warnings. */
export function handoverWarnings(outcomes: HandoverOutcome[], waitSeconds: number): string[] {
  return outcomes
    .filter((o) => !o.cameOnline)
    .map(
      (o) =>
        `replacement ${o.to} did not come online within ${waitSeconds}s: ${o.from} stays, and ` +
        `the rollout of its pool halts until a runner of the new spec comes online`,
    );
}
