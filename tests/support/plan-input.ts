// The plan input the planner's unit tests start from: one unnamed pool of 3, no runners yet, and
// deterministic name suffixes (0, 1, 2, … in hex).
import type { PlanInput } from "../../fleet/plan";

export function planInput(now: number, overrides: Partial<PlanInput>): PlanInput {
  let n = 0;
  return {
    namePrefix: "ci",
    namedPools: false,
    pools: [{ name: "default", quantity: 3 }],
    previous: [],
    observed: [],
    now,
    bootGraceSeconds: 1380,
    mode: "jit",
    flushBusy: false,
    randomSuffix: () => (n++).toString(16).padStart(12, "0"),
    ...overrides,
  };
}
