import * as assert from "node:assert/strict";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import { startGitHubDouble, type GitHubDouble } from "../../devkit/github-double/index";
import { call, quietLog, TestClock } from "./test-helpers";

const runnersPath = "/orgs/acme/actions/runners";

describe("GitHub double: rate limits, faults, latency and request counts", function () {
  let clock: TestClock;
  let double: GitHubDouble;
  const listRunners = () => call(double, "GET", runnersPath, { token: double.adminToken });

  beforeEach(async function () {
    clock = new TestClock();
    double = await startGitHubDouble({ clock });
  });

  afterEach(async function () {
    await double.close();
  });

  describe("primary rate limit", function () {
    it("sends the rate-limit headers on every response, spending one unit per request", async function () {
      const resetSeconds = String(clock.now() / 1000 + 3600);
      const first = await listRunners();
      const second = await listRunners();
      const unauthenticated = await call(double, "GET", runnersPath, { token: "ghp_unknown" });
      for (const [res, remaining] of [
        [first, "4999"],
        [second, "4998"],
        [unauthenticated, "4998"],
      ] as const) {
        assert.equal(res.headers.get("x-ratelimit-limit"), "5000");
        assert.equal(res.headers.get("x-ratelimit-remaining"), remaining);
        assert.equal(res.headers.get("x-ratelimit-used"), String(5000 - Number(remaining)));
        assert.equal(res.headers.get("x-ratelimit-reset"), resetSeconds);
        assert.equal(res.headers.get("x-ratelimit-resource"), "core");
      }
      assert.equal(first.headers.get("date"), new Date(clock.now()).toUTCString());
      assert.match(first.headers.get("x-github-request-id") ?? "", /^[0-9A-F]{4}:[0-9A-F]{4}:/);
    });

    it("rejects requests with 403 once the budget is spent, until the reset time", async function () {
      const resetAt = clock.now() + 90_000;
      double.control.setRateLimit({ limit: 100, remaining: 1, resetAt });
      assert.equal((await listRunners()).status, 200);

      const refused = await listRunners();
      assert.equal(refused.status, 403);
      assert.match(refused.body.message, /^API rate limit exceeded for user ID \d+\. /);
      assert.equal(refused.headers.get("x-ratelimit-remaining"), "0");
      assert.equal(refused.headers.get("x-ratelimit-used"), "100");
      assert.equal(refused.headers.get("x-ratelimit-reset"), String(resetAt / 1000));
      assert.equal(refused.headers.get("retry-after"), null);

      clock.advance(89_000);
      assert.equal((await listRunners()).status, 403);
      clock.advance(1_000);
      const refilled = await listRunners();
      assert.equal(refilled.status, 200);
      assert.equal(refilled.headers.get("x-ratelimit-remaining"), "99");
    });
  });

  describe("secondary rate limit", function () {
    it("rejects the next requests with 429 and retry-after, then recovers", async function () {
      double.control.secondaryRateLimit({ count: 2, retryAfterSeconds: 7, status: 429 });
      for (let i = 0; i < 2; i++) {
        const res = await listRunners();
        assert.equal(res.status, 429);
        assert.equal(res.headers.get("retry-after"), "7");
        assert.match(res.body.message, /^You have exceeded a secondary rate limit\. /);
        assert.notEqual(res.headers.get("x-ratelimit-remaining"), "0");
      }
      assert.equal((await listRunners()).status, 200);
    });

    it("fails with 403 by default, as Octokit's throttling plugin recognises", async function () {
      double.control.secondaryRateLimit({ retryAfterSeconds: 9 });
      const seen: number[] = [];
      const octokit = new (Octokit.plugin(throttling))({
        baseUrl: double.url,
        auth: double.adminToken,
        log: quietLog,
        throttle: {
          onRateLimit: () => false,
          onSecondaryRateLimit: (retryAfter: number) => {
            seen.push(retryAfter);
            return false;
          },
        },
      });
      await assert.rejects(octokit.rest.actions.listSelfHostedRunnersForOrg({ org: "acme" }), {
        status: 403,
        message: /secondary rate limit/,
      });
      assert.deepEqual(seen, [9]);
    });
  });

  describe("faults", function () {
    it("fails the next requests with the given 5xx status, then recovers", async function () {
      double.control.fault({ count: 2, status: 503 });
      for (let i = 0; i < 2; i++) {
        const res = await listRunners();
        assert.equal(res.status, 503);
        assert.equal(res.body.message, "Server Error");
        assert.equal(res.body.status, "503");
      }
      assert.equal((await listRunners()).status, 200);
    });

    it("fails only the requests of the given route", async function () {
      const jitRoute = "POST /orgs/{org}/actions/runners/generate-jitconfig";
      double.control.fault({ status: 502, route: jitRoute });
      assert.equal((await listRunners()).status, 200);
      const body = { name: "r", runner_group_id: 1, labels: ["x"] };
      const jit = () =>
        call(double, "POST", `${runnersPath}/generate-jitconfig`, {
          token: double.adminToken,
          body,
        });
      assert.equal((await jit()).status, 502);
      assert.equal((await jit()).status, 201);
    });

    it("clears faults, secondary limits and latency", async function () {
      double.control.fault({ count: 5 });
      double.control.secondaryRateLimit({ count: 5 });
      double.control.latency({ ms: 5_000 });
      double.control.clearFaults();
      assert.equal((await listRunners()).status, 200);
    });

    it("rejects a fault that is not a 5xx", function () {
      assert.throws(() => double.control.fault({ status: 404 }), /a fault answers a 5xx status/);
    });
  });

  describe("latency", function () {
    const timed = async () => {
      const start = performance.now();
      await listRunners();
      return performance.now() - start;
    };

    it("delays the next requests by the given time", async function () {
      double.control.latency({ ms: 300, count: 1 });
      assert.ok((await timed()) >= 290);
      assert.ok((await timed()) < 200);
    });

    it("delays requests until a time of the double's clock", async function () {
      double.control.latency({ ms: 200, untilMs: clock.now() + 10_000 });
      assert.ok((await timed()) >= 190);
      assert.ok((await timed()) >= 190);
      clock.advance(10_000);
      assert.ok((await timed()) < 150);
    });
  });

  describe("request counts", function () {
    it("counts REST requests by route template, not control or runner-agent requests", async function () {
      await listRunners();
      await call(double, "GET", "/orgs/other/actions/runners", { token: double.adminToken });
      await call(double, "GET", "/repos/acme/widgets/actions/runners/5", { token: "ghp_unknown" });
      await fetch(`${double.url}/_control/runners`, { method: "POST" });
      await fetch(`${double.url}/_runner/session`, { method: "POST" });
      assert.deepEqual(double.control.requestCounts(), {
        total: 3,
        byRoute: {
          "GET /orgs/{org}/actions/runners": 2,
          "GET /repos/{owner}/{repo}/actions/runners/{runner_id}": 1,
        },
      });
      double.control.resetRequestCounts();
      assert.deepEqual(double.control.requestCounts(), { total: 0, byRoute: {} });
    });
  });
});
