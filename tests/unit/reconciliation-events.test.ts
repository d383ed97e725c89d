import * as assert from "node:assert/strict";
import type { FleetPlan } from "../../fleet/plan";
import { reconciliationEvents } from "../../fleet/reconciliation-events";

describe("reconciliation metrics", function () {
  it("counts crashed, idle and active runners per pool against the expected quantity", function () {
    const at = "2026-11-25T00:00:00Z";
    const plan: FleetPlan = {
      runners: [
        { name: "a-1", pool: "a", createdAt: at, state: "busy" },
        { name: "a-2", pool: "a", createdAt: at, state: "idle" },
        { name: "a-3", pool: "a", createdAt: at, state: "booting" },
        { name: "a-4", pool: "a", createdAt: at, state: "new" },
        { name: "b-1", pool: "b", createdAt: at, state: "idle" },
      ],
      dropped: [
        // The human reasons do not count: the cause does.
        { name: "a-9", pool: "a", cause: "offline-past-boot-grace", reason: "…" },
        { name: "a-8", pool: "a", cause: "gone-from-github", reason: "offline…" },
        { name: "b-9", pool: "b", cause: "server-in-error", reason: "its server is in ERROR" },
      ],
      orphans: [],
      handovers: [],
      rollouts: [],
    };
    const events = reconciliationEvents(
      plan,
      [
        { name: "a", quantity: 4 },
        { name: "b", quantity: 2 },
      ],
      1_700_000_000,
      1.5,
    );
    assert.deepEqual(events, [
      {
        timestamp: 1_700_000_000,
        event: "reconciliation",
        flavor: "a",
        crashed_runners: 1,
        idle_runners: 2,
        active_runners: 1,
        expected_runners: 4,
        duration: 1.5,
      },
      {
        timestamp: 1_700_000_000,
        event: "reconciliation",
        flavor: "b",
        crashed_runners: 0,
        idle_runners: 1,
        active_runners: 0,
        expected_runners: 2,
        duration: 1.5,
      },
    ]);
  });
});
