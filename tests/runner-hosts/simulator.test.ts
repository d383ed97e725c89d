// The runner-host simulator against the real local OpenStack (Nova's fake driver) and a GitHub
// double: servers created through the OpenStack APIs as the tenant become runner VMs that answer
// SSH on their fixed address, run their userdata and their runner, and vanish with the server.
import * as assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { renderUserData } from "../../cloud-init";
import { startGitHubDouble, type GitHubDouble } from "../../devkit/github-double";
import { timed } from "../../devkit/timing";
import { runnerAgentDir, runnerTarball } from "../../devkit/runner-hosts/build-tarball";
import { run, sleep } from "../../devkit/runner-hosts/commands";
import { bridgePorts } from "../../devkit/runner-hosts/host-network";
import {
  readShimCalls,
  startRunnerHostSimulator,
  type HostInfo,
} from "../../devkit/runner-hosts/simulator";
import type { RunnerHostSimulator } from "../../devkit/runner-hosts/simulator";
import {
  buildRunnerImage,
  makeKeyPair,
  sampleUserdata,
  TenantFixtures,
  type KeyFiles,
} from "./test-fixtures";

const REPO = "acme/widgets";

async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** `ssh ubuntu@<address> <command>` with the keypair, trusting only `hostPublicKey`. */
function ssh(
  host: HostInfo,
  key: KeyFiles,
  hostPublicKey: string,
  command: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const knownHosts = path.join(key.dir, `known_hosts-${host.address}`);
  fs.writeFileSync(knownHosts, `${host.address} ${hostPublicKey}\n`);
  return new Promise((resolve) => {
    execFile(
      "ssh",
      [
        "-i",
        key.privateKeyFile,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "-o",
        "ConnectTimeout=5",
        `ubuntu@${host.address}`,
        command,
      ],
      { timeout: 20_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === "number" ? err.code : -1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
}

/** Processes in a namespace: `/proc/<pid>/ns/<kind>` reads `id` (`net:[4026532]`). */
function processesIn(kind: "net" | "pid", id: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/ns/${kind}`) === id) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Processes in the network namespace of that inode (of /run/netns/<name>). */
const processesInNetns = (inode: number) => processesIn("net", `net:[${inode}]`);

const linkExists = (name: string) =>
  run("ip", ["link", "show", "dev", name]).then(
    () => true,
    () => false,
  );
const namespaces = async () =>
  (await run("ip", ["netns", "list"])).split("\n").map((l) => l.split(" ")[0]);

describe("runner-hosts: the simulator on the local OpenStack", function () {
  this.timeout(300_000);
  const prefix = `rfh-${Date.now().toString(36)}`;
  let gh: GitHubDouble;
  let sim: RunnerHostSimulator;
  let tenant: TenantFixtures;
  let key: KeyFiles;
  /** The host key a manager would generate and pin (installed by the userdata). */
  let pinned: KeyFiles;
  let pong: http.Server;
  let stateDir: string;
  let pongPort: number;

  const jitConfig = async (name: string): Promise<string> => {
    const res = await fetch(`${gh.url}/repos/${REPO}/actions/runners/generate-jitconfig`, {
      method: "POST",
      headers: { authorization: `Bearer ${gh.adminToken}` },
      body: JSON.stringify({ name, runner_group_id: 1, labels: ["self-hosted", "linux"] }),
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as { encoded_jit_config: string }).encoded_jit_config;
  };
  const runner = (name: string) => gh.control.runners().find((r) => r.name === name);
  const jobConclusion = async (id: number) => {
    const res = await fetch(`${gh.url}/repos/${REPO}/actions/jobs/${id}`, {
      headers: { authorization: `Bearer ${gh.adminToken}` },
    });
    return ((await res.json()) as { conclusion: string | null }).conclusion;
  };
  const metricsFile = (host: HostInfo, file: string) =>
    path.join(host.dir, "fs", "home", "ubuntu", "metrics-exchange", file);

  /** Creates keypair and server, waits for ACTIVE and for the host; logs the readiness time. */
  const boot = async (name: string, userData: string, imageId?: string) => {
    await tenant.createKeypair(name, key.publicKey);
    const id = await tenant.createServer({
      name,
      imageId,
      keyName: name,
      metadata: { "runner-fleet": prefix },
      userData,
    });
    await tenant.waitForStatus(id, "ACTIVE");
    const activeAt = Date.now();
    const host = await timed(`host ${name} ready after the test saw it ACTIVE`, () =>
      sim.waitForHost(name, 60_000),
    );
    console.log(
      `      [timing] host ready ${(((host.readyAt ?? 0) - host.seenAt) / 1000).toFixed(2)} s ` +
        `after the simulator saw it ACTIVE (${((Date.now() - activeAt) / 1000).toFixed(2)} s ` +
        `after the test did)`,
    );
    return { id, host };
  };

  /** Deletes the server; then nothing of its host may be left. */
  const deleteAndCheckGone = async (id: string, host: HostInfo) => {
    const inode = fs.statSync(`/run/netns/${host.namespace}`).ino;
    const pids = processesInNetns(inode);
    assert.ok(pids.length > 0, "the host has processes before the deletion");
    await tenant.deleteServer(id);
    await until(
      () => !sim.hosts().some((h) => h.serverId === id),
      "the host to be removed after the server's deletion",
    );
    assert.ok(!(await namespaces()).includes(host.namespace), "the namespace is gone");
    assert.equal(await linkExists(host.veth), false, "the veth is gone");
    assert.deepEqual(processesInNetns(inode), [], "no process is left in the namespace");
    for (const pid of pids) {
      const status = fs.existsSync(`/proc/${pid}`)
        ? fs.readFileSync(`/proc/${pid}/status`, "utf8").split("\n").slice(0, 8).join(" ")
        : "";
      assert.equal(status, "", `pid ${pid} gone`);
    }
    const leftovers = (await run("pgrep", ["-f", host.dir]).catch(() => "")).trim();
    assert.equal(leftovers, "", "no process names the host folder");
    assert.equal(fs.existsSync(host.dir), false, "the host folder is gone");
  };

  before(async () => {
    gh = await startGitHubDouble({ runnerTarball: runnerTarball() });
    // Another service on the machine's loopback (say, a repo-policy-compliance double).
    pong = http.createServer((_req, res) => res.end("pong\n"));
    await new Promise<void>((resolve) => pong.listen(0, "127.0.0.1", resolve));
    pongPort = (pong.address() as AddressInfo).port;
    // Under /tmp, which every host has a /tmp of its own over: the host folders must stay reachable.
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "rf-hosts-state-"));
    sim = await startRunnerHostSimulator({
      stateDir,
      extraLoopbackPorts: [pongPort],
      githubDoubleUrl: gh.url,
      fleetPrefix: prefix,
      pollMs: 500,
    });
    tenant = await TenantFixtures.login();
    key = makeKeyPair("runner-hosts test keypair");
    pinned = makeKeyPair("runner-hosts pinned host key");
  });

  after(async () => {
    if (process.env.RUNNER_HOSTS_SIM_LOG)
      fs.writeFileSync(process.env.RUNNER_HOSTS_SIM_LOG, sim.logs().join("\n"));
    await tenant?.cleanup();
    await sim?.stop();
    await gh?.close();
    pong?.close();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
    for (const k of [key, pinned]) if (k) fs.rmSync(k.dir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") {
      console.log(sim.logs().slice(-40).join("\n"));
      for (const h of sim.hosts()) {
        for (const f of [h.files.userdataLog, h.files.sshdLog, h.files.initLog]) {
          if (fs.existsSync(f)) console.log(`--- ${f}\n${fs.readFileSync(f, "utf8").slice(-4000)}`);
        }
      }
    }
  });

  it("turns an ACTIVE server into a runner VM: SSH with the pinned host key, a job, removal", async () => {
    const name = `${prefix}-a`;
    const userData = sampleUserdata({
      runnerName: name,
      encodedJitConfig: await jitConfig(name),
      hostKey: pinned,
    });
    const { id, host } = await boot(name, userData);
    assert.equal(host.agentSource, "fallback", "runner-base holds random bytes, no runner");
    assert.match(host.namespace, /^rfh-[0-9a-f]{8}$/);
    assert.equal(host.subnet?.gateway, "10.42.0.1");

    // SSH to the server's address with its keypair, trusting only the host key the userdata installed.
    const installed = await until(async () => {
      const r = await ssh(
        host,
        key,
        pinned.publicKey,
        "cat /home/ubuntu/metrics-exchange/runner-installed.timestamp",
      );
      return r.code === 0 && r.stdout;
    }, "SSH with the pinned host key");
    assert.match(installed, /^\d{10}\n$/);
    assert.equal(
      sim
        .hosts()
        .find((h) => h.serverId === id)
        ?.sshHostKey?.split(" ")[1],
      pinned.publicKey.split(" ")[1],
    );
    const who = await ssh(host, key, pinned.publicKey, "id -un; hostname");
    assert.equal(who.stdout, `ubuntu\n${name}\n`);

    // The runner comes online; a job makes it busy, runs the hook, ends with the job's exit code.
    await until(() => runner(name)?.status === "online", "the runner online on the double");
    const queued = gh.control.dispatchJob({
      repo: REPO,
      runnerName: name,
      event: "pull_request",
      authorAssociation: "MEMBER",
      headBranch: "feature/hosts",
      run: `curl -fsS http://127.0.0.1:${pongPort}/; echo job output; sleep 2; exit 3`,
    });
    await until(() => runner(name)?.busy, "the runner busy");
    // The hook writes pre-job-hostname.txt last.
    await until(() => fs.existsSync(metricsFile(host, "pre-job-hostname.txt")), "the pre-job hook");
    const hookEnv = fs.readFileSync(metricsFile(host, "pre-job-env.txt"), "utf8");
    assert.match(hookEnv, /^GITHUB_EVENT_NAME=pull_request$/m);
    assert.match(hookEnv, /^GITHUB_HEAD_REF=feature\/hosts$/m);
    assert.match(hookEnv, new RegExp(`^GITHUB_RUN_ID=${queued.run_id}$`, "m"));
    const event = JSON.parse(fs.readFileSync(metricsFile(host, "pre-job-event.json"), "utf8"));
    assert.equal(event.pull_request.author_association, "MEMBER");
    assert.equal(fs.readFileSync(metricsFile(host, "pre-job-hostname.txt"), "utf8"), `${name}\n`);

    await until(() => runner(name) === undefined, "the ephemeral runner's removal", 30_000);
    assert.equal(await jobConclusion(queued.id), "failure");
    await until(
      () => sim.hosts().find((h) => h.serverId === id)?.userdataExitCode === 3,
      "the userdata's end",
    );
    const post = await ssh(
      host,
      key,
      pinned.publicKey,
      "cat /home/ubuntu/metrics-exchange/post-job-metrics.json",
    );
    assert.equal(JSON.parse(post.stdout).status_info.code, 3);
    assert.match(fs.readFileSync(host.files.userdataLog, "utf8"), /pong\njob output/);

    const calls = readShimCalls(host).map((c) => [c.command, ...c.args.slice(0, 4)].join(" "));
    assert.deepEqual(calls.slice(0, 5), [
      `hostnamectl set-hostname ${name}`,
      "systemctl restart ssh",
      "apt-get update",
      "usermod -aG lxd,adm ubuntu",
      "runuser -u ubuntu -- ./run.sh",
    ]);
    // Nothing of the userdata reached the machine's own files.
    assert.equal(fs.existsSync("/home/ubuntu/metrics-exchange"), false);
    assert.notEqual(fs.readFileSync("/etc/hostname", "utf8").trim(), name);

    await deleteAndCheckGone(id, host);
  });

  it("runs the runner baked into the server's image, and powers off on shutdown", async () => {
    // A runner image as the image build makes it: a partitioned qcow2 disk, ext4 root, the runner
    // (here the test agent plus a marker) in /home/ubuntu/actions-runner.
    const baked = fs.mkdtempSync(path.join(key.dir, "runner-"));
    fs.cpSync(runnerAgentDir, baked, { recursive: true });
    fs.writeFileSync(path.join(baked, ".baked-into-image"), "yes\n");
    const imageId = await tenant.createImage(`${prefix}-image`, buildRunnerImage(baked), "qcow2");
    const name = `${prefix}-b`;
    const { id, host } = await boot(
      name,
      sampleUserdata({
        runnerName: name,
        encodedJitConfig: await jitConfig(name),
        powerOffAtEnd: true,
      }),
      imageId,
    );
    assert.equal(host.agentSource, "image", host.agentFallbackReason ?? "");
    assert.ok(
      fs.existsSync(
        path.join(host.dir, "fs", "home", "ubuntu", "actions-runner", ".baked-into-image"),
      ),
    );

    await until(() => runner(name)?.status === "online", "the runner online on the double");
    const queued = gh.control.dispatchJob({ repo: REPO, runnerName: name, conclusion: "success" });
    await until(() => runner(name) === undefined, "the ephemeral runner's removal", 30_000);
    assert.equal(await jobConclusion(queued.id), "success");

    // The userdata ends with `shutdown -h now`: every process of the host ends, the server stays.
    const off = await until(
      () => sim.hosts().find((h) => h.serverId === id && h.state === "off"),
      "the power-off",
      30_000,
    );
    assert.ok(
      readShimCalls(off).some((c) => c.command === "shutdown" && c.args.join(" ") === "-h now"),
    );
    const pidns = fs.readlinkSync(`/proc/${host.initPid}/ns/pid`);
    await until(() => processesIn("pid", pidns).length === 1, "only the host's PID 1 left");
    const refused = await ssh(host, key, host.sshHostKey ?? "", "true");
    assert.notEqual(refused.code, 0, "a powered-off host answers no SSH");
    assert.match(fs.readFileSync(metricsFile(host, "post-job-metrics.json"), "utf8"), /"code":0/);
    await tenant.deleteServer(id);
    await until(() => !sim.hosts().some((h) => h.serverId === id), "the host's removal");
    assert.ok(!(await namespaces()).includes(host.namespace));
    assert.equal(await linkExists(host.veth), false);
  });

  it("runs the fleet's own userdata (cloud-init): pinned key, author check, pre-job metrics", async () => {
    const name = `${prefix}-c`;
    const userData = renderUserData({
      runnerName: name,
      registration: { mode: "jit", encodedJitConfig: await jitConfig(name) },
      sshHostKey: { privateKey: pinned.privateKey, publicKey: pinned.publicKey },
      authorCheck: true,
    });
    const { id, host } = await boot(name, userData);
    const installed = await until(async () => {
      const r = await ssh(
        host,
        key,
        pinned.publicKey,
        "cat /home/ubuntu/metrics-exchange/runner-installed.timestamp",
      );
      return r.code === 0 && r.stdout;
    }, "SSH with the pinned host key");
    assert.match(installed, /^\d{10}\n$/);
    await until(() => runner(name)?.status === "online", "the runner online on the double");

    // A pull request by an outsider: the hook refuses it, so the job fails with exit code 1.
    const queued = gh.control.dispatchJob({
      repo: REPO,
      runnerName: name,
      event: "pull_request",
      authorAssociation: "NONE",
      run: "echo must not run; exit 0",
    });
    await until(() => runner(name) === undefined, "the ephemeral runner's removal", 30_000);
    assert.equal(await jobConclusion(queued.id), "failure");
    await until(
      () => sim.hosts().find((h) => h.serverId === id)?.userdataExitCode === 1,
      "the userdata's end",
    );
    const read = async (file: string) =>
      (await ssh(host, key, pinned.publicKey, `cat /home/ubuntu/metrics-exchange/${file}`)).stdout;
    const preJob = JSON.parse(await read("pre-job-metrics.json"));
    assert.equal(preJob.event, "pull_request");
    assert.equal(preJob.workflow_run_id, String(queued.run_id));
    const postJob = JSON.parse(await read("post-job-metrics.json"));
    assert.deepEqual([postJob.status, postJob.status_info.code], ["abnormal", 1]);
    assert.doesNotMatch(fs.readFileSync(host.files.userdataLog, "utf8"), /must not run/);
    const commands = readShimCalls(host).map((c) => c.command);
    for (const c of ["hostnamectl", "systemctl", "apt-get", "usermod", "runuser"]) {
      assert.ok(commands.includes(c), `${c} was called: ${commands.join(", ")}`);
    }
    await deleteAndCheckGone(id, host);
  });

  it("stop() leaves no namespace, veth, bridge, process or folder behind", async () => {
    const name = `${prefix}-d`;
    const { host } = await boot(
      name,
      sampleUserdata({ runnerName: name, encodedJitConfig: await jitConfig(name) }),
    );
    await until(() => runner(name)?.status === "online", "the runner online on the double");
    const inode = fs.statSync(`/run/netns/${host.namespace}`).ino;
    assert.ok(processesInNetns(inode).length > 0);
    // Another simulator (another suite) may share the bridge: then it must stay.
    const ours = sim.hosts().map((h) => h.veth);
    const shared = (await bridgePorts("rfbr0")).some((p) => !ours.includes(p));
    await sim.stop();
    assert.ok(!(await namespaces()).some((n) => n === host.namespace));
    assert.equal(await linkExists(host.veth), false);
    assert.equal(
      await linkExists("rfbr0"),
      shared,
      "the bridge goes when no other simulator uses it",
    );
    assert.deepEqual(processesInNetns(inode), []);
    assert.equal((await run("pgrep", ["-f", host.dir]).catch(() => "")).trim(), "");
    assert.equal(fs.existsSync(host.dir), false);
    assert.equal(sim.hosts().length, 0);
    assert.deepEqual(
      fs.existsSync(sim.stateDir)
        ? fs.readdirSync(sim.stateDir).filter((e) => e.startsWith(`.simulator-${process.pid}-`))
        : [],
      [],
    );
  });
});

describe("runner-hosts: the simulator's CLI", function () {
  this.timeout(300_000);
  const prefix = `rfh-cli-${Date.now().toString(36)}`;
  let gh: GitHubDouble;
  let tenant: TenantFixtures;
  let key: KeyFiles;
  let work: string;
  const clis: ChildProcess[] = [];
  let recovery: RunnerHostSimulator | undefined;

  /** main.ts in a node process of its own (no npx in between: a signal reaches it directly). */
  const startCli = (hostsFile: string) => {
    const cli = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(__dirname, "..", "..", "devkit", "runner-hosts", "main.ts"),
        "--github-url",
        gh.url,
        "--prefix",
        prefix,
        "--poll-ms",
        "500",
        "--hosts-file",
        hostsFile,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    clis.push(cli);
    let output = "";
    cli.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    cli.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      cli.once("exit", (code) => resolve(code)),
    );
    return { cli, output: () => output, exited };
  };
  const hostsIn = (file: string): HostInfo[] =>
    fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as HostInfo[]) : [];
  const bootServer = async (name: string) => {
    await tenant.createKeypair(name, key.publicKey);
    const res = await fetch(`${gh.url}/repos/${REPO}/actions/runners/generate-jitconfig`, {
      method: "POST",
      headers: { authorization: `Bearer ${gh.adminToken}` },
      body: JSON.stringify({ name, runner_group_id: 1, labels: ["self-hosted"] }),
    });
    const jit = ((await res.json()) as { encoded_jit_config: string }).encoded_jit_config;
    return tenant.createServer({
      name,
      keyName: name,
      metadata: { "runner-fleet": prefix },
      userData: sampleUserdata({ runnerName: name, encodedJitConfig: jit }),
    });
  };

  before(async () => {
    gh = await startGitHubDouble({ runnerTarball: runnerTarball() });
    tenant = await TenantFixtures.login();
    key = makeKeyPair("runner-hosts CLI test");
    work = fs.mkdtempSync(path.join(key.dir, "cli-"));
  });
  after(async () => {
    for (const cli of clis)
      if (cli.exitCode === null && cli.signalCode === null) cli.kill("SIGKILL");
    await tenant?.cleanup();
    await recovery?.stop();
    await gh?.close();
    if (key) fs.rmSync(key.dir, { recursive: true, force: true });
  });

  it("runs until SIGTERM, then removes its hosts", async () => {
    const hostsFile = path.join(work, "hosts-term.json");
    const { cli, output, exited } = startCli(hostsFile);
    const id = await bootServer(`${prefix}-term`);
    const host = await until(
      () => hostsIn(hostsFile).find((h) => h.serverId === id && h.state === "ready"),
      "the host in the hosts file",
    );
    cli.kill("SIGTERM");
    assert.equal(await exited, 0, output());
    assert.match(output(), /SIGTERM: stopping/);
    assert.ok(!(await namespaces()).includes(host.namespace));
    assert.equal(await linkExists(host.veth), false);
    assert.equal(fs.existsSync(host.dir), false);
    assert.equal(fs.existsSync(hostsFile), false);
    await tenant.deleteServer(id);
  });

  it("after a SIGKILL: the hosts' processes end, and the next simulator removes what is left", async () => {
    const hostsFile = path.join(work, "hosts-kill.json");
    const { cli, exited } = startCli(hostsFile);
    const id = await bootServer(`${prefix}-kill`);
    const host = await until(
      () => hostsIn(hostsFile).find((h) => h.serverId === id && h.state === "ready"),
      "the host in the hosts file",
    );
    const pidns = fs.readlinkSync(`/proc/${host.initPid}/ns/pid`);
    cli.kill("SIGKILL");
    await exited;
    // PID 1 of the host sees its stdin close and ends; the kernel ends the rest.
    await until(
      () => processesIn("pid", pidns).length === 0,
      "the host's processes to end",
      10_000,
    );
    assert.ok((await namespaces()).includes(host.namespace), "the namespace is left behind");

    recovery = await startRunnerHostSimulator({
      githubDoubleUrl: gh.url,
      fleetPrefix: prefix,
      pollMs: 500,
    });
    assert.equal(fs.existsSync(host.dir), false, "the stale host folder is removed at start");
    // The server still exists: the new simulator sets it up afresh.
    const again = await recovery.waitForHost(`${prefix}-kill`, 60_000);
    assert.notEqual(again.initPid, host.initPid);
    await tenant.deleteServer(id);
    await until(() => recovery?.hosts().length === 0, "the host's removal");
    assert.ok(!(await namespaces()).includes(host.namespace));
    assert.equal(await linkExists(host.veth), false);
  });
});
