// The rendered scripts, run with bash in a temporary directory: the pre-job script with a job's
// GITHUB_* variables and a policy service on 127.0.0.1, and the whole userdata. Every OS command
// that would change the machine is a shim, first on PATH, that logs its call; a fake run.sh and
// config.sh stand in for the GitHub runner.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  renderNftRuleset,
  renderPreJobScript,
  renderUserData,
  UserDataOptions,
} from "../../cloud-init";
import { MAX_METRICS_FILE_BYTES } from "../../rules/metrics-exchange";
import { parsePostJob, parsePreJob } from "../../dynamic-providers/metrics/events";

/**
 * Commands shimmed by a logger. Each exits with `FAIL_<NAME>` (upper case, '-' as '_'), 0 unset.
 * `sleep` is shimmed so that apt-get's retries take no time.
 */
const LOGGED = [
  "hostnamectl",
  "apt-get",
  "usermod",
  "systemctl",
  "snap",
  "chown",
  "pkill",
  "shutdown",
  "sleep",
];

interface Sandbox {
  root: string;
  runnerDir: string;
  metricsDir: string;
  daemonJson: string;
  /** Each shimmed command's call, one line: name and arguments. */
  calls(): string[];
  /** What the nft shim read on stdin. */
  nftInput(): string;
  readMetrics(name: string): string;
}

function shim(dir: string, name: string, body: string) {
  fs.writeFileSync(path.join(dir, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
}

function makeSandbox(): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "cloud-init-run-"));
  const bin = path.join(root, "bin");
  const runnerDir = path.join(root, "actions-runner");
  const metricsDir = path.join(root, "metrics-exchange");
  const callLog = path.join(root, "calls.log");
  fs.mkdirSync(bin);
  fs.mkdirSync(runnerDir);
  const log = `printf '%s\\n' "$(basename "$0") $*" >>'${callLog}'`;
  for (const name of LOGGED) {
    shim(bin, name, `${log}\nfail="FAIL_$(basename "$0" | tr 'a-z-' 'A-Z_')"\nexit "\${!fail:-0}"`);
  }
  shim(bin, "nft", `${log}\ncat >'${path.join(root, "nft.input")}'`);
  // Runs the shim of the command, never a real privileged one.
  shim(
    bin,
    "sudo",
    `${log}\nwhile [[ \${1:-} == -* ]]; do shift; done\n` +
      `[ -x "${bin}/$1" ] || exit 1\nexec "${bin}/$1" "\${@:2}"`,
  );
  shim(bin, "runuser", `${log}\nwhile [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"`);
  // The runner: calls the job-started hook from .env when FAKE_JOB is set, as a job would.
  shim(
    runnerDir,
    "run.sh",
    `${log}\nif [ -n "\${FAKE_JOB:-}" ]; then\n` +
      `  hook=$(sed -n 's/^ACTIONS_RUNNER_HOOK_JOB_STARTED=//p' .env)\n` +
      `  "$hook" || exit 1\nfi\nexit "\${FAKE_RUN_EXIT:-0}"`,
  );
  shim(runnerDir, "config.sh", `${log}\nexit "\${FAKE_CONFIG_EXIT:-0}"`);
  const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "");
  return {
    root,
    runnerDir,
    metricsDir,
    daemonJson: path.join(root, "docker", "daemon.json"),
    calls: () => read(callLog).split("\n").filter(Boolean),
    nftInput: () => read(path.join(root, "nft.input")),
    readMetrics: (name) => fs.readFileSync(path.join(metricsDir, name), "utf8"),
  };
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script with bash, the shims first on PATH and only the given variables besides. */
function runBash(sb: Sandbox, file: string, env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [file], {
      cwd: sb.root,
      env: {
        PATH: `${path.join(sb.root, "bin")}:${process.env.PATH}`,
        HOME: sb.root,
        LANG: "C.UTF-8",
        ...env,
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface PolicyRequest {
  method?: string;
  url?: string;
  authorization?: string;
  contentType?: string;
  body: unknown;
}

/** A repo-policy-compliance service on 127.0.0.1 that answers every request alike. */
async function policyService(status: number, answer: string) {
  const requests: PolicyRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      requests.push({
        method: req.method,
        url: req.url,
        authorization: req.headers.authorization,
        contentType: req.headers["content-type"],
        body: JSON.parse(body),
      });
      res.writeHead(status, { "Content-Type": "text/plain" }).end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const POLICY_TOKEN = "tok'$(touch${IFS}PWNED)\"`x`;|&";
const HEAD_SHA = "1111111111111111111111111111111111111111";
const MERGE_SHA = "2222222222222222222222222222222222222222";

/** The variables the runner gives a job, for a pull request whose author has `association`. */
function pullRequestJob(sb: Sandbox, association: string, extra: Record<string, string> = {}) {
  const eventPath = path.join(sb.root, "event.json");
  fs.writeFileSync(
    eventPath,
    JSON.stringify({
      action: "opened",
      pull_request: {
        author_association: association,
        head: { sha: HEAD_SHA, ref: "feature", repo: { full_name: "fork/widgets" } },
        base: { ref: "main", repo: { full_name: "acme/widgets" } },
      },
    }),
  );
  return {
    GITHUB_WORKFLOW: "CI",
    GITHUB_REPOSITORY: "acme/widgets",
    GITHUB_EVENT_NAME: "pull_request",
    GITHUB_RUN_ID: "987654321",
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REF: "refs/pull/7/merge",
    GITHUB_HEAD_REF: "feature",
    GITHUB_BASE_REF: "main",
    GITHUB_SHA: MERGE_SHA,
    ...extra,
  };
}

/** The variables the runner gives a job run by a push to `branch`. */
function pushJob(sb: Sandbox, branch: string) {
  const eventPath = path.join(sb.root, "event.json");
  fs.writeFileSync(eventPath, JSON.stringify({ ref: `refs/heads/${branch}`, after: MERGE_SHA }));
  return {
    GITHUB_WORKFLOW: "CI",
    GITHUB_REPOSITORY: "acme/widgets",
    GITHUB_EVENT_NAME: "push",
    GITHUB_RUN_ID: "42",
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REF: `refs/heads/${branch}`,
    GITHUB_HEAD_REF: "",
    GITHUB_BASE_REF: "",
    GITHUB_SHA: MERGE_SHA,
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("cloud-init: the pre-job script, run", function () {
  let sb: Sandbox;
  beforeEach(function () {
    sb = makeSandbox();
    fs.mkdirSync(sb.metricsDir);
  });
  afterEach(function () {
    fs.rmSync(sb.root, { recursive: true, force: true });
  });

  function runPreJob(
    opts: Parameters<typeof renderPreJobScript>[0],
    env: Record<string, string>,
  ): Promise<RunResult> {
    const file = path.join(sb.runnerDir, "pre-job.sh");
    fs.writeFileSync(file, renderPreJobScript({ metricsDir: sb.metricsDir, ...opts }));
    return runBash(sb, file, env);
  }

  it("writes valid pre-job metrics for a hostile workflow name", async function () {
    const workflow = `He said "hi" \\ $(touch PWNED) \`x\` 'q'\nline two ✓`;
    const before = nowSeconds();
    const res = await runPreJob({}, { ...pullRequestJob(sb, "NONE"), GITHUB_WORKFLOW: workflow });
    assert.equal(res.code, 0, res.stderr);
    const text = sb.readMetrics("pre-job-metrics.json");
    const metrics = JSON.parse(text);
    assert.ok(Number.isInteger(metrics.timestamp));
    assert.ok(metrics.timestamp >= before && metrics.timestamp <= nowSeconds());
    assert.deepEqual(metrics, {
      workflow,
      repository: "acme/widgets",
      event: "pull_request",
      timestamp: metrics.timestamp,
      workflow_run_id: "987654321",
    });
    assert.equal(parsePreJob(text).ok, true);
    assert.equal(fs.existsSync(path.join(sb.root, "PWNED")), false);
    assert.deepEqual(fs.readdirSync(sb.metricsDir), ["pre-job-metrics.json"]);
  });

  it("cuts a long workflow name so that the metrics pull still reads the file", async function () {
    const workflow = `"\\\u0001`.repeat(400);
    const res = await runPreJob({}, { ...pushJob(sb, "main"), GITHUB_WORKFLOW: workflow });
    assert.equal(res.code, 0, res.stderr);
    const text = sb.readMetrics("pre-job-metrics.json");
    assert.ok(
      Buffer.byteLength(text) <= MAX_METRICS_FILE_BYTES,
      `${Buffer.byteLength(text)} bytes`,
    );
    const parsed = parsePreJob(text);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.workflow, workflow.slice(0, 120));
  });

  it("writes the metrics when the job has no event payload", async function () {
    const res = await runPreJob({}, { GITHUB_WORKFLOW: "W", GITHUB_EVENT_NAME: "push" });
    assert.equal(res.code, 0, res.stderr);
    const metrics = JSON.parse(sb.readMetrics("pre-job-metrics.json"));
    assert.equal(metrics.workflow, "W");
    assert.equal(metrics.repository, "");
  });

  it("passes the repo-policy check of a pull request from a fork", async function () {
    const service = await policyService(200, "ok");
    try {
      const res = await runPreJob(
        { repoPolicyCompliance: { url: `${service.url}/`, token: POLICY_TOKEN } },
        pullRequestJob(sb, "NONE"),
      );
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /the repo-policy-compliance check passed/);
      assert.deepEqual(service.requests, [
        {
          method: "POST",
          url: "/check-run",
          authorization: `Bearer ${POLICY_TOKEN}`,
          contentType: "application/json",
          body: {
            repository_name: "acme/widgets",
            source_repository_name: "fork/widgets",
            target_branch_name: "main",
            source_branch_name: "feature",
            commit_sha: HEAD_SHA,
          },
        },
      ]);
      assert.deepEqual(sb.calls(), []);
      assert.equal(fs.existsSync(path.join(sb.metricsDir, "post-job-metrics.json")), false);
      assert.equal(fs.existsSync(path.join(sb.root, "PWNED")), false);
    } finally {
      await service.close();
    }
  });

  it("sends the pushed branch, repository and commit for a push", async function () {
    const service = await policyService(204, "");
    try {
      const res = await runPreJob(
        { repoPolicyCompliance: { url: service.url, token: "t" } },
        pushJob(sb, "release/1.2"),
      );
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(service.requests[0].body, {
        repository_name: "acme/widgets",
        source_repository_name: "acme/widgets",
        target_branch_name: "release/1.2",
        source_branch_name: "release/1.2",
        commit_sha: MERGE_SHA,
      });
    } finally {
      await service.close();
    }
  });

  it("fails the job, records why and powers off when the policy service answers 403", async function () {
    const service = await policyService(403, "fork pull requests need approval");
    try {
      const res = await runPreJob(
        {
          repoPolicyCompliance: { url: service.url, token: "t" },
          preJobScript: `touch '${sb.root}/user-script-ran'`,
        },
        pullRequestJob(sb, "MEMBER"),
      );
      assert.equal(res.code, 1);
      assert.match(
        res.stderr,
        /the repo-policy-compliance check failed: http:\/\/127\.0\.0\.1:\d+\/check-run answered HTTP 403: fork pull requests need approval/,
      );
      const text = sb.readMetrics("post-job-metrics.json");
      const post = JSON.parse(text);
      assert.ok(Number.isInteger(post.timestamp));
      assert.deepEqual(post, {
        timestamp: post.timestamp,
        status: "repo-policy-check-failure",
        status_info: { code: 403 },
      });
      assert.equal(parsePostJob(text).ok, true);
      assert.deepEqual(sb.calls(), [
        "pkill -f Runner.Listener",
        "sudo -n shutdown -h now",
        "shutdown -h now",
      ]);
      assert.equal(JSON.parse(sb.readMetrics("pre-job-metrics.json")).workflow, "CI");
      assert.equal(fs.existsSync(path.join(sb.root, "user-script-ran")), false);
    } finally {
      await service.close();
    }
  });

  it("fails the job and powers off when the policy service cannot be reached", async function () {
    const port = await closedPort();
    const res = await runPreJob(
      { repoPolicyCompliance: { url: `http://127.0.0.1:${port}`, token: "t" } },
      pushJob(sb, "main"),
    );
    assert.equal(res.code, 1);
    assert.match(
      res.stderr,
      /no answer from http:\/\/127\.0\.0\.1:\d+\/check-run \(curl exit status 7\)/,
    );
    assert.deepEqual(JSON.parse(sb.readMetrics("post-job-metrics.json")).status_info, { code: 0 });
    assert.deepEqual(sb.calls(), [
      "pkill -f Runner.Listener",
      "sudo -n shutdown -h now",
      "shutdown -h now",
    ]);
  });

  for (const association of ["OWNER", "MEMBER", "COLLABORATOR"]) {
    it(`lets a pull request by a ${association} run with the author check`, async function () {
      const res = await runPreJob({ authorCheck: true }, pullRequestJob(sb, association));
      assert.equal(res.code, 0, res.stderr);
    });
  }

  for (const association of ["CONTRIBUTOR", "NONE", "FIRST_TIME_CONTRIBUTOR"]) {
    it(`fails a pull request by a ${association} with the author check`, async function () {
      const res = await runPreJob(
        { authorCheck: true, preJobScript: `touch '${sb.root}/user-script-ran'` },
        pullRequestJob(sb, association, { GITHUB_EVENT_NAME: "pull_request_target" }),
      );
      assert.equal(res.code, 1);
      assert.match(
        res.stderr,
        new RegExp(
          "refusing this job: this runner only runs pull requests whose author is an OWNER, " +
            "MEMBER or COLLABORATOR of the repository; the author of this one is " +
            `${association} \\(author_association\\)`,
        ),
      );
      assert.equal(fs.existsSync(path.join(sb.root, "user-script-ran")), false);
      assert.equal(JSON.parse(sb.readMetrics("pre-job-metrics.json")).workflow, "CI");
    });
  }

  it("fails a pull request without a readable event payload with the author check", async function () {
    const env = { ...pullRequestJob(sb, "OWNER"), GITHUB_EVENT_PATH: "/nonexistent/event.json" };
    const res = await runPreJob({ authorCheck: true }, env);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /the author of this one is unknown \(author_association\)/);
  });

  it("lets other events than pull requests run with the author check", async function () {
    const res = await runPreJob({ authorCheck: true }, pushJob(sb, "main"));
    assert.equal(res.code, 0, res.stderr);
  });

  it("runs the user's pre-job script with bash, with the job's variables", async function () {
    const out = path.join(sb.root, "user-script.out");
    const script = `if [[ -n $GITHUB_REPOSITORY ]]; then echo "$0 $GITHUB_REPOSITORY" >'${out}'; fi`;
    const res = await runPreJob({ preJobScript: script }, pushJob(sb, "main"));
    assert.equal(res.code, 0, res.stderr);
    assert.equal(fs.readFileSync(out, "utf8"), "pre-job-script acme/widgets\n");
  });

  it("fails the job when the user's pre-job script fails", async function () {
    const res = await runPreJob({ preJobScript: "echo trying; exit 7" }, pushJob(sb, "main"));
    assert.equal(res.code, 7);
    assert.match(res.stdout, /trying/);
    assert.match(res.stderr, /the pre-job script failed with exit status 7/);
  });
});

describe("cloud-init: the userdata, run", function () {
  const JIT = "SklULUJMT0I=";
  let sb: Sandbox;
  beforeEach(function () {
    sb = makeSandbox();
  });
  afterEach(function () {
    fs.rmSync(sb.root, { recursive: true, force: true });
  });

  function optionsOf(change: Partial<UserDataOptions> = {}): UserDataOptions {
    return {
      runnerName: "ci-0a1b2c3d4e5f",
      registration: { mode: "jit", encodedJitConfig: JIT },
      runnerDir: sb.runnerDir,
      metricsDir: sb.metricsDir,
      dockerDaemonConfigPath: sb.daemonJson,
      ...change,
    };
  }

  function runUserData(opts: UserDataOptions, env: Record<string, string> = {}) {
    const file = path.join(sb.root, "userdata.sh");
    fs.writeFileSync(file, renderUserData(opts));
    return runBash(sb, file, env);
  }

  function postJob() {
    const text = sb.readMetrics("post-job-metrics.json");
    assert.equal(parsePostJob(text).ok, true, text);
    return JSON.parse(text);
  }

  it("boots a JIT runner: hostname, .env, groups, hook, runner as ubuntu, normal end", async function () {
    const before = nowSeconds();
    const opts = optionsOf();
    const res = await runUserData(opts);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(sb.calls(), [
      "hostnamectl set-hostname ci-0a1b2c3d4e5f",
      `chown ubuntu:ubuntu ${sb.runnerDir}/.env`,
      "apt-get update",
      "usermod -aG lxd,adm ubuntu",
      `chown ubuntu:ubuntu ${sb.metricsDir}`,
      `runuser -u ubuntu -- ./run.sh --jitconfig ${JIT}`,
      `run.sh --jitconfig ${JIT}`,
    ]);
    assert.equal(
      fs.readFileSync(path.join(sb.runnerDir, ".env"), "utf8"),
      "PATH=/home/ubuntu/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin\n" +
        "LANG=C.UTF-8\n" +
        `ACTIONS_RUNNER_HOOK_JOB_STARTED=${sb.runnerDir}/pre-job.sh\n`,
    );
    const hook = path.join(sb.runnerDir, "pre-job.sh");
    assert.equal(fs.readFileSync(hook, "utf8"), renderPreJobScript(opts));
    assert.equal(fs.statSync(hook).mode & 0o777, 0o755);
    const installed = Number(sb.readMetrics("runner-installed.timestamp"));
    assert.ok(installed >= before && installed <= nowSeconds());
    const post = postJob();
    assert.deepEqual(post, {
      timestamp: post.timestamp,
      status: "normal",
      status_info: { code: 0 },
    });
    assert.ok(post.timestamp >= installed);
    assert.deepEqual(fs.readdirSync(sb.metricsDir).sort(), [
      "post-job-metrics.json",
      "runner-installed.timestamp",
    ]);
  });

  it("records an abnormal end with the runner's exit status", async function () {
    const res = await runUserData(optionsOf(), { FAKE_RUN_EXIT: "3" });
    assert.equal(res.code, 3);
    assert.match(res.stdout, /the runner exited with status 3/);
    assert.deepEqual(postJob().status_info, { code: 3 });
    assert.equal(postJob().status, "abnormal");
  });

  it("runs the job-started hook named in .env", async function () {
    const res = await runUserData(optionsOf(), { FAKE_JOB: "1", ...pushJob(sb, "main") });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(JSON.parse(sb.readMetrics("pre-job-metrics.json")).workflow_run_id, "42");
    assert.equal(postJob().status, "normal");
  });

  it("keeps the repo-policy-check-failure post-job metrics the hook wrote", async function () {
    const service = await policyService(403, "refused");
    try {
      const opts = optionsOf({ repoPolicyCompliance: { url: service.url, token: "t" } });
      const res = await runUserData(opts, { FAKE_JOB: "1", ...pushJob(sb, "main") });
      assert.equal(res.code, 1);
      assert.match(res.stdout, /keeping the repo-policy-check-failure post-job metrics/);
      const post = postJob();
      assert.equal(post.status, "repo-policy-check-failure");
      assert.deepEqual(post.status_info, { code: 403 });
      assert.deepEqual(sb.calls().slice(-3), [
        "pkill -f Runner.Listener",
        "sudo -n shutdown -h now",
        "shutdown -h now",
      ]);
    } finally {
      await service.close();
    }
  });

  it("sets up the proxy, aproxy, Docker mirror and SSH debug relay", async function () {
    fs.mkdirSync(path.dirname(sb.daemonJson));
    fs.writeFileSync(
      sb.daemonJson,
      JSON.stringify({ "log-driver": "journald", "registry-mirrors": ["https://old.corp"] }),
    );
    const relay = {
      host: "tmate.corp",
      port: 10022,
      rsaFingerprint: `SHA256:${"r".repeat(43)}`,
      ed25519Fingerprint: `SHA256:${"e".repeat(43)}`,
    };
    const res = await runUserData(
      optionsOf({
        proxy: {
          http: "http://proxy.corp:3128",
          noProxy: "10.0.0.0/8",
          aproxyAddress: "proxy.corp:3128",
        },
        dockerhubMirror: "https://mirror.corp",
        sshDebugRelays: [relay],
      }),
    );
    assert.equal(res.code, 0, res.stderr);
    const calls = sb.calls();
    const order = [
      "hostnamectl set-hostname ci-0a1b2c3d4e5f",
      "snap install aproxy --edge",
      "snap set aproxy proxy=proxy.corp:3128 listen=:54969",
      "nft -f -",
      "apt-get update",
      "usermod -aG lxd,adm ubuntu",
      "systemctl restart docker",
      `runuser -u ubuntu -- ./run.sh --jitconfig ${JIT}`,
    ];
    const at = order.map((c) => calls.indexOf(c));
    assert.ok(
      at.every((i, n) => i >= 0 && (n === 0 || i > at[n - 1])),
      calls.join("\n"),
    );
    assert.equal(sb.nftInput(), renderNftRuleset());
    assert.deepEqual(JSON.parse(fs.readFileSync(sb.daemonJson, "utf8")), {
      "log-driver": "journald",
      "registry-mirrors": ["https://mirror.corp"],
    });
    const env = fs.readFileSync(path.join(sb.runnerDir, ".env"), "utf8").split("\n");
    for (const line of [
      "http_proxy=http://proxy.corp:3128",
      "HTTP_PROXY=http://proxy.corp:3128",
      "no_proxy=10.0.0.0/8",
      "NO_PROXY=10.0.0.0/8",
      "DOCKERHUB_MIRROR=https://mirror.corp",
      "CONTAINER_REGISTRY_URL=https://mirror.corp",
      "TMATE_SERVER_HOST=tmate.corp",
      "TMATE_SERVER_PORT=10022",
      `TMATE_SERVER_RSA_FINGERPRINT=SHA256:${"r".repeat(43)}`,
      `TMATE_SERVER_ED25519_FINGERPRINT=SHA256:${"e".repeat(43)}`,
    ]) {
      assert.ok(env.includes(line), `.env lacks ${line}`);
    }
    assert.equal(env.filter((l) => /https_proxy/i.test(l)).length, 0);
  });

  it("writes a new daemon.json when the image has none", async function () {
    const res = await runUserData(optionsOf({ dockerhubMirror: "https://mirror.corp" }));
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(sb.daemonJson, "utf8")), {
      "registry-mirrors": ["https://mirror.corp"],
    });
  });

  it("configures then runs a registration-token runner", async function () {
    const res = await runUserData(
      optionsOf({
        registration: {
          mode: "registration-token",
          url: "https://ghes.corp/acme",
          token: "REG",
          labels: ["a", "b"],
        },
      }),
    );
    assert.equal(res.code, 0, res.stderr);
    const config =
      "./config.sh --url https://ghes.corp/acme --token REG --name ci-0a1b2c3d4e5f --labels a,b " +
      "--ephemeral --unattended --disableupdate";
    assert.deepEqual(sb.calls().slice(-4), [
      `runuser -u ubuntu -- ${config}`,
      config.replace("./", ""),
      "runuser -u ubuntu -- ./run.sh",
      "run.sh ",
    ]);
    assert.equal(postJob().status, "normal");
  });

  it("fails a registration-token runner whose config.sh fails, without running it", async function () {
    const res = await runUserData(
      optionsOf({
        registration: {
          mode: "registration-token",
          url: "https://ghes.corp/acme",
          token: "REG",
          labels: [],
        },
      }),
      { FAKE_CONFIG_EXIT: "5" },
    );
    assert.equal(res.code, 5);
    assert.ok(!sb.calls().some((c) => c.startsWith("run.sh")));
    assert.equal(postJob().status, "abnormal");
    assert.deepEqual(postJob().status_info, { code: 5 });
  });

  it("goes on without package lists when apt-get update fails five times", async function () {
    const res = await runUserData(optionsOf(), { FAIL_APT_GET: "100" });
    assert.equal(res.code, 0, res.stderr);
    const calls = sb.calls();
    assert.equal(calls.filter((c) => c === "apt-get update").length, 5);
    assert.deepEqual(
      calls.filter((c) => c.startsWith("sleep")),
      ["sleep 10", "sleep 20", "sleep 30", "sleep 40"],
    );
    assert.match(res.stdout, /warning: apt-get update failed 5 times; going on without it/);
    assert.equal(postJob().status, "normal");
  });

  it("fails before starting the runner when a setup step fails", async function () {
    const res = await runUserData(optionsOf(), { FAIL_USERMOD: "6" });
    assert.equal(res.code, 6);
    assert.ok(!sb.calls().some((c) => c.startsWith("runuser")));
    assert.equal(fs.existsSync(path.join(sb.metricsDir, "post-job-metrics.json")), false);
  });
});
