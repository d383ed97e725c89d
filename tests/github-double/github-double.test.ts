import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Octokit } from "@octokit/rest";
import {
  decodeJitConfig,
  startGitHubDouble,
  type GitHubDouble,
} from "../../devkit/github-double/index";
import { call, octokitFor, refusal, TestClock } from "./test-helpers";

const adminToken = "ghp_admin_for_tests";
const readToken = "ghp_read_for_tests";
const repo = { owner: "acme", repo: "widgets" };
const org = "acme";

describe("GitHub double: REST API", function () {
  let clock: TestClock;
  let double: GitHubDouble;
  let octokit: Octokit;

  beforeEach(async function () {
    clock = new TestClock();
    double = await startGitHubDouble({
      clock,
      tokens: [
        { token: adminToken, access: "admin" },
        { token: readToken, access: "read" },
      ],
      runnerTarball: Buffer.from("not really a tarball"),
    });
    octokit = octokitFor(double);
  });

  afterEach(async function () {
    await double.close();
  });

  const jitForOrg = (name: string, labels = ["fleet"], runner_group_id = 1) =>
    octokit.rest.actions.generateRunnerJitconfigForOrg({ org, name, labels, runner_group_id });

  describe("authentication", function () {
    it("accepts `token X` and `Bearer X`", async function () {
      for (const authorization of [`token ${adminToken}`, `Bearer ${adminToken}`]) {
        const res = await call(double, "GET", "/orgs/acme/actions/runners", { authorization });
        assert.equal(res.status, 200, authorization);
      }
    });

    it("rejects an unknown token with 401 Bad credentials", async function () {
      const res = await call(double, "GET", "/orgs/acme/actions/runners", { token: "ghp_nope" });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, {
        message: "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
        status: "401",
      });
    });

    it("rejects a request without credentials with 401", async function () {
      const res = await call(double, "GET", "/orgs/acme/actions/runners");
      assert.equal(res.status, 401);
      assert.equal(res.body.message, "Requires authentication");
    });

    it("rejects a read-only token on write endpoints and on runner listing with 403", async function () {
      const { runner } = (await jitForOrg("r1")).data;
      const attempts: [string, string, unknown?][] = [
        ["GET", "/orgs/acme/actions/runners"],
        ["GET", `/orgs/acme/actions/runners/${runner.id}`],
        ["DELETE", `/orgs/acme/actions/runners/${runner.id}`],
        ["POST", "/orgs/acme/actions/runners/registration-token"],
        ["POST", "/repos/acme/widgets/actions/runners/generate-jitconfig", { name: "x" }],
      ];
      for (const [method, path, body] of attempts) {
        const res = await call(double, method, path, { token: readToken, body });
        assert.equal(res.status, 403, `${method} ${path}`);
        assert.equal(res.body.message, "Resource not accessible by personal access token");
        assert.equal(res.body.status, "403");
        assert.match(res.body.documentation_url, /^https:\/\/docs\.github\.com\/rest\/actions\//);
      }
      assert.equal(double.control.runners().length, 1, "the read token deleted nothing");
    });

    it("lets a read-only token read workflow jobs", async function () {
      const job = double.control.dispatchJob({ repo: "acme/widgets" });
      const res = await call(double, "GET", `/repos/acme/widgets/actions/jobs/${job.id}`, {
        token: readToken,
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.id, job.id);
    });
  });

  describe("just-in-time runners", function () {
    it("creates an ephemeral runner and an encoded config the agent can use", async function () {
      const res = await octokit.rest.actions.generateRunnerJitconfigForRepo({
        ...repo,
        name: "fleet-1",
        runner_group_id: 1,
        labels: ["self-hosted", "Linux", "X64", "gpu"],
        work_folder: "/work",
      });
      assert.equal(res.status, 201);
      const { runner, encoded_jit_config } = res.data;
      assert.deepEqual(
        { ...runner, labels: runner.labels.map(({ name, type }) => ({ name, type })) },
        {
          id: runner.id,
          name: "fleet-1",
          os: "linux",
          status: "offline",
          busy: false,
          ephemeral: true,
          runner_group_id: 1,
          labels: [
            { name: "self-hosted", type: "read-only" },
            { name: "Linux", type: "read-only" },
            { name: "X64", type: "read-only" },
            { name: "gpu", type: "custom" },
          ],
        },
      );
      assert.ok(runner.labels.every((l) => Number.isInteger(l.id)));
      const config = decodeJitConfig(encoded_jit_config);
      assert.equal(config.runnerId, runner.id);
      assert.equal(config.name, "fleet-1");
      assert.equal(config.url, double.url);
      assert.equal(config.ownerPath, "repos/acme/widgets");
      assert.equal(config.workFolder, "/work");
      assert.match(config.secret, /^[0-9a-f]{48}$/);
      const listed = await octokit.rest.actions.listSelfHostedRunnersForRepo(repo);
      assert.deepEqual(listed.data.runners, [runner]);
    });

    it("gives a label the same id on every runner of an owner", async function () {
      const a = (await jitForOrg("a", ["fleet", "gpu"])).data.runner;
      const b = (await jitForOrg("b", ["gpu"])).data.runner;
      assert.equal(a.labels[1].id, b.labels[0].id);
      assert.notEqual(a.labels[0].id, a.labels[1].id);
    });

    it("rejects a name already in use with 409", async function () {
      await jitForOrg("dup");
      const { status, message } = await refusal(jitForOrg("dup"));
      assert.equal(status, 409);
      assert.equal(message, "Already exists - A runner with the name dup already exists.");
    });

    it("rejects a missing name, group or labels, and 0 or 101 labels, with 422", async function () {
      const cases: [Record<string, unknown>, string][] = [
        [{ runner_group_id: 1, labels: ["a"] }, 'Invalid request.\n\n"name" wasn\'t supplied.'],
        [{ name: "x", labels: ["a"] }, 'Invalid request.\n\n"runner_group_id" wasn\'t supplied.'],
        [{ name: "x", runner_group_id: 1 }, 'Invalid request.\n\n"labels" wasn\'t supplied.'],
        [
          { name: "x", runner_group_id: 1, labels: [] },
          "Invalid request.\n\nFor 'properties/labels', [] has fewer than 1 items.",
        ],
        [
          { name: "x", runner_group_id: 1, labels: Array.from({ length: 101 }, (_, i) => `l${i}`) },
          "Invalid request.\n\nFor 'properties/labels', 101 items is more than 100.",
        ],
        [
          { name: "x", runner_group_id: "1", labels: ["a"] },
          "Invalid request.\n\nFor 'properties/runner_group_id', \"1\" is not an integer.",
        ],
      ];
      for (const [body, message] of cases) {
        const res = await call(double, "POST", "/orgs/acme/actions/runners/generate-jitconfig", {
          token: adminToken,
          body,
        });
        assert.equal(res.status, 422, JSON.stringify(body));
        assert.equal(res.body.message, message);
        assert.equal(
          res.body.documentation_url,
          "https://docs.github.com/rest/actions/self-hosted-runners#create-configuration-for-a-just-in-time-runner-for-an-organization",
        );
      }
      assert.equal(double.control.runners().length, 0);
    });

    it("rejects an unknown runner group of an organisation with 404", async function () {
      const { status, message } = await refusal(jitForOrg("x", ["fleet"], 42));
      assert.equal(status, 404);
      assert.equal(message, "Not Found");
    });

    it("rejects a body that is not JSON with 400", async function () {
      const res = await fetch(`${double.url}/orgs/acme/actions/runners/generate-jitconfig`, {
        method: "POST",
        headers: { authorization: `token ${adminToken}` },
        body: "{name:",
      });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { message: string }).message, "Problems parsing JSON");
    });
  });

  describe("the queue: workflow runs and their jobs", function () {
    it("lists a repository's runs by status, newest first, as Octokit's paginate reads them", async function () {
      const first = double.control.dispatchJob({ repo: "acme/widgets", labels: ["gpu"] });
      const second = double.control.dispatchJob({ repo: "acme/widgets", labels: ["cpu"] });
      double.control.dispatchJob({ repo: "acme/other" });
      double.control.cancelJob(first.id);
      const queued = await octokit.paginate(octokit.rest.actions.listWorkflowRunsForRepo, {
        ...repo,
        status: "queued",
        per_page: 100,
      });
      assert.deepEqual(
        queued.map((r) => [r.id, r.status, r.jobs_url.endsWith(`/actions/runs/${r.id}/jobs`)]),
        [[second.run_id, "queued", true]],
      );
      const all = await octokit.rest.actions.listWorkflowRunsForRepo({ ...repo });
      assert.equal(all.data.total_count, 2);
      assert.deepEqual(
        all.data.workflow_runs.map((r) => r.id),
        [second.run_id, first.run_id],
      );
      const cancelled = await octokit.rest.actions.listWorkflowRunsForRepo({
        ...repo,
        status: "cancelled",
      });
      assert.deepEqual(
        cancelled.data.workflow_runs.map((r) => [r.id, r.conclusion]),
        [[first.run_id, "cancelled"]],
      );
      const jobs = await octokit.rest.actions.listJobsForWorkflowRun({
        ...repo,
        run_id: second.run_id,
      });
      assert.deepEqual(
        jobs.data.jobs.map((j) => [j.status, j.labels]),
        [["queued", ["cpu"]]],
      );
    });

    it("cancels only a queued job", async function () {
      const job = double.control.dispatchJob({ repo: "acme/widgets" });
      double.control.cancelJob(job.id);
      assert.throws(() => double.control.cancelJob(job.id), /only a queued job/);
      assert.throws(() => double.control.cancelJob(999), /No job 999/);
    });
  });

  describe("runner listing", function () {
    const names = Array.from({ length: 250 }, (_, i) => `runner-${String(i).padStart(3, "0")}`);

    beforeEach(async function () {
      for (const name of names) await jitForOrg(name);
    });

    it("pages 250 runners with GitHub's Link headers", async function () {
      const path = "/orgs/acme/actions/runners";
      const page = (n: number) => `<${double.url}${path}?per_page=100&page=${n}>`;

      const first = await call(double, "GET", `${path}?per_page=100`, { token: adminToken });
      assert.equal(first.body.total_count, 250);
      assert.equal(first.body.runners.length, 100);
      assert.equal(first.body.runners[0].name, "runner-000");
      assert.equal(first.headers.get("link"), `${page(2)}; rel="next", ${page(3)}; rel="last"`);

      const second = await call(double, "GET", `${path}?per_page=100&page=2`, {
        token: adminToken,
      });
      assert.equal(second.body.runners[0].name, "runner-100");
      assert.equal(
        second.headers.get("link"),
        `${page(1)}; rel="prev", ${page(3)}; rel="next", ${page(3)}; rel="last", ${page(1)}; rel="first"`,
      );

      const third = await call(double, "GET", `${path}?per_page=100&page=3`, { token: adminToken });
      assert.equal(third.body.total_count, 250);
      assert.equal(third.body.runners.length, 50);
      assert.equal(third.headers.get("link"), `${page(2)}; rel="prev", ${page(1)}; rel="first"`);
    });

    it("pages 30 runners by default and at most 100", async function () {
      const byDefault = await octokit.rest.actions.listSelfHostedRunnersForOrg({ org });
      assert.equal(byDefault.data.runners.length, 30);
      assert.match(byDefault.headers.link ?? "", /[?&]page=9>; rel="last"/);
      const capped = await octokit.rest.actions.listSelfHostedRunnersForOrg({ org, per_page: 500 });
      assert.equal(capped.data.runners.length, 100);
    });

    it("lets Octokit's paginate follow the links to all 250", async function () {
      const all = await octokit.paginate(octokit.rest.actions.listSelfHostedRunnersForOrg, {
        org,
        per_page: 100,
      });
      assert.deepEqual(
        all.map((r) => r.name),
        names,
      );
    });

    it("filters by exact name", async function () {
      const one = await octokit.rest.actions.listSelfHostedRunnersForOrg({
        org,
        name: "runner-042",
      });
      assert.equal(one.data.total_count, 1);
      assert.equal(one.data.runners[0].name, "runner-042");
      assert.equal(one.headers.link, undefined);
      const none = await octokit.rest.actions.listSelfHostedRunnersForOrg({
        org,
        name: "runner-04",
      });
      assert.equal(none.data.total_count, 0);
      assert.deepEqual(none.data.runners, []);
    });

    it("keeps an organisation's runners out of its repositories' listings", async function () {
      const listed = await octokit.rest.actions.listSelfHostedRunnersForRepo(repo);
      assert.equal(listed.data.total_count, 0);
    });
  });

  describe("one runner", function () {
    it("gets a runner, and rejects an unknown one with 404", async function () {
      const { runner } = (await jitForOrg("solo")).data;
      const got = await octokit.rest.actions.getSelfHostedRunnerForOrg({
        org,
        runner_id: runner.id,
      });
      assert.deepEqual(got.data, runner);
      const { status, message } = await refusal(
        octokit.rest.actions.getSelfHostedRunnerForOrg({ org, runner_id: runner.id + 1 }),
      );
      assert.equal(status, 404);
      assert.equal(message, "Not Found");
      const otherOwner = await refusal(
        octokit.rest.actions.getSelfHostedRunnerForOrg({ org: "other", runner_id: runner.id }),
      );
      assert.equal(otherOwner.status, 404);
    });

    it("deletes an idle runner with 204", async function () {
      const { runner } = (await jitForOrg("idle")).data;
      const res = await octokit.rest.actions.deleteSelfHostedRunnerFromOrg({
        org,
        runner_id: runner.id,
      });
      assert.equal(res.status, 204);
      assert.deepEqual(double.control.runners(), []);
    });

    it("rejects deleting a busy runner with 422, and a deleted one with 404", async function () {
      const { runner } = (await jitForOrg("busy")).data;
      double.control.startJob("busy");
      const busy = await refusal(
        octokit.rest.actions.deleteSelfHostedRunnerFromOrg({ org, runner_id: runner.id }),
      );
      assert.equal(busy.status, 422);
      assert.equal(busy.message, 'Bad request - Runner "busy" is still running a job"');

      double.control.finishJob("busy", { conclusion: "success" });
      const gone = await refusal(
        octokit.rest.actions.deleteSelfHostedRunnerFromOrg({ org, runner_id: runner.id }),
      );
      assert.equal(gone.status, 404);
      assert.equal(gone.message, "Not Found");
    });
  });

  describe("runner groups", function () {
    it("lists the Default group and added groups, each with its runners", async function () {
      const added = double.control.addRunnerGroup(org, "fleet");
      const { runner } = (await jitForOrg("in-group", ["fleet"], added.id)).data;
      assert.equal(runner.runner_group_id, added.id);

      const res = await octokit.request("GET /orgs/{org}/actions/runner-groups", { org });
      assert.equal(res.data.total_count, 2);
      const [byDefault, fleet] = res.data.runner_groups;
      assert.deepEqual(
        { id: byDefault.id, name: byDefault.name, default: byDefault.default },
        { id: 1, name: "Default", default: true },
      );
      assert.deepEqual(fleet, {
        id: added.id,
        name: "fleet",
        visibility: "all",
        default: false,
        runners_url: `${double.url}/orgs/acme/actions/runner-groups/${added.id}/runners`,
        inherited: false,
        allows_public_repositories: false,
        restricted_to_workflows: false,
        selected_workflows: [],
        workflow_restrictions_read_only: false,
      });
      const members = await call(double, "GET", new URL(fleet.runners_url).pathname, {
        token: adminToken,
      });
      assert.deepEqual(members.body, { total_count: 1, runners: [runner] });
    });

    it("rejects a second group of the same name", function () {
      double.control.addRunnerGroup(org, "fleet");
      assert.throws(() => double.control.addRunnerGroup(org, "Fleet"), /already exists/);
    });
  });

  describe("runner downloads", function () {
    it("lists linux x64 and arm64 builds served by the double with their sha256", async function () {
      const res = await octokit.rest.actions.listRunnerApplicationsForOrg({ org });
      assert.deepEqual(
        res.data.map((d) => [d.os, d.architecture]),
        [
          ["linux", "x64"],
          ["linux", "arm64"],
        ],
      );
      for (const download of res.data) {
        assert.ok(download.download_url.startsWith(`${double.url}/`), download.download_url);
        assert.ok(download.download_url.endsWith(`/${download.filename}`));
        const bytes = Buffer.from(await (await fetch(download.download_url)).arrayBuffer());
        assert.equal(bytes.toString(), "not really a tarball");
        assert.equal(createHash("sha256").update(bytes).digest("hex"), download.sha256_checksum);
      }
    });
  });

  describe("registration and remove tokens", function () {
    it("issues tokens that expire after an hour of the clock", async function () {
      const reg = await octokit.rest.actions.createRegistrationTokenForRepo(repo);
      assert.equal(reg.status, 201);
      assert.match(reg.data.token, /^[A-Z0-9]{29}$/);
      assert.equal(Date.parse(reg.data.expires_at), clock.now() + 3_600_000);
      const remove = await octokit.rest.actions.createRemoveTokenForOrg({ org });
      assert.equal(remove.status, 201);
      assert.notEqual(remove.data.token, reg.data.token);
    });
  });

  describe("workflow jobs", function () {
    it("shows a dispatched job queued, with GitHub's fields and the clock's time", async function () {
      const dispatched = double.control.dispatchJob({
        repo: "acme/widgets",
        workflow: "Build",
        name: "compile",
        labels: ["self-hosted", "gpu"],
        headBranch: "feature",
      });
      const { data: job } = await octokit.rest.actions.getJobForWorkflowRun({
        ...repo,
        job_id: dispatched.id,
      });
      assert.deepEqual(job, dispatched);
      assert.equal(job.status, "queued");
      assert.equal(job.conclusion, null);
      assert.equal(job.created_at, "2030-01-01T12:00:00Z");
      assert.equal(job.started_at, job.created_at);
      assert.equal(job.completed_at, null);
      assert.equal(job.runner_id, null);
      assert.equal(job.runner_name, null);
      assert.equal(job.workflow_name, "Build");
      assert.equal(job.name, "compile");
      assert.equal(job.head_branch, "feature");
      assert.match(job.head_sha, /^[0-9a-f]{40}$/);
      assert.deepEqual(job.labels, ["self-hosted", "gpu"]);

      const run = await octokit.rest.actions.listJobsForWorkflowRun({
        ...repo,
        run_id: job.run_id,
      });
      assert.deepEqual(run.data, { total_count: 1, jobs: [job] });
    });

    it("rejects an unknown job, another repository's job and an unknown run with 404", async function () {
      const job = double.control.dispatchJob({ repo: "acme/widgets" });
      const attempts = [
        octokit.rest.actions.getJobForWorkflowRun({ ...repo, job_id: job.id + 1 }),
        octokit.rest.actions.getJobForWorkflowRun({ owner: "acme", repo: "other", job_id: job.id }),
        octokit.rest.actions.listJobsForWorkflowRun({ ...repo, run_id: job.run_id + 1 }),
      ];
      for (const attempt of attempts) {
        assert.deepEqual(await refusal(attempt), { status: 404, message: "Not Found" });
      }
    });

    it("runs a job: queued, busy runner, completed, ephemeral runner gone", async function () {
      const { runner } = (await jitForOrg("eph", ["self-hosted", "linux"])).data;
      double.control.setOnline("eph");
      const queued = double.control.dispatchJob({ repo: "acme/widgets", labels: ["self-hosted"] });

      clock.advance(5_000);
      const started = double.control.startJob(runner.id, queued.id);
      assert.equal(started.status, "in_progress");
      assert.equal(started.started_at, "2030-01-01T12:00:05Z");
      assert.equal(started.runner_id, runner.id);
      assert.equal(started.runner_name, "eph");
      assert.equal(started.runner_group_name, "Default");
      const busy = await octokit.rest.actions.getSelfHostedRunnerForOrg({
        org,
        runner_id: runner.id,
      });
      assert.equal(busy.data.busy, true);
      assert.equal(busy.data.status, "online");

      clock.advance(60_000);
      const finished = double.control.finishJob("eph", { exitCode: 1 });
      assert.equal(finished.status, "completed");
      assert.equal(finished.conclusion, "failure");
      assert.equal(finished.completed_at, "2030-01-01T12:01:05Z");
      const gone = await refusal(
        octokit.rest.actions.getSelfHostedRunnerForOrg({ org, runner_id: runner.id }),
      );
      assert.equal(gone.status, 404);
      const listed = await octokit.rest.actions.listSelfHostedRunnersForOrg({ org });
      assert.equal(listed.data.total_count, 0);
      const { data: job } = await octokit.rest.actions.getJobForWorkflowRun({
        ...repo,
        job_id: queued.id,
      });
      assert.equal(job.runner_name, "eph", "the job still names the runner it ran on");
    });

    it("keeps a non-ephemeral runner after its job, idle", async function () {
      const token = (await octokit.rest.actions.createRegistrationTokenForOrg({ org })).data.token;
      const res = await fetch(`${double.url}/_runner/register`, {
        method: "POST",
        body: JSON.stringify({ token, name: "keeper", labels: ["self-hosted"] }),
      });
      assert.equal(res.status, 201);
      double.control.startJob("keeper", { repo: "acme/widgets", conclusion: "cancelled" });
      assert.equal(double.control.finishJob("keeper").conclusion, "cancelled");
      const [keeper] = double.control.runners();
      assert.deepEqual(
        { name: keeper.name, busy: keeper.busy, status: keeper.status, job: keeper.job_id },
        { name: "keeper", busy: false, status: "online", job: null },
      );
    });

    it("fails to start a job on a busy runner, or finish one on an idle runner", async function () {
      await jitForOrg("worker");
      assert.throws(() => double.control.finishJob("worker"), /Runner "worker" has no job/);
      double.control.startJob("worker");
      assert.throws(
        () => double.control.startJob("worker"),
        /Runner "worker" is already running job/,
      );
    });

    it("fails to start another organisation's job on a runner", async function () {
      await jitForOrg("local");
      const foreign = double.control.dispatchJob({ repo: "elsewhere/widgets" });
      const message = 'Runner "local" of orgs/acme cannot run jobs of elsewhere/widgets';
      assert.throws(() => double.control.startJob("local", foreign.id), { message });
      assert.throws(() => double.control.startJob("local", { repo: "elsewhere/x" }), /cannot run/);
    });
  });

  it("rejects an unknown route with 404", async function () {
    const res = await call(double, "GET", "/repos/acme/widgets/actions/nothing", {
      token: adminToken,
    });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, {
      message: "Not Found",
      documentation_url: "https://docs.github.com/rest",
      status: "404",
    });
  });
});
