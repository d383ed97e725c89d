import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KnownRunner, ObservedRunner, planFleet } from "../../fleet/plan";
import { fitPlanToWriteBudget, writeBudgetWarning } from "../../fleet/write-budget";
import {
  pruneLedger,
  recordWrite,
  WRITE_LEDGER_ENV,
  writesPerHour,
  writesWithinHour,
} from "../../rules/github-write-budget";
import { planInput } from "../support/plan-input";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const runner = (name: string, spec = "new"): KnownRunner => ({
  name,
  pool: "default",
  createdAt: new Date(NOW - 3600_000).toISOString(),
  spec,
});
const idle = (name: string): ObservedRunner => ({ name, status: "online", busy: false });

describe("GitHub's hourly write budget", function () {
  it("plans only the new runners that the hour has room for, after this up's removals", function () {
    // 1 kept, 1 gone from GitHub (a delete: one write), 5 new wanted for a pool of 6.
    const plan = planFleet(
      planInput(NOW, {
        pools: [{ name: "default", quantity: 6 }],
        previous: [runner("ci-a"), runner("ci-b")],
        observed: [idle("ci-a")],
      }),
    );
    assert.equal(plan.runners.filter((r) => r.state === "new").length, 5);
    const { plan: fitted, verdict } = fitPlanToWriteBudget(plan, { perHour: 500, used: 496 });
    assert.deepEqual(verdict, { perHour: 500, used: 496, wanted: 5, allowed: 3 });
    assert.equal(fitted.runners.filter((r) => r.state === "new").length, 3);
    assert.ok(
      fitted.runners.some((r) => r.name === "ci-a"),
      "kept runners stay",
    );
    assert.match(writeBudgetWarning(verdict) ?? "", /allows 3 of 5 new runners \(496 of 500/);
    assert.equal(fitPlanToWriteBudget(plan, { perHour: 500, used: 0 }).plan, plan);
    assert.equal(writeBudgetWarning({ perHour: 5, used: 0, wanted: 2, allowed: 2 }), undefined);
  });

  it("holds a rollout's replacement before a new runner, and keeps its outdated runner", function () {
    const plan = planFleet(
      planInput(NOW, {
        pools: [{ name: "default", quantity: 3, spec: "new", surge: 1 }],
        previous: [runner("ci-a", "old"), runner("ci-b", "new")],
        observed: [idle("ci-a"), idle("ci-b")],
      }),
    );
    assert.equal(plan.handovers.length, 1);
    // Room for 1 new runner: the one that grows the pool, not the replacement of ci-a.
    const { plan: fitted } = fitPlanToWriteBudget(plan, { perHour: 10, used: 8 });
    const fresh = fitted.runners.filter((r) => r.state === "new");
    assert.equal(fresh.length, 1);
    assert.equal(fresh[0].replaces, undefined);
    assert.deepEqual(fitted.handovers, []);
    assert.ok(
      fitted.runners.some((r) => r.name === "ci-a"),
      "the outdated runner stays",
    );
    assert.deepEqual(fitted.rollouts[0].replacing, []);
    assert.ok(fitted.rollouts[0].waiting.includes("ci-a"));
  });

  it("keeps a ledger of the last hour's writes, and says what a bad budget is", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ledger-"));
    const file = path.join(dir, "writes");
    const env = { [WRITE_LEDGER_ENV]: file };
    assert.deepEqual(writesWithinHour(file, NOW), []);
    recordWrite(env, NOW - 2 * 3600_000);
    recordWrite(env, NOW - 60_000);
    recordWrite(env, NOW - 1000);
    assert.equal(writesWithinHour(file, NOW).length, 2);
    assert.deepEqual(pruneLedger(file, NOW), [NOW - 60_000, NOW - 1000]);
    assert.equal(fs.readFileSync(file, "utf8"), `${NOW - 60_000}\n${NOW - 1000}\n`);
    recordWrite({}, NOW);
    assert.equal(writesWithinHour(file, NOW).length, 2, "no ledger set: nothing recorded");
    assert.equal(writesPerHour({}), 500);
    assert.equal(writesPerHour({ RUNNER_FLEET_GITHUB_WRITES_PER_HOUR: "5000" }), 5000);
    assert.throws(
      () => writesPerHour({ RUNNER_FLEET_GITHUB_WRITES_PER_HOUR: "lots" }),
      /RUNNER_FLEET_GITHUB_WRITES_PER_HOUR is "lots": use a whole number ≥ 1/,
    );
    fs.rmSync(dir, { recursive: true });
  });
});
