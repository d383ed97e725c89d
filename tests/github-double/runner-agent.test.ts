import * as assert from "node:assert/strict";
import type { Octokit } from "@octokit/rest";
import {
  SimulatedRunnerAgent,
  startGitHubDouble,
  type GitHubDouble,
} from "../../devkit/github-double/index";
import { agentRefusal, octokitFor, refusal, TestClock } from "./test-helpers";

const org = "acme";

describe("GitHub double: simulated runner agents", function () {
  let clock: TestClock;
  let double: GitHubDouble;
  let octokit: Octokit;

  beforeEach(async function () {
    clock = new TestClock();
    double = await startGitHubDouble({ clock });
    octokit = octokitFor(double);
  });

  afterEach(async function () {
    await double.close();
  });

  async function jitAgent(name: string, labels = ["self-hosted", "linux"]) {
    const res = await octokit.rest.actions.generateRunnerJitconfigForOrg({
      org,
      name,
      labels,
      runner_group_id: 1,
    });
    return SimulatedRunnerAgent.fromJitConfig(res.data.encoded_jit_config);
  }

  const runner = async (id: number) =>
    (await octokit.rest.actions.getSelfHostedRunnerForOrg({ org, runner_id: id })).data;

  it("runs one job on a JIT runner: online, job, started, completed, removed", async function () {
    const agent = await jitAgent("jit-1");
    await agent.goOnline();
    assert.equal((await runner(agent.config.runnerId)).status, "online");
    assert.equal(await agent.nextJob(), undefined, "no job yet");

    const dispatched = double.control.dispatchJob({
      repo: "acme/widgets",
      labels: ["self-hosted", "Linux"],
      event: "pull_request",
      authorAssociation: "CONTRIBUTOR",
      conclusion: "failure",
      run: "make test",
    });
    const job = await agent.nextJob();
    assert.deepEqual(job, {
      id: dispatched.id,
      runId: dispatched.run_id,
      repo: "acme/widgets",
      workflow: "CI",
      event: "pull_request",
      name: "build",
      labels: ["self-hosted", "Linux"],
      headBranch: "main",
      headSha: dispatched.head_sha,
      conclusion: "failure",
      authorAssociation: "CONTRIBUTOR",
      run: "make test",
    });
    assert.equal((await runner(agent.config.runnerId)).busy, true);

    clock.advance(1_000);
    await agent.reportStarted(dispatched.id);
    const running = await octokit.rest.actions.getJobForWorkflowRun({
      owner: "acme",
      repo: "widgets",
      job_id: dispatched.id,
    });
    assert.equal(running.data.status, "in_progress");
    assert.equal(running.data.runner_name, "jit-1");
    assert.equal(running.data.started_at, "2030-01-01T12:00:01Z");

    const done = await agent.reportCompleted(dispatched.id, { exitCode: 0 });
    assert.equal(done.conclusion, "success");
    assert.equal(done.removed, true);
    const gone = await refusal(
      octokit.rest.actions.getSelfHostedRunnerForOrg({ org, runner_id: agent.config.runnerId }),
    );
    assert.equal(gone.status, 404);
    const afterwards = await agentRefusal(agent.nextJob());
    assert.equal(afterwards.status, 401);
    assert.match(afterwards.message, /Unknown runner credentials/);
  });

  it("hands a job to a waiting long-poll as soon as it is dispatched", async function () {
    const agent = await jitAgent("poller");
    await agent.goOnline();
    const polling = agent.nextJob(5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const start = performance.now();
    const dispatched = double.control.dispatchJob({ repo: "acme/widgets", labels: ["linux"] });
    const job = await polling;
    assert.equal(job?.id, dispatched.id);
    assert.ok(performance.now() - start < 1_000);
  });

  it("keeps a job from a long-poll whose agent hung up", async function () {
    const agent = await jitAgent("flaky");
    await agent.goOnline();
    const hangUp = new AbortController();
    const polling = fetch(`${double.url}/_runner/jobs/next?waitMs=5000`, {
      headers: { authorization: `Bearer ${agent.config.secret}` },
      signal: hangUp.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    hangUp.abort();
    await assert.rejects(polling);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const dispatched = double.control.dispatchJob({ repo: "acme/widgets", labels: ["linux"] });
    assert.equal((await agent.nextJob())?.id, dispatched.id);
  });

  it("gives a job only to a runner with all its labels, or to the runner it names", async function () {
    const plain = await jitAgent("plain", ["self-hosted"]);
    const gpu = await jitAgent("gpu", ["self-hosted", "gpu"]);
    await plain.goOnline();
    await gpu.goOnline();
    const forGpu = double.control.dispatchJob({
      repo: "acme/widgets",
      labels: ["self-hosted", "GPU"],
    });
    const forPlain = double.control.dispatchJob({ repo: "acme/widgets", runnerName: "plain" });
    assert.equal((await plain.nextJob())?.id, forPlain.id);
    assert.equal((await gpu.nextJob())?.id, forGpu.id);
  });

  it("keeps other organisations' jobs from a runner", async function () {
    const agent = await jitAgent("local");
    await agent.goOnline();
    double.control.dispatchJob({ repo: "elsewhere/widgets", labels: ["self-hosted"] });
    assert.equal(await agent.nextJob(), undefined);
  });

  it("delivers a job started through the control API to the runner's agent", async function () {
    const agent = await jitAgent("controlled");
    await agent.goOnline();
    const started = double.control.startJob("controlled", { repo: "acme/widgets" });
    assert.equal((await agent.nextJob())?.id, started.id);
    assert.equal(await agent.nextJob(), undefined, "delivered once");
  });

  it("goes offline when the agent ends its session", async function () {
    const agent = await jitAgent("leaving");
    await agent.goOnline();
    await agent.goOffline();
    assert.equal((await runner(agent.config.runnerId)).status, "offline");
  });

  it("rejects a poll without a session with 409", async function () {
    const agent = await jitAgent("sessionless");
    const err = await agentRefusal(agent.nextJob());
    assert.equal(err.status, 409);
    assert.match(err.message, /no session/);
  });

  it("fails to report a job that is not the runner's", async function () {
    const agent = await jitAgent("honest");
    await agent.goOnline();
    const err = await agentRefusal(agent.reportStarted(123));
    assert.equal(err.status, 409);
    assert.match(err.message, /has no job/);
  });

  describe("with registration tokens", function () {
    it("registers a runner that keeps serving jobs, and removes it with a remove token", async function () {
      const { token } = (await octokit.rest.actions.createRegistrationTokenForOrg({ org })).data;
      const agent = await SimulatedRunnerAgent.register(double.url, {
        token,
        name: "long-lived",
        labels: ["self-hosted", "linux", "x64"],
      });
      const listed = await runner(agent.config.runnerId);
      assert.equal(listed.ephemeral, false);
      assert.equal(listed.name, "long-lived");
      await agent.goOnline();
      for (let i = 0; i < 2; i++) {
        const dispatched = double.control.dispatchJob({ repo: "acme/widgets" });
        assert.equal((await agent.nextJob())?.id, dispatched.id);
        const done = await agent.reportCompleted(dispatched.id, { conclusion: "cancelled" });
        assert.deepEqual([done.conclusion, done.removed], ["cancelled", false]);
      }
      const removeToken = (await octokit.rest.actions.createRemoveTokenForOrg({ org })).data.token;
      await agent.remove(removeToken);
      assert.deepEqual(double.control.runners(), []);
    });

    it("rejects a registration token after an hour of the clock", async function () {
      const { token } = (await octokit.rest.actions.createRegistrationTokenForOrg({ org })).data;
      clock.advance(60 * 60 * 1000 - 1);
      await SimulatedRunnerAgent.register(double.url, { token, name: "in-time" });
      clock.advance(1);
      const err = await agentRefusal(
        SimulatedRunnerAgent.register(double.url, { token, name: "late" }),
      );
      assert.equal(err.status, 401);
      assert.equal(err.message, "The registration token has expired");
    });

    it("rejects an unknown token, and a remove token, for registration", async function () {
      const { token } = (await octokit.rest.actions.createRemoveTokenForOrg({ org })).data;
      for (const attempt of ["NOPE", token]) {
        const err = await agentRefusal(
          SimulatedRunnerAgent.register(double.url, { token: attempt, name: "x" }),
        );
        assert.equal(err.status, 401);
        assert.equal(err.message, "Invalid registration token");
      }
    });
  });
});
