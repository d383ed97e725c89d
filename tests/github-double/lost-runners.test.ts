import * as assert from "node:assert/strict";
import {
  SimulatedRunnerAgent,
  startGitHubDouble,
  type GitHubDouble,
} from "../../devkit/github-double/index";
import { agentRefusal, call, callControl } from "./test-helpers";

const lostMessage = (name: string) =>
  `The self-hosted runner: ${name} lost communication with the server. Verify the machine is ` +
  "running and has a healthy network connection. Anything in your workflow that terminates the " +
  "runner process, starves it for CPU/Memory, or blocks its network access can cause this error.";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Seconds of silence after which the double loses a runner, short so the suite is quick. The
// agent renews three times within it, so the last contact is at most a third of it before the
// agent falls silent: before `stillThereMs` the runner cannot be lost yet, after `goneMs` it must be.
const lostAfterSeconds = 1;
const stillThereMs = 300;
const goneMs = 1_500;

const scopes = [
  { kind: "repository", path: "/repos/acme/widgets" },
  { kind: "organisation", path: "/orgs/acme" },
] as const;

describe("GitHub double: runners that lose communication", function () {
  this.timeout(20_000);
  let double: GitHubDouble;

  beforeEach(async function () {
    double = await startGitHubDouble();
    const set = await callControl(double, "setLostAfterSeconds", [lostAfterSeconds]);
    assert.equal(set.status, 204);
  });

  afterEach(async function () {
    await double.close();
  });

  const rest = (method: string, path: string) =>
    call(double, method, path, { token: double.adminToken });

  async function jitAgent(name: string, scope = "/orgs/acme") {
    const jit = await call(double, "POST", `${scope}/actions/runners/generate-jitconfig`, {
      token: double.adminToken,
      body: { name, runner_group_id: 1, labels: ["self-hosted"] },
    });
    assert.equal(jit.status, 201);
    return SimulatedRunnerAgent.fromJitConfig(jit.body.encoded_jit_config);
  }

  /** The agent online with a job it has started (and renews), and that job's id. */
  async function busyAgent(name: string, scope = "/orgs/acme") {
    const agent = await jitAgent(name, scope);
    await agent.goOnline();
    const dispatched = (await callControl(double, "dispatchJob", [{ repo: "acme/widgets" }])).body;
    const job = await agent.nextJob();
    assert.equal(job?.id, dispatched.id);
    await agent.reportStarted(dispatched.id);
    return { agent, jobId: dispatched.id as number };
  }

  const runnerOf = async (agent: SimulatedRunnerAgent, scope = "/orgs/acme") =>
    (await rest("GET", `${scope}/actions/runners/${agent.config.runnerId}`)).body;
  const jobOf = async (id: number) =>
    (await rest("GET", `/repos/acme/widgets/actions/jobs/${id}`)).body;
  const deleteRunner = async (agent: SimulatedRunnerAgent, scope = "/orgs/acme") =>
    (await rest("DELETE", `${scope}/actions/runners/${agent.config.runnerId}`)).status;

  for (const scope of scopes) {
    it(`fails the job of a busy ${scope.kind} runner whose agent stops renewing, then lets DELETE go`, async function () {
      const { agent, jobId } = await busyAgent(`silent-${scope.kind}`, scope.path);
      agent.stopRenewing();

      await sleep(stillThereMs);
      const before = await runnerOf(agent, scope.path);
      assert.deepEqual([before.status, before.busy], ["online", true]);
      assert.equal(await deleteRunner(agent, scope.path), 422, "still running its job");
      assert.equal((await jobOf(jobId)).status, "in_progress");

      await sleep(goneMs - stillThereMs);
      const after = await runnerOf(agent, scope.path);
      assert.deepEqual([after.status, after.busy], ["offline", false]);
      const job = await jobOf(jobId);
      assert.deepEqual([job.status, job.conclusion], ["completed", "failure"]);
      assert.equal(job.runner_name, agent.config.name, "the job keeps its runner");
      const annotations = await rest("GET", `/repos/acme/widgets/check-runs/${jobId}/annotations`);
      assert.equal(annotations.status, 200);
      assert.deepEqual(
        annotations.body.map((a: { annotation_level: string; message: string }) => [
          a.annotation_level,
          a.message,
        ]),
        [["failure", lostMessage(agent.config.name)]],
      );
      assert.equal(await deleteRunner(agent, scope.path), 204);
      assert.equal(await deleteRunner(agent, scope.path), 404);
    });
  }

  it("keeps a runner busy through a job longer than the timeout while its agent renews", async function () {
    const { agent, jobId } = await busyAgent("renewing");
    await sleep(3 * lostAfterSeconds * 1000);
    const during = await runnerOf(agent);
    assert.deepEqual([during.status, during.busy], ["online", true]);
    assert.equal((await jobOf(jobId)).status, "in_progress");
    assert.equal(await deleteRunner(agent), 422);
    const done = await agent.reportCompleted(jobId, { exitCode: 0 });
    assert.equal(done.conclusion, "success");
    const annotations = await rest("GET", `/repos/acme/widgets/check-runs/${jobId}/annotations`);
    assert.deepEqual(annotations.body, []);
  });

  it("keeps an idle runner online while its agent long-polls, and shows it offline once silent", async function () {
    const agent = await jitAgent("polling");
    await agent.goOnline();
    // One poll longer than the timeout: an open request is contact while it lasts.
    assert.equal(await agent.nextJob(1.5 * lostAfterSeconds * 1000), undefined);
    const polledUntil = Date.now() + 1.5 * lostAfterSeconds * 1000;
    while (Date.now() < polledUntil) assert.equal(await agent.nextJob(200), undefined);
    assert.equal((await runnerOf(agent)).status, "online");

    await sleep(goneMs);
    const silent = await runnerOf(agent);
    assert.deepEqual([silent.status, silent.busy], ["offline", false]);
    const poll = await agentRefusal(agent.nextJob());
    assert.equal(poll.status, 409, "its session ended");
  });

  it("does not give a lost job back to an agent that comes back", async function () {
    const { agent, jobId } = await busyAgent("returning");
    agent.stopRenewing();
    await sleep(goneMs);
    for (const attempt of [agent.renewJob(jobId), agent.reportCompleted(jobId, { exitCode: 0 })]) {
      const err = await agentRefusal(attempt);
      assert.equal(err.status, 409);
      assert.match(err.message, /has no job/);
    }
    const back = await agent.goOnline();
    assert.deepEqual([back.status, back.busy, back.job_id], ["online", false, null]);
    assert.equal(await agent.nextJob(), undefined);
    const job = await jobOf(jobId);
    assert.deepEqual([job.status, job.conclusion], ["completed", "failure"]);
  });

  it("tells a renewing agent how long it may be silent, 10 s unless set", async function () {
    const { agent, jobId } = await busyAgent("told");
    assert.equal((await agent.renewJob(jobId)).renewWithinMs, lostAfterSeconds * 1000);
    await double.close();
    double = await startGitHubDouble();
    const fresh = await busyAgent("default");
    assert.equal((await fresh.agent.renewJob(fresh.jobId)).renewWithinMs, 10_000);
  });

  it("judges a silence already under way by a new lostAfterSeconds", async function () {
    assert.equal((await callControl(double, "setLostAfterSeconds", [60])).status, 204);
    const { agent } = await busyAgent("judged");
    agent.stopRenewing();
    await sleep(stillThereMs);
    assert.equal((await runnerOf(agent)).busy, true);
    assert.equal((await callControl(double, "setLostAfterSeconds", [0.1])).status, 204);
    await sleep(100);
    assert.equal((await runnerOf(agent)).busy, false);
  });

  it("never loses a runner the control API has put to work, though its agent fell silent", async function () {
    const jit = await jitAgent("by-hand");
    await jit.goOnline();
    const started = await callControl(double, "startJob", ["by-hand"]);
    assert.equal(started.status, 200);
    await sleep(goneMs);
    const runner = await runnerOf(jit);
    assert.deepEqual([runner.status, runner.busy], ["online", true]);
    const finished = await callControl(double, "finishJob", ["by-hand", { exitCode: 0 }]);
    assert.equal(finished.body.conclusion, "success");
  });

  it("rejects a lostAfterSeconds that is not a positive number with 422", async function () {
    for (const bad of [0, -1, "10", null]) {
      const res = await callControl(double, "setLostAfterSeconds", [bad]);
      assert.equal(res.status, 422, JSON.stringify(bad));
      assert.match(res.body.message, /positive number/);
    }
  });
});
