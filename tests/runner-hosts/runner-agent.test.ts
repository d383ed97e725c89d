// The test agent (runner-agent/) and the shims, on this machine against a GitHub double: no
// OpenStack, no namespaces. The simulator suite runs the same agent inside simulated hosts.
import * as assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { startGitHubDouble, type GitHubDouble } from "../../devkit/github-double";
import { runnerVersion } from "../../devkit/github-double/runner-downloads";
import {
  runnerAgentDir,
  runnerTarball,
  runnerTarballName,
} from "../../devkit/runner-hosts/build-tarball";
import { run, sleep, waitForExit } from "../../devkit/runner-hosts/commands";

const REPO = "acme/widgets";

/** A runner folder unpacked from the tarball, as the image build unpacks it. */
function unpackAgent(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rf-agent-"));
  execFileSync("tar", ["-xzf", "-", "-C", dir], { input: runnerTarball() });
  return dir;
}

async function until<T>(fn: () => T | undefined | false, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface AgentRun {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function startAgent(dir: string, args: string[]): AgentRun {
  let output = "";
  const child = spawn("./run.sh", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exit };
}

describe("runner-hosts: the test runner agent", function () {
  this.timeout(60_000);
  let gh: GitHubDouble;
  const dirs: string[] = [];
  const agents: ChildProcess[] = [];

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
  const job = async (id: number) => {
    const res = await fetch(`${gh.url}/repos/${REPO}/actions/jobs/${id}`, {
      headers: { authorization: `Bearer ${gh.adminToken}` },
    });
    return (await res.json()) as { status: string; conclusion: string | null };
  };
  /** An unpacked agent whose job-started hook records its environment and event payload. */
  const agentWithHook = (hookBody = "") => {
    const dir = unpackAgent();
    dirs.push(dir);
    fs.writeFileSync(
      path.join(dir, ".env"),
      `LANG=C.UTF-8\nACTIONS_RUNNER_HOOK_JOB_STARTED=${dir}/pre-job.sh\nFROM_DOT_ENV=yes\n`,
    );
    fs.writeFileSync(
      path.join(dir, "pre-job.sh"),
      `#!/bin/bash\nenv | sort >"${dir}/hook-env.txt"\ncp "$GITHUB_EVENT_PATH" "${dir}/hook-event.json"\n${hookBody}\n`,
      { mode: 0o755 },
    );
    return dir;
  };
  const start = (dir: string, args: string[]) => {
    const run = startAgent(dir, args);
    agents.push(run.child);
    return run;
  };
  const hookEnv = (dir: string) =>
    Object.fromEntries(
      fs
        .readFileSync(path.join(dir, "hook-env.txt"), "utf8")
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );

  before(async () => {
    gh = await startGitHubDouble({ runnerTarball: runnerTarball() });
  });
  after(async () => {
    for (const child of agents) if (child.exitCode === null) child.kill("SIGKILL");
    await gh?.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("is packed as GitHub's runner tarball: run.sh, config.sh, bin/ at the root, executable", async () => {
    const tarball = runnerTarball();
    assert.deepEqual(runnerTarball(), tarball, "the same bytes every time");
    assert.equal(runnerTarballName(), `actions-runner-linux-x64-${runnerVersion}.tar.gz`);
    const listing = execFileSync("tar", ["-tvzf", "-"], { input: tarball }).toString();
    for (const entry of ["./run.sh", "./config.sh", "./bin/Runner.Listener"]) {
      assert.match(listing, new RegExp(`^-rwxr-xr-x 0/0 .* ${entry.replace(/\./g, "\\.")}$`, "m"));
    }
    assert.ok(gunzipSync(tarball).length > 0);
    // The double serves it at GitHub's release path, as the image build downloads it.
    const res = await fetch(
      `${gh.url}/actions/runner/releases/download/v${runnerVersion}/${runnerTarballName()}`,
    );
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), tarball);
    const version = execFileSync(path.join(runnerAgentDir, "bin", "Runner.Listener"), [
      "--version",
    ]).toString();
    assert.equal(version.trim(), runnerVersion);
  });

  it("runs one pull-request job from a JIT config: hook with the job's environment, run's exit code, removal", async () => {
    const dir = agentWithHook();
    const agent = start(dir, ["--jitconfig", await jitConfig("agent-pr")]);
    await until(() => runner("agent-pr")?.status === "online", "the runner online");
    const queued = gh.control.dispatchJob({
      repo: REPO,
      runnerName: "agent-pr",
      workflow: "Tests",
      event: "pull_request",
      authorAssociation: "CONTRIBUTOR",
      headBranch: "feature/x",
      headSha: "a".repeat(40),
      run: 'echo "in $PWD as $GITHUB_JOB"; sleep 1; exit 7',
    });
    await until(() => runner("agent-pr")?.busy, "the runner busy");
    assert.equal(await agent.exit, 7, agent.output());
    assert.equal(runner("agent-pr"), undefined, "an ephemeral runner is removed after its job");
    assert.deepEqual(
      { ...(await job(queued.id)) },
      { ...(await job(queued.id)), status: "completed", conclusion: "failure" },
    );

    const env = hookEnv(dir);
    assert.equal(env.GITHUB_WORKFLOW, "Tests");
    assert.equal(env.GITHUB_REPOSITORY, REPO);
    assert.equal(env.GITHUB_EVENT_NAME, "pull_request");
    assert.equal(env.GITHUB_RUN_ID, String(queued.run_id));
    assert.equal(env.GITHUB_SHA, "a".repeat(40));
    assert.equal(env.GITHUB_REF, `refs/pull/${queued.run_id}/merge`);
    assert.equal(env.GITHUB_HEAD_REF, "feature/x");
    assert.equal(env.GITHUB_BASE_REF, "main");
    assert.equal(env.RUNNER_NAME, "agent-pr");
    assert.equal(env.FROM_DOT_ENV, "yes", ".env variables reach the job");
    assert.equal(env.GITHUB_WORKSPACE, path.join(dir, "_work", "widgets", "widgets"));
    const event = JSON.parse(fs.readFileSync(path.join(dir, "hook-event.json"), "utf8"));
    assert.equal(event.pull_request.author_association, "CONTRIBUTOR");
    assert.equal(event.pull_request.head.ref, "feature/x");
    assert.equal(event.pull_request.head.sha, "a".repeat(40));
    assert.equal(event.pull_request.base.ref, "main");
    assert.equal(event.pull_request.head.repo.full_name, REPO);
    assert.equal(event.pull_request.base.repo.full_name, REPO);
    assert.match(agent.output(), /in .*_work\/widgets\/widgets as build/);
    assert.match(agent.output(), /Job build completed with result: Failed/);
  });

  it("fails the job with exit code 1 when the job-started hook fails, without running the job", async () => {
    const dir = agentWithHook("echo refused >&2; exit 9");
    const agent = start(dir, ["--jitconfig", await jitConfig("agent-hook")]);
    await until(() => runner("agent-hook")?.status === "online", "the runner online");
    const queued = gh.control.dispatchJob({
      repo: REPO,
      runnerName: "agent-hook",
      run: `touch "${dir}/job-ran"`,
    });
    assert.equal(await agent.exit, 1, agent.output());
    assert.equal(fs.existsSync(path.join(dir, "job-ran")), false);
    assert.equal((await job(queued.id)).conclusion, "failure");
    assert.equal(hookEnv(dir).GITHUB_EVENT_NAME, "push");
    assert.equal(hookEnv(dir).GITHUB_REF, "refs/heads/main");
    assert.equal(hookEnv(dir).GITHUB_HEAD_REF, "");
  });

  it("without a run script, ends as the job was dispatched: success 0, failure 1", async () => {
    for (const [conclusion, code] of [
      ["success", 0],
      ["failure", 1],
    ] as const) {
      const name = `agent-${conclusion}`;
      const dir = agentWithHook();
      const agent = start(dir, ["--jitconfig", await jitConfig(name)]);
      await until(() => runner(name)?.status === "online", "the runner online");
      const queued = gh.control.dispatchJob({ repo: REPO, runnerName: name, conclusion });
      assert.equal(await agent.exit, code, agent.output());
      assert.equal((await job(queued.id)).conclusion, conclusion);
      const event = JSON.parse(fs.readFileSync(path.join(dir, "hook-event.json"), "utf8"));
      assert.equal(event.ref, "refs/heads/main");
    }
  });

  it("registers with config.sh and a registration token, then run.sh takes its job", async () => {
    const dir = agentWithHook();
    const tokenRes = await fetch(`${gh.url}/repos/${REPO}/actions/runners/registration-token`, {
      method: "POST",
      headers: { authorization: `Bearer ${gh.adminToken}` },
    });
    const { token } = (await tokenRes.json()) as { token: string };
    // Not execFileSync: the double answers from this process's event loop.
    await run(
      "./config.sh",
      [
        "--url",
        `${gh.url}/${REPO}`,
        "--token",
        token,
        "--name",
        "agent-token",
        "--labels",
        "gpu, big",
        "--ephemeral",
        "--unattended",
        "--disableupdate",
      ],
      { cwd: dir },
    );
    assert.deepEqual(
      runner("agent-token")
        ?.labels.map((l) => l.name)
        .sort(),
      ["Linux", "X64", "big", "gpu", "self-hosted"],
    );
    assert.equal(runner("agent-token")?.ephemeral, true);
    const agent = start(dir, []);
    await until(() => runner("agent-token")?.status === "online", "the runner online");
    gh.control.dispatchJob({ repo: REPO, labels: ["gpu"], run: "exit 0" });
    assert.equal(await agent.exit, 0, agent.output());
    assert.equal(runner("agent-token"), undefined);
  });

  it("goes offline and exits 143 on SIGTERM while waiting for a job (pkill, shutdown)", async () => {
    const dir = agentWithHook();
    const agent = start(dir, ["--jitconfig", await jitConfig("agent-term")]);
    await until(() => runner("agent-term")?.status === "online", "the runner online");
    agent.child.kill("SIGTERM");
    assert.equal(await agent.exit, 143, agent.output());
    assert.equal(runner("agent-term")?.status, "offline");
    assert.ok(await waitForExit(agent.child, 1000));
  });

  it("refuses a JIT config that is not one", async () => {
    const dir = agentWithHook();
    const agent = start(dir, ["--jitconfig", "bm90IGpzb24="]);
    assert.equal(await agent.exit, 1);
    assert.match(agent.output(), /The JIT configuration is not valid/);
  });
});

describe("runner-hosts: the shims", function () {
  let host: string;
  const shim = path.join(
    __dirname,
    "..",
    "..",
    "devkit",
    "runner-hosts",
    "shims",
    "runner-host-shim.sh",
  );
  let bin: string;

  before(() => {
    host = fs.mkdtempSync(path.join(os.tmpdir(), "rf-shim-"));
    bin = path.join(host, "bin");
    fs.mkdirSync(bin);
    for (const name of ["su", "runuser", "sudo", "apt-get", "systemctl", "docker"]) {
      fs.symlinkSync(shim, path.join(bin, name));
    }
  });
  after(() => fs.rmSync(host, { recursive: true, force: true }));

  const call = (name: string, args: string[]) =>
    execFileSync(path.join(bin, name), args, {
      env: { PATH: process.env.PATH, RUNNER_HOST_DIR: host },
      cwd: host,
    }).toString();

  it("run su, runuser and sudo commands (as root) with the user's HOME, and record every call", () => {
    assert.equal(
      call("su", ["ubuntu", "-c", 'echo "$HOME $USER $1"', "x", "arg"]),
      "/home/ubuntu ubuntu arg\n",
    );
    assert.equal(call("su", ["-", "root", "-c", "echo $USER"]), "root\n");
    assert.equal(
      call("runuser", ["-u", "ubuntu", "--", "sh", "-c", "echo $LOGNAME $(id -u)"]),
      "ubuntu 0\n",
    );
    assert.equal(call("runuser", ["-l", "ubuntu", "-c", "echo $HOME"]), "/home/ubuntu\n");
    assert.equal(call("sudo", ["-n", "-u", "ubuntu", "sh", "-c", "echo $USER"]), "ubuntu\n");
    assert.equal(call("sudo", ["-n", "sh", "-c", "echo $USER"]), "root\n");
    assert.equal(call("apt-get", ["install", "-y", "it's"]), "");
    assert.equal(call("systemctl", ["is-active", "docker"]), "active\n");
    assert.equal(call("docker", ["info"]), "");
    const calls = fs
      .readFileSync(path.join(host, "shim-calls.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { command: string; args: string[]; uid: number });
    assert.deepEqual(
      calls.map((c) => c.command),
      ["su", "su", "runuser", "runuser", "sudo", "sudo", "apt-get", "systemctl", "docker"],
    );
    assert.deepEqual(calls[6].args, ["install", "-y", "it's"]);
    assert.equal(calls[6].uid, process.getuid?.());
  });
});
