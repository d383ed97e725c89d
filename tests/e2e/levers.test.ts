// Operator levers set before `destroy` act at once (`destroy --run-program`), and a flushed runner
// leaves nothing on GitHub, on the real engine, the local OpenStack and the GitHub double. The
// runner's VM is played by the double's runner agent holding the runner's own JIT config: it takes
// a long job and renews it, as a runner does, until its server is deleted; then it falls silent
// and the double, as GitHub does, sees the runner lost and lets it be removed.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { LocalWorkspace } from "@pulumi/pulumi/automation";
import { testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { SimulatedRunnerAgent } from "../../devkit/github-double/runner-agent";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import type { TestStack } from "../../devkit/pulumi/test-stack";
import { createFleetStack } from "../support/fleet-stack";
import { toolchainEnv } from "../../devkit/pulumi/toolchain";
import { timed } from "../../devkit/timing";
import { FLEET_METADATA_KEY } from "../../rules/server-metadata";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("levers set before destroy, and flushes that leave nothing", function () {
  const prefix = `rf-lever-${Date.now().toString(36)}`;
  let gh: GitHubDouble;
  let test: TestStack;
  let api: OpenStackApi;
  let agent: SimulatedRunnerAgent;

  const fleetServers = async () =>
    (await api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix);
  const ghRunners = () => gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`));
  const setConfig = (key: string, value: string) =>
    test.stack.setConfig(`runner-fleet:${key}`, { value });

  /** The runner's JIT config, from the state (what its VM got in its userdata). */
  const jitConfig = async (): Promise<string> => {
    const workspace = test.stack.workspace as LocalWorkspace;
    const { stdout } = await promisify(execFile)(
      "pulumi",
      ["stack", "export", "--show-secrets", "--stack", "test", "--non-interactive"],
      {
        cwd: test.workDir,
        env: { ...process.env, ...toolchainEnv(), ...workspace.envVars },
        maxBuffer: 64 << 20,
      },
    );
    const resources = JSON.parse(stdout).deployment.resources as {
      type: string;
      outputs?: { encodedJitConfig?: { plaintext: string } };
    }[];
    const registration = resources.find((r) => r.type.endsWith(":RunnerRegistration"));
    // A secret, shown as `{ <signature>, plaintext: <its JSON> }`.
    const secret = registration?.outputs?.encodedJitConfig;
    assert.ok(secret?.plaintext, "the state holds the JIT config, a secret");
    return JSON.parse(secret.plaintext) as string;
  };

  before(async function () {
    api = await OpenStackApi.login();
    gh = await startGitHubDouble();
    test = await createFleetStack("levers");
    // Deployed with the defaults: busyWaitSeconds 600, flushBusy false.
    await test.stack.setAllConfig(
      testFleetConfig({
        prefix,
        gh,
        quantity: 1,
        label: "lever",
        extra: { metricsEnabled: "false" },
      }),
    );
  });

  after(async function () {
    agent?.stopRenewing();
    for (const r of ghRunners()) if (r.busy) gh.control.finishJob(r.id, { exitCode: 0 });
    await setConfig("flushBusy", "true").catch(() => undefined);
    await test?.stack.destroy({ runProgram: true }).catch(() => undefined);
    await gh?.close();
    test?.cleanup();
  });

  it("deploys one runner with the defaults; its agent takes a long job", async function () {
    await timed("levers: up", () => test.stack.up());
    agent = SimulatedRunnerAgent.fromJitConfig(await jitConfig());
    await agent.goOnline();
    gh.control.dispatchJob({ repo: "acme/widgets", labels: ["self-hosted", "lever"] });
    const job = await agent.nextJob(10_000);
    assert.ok(job, "the runner got the job");
    await agent.reportStarted(job.id);
    assert.equal(ghRunners()[0].busy, true);
  });

  it("busyWaitSeconds set to 5 before destroy --run-program: the destroy stops after 5 s, keeping the server", async function () {
    await setConfig("busyWaitSeconds", "5");
    await assert.rejects(
      timed("levers: destroy with busyWaitSeconds 5", () =>
        test.stack.destroy({ runProgram: true }),
      ),
      /still running a job after 5s \(busyWaitSeconds\)/,
    );
    assert.equal((await fleetServers()).length, 1, "the busy runner's server is kept");
    assert.equal(ghRunners()[0].busy, true, "its job still runs");
  });

  it("flushBusy set before destroy --run-program: the server goes at once, then the runner on GitHub", async function () {
    await setConfig("flushBusy", "true");
    gh.control.setLostAfterSeconds(2);
    const destroy = timed("levers: destroy with flushBusy", () =>
      test.stack.destroy({ runProgram: true }),
    );
    // The VM's agent renews its job until its server is gone, then falls silent.
    let watching = true;
    const vm = (async () => {
      while (watching && (await fleetServers()).length > 0) await sleep(250);
      agent.stopRenewing();
    })();
    const result = await destroy.finally(() => (watching = false));
    await vm;
    assert.equal(result.summary.result, "succeeded");
    assert.deepEqual(await fleetServers(), []);
    assert.deepEqual(ghRunners(), [], "no registration outlives its server");
  });
});
