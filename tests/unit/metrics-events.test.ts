// The pure half of runner metrics: parsing the files a runner leaves, and the events built.
import * as assert from "node:assert/strict";
import {
  buildRunnerEvents,
  parsePostJob,
  parsePreJob,
  parseTimestamp,
  PostJobMetrics,
  PreJobMetrics,
  reconciliationEvent,
} from "../../dynamic-providers/metrics/events";

const T0 = 1_700_000_000;
const preJob: PreJobMetrics = {
  workflow: "CI",
  repository: "acme/widgets",
  event: "pull_request",
  timestamp: T0 + 300,
  workflow_run_id: "99",
};
const postJob: PostJobMetrics = { timestamp: T0 + 900, status: "normal" };

describe("metrics events", function () {
  describe("buildRunnerEvents", function () {
    it("builds all three events with durations from the file timestamps", function () {
      const events = buildRunnerEvents({
        flavor: "small",
        installStartTs: T0,
        installedTs: T0 + 120,
        preJob,
        postJob,
        queueDuration: 5,
        jobConclusion: "success",
      });
      assert.deepEqual(events, [
        { timestamp: T0 + 120, event: "runner_installed", flavor: "small", duration: 120 },
        {
          timestamp: T0 + 300,
          event: "runner_start",
          flavor: "small",
          workflow: "CI",
          repo: "acme/widgets",
          github_event: "pull_request",
          idle: 180,
          queue_duration: 5,
        },
        {
          timestamp: T0 + 900,
          event: "runner_stop",
          flavor: "small",
          workflow: "CI",
          repo: "acme/widgets",
          github_event: "pull_request",
          status: "normal",
          job_duration: 600,
          job_conclusion: "success",
        },
      ]);
    });

    it("clamps idle to 0 when the job started before the installed timestamp", function () {
      const [, start] = buildRunnerEvents({
        flavor: "f",
        installStartTs: T0,
        installedTs: T0 + 400,
        preJob,
      });
      assert.equal(start.event, "runner_start");
      assert.equal(start.idle, 0);
    });

    it("clamps job_duration to 0 when the post-job timestamp precedes the pre-job one", function () {
      const events = buildRunnerEvents({
        flavor: "f",
        installStartTs: T0,
        preJob,
        postJob: { ...postJob, timestamp: T0 + 290 },
      });
      const stop = events.find((e) => e.event === "runner_stop");
      assert.ok(stop && stop.event === "runner_stop");
      assert.equal(stop.job_duration, 0);
    });

    it("clamps a negative install duration (clock skew) to 0", function () {
      const [installed] = buildRunnerEvents({
        flavor: "f",
        installStartTs: T0,
        installedTs: T0 - 5,
      });
      assert.equal(installed.event, "runner_installed");
      assert.equal(installed.duration, 0);
    });

    it("carries status_info of an abnormal end", function () {
      const events = buildRunnerEvents({
        flavor: "f",
        installStartTs: T0,
        preJob,
        postJob: { timestamp: T0 + 400, status: "abnormal", status_info: { code: 137 } },
      });
      const stop = events[1];
      assert.equal(stop.event, "runner_stop");
      assert.equal(stop.status, "abnormal");
      assert.deepEqual(stop.status_info, { code: 137 });
    });

    it("leaves out optional fields that were not given", function () {
      const events = buildRunnerEvents({ flavor: "f", installStartTs: T0, preJob, postJob });
      for (const e of events) {
        assert.ok(!("queue_duration" in e));
        assert.ok(!("status_info" in e));
        assert.ok(!("job_conclusion" in e));
      }
    });

    it("emits nothing when no file was found", function () {
      assert.deepEqual(buildRunnerEvents({ flavor: "f", installStartTs: T0 }), []);
    });

    it("emits only runner_installed when the runner never got a job", function () {
      const events = buildRunnerEvents({ flavor: "f", installStartTs: T0, installedTs: T0 + 60 });
      assert.deepEqual(
        events.map((e) => e.event),
        ["runner_installed"],
      );
    });

    it("gives runner_start a null idle without an installed timestamp", function () {
      const [start] = buildRunnerEvents({ flavor: "f", installStartTs: T0, preJob });
      assert.equal(start.event, "runner_start");
      assert.equal(start.idle, null);
    });

    it("gives runner_stop null job fields without a pre-job file", function () {
      const events = buildRunnerEvents({
        flavor: "f",
        installStartTs: T0,
        installedTs: T0 + 10,
        postJob,
      });
      assert.deepEqual(events[1], {
        timestamp: T0 + 900,
        event: "runner_stop",
        flavor: "f",
        workflow: null,
        repo: null,
        github_event: null,
        status: "normal",
        job_duration: null,
      });
    });
  });

  describe("reconciliationEvent", function () {
    it("has every field in snake_case", function () {
      assert.deepEqual(
        reconciliationEvent({
          flavor: "large",
          timestamp: T0,
          crashedRunners: 1,
          idleRunners: 2,
          activeRunners: 3,
          expectedRunners: 5,
          duration: 4.5,
        }),
        {
          timestamp: T0,
          event: "reconciliation",
          flavor: "large",
          crashed_runners: 1,
          idle_runners: 2,
          active_runners: 3,
          expected_runners: 5,
          duration: 4.5,
        },
      );
    });
  });

  describe("parseTimestamp", function () {
    it("reads epoch seconds with surrounding whitespace", function () {
      assert.deepEqual(parseTimestamp(` ${T0}\n`), { ok: true, value: T0 });
      assert.deepEqual(parseTimestamp("1700000000.25"), { ok: true, value: 1_700_000_000.25 });
    });

    for (const [text, reason] of [
      ["", /empty file/],
      ["  \n", /empty file/],
      ["soon", /not a number of epoch seconds: "soon"/],
      ["-5", /not a number/],
      ["1e9", /not a number/],
      ["NaN", /not a number/],
      ["99999999999999", /out of range/],
    ] as const) {
      it(`rejects ${JSON.stringify(text)}`, function () {
        const r = parseTimestamp(text);
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.reason, reason);
      });
    }
  });

  describe("parsePreJob", function () {
    it("reads a pre-job file", function () {
      assert.deepEqual(parsePreJob(JSON.stringify(preJob)), { ok: true, value: preJob });
    });

    it("accepts a numeric workflow_run_id and a numeric-string timestamp", function () {
      const r = parsePreJob(
        JSON.stringify({ ...preJob, timestamp: String(T0), workflow_run_id: 123 }),
      );
      assert.deepEqual(r, {
        ok: true,
        value: { ...preJob, timestamp: T0, workflow_run_id: "123" },
      });
    });

    it("accepts a file without workflow_run_id", function () {
      const rest: PreJobMetrics = { ...preJob };
      delete rest.workflow_run_id;
      assert.deepEqual(parsePreJob(JSON.stringify(rest)), { ok: true, value: rest });
    });

    for (const [what, text, reason] of [
      ["bad JSON", '{"workflow": "CI", ', /not valid JSON/],
      ["a JSON array", "[1,2]", /not a JSON object/],
      ["a JSON null", "null", /not a JSON object/],
      ["a missing workflow", JSON.stringify({ ...preJob, workflow: undefined }), /"workflow"/],
      ["a numeric repository", JSON.stringify({ ...preJob, repository: 5 }), /"repository"/],
      ["a missing event", JSON.stringify({ ...preJob, event: undefined }), /"event" .* missing/],
      ["a bad timestamp", JSON.stringify({ ...preJob, timestamp: "later" }), /"timestamp"/],
      ["an object run id", JSON.stringify({ ...preJob, workflow_run_id: {} }), /workflow_run_id/],
    ] as const) {
      it(`rejects ${what}`, function () {
        const r = parsePreJob(text);
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.reason, reason);
      });
    }
  });

  describe("parsePostJob", function () {
    it("reads a post-job file with and without status_info", function () {
      assert.deepEqual(parsePostJob(JSON.stringify(postJob)), { ok: true, value: postJob });
      const abnormal = { timestamp: T0, status: "abnormal", status_info: { code: 1 } };
      assert.deepEqual(parsePostJob(JSON.stringify(abnormal)), { ok: true, value: abnormal });
      const policy = { timestamp: T0, status: "repo-policy-check-failure", status_info: null };
      assert.deepEqual(parsePostJob(JSON.stringify(policy)), {
        ok: true,
        value: { timestamp: T0, status: "repo-policy-check-failure" },
      });
    });

    for (const [what, text, reason] of [
      ["bad JSON", "{", /not valid JSON/],
      ["an unknown status", JSON.stringify({ ...postJob, status: "great" }), /"status" is not one/],
      ["a missing timestamp", JSON.stringify({ status: "normal" }), /"timestamp" .* missing/],
      [
        "a status_info without an integer code",
        JSON.stringify({ ...postJob, status_info: { code: "x" } }),
        /"status_info"/,
      ],
      ["a status_info array", JSON.stringify({ ...postJob, status_info: [1] }), /"status_info"/],
    ] as const) {
      it(`rejects ${what}`, function () {
        const r = parsePostJob(text);
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.reason, reason);
      });
    }
  });
});
