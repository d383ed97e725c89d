// The runner lifecycle on the real engine, with simulated runner hosts: the fleet boots an image
// it built with the runner of the GitHub double's downloads (the simulated agent); the hosts run
// the servers' userdata; a job runs through the real job-started hook; the next `up` replaces the
// runner and its metrics land in the log; the repo-policy check and the author check fail jobs as
// they should; an unreachable host does not block `destroy`.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { fleetProgram } from "../../program";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { runnerTarball } from "../../devkit/runner-hosts/build-tarball";
import {
  HostInfo,
  readShimCalls,
  RunnerHostSimulator,
  startRunnerHostSimulator,
} from "../../devkit/runner-hosts/simulator";
import { cloudEnv, tenantOsEnv } from "../../devkit/local-cloud/cloud-env";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import { createTestStack, TestStack } from "../../devkit/pulumi/test-stack";
import { timed } from "../../devkit/timing";
import { FLEET_METADATA_KEY } from "../../rules/server-metadata";
import { createBaseImage } from "../support/glance-images";
import { until, untilAllOnline } from "../support/until";

interface MetricsLine {
  event: string;
  flavor: string;
  timestamp: number;
  [k: string]: unknown;
}

describe("runner lifecycle with simulated hosts", function () {
  const prefix = `rf-life-${Date.now().toString(36)}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "lifecycle-"));
  const metricsLog = path.join(work, "metrics.log");
  let gh: GitHubDouble;
  let sim: RunnerHostSimulator;
  let test: TestStack;
  let api: OpenStackApi;
  let policy: http.Server;
  let policyAnswer = 200;
  let policyPort = 0;
  const osEnv = { ...process.env, ...tenantOsEnv() };
  const baseImage = `rf-life-base-${Date.now().toString(36)}`;

  const fleetRunners = () => gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`));
  const metrics = (): MetricsLine[] =>
    fs.existsSync(metricsLog)
      ? fs
          .readFileSync(metricsLog, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  const hostOf = (name: string) => sim.hosts().find((h) => h.serverName === name);
  const allOnline = (n: number) => untilAllOnline(fleetRunners, n, 180_000);

  before(async function () {
    api = await OpenStackApi.login();
    // The repo-policy-compliance service on 127.0.0.1, which the simulator relays into the hosts.
    policy = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(policyAnswer).end(policyAnswer === 200 ? "{}" : "refused"));
    });
    await new Promise<void>((resolve) => policy.listen(0, "127.0.0.1", resolve));
    policyPort = (policy.address() as { port: number }).port;
    // A base image with /home/ubuntu: the build bakes the double's runner (the simulated agent) in.
    createBaseImage(work, baseImage);

    gh = await startGitHubDouble({ runnerTarball: runnerTarball() });
    // The suite says itself when GitHub fails a vanished runner's job (finishJob), as it did
    // before the double noticed silent runners.
    gh.control.setLostAfterSeconds(3600);
    sim = await startRunnerHostSimulator({
      githubDoubleUrl: gh.url,
      fleetPrefix: prefix,
      stateDir: path.join(work, "hosts"),
      extraLoopbackPorts: [policyPort],
    });
    test = await createTestStack("lifecycle", fleetProgram, {
      ...tenantOsEnv(),
      RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS: "0",
    });
    const env = cloudEnv();
    await test.stack.setAllConfig({
      "runner-fleet:githubPath": { value: "acme/widgets" },
      "runner-fleet:githubApiUrl": { value: gh.url },
      "runner-fleet:githubToken": { value: gh.adminToken, secret: true },
      "runner-fleet:namePrefix": { value: prefix },
      "runner-fleet:flavor": { value: env.RUNNER_FLEET_FLAVOR },
      "runner-fleet:network": { value: env.RUNNER_FLEET_NETWORK },
      "runner-fleet:imageBuild": {
        value: JSON.stringify({
          baseImage,
          runnerVersion: "latest",
          architecture: "x86_64",
          name: `${prefix}-image`,
        }),
      },
      "runner-fleet:sshSourceCidr": { value: "10.42.0.0/24" },
      "runner-fleet:quantity": { value: "2" },
      "runner-fleet:busyWaitSeconds": { value: "60" },
      "runner-fleet:metricsLogPath": { value: metricsLog },
      "runner-fleet:authorCheck": { value: "true" },
      // A settings change replaces every runner in one up (a rollout of the whole pool).
      "runner-fleet:rolloutSurge": { value: "100%" },
    });
  });

  after(async function () {
    await test?.stack.destroy().catch(() => undefined);
    await sim?.stop();
    await gh?.close();
    policy?.close();
    try {
      execFileSync("openstack", ["image", "delete", baseImage], { env: osEnv, stdio: "ignore" });
    } catch {
      // already gone
    }
    test?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  let first: string;

  it("boots 2 runners from the built image; both come online", async function () {
    await timed("lifecycle up 0 to 2", () => test.stack.up());
    const online = await allOnline(2);
    for (const r of online) {
      const host = await sim.waitForHost(r.name, 60_000);
      assert.equal(host.agentSource, "image", "the host runs the runner baked into the image");
    }
    first = online[0].name;
  });

  it("runs a job through the real pre-job hook, then the runner leaves (ephemeral)", async function () {
    gh.control.dispatchJob({
      repo: "acme/widgets",
      workflow: "CI",
      event: "push",
      runnerName: first,
      run: "sleep 2",
    });
    await until("the runner to be busy", () =>
      fleetRunners().find((r) => r.name === first && r.busy),
    );
    const host = hostOf(first);
    assert.ok(host);
    const preJob = path.join(
      host.dir,
      "fs",
      "home",
      "ubuntu",
      "metrics-exchange",
      "pre-job-metrics.json",
    );
    const written = await until(
      "pre-job metrics",
      () => fs.existsSync(preJob) && JSON.parse(fs.readFileSync(preJob, "utf8")),
    );
    assert.equal(written.repository, "acme/widgets");
    assert.equal(written.workflow, "CI");
    await until("the runner to leave GitHub", () => !fleetRunners().some((r) => r.name === first));
  });

  it("the next up replaces it, and its metrics are in the log with the job's durations", async function () {
    await timed("lifecycle up replacing 1", () => test.stack.up());
    const servers = (await api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix);
    assert.equal(servers.length, 2);
    assert.ok(!servers.some((s) => s.name === first));
    const events = metrics().filter((e) => e.event !== "reconciliation");
    const installed = events.find((e) => e.event === "runner_installed");
    const start = events.find((e) => e.event === "runner_start");
    const stop = events.find((e) => e.event === "runner_stop");
    assert.ok(installed && start && stop, JSON.stringify(events));
    assert.equal(start.repo, "acme/widgets");
    assert.equal(start.github_event, "push");
    assert.equal(stop.status, "normal");
    // The job ran `sleep 2`: its duration is about 2 s on the hosts' clock (the machine's).
    assert.ok(
      (stop.job_duration as number) >= 2 && (stop.job_duration as number) <= 10,
      String(stop.job_duration),
    );
    assert.ok((start.idle as number) >= 0);
    assert.equal(stop.timestamp - start.timestamp, stop.job_duration);
    assert.ok(metrics().some((e) => e.event === "reconciliation"));
  });

  it("a failing repo-policy check stops the job with status repo-policy-check-failure", async function () {
    policyAnswer = 403;
    await test.stack.setAllConfig({
      "runner-fleet:repoPolicyComplianceUrl": { value: `http://127.0.0.1:${policyPort}` },
      "runner-fleet:repoPolicyComplianceToken": { value: "policy-token", secret: true },
    });
    // Both runners are replaced by new ones (new userdata: a rollout of 100%), then one job is
    // refused by the policy service.
    await test.stack.up();
    const [target] = await allOnline(2);
    gh.control.dispatchJob({
      repo: "acme/widgets",
      workflow: "CI",
      event: "push",
      runnerName: target.name,
    });
    // The hook writes the failure, stops the listener and powers the server off.
    const host = await until<HostInfo>(
      "the refused host to call shutdown",
      () => {
        const h = hostOf(target.name);
        return h && readShimCalls(h).some((c) => c.command === "shutdown") ? h : undefined;
      },
      120_000,
    );
    const post = JSON.parse(
      fs.readFileSync(
        path.join(host.dir, "fs", "home", "ubuntu", "metrics-exchange", "post-job-metrics.json"),
        "utf8",
      ),
    );
    assert.equal(post.status, "repo-policy-check-failure");
    assert.equal(post.status_info.code, 403);
    assert.ok(
      readShimCalls(host).some((c) => c.command === "pkill" && c.args.includes("Runner.Listener")),
    );
    // GitHub fails the job of a runner that vanished; the double is told so (its own silence
    // timer is set beyond the suite, so it cannot race this).
    gh.control.finishJob(target.name, { conclusion: "failure" });
    // The powered-off host answers no SSH: the next up replaces it all the same.
    await test.stack.up();
    assert.ok(!(await api.servers()).some((s) => s.name === target.name));
    await test.stack.removeAllConfig([
      "runner-fleet:repoPolicyComplianceUrl",
      "runner-fleet:repoPolicyComplianceToken",
    ]);
  });

  it("the author check refuses a pull request from an outside contributor", async function () {
    await test.stack.up();
    const [target] = await allOnline(2);
    const before = metrics().length;
    gh.control.dispatchJob({
      repo: "acme/widgets",
      workflow: "PR",
      event: "pull_request",
      runnerName: target.name,
      authorAssociation: "CONTRIBUTOR",
    });
    await until(
      "the refused runner to leave GitHub",
      () => !fleetRunners().some((r) => r.name === target.name),
      120_000,
    );
    await test.stack.up();
    const stop = metrics()
      .slice(before)
      .find((e) => e.event === "runner_stop" && e.github_event === "pull_request");
    assert.ok(stop, JSON.stringify(metrics().slice(before)));
    assert.equal(stop.status, "abnormal");
    assert.equal(stop.workflow, "PR");
  });

  it("an unreachable host does not block destroy", async function () {
    // Cut one host off: its namespace's link goes down, so SSH to it times out.
    const [victim] = fleetRunners();
    const info = hostOf(victim.name);
    assert.ok(info);
    execFileSync("ip", ["link", "set", info.veth, "down"]);
    for (const r of fleetRunners()) if (r.busy) gh.control.finishJob(r.id, { exitCode: 0 });
    const result = await timed("lifecycle destroy with an unreachable host", () =>
      test.stack.destroy(),
    );
    assert.equal(result.summary.result, "succeeded");
    assert.equal(
      (await api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix).length,
      0,
    );
    assert.equal(fleetRunners().length, 0);
  });
});
