// The plan within the tenant's quota: creates beyond the room are held back, in plan order,
// recorded runners first; the verdict says how many and which limit held them.
import * as assert from "node:assert/strict";
import type { TenantCapacity } from "../../dynamic-providers/openstack/tenant-capacity";
import { planFleet, PlanInput } from "../../fleet/plan";
import { fitPlanToQuota, quotaWarning } from "../../fleet/quota";
import { planInput } from "../support/plan-input";

const NOW = Date.parse("2026-12-01T12:00:00Z");

function plan(overrides: Partial<PlanInput>) {
  return planFleet(
    planInput(NOW, {
      namedPools: true,
      pools: [
        { name: "small", quantity: 3 },
        { name: "big", quantity: 2 },
      ],
      ...overrides,
    }),
  );
}

const capacity = (room: Partial<TenantCapacity["room"]>): TenantCapacity => ({
  room: { instances: Infinity, cores: Infinity, ramMiB: Infinity, ports: Infinity, ...room },
  flavors: new Map([
    ["m1.small", { vcpus: 1, ramMiB: 512 }],
    ["m1.big", { vcpus: 4, ramMiB: 8192 }],
  ]),
});
const flavorOf = (pool: string) => `m1.${pool}`;

describe("the plan within the tenant's quota", function () {
  it("keeps every create when the room is unlimited, and says nothing", function () {
    const { plan: fitted, verdict } = fitPlanToQuota(plan({}), new Set(), capacity({}), flavorOf);
    assert.equal(fitted.runners.length, 5);
    assert.deepEqual(verdict, {
      wanted: 5,
      allowed: 5,
      limitedBy: [],
      room: { instances: null, cores: null, ramMiB: null, ports: null },
    });
    assert.equal(quotaWarning(verdict), undefined);
  });

  it("plans only as many servers as instances are free, in plan order", function () {
    const { plan: fitted, verdict } = fitPlanToQuota(
      plan({}),
      new Set(),
      capacity({ instances: 2 }),
      flavorOf,
    );
    assert.deepEqual(
      fitted.runners.map((r) => r.name),
      ["ci-small-000000000000", "ci-small-000000000001"],
    );
    assert.equal(verdict.allowed, 2);
    assert.deepEqual(verdict.limitedBy, ["instances"]);
    assert.equal(
      quotaWarning(verdict),
      "quota allows 2 of 5 new runners (instances 2 free); the rest wait for room: " +
        "raise the tenant's quota, or lower quantity",
    );
  });

  it("sizes each create by its pool's flavor: cores hold back the big ones, small ones still fit", function () {
    const { plan: fitted, verdict } = fitPlanToQuota(
      plan({}),
      new Set(),
      capacity({ cores: 6 }),
      flavorOf,
    );
    // 3 small (3 cores) leave 3: no big one (4) fits.
    assert.deepEqual(
      fitted.runners.map((r) => r.pool),
      ["small", "small", "small"],
    );
    assert.deepEqual(verdict.limitedBy, ["cores"]);
    assert.equal(verdict.room.cores, 6);
  });

  it("counts RAM and ports too", function () {
    assert.deepEqual(
      fitPlanToQuota(plan({}), new Set(), capacity({ ramMiB: 1024 }), flavorOf).verdict.allowed,
      2,
    );
    assert.deepEqual(
      fitPlanToQuota(plan({}), new Set(), capacity({ ports: 1 }), flavorOf).verdict.limitedBy,
      ["ports"],
    );
  });

  it("gives recorded runners without a server the room first, and drops those beyond it", function () {
    const recorded = (name: string) => ({
      name,
      pool: "small",
      createdAt: new Date(NOW - 60_000).toISOString(),
    });
    const input = plan({
      previous: [recorded("ci-small-00000000000a"), recorded("ci-small-00000000000b")],
      observed: [
        { name: "ci-small-00000000000a", status: "offline", busy: false },
        { name: "ci-small-00000000000b", status: "offline", busy: false },
      ],
    });
    const { plan: fitted, verdict } = fitPlanToQuota(
      input,
      new Set(["ci-small-00000000000b"]),
      capacity({ instances: 0 }),
      flavorOf,
    );
    // a has its server (nothing to create); b needs one and there is no room: dropped.
    assert.deepEqual(
      fitted.runners.map((r) => r.name),
      ["ci-small-00000000000a"],
    );
    assert.deepEqual(
      fitted.dropped.map((d) => [d.name, d.cause]),
      [["ci-small-00000000000b", "no-quota"]],
    );
    assert.equal(verdict.wanted, 4); // b, and 1 small + 2 big new ones
    assert.equal(verdict.allowed, 0);
  });
});
