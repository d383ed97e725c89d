import * as assert from "node:assert/strict";
import { KnownRunner, ObservedRunner, planFleet, PlanInput } from "../../fleet/plan";
import { fitPlanToQuota } from "../../fleet/quota";
import { changedSettings, isRunnerModel, poolSpec } from "../../fleet/runner-spec";
import { haltsAfter, rolloutCauses, rolloutMessage } from "../../fleet/rollout";
import type { FleetConfig } from "../../config/fleet-config";
import { planInput } from "../support/plan-input";
import { surgeOf } from "../../rules/settings";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();
const runner = (name: string, spec: string, createdMinutesAgo = 60): KnownRunner => ({
  name,
  pool: "default",
  createdAt: minutesAgo(createdMinutesAgo),
  spec,
});
const online = (name: string, busy = false): ObservedRunner => ({
  name,
  status: "online",
  busy,
});
const rolling = (overrides: Partial<PlanInput>, surge = 1, halted?: string) =>
  planInput(NOW, {
    pools: [
      {
        name: "default",
        quantity: 3,
        spec: "new",
        surge,
        ...(halted ? { haltedBefore: halted } : {}),
      },
    ],
    ...overrides,
  });
const offline = (name: string): ObservedRunner => ({ name, status: "offline", busy: false });
const names = (list: { name: string }[]) => list.map((r) => r.name);

describe("rollouts in the plan", function () {
  const old3 = [runner("ci-a", "old"), runner("ci-b", "old"), runner("ci-c", "old")];

  it("replaces idle outdated runners by new names, up to the surge, and lets busy ones drain", function () {
    const plan = planFleet(
      rolling(
        { previous: old3, observed: [online("ci-a", true), online("ci-b"), online("ci-c")] },
        2,
      ),
    );
    // The busy runner stays; both idle ones are handed over to new runners of the new spec.
    assert.deepEqual(
      plan.runners.map((r) => [r.name, r.state, r.spec, r.replaces]),
      [
        ["ci-a", "busy", "old", undefined],
        ["ci-000000000000", "new", "new", "ci-b"],
        ["ci-000000000001", "new", "new", "ci-c"],
      ],
    );
    assert.deepEqual(
      plan.handovers.map((h) => [h.from.name, h.to]),
      [
        ["ci-b", "ci-000000000000"],
        ["ci-c", "ci-000000000001"],
      ],
    );
    assert.deepEqual(plan.dropped, []);
    assert.deepEqual(plan.rollouts, [
      {
        pool: "default",
        spec: "new",
        replacing: [
          { from: "ci-b", to: "ci-000000000000" },
          { from: "ci-c", to: "ci-000000000001" },
        ],
        draining: ["ci-a"],
        waiting: [],
      },
    ]);
  });

  it("rolls a pool of 3 with a surge of 1 in three ups, each replacement kept while it boots", function () {
    let previous = old3;
    let observed = old3.map((r) => online(r.name));
    const replaced: string[] = [];
    for (let up = 1; up <= 3; up++) {
      const plan = planFleet(rolling({ previous, observed }, 1));
      assert.equal(plan.handovers.length, 1, `up ${up} replaces one runner`);
      replaced.push(plan.handovers[0].from.name);
      // The handover succeeded: the outdated runner went, its replacement is online.
      previous = plan.runners.map(({ name, pool, createdAt, spec }) => ({
        name,
        pool,
        createdAt,
        spec,
      }));
      observed = previous.map((r) => online(r.name));
    }
    assert.deepEqual(replaced, ["ci-a", "ci-b", "ci-c"]);
    const done = planFleet(rolling({ previous, observed }, 1));
    assert.deepEqual(done.rollouts, []);
    assert.ok(done.runners.every((r) => r.spec === "new" && r.state === "idle"));
  });

  it("keeps a replacement that is still booting beside the runner it replaces, and replaces no more", function () {
    const booting = runner("ci-new", "new", 1);
    const plan = planFleet(
      rolling(
        {
          previous: [...old3, booting],
          observed: [...old3.map((r) => online(r.name)), offline("ci-new")],
        },
        1,
      ),
    );
    assert.deepEqual(names(plan.runners).sort(), ["ci-a", "ci-b", "ci-c", "ci-new"]);
    assert.deepEqual(plan.handovers, []);
    assert.deepEqual(plan.dropped, []);
    // Once it is online, it takes a slot and one outdated runner goes; the next one is replaced.
    const after = planFleet(
      rolling(
        { previous: [...old3, booting], observed: [...old3, booting].map((r) => online(r.name)) },
        1,
      ),
    );
    assert.deepEqual(
      after.dropped.map((d) => [d.name, d.cause]),
      [["ci-c", "scale-down"]],
    );
    assert.match(after.dropped[0].reason, /replaced by a runner of the new spec/);
    assert.deepEqual(
      after.handovers.map((h) => h.from.name),
      ["ci-a"],
    );
  });

  it("halts when runners of the new spec never came online, and while an earlier halt holds", function () {
    const dead = runner("ci-dead", "new", 60);
    const plan = planFleet(
      rolling(
        {
          previous: [...old3, dead],
          observed: [...old3.map((r) => online(r.name)), offline("ci-dead")],
        },
        3,
      ),
    );
    assert.deepEqual(plan.handovers, []);
    assert.match(plan.rollouts[0].halted ?? "", /never came online \(ci-dead\)/);
    assert.deepEqual(plan.rollouts[0].waiting, ["ci-a", "ci-b", "ci-c"]);
    const held = planFleet(
      rolling({ previous: old3, observed: old3.map((r) => online(r.name)) }, 3, "it failed"),
    );
    assert.equal(held.rollouts[0].halted, "it failed");
    assert.deepEqual(held.handovers, []);
    // A runner of the new spec online lifts the halt.
    const lifted = planFleet(
      rolling(
        {
          previous: [runner("ci-a", "old"), runner("ci-b", "old"), runner("ci-ok", "new")],
          observed: ["ci-a", "ci-b", "ci-ok"].map((n) => online(n)),
        },
        3,
        "it failed",
      ),
    );
    assert.equal(lifted.rollouts[0].halted, undefined);
    assert.deepEqual(names(lifted.handovers.map((h) => h.from)), ["ci-a", "ci-b"]);
  });

  it("pauses with a surge of 0, and takes runners deployed before specs as current", function () {
    const paused = planFleet(
      rolling({ previous: old3, observed: old3.map((r) => online(r.name)) }, 0),
    );
    assert.deepEqual(paused.handovers, []);
    assert.deepEqual(paused.rollouts[0].waiting, ["ci-a", "ci-b", "ci-c"]);
    const unrecorded = old3.map(({ name, pool, createdAt }) => ({ name, pool, createdAt }));
    const adopted = planFleet(
      rolling({ previous: unrecorded, observed: old3.map((r) => online(r.name)) }, 3),
    );
    assert.deepEqual(adopted.rollouts, []);
    assert.ok(adopted.runners.every((r) => r.spec === "new"));
  });

  it("scales down outdated runners before current ones", function () {
    const plan = planFleet(
      planInput(NOW, {
        pools: [{ name: "default", quantity: 1, spec: "new", surge: 1 }],
        previous: [runner("ci-a", "old"), runner("ci-b", "new")],
        observed: [online("ci-a"), online("ci-b")],
      }),
    );
    assert.deepEqual(names(plan.runners), ["ci-b"]);
    assert.deepEqual(names(plan.dropped), ["ci-a"]);
  });

  it("without quota for a replacement, lets the outdated runner go first, within the surge", function () {
    const plan = planFleet(
      rolling({ previous: old3, observed: old3.map((r) => online(r.name)) }, 1),
    );
    const capacity = {
      room: { instances: 0, cores: Infinity, ramMiB: Infinity, ports: Infinity },
      flavors: new Map(),
    };
    const fitted = fitPlanToQuota(plan, new Set(), capacity, () => "f").plan;
    assert.deepEqual(fitted.handovers, []);
    assert.deepEqual(
      fitted.dropped.map((d) => [d.name, d.cause]),
      [["ci-a", "replaced-without-room"]],
    );
    assert.deepEqual(names(fitted.runners), ["ci-b", "ci-c"]);
    assert.deepEqual(fitted.rollouts[0].goFirst, ["ci-a"]);
    assert.deepEqual(fitted.rollouts[0].replacing, []);
  });

  it("halts a pool whose replacement did not come online in the up's wait", function () {
    const plan = planFleet(
      rolling({ previous: old3, observed: old3.map((r) => online(r.name)) }, 1),
    );
    const to = plan.handovers[0].to;
    assert.deepEqual(haltsAfter(plan, [{ from: "ci-a", to, cameOnline: true }], 60), {});
    assert.deepEqual(haltsAfter(plan, [{ from: "ci-a", to, cameOnline: false }], 60), {
      default: {
        spec: "new",
        reason: `replacement ${to} did not come online within 60s, so ci-a stayed`,
      },
    });
  });
});

describe("runner specs", function () {
  const config = {
    network: "net",
    runnerGroup: "Default",
    registrationMode: "jit",
    sshDebugRelays: [],
    authorCheck: false,
  } as unknown as FleetConfig;
  const pool = { name: "default", flavor: "small", labels: ["GPU"], sizing: { quantity: 3 } };

  it("reads a runner model back from the outputs only when it is one of the models", function () {
    assert.deepEqual(["lean", "nova-keypair", "Lean", "", null, undefined, 4].map(isRunnerModel), [
      true,
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it("says which settings changed, in the config's words, and never holds a value", function () {
    const before = poolSpec(config, pool, "image-1", "secret-token-value");
    const after = poolSpec(
      { ...config, preJobScript: "echo hi" },
      { ...pool, flavor: "large" },
      "image-2",
      "secret-token-value",
    );
    assert.notEqual(before.id, after.id);
    assert.deepEqual(changedSettings(before.settings, after.settings), [
      "flavor",
      "image",
      "preJobScript",
    ]);
    assert.equal(
      poolSpec(config, { ...pool, labels: ["gpu"] }, "image-1", "secret-token-value").id,
      before.id,
    );
    assert.ok(!JSON.stringify(before).includes("secret-token-value"));
    assert.ok(!JSON.stringify(after).includes("echo hi"));
  });

  it("names the causes and the surge in the rollout message", function () {
    const old = poolSpec(config, pool, "image-1", undefined);
    const now = poolSpec(config, pool, "image-2", undefined);
    const plan = planFleet(
      planInput(NOW, {
        pools: [{ name: "default", quantity: 2, spec: now.id, surge: surgeOf({ percent: 25 }, 2) }],
        previous: [runner("ci-a", old.id), runner("ci-b", old.id)],
        observed: [online("ci-a", true), online("ci-b")],
      }),
    );
    const causes = rolloutCauses(plan.rollouts[0], plan, { [old.id]: old.settings }, now);
    assert.deepEqual(causes, ["image"]);
    const { level, text } = rolloutMessage(plan.rollouts[0], causes, "25%");
    assert.equal(level, "info");
    assert.match(text, /pool default: 2 runners outdated \(image changed\)/);
    assert.match(text, /this up replaces 1 \(rolloutSurge 25%\): ci-b by ci-000000000000/);
    assert.match(text, /busy, they go when their job ends: ci-a/);
  });
});
