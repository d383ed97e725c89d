import * as assert from "node:assert/strict";
import { classify, KnownRunner, planFleet, PlanInput } from "../../fleet/plan";
import { planInput } from "../support/plan-input";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();

const input = (overrides: Partial<PlanInput>) => planInput(NOW, overrides);

const known = (name: string, createdMinutesAgo = 60, pool = "default"): KnownRunner => ({
  name,
  pool,
  createdAt: minutesAgo(createdMinutesAgo),
});

describe("fleet plan", function () {
  it("creates quantity new runners on a first deployment", function () {
    const plan = planFleet(input({}));
    assert.deepEqual(
      plan.runners.map((r) => [r.name, r.state]),
      [
        ["ci-000000000000", "new"],
        ["ci-000000000001", "new"],
        ["ci-000000000002", "new"],
      ],
    );
    assert.deepEqual(plan.dropped, []);
  });

  it("drops an idle runner whose server no deployment recorded, and keeps a busy one", function () {
    const plan = planFleet(
      input({
        pools: [{ name: "default", quantity: 2 }],
        previous: [known("ci-a"), known("ci-b")],
        observed: [
          { name: "ci-a", status: "online", busy: false },
          { name: "ci-b", status: "online", busy: true },
        ],
        serversNotRecorded: new Set(["ci-a", "ci-b"]),
      }),
    );
    assert.deepEqual(
      plan.dropped.map((d) => [d.name, d.cause]),
      [["ci-a", "server-not-recorded"]],
    );
    assert.deepEqual(
      plan.runners.map((r) => [r.name, r.state]),
      [
        ["ci-b", "busy"],
        ["ci-000000000000", "new"],
      ],
    );
  });

  it("plans nothing for quantity 0", function () {
    assert.equal(planFleet(input({ pools: [{ name: "default", quantity: 0 }] })).runners.length, 0);
  });

  it("keeps live runners and replaces one whose job finished (gone from GitHub)", function () {
    const plan = planFleet(
      input({
        previous: [known("ci-a"), known("ci-b"), known("ci-c")],
        observed: [
          { name: "ci-a", status: "online", busy: false },
          { name: "ci-c", status: "online", busy: true },
        ],
      }),
    );
    assert.deepEqual(
      plan.runners.map((r) => [r.name, r.state]),
      [
        ["ci-c", "busy"],
        ["ci-a", "idle"],
        ["ci-000000000000", "new"],
      ],
    );
    assert.deepEqual(
      plan.dropped.map((d) => d.name),
      ["ci-b"],
    );
    assert.match(plan.dropped[0].reason, /gone from GitHub/);
    assert.equal(plan.dropped[0].cause, "gone-from-github");
    assert.equal(plan.dropped[0].pool, "default");
  });

  it("scales 3 to 1 keeping the busy runner, dropping idle ones", function () {
    const plan = planFleet(
      input({
        pools: [{ name: "default", quantity: 1 }],
        previous: [known("ci-a"), known("ci-b"), known("ci-c")],
        observed: [
          { name: "ci-a", status: "online", busy: false },
          { name: "ci-b", status: "online", busy: true },
          { name: "ci-c", status: "online", busy: false },
        ],
      }),
    );
    assert.deepEqual(
      plan.runners.map((r) => r.name),
      ["ci-b"],
    );
    assert.deepEqual(plan.dropped.map((d) => d.name).sort(), ["ci-a", "ci-c"]);
  });

  it("never drops busy runners beyond the quantity, unless flushBusy", function () {
    const base = {
      pools: [{ name: "default", quantity: 1 }],
      previous: [known("ci-a"), known("ci-b")],
      observed: [
        { name: "ci-a", status: "online" as const, busy: true },
        { name: "ci-b", status: "online" as const, busy: true },
      ],
    };
    assert.deepEqual(
      planFleet(input(base)).runners.map((r) => r.name),
      ["ci-a", "ci-b"],
    );
    const flushed = planFleet(input({ ...base, flushBusy: true }));
    assert.deepEqual(
      flushed.runners.map((r) => r.name),
      ["ci-a"],
    );
    assert.match(flushed.dropped[0].reason, /scale down to 1 \(busy\)/);
    assert.equal(flushed.dropped[0].cause, "scale-down");
  });

  it("keeps an offline runner inside the boot grace period, drops it after", function () {
    const observed = [{ name: "ci-a", status: "offline" as const, busy: false }];
    const young = planFleet(input({ previous: [known("ci-a", 5)], observed }));
    assert.equal(young.runners.find((r) => r.name === "ci-a")?.state, "booting");
    const old = planFleet(input({ previous: [known("ci-a", 30)], observed }));
    assert.match(old.dropped[0].reason, /offline for longer than the boot grace period \(1380s\)/);
    assert.equal(old.dropped[0].cause, "offline-past-boot-grace");
  });

  it("drops a booting runner at once when its server is in ERROR", function () {
    const observed = [{ name: "ci-a", status: "offline" as const, busy: false }];
    const plan = planFleet(
      input({ previous: [known("ci-a", 5)], observed, serversInError: new Set(["ci-a"]) }),
    );
    assert.deepEqual(plan.dropped, [
      { name: "ci-a", pool: "default", cause: "server-in-error", reason: "its server is in ERROR" },
    ]);
    assert.ok(!plan.runners.some((r) => r.name === "ci-a"));
    assert.equal(plan.runners.length, 3);
  });

  it("waits for token-mode runners to register during the grace period", function () {
    const verdict = classify(known("ci-a", 5), undefined, {
      now: NOW,
      bootGraceSeconds: 1380,
      mode: "registration-token",
    });
    assert.deepEqual(verdict, { state: "booting" });
  });

  it("plans pools separately and names runners after their pool", function () {
    const plan = planFleet(
      input({
        namedPools: true,
        pools: [
          { name: "small", quantity: 1 },
          { name: "gpu", quantity: 2 },
        ],
        previous: [known("ci-old-a", 60, "old")],
      }),
    );
    assert.deepEqual(
      plan.runners.map((r) => [r.name, r.pool]),
      [
        ["ci-small-000000000000", "small"],
        ["ci-gpu-000000000001", "gpu"],
        ["ci-gpu-000000000002", "gpu"],
      ],
    );
    assert.deepEqual(plan.dropped, [
      { name: "ci-old-a", pool: "old", cause: "pool-removed", reason: "pool old removed" },
    ]);
  });

  it("never reuses a name, and reports GitHub runners it did not deploy as orphans", function () {
    const suffixes = ["000000000000", "000000000000", "000000000001"];
    const plan = planFleet(
      input({
        pools: [{ name: "default", quantity: 1 }],
        observed: [{ name: "ci-000000000000", status: "online", busy: false }],
        randomSuffix: () => suffixes.shift() as string,
      }),
    );
    assert.deepEqual(
      plan.runners.map((r) => r.name),
      ["ci-000000000001"],
    );
    assert.deepEqual(plan.orphans, ["ci-000000000000"]);
  });
});
