// Runner metrics over SSH against a real OpenSSH server started by the test (as root, on
// 127.0.0.1 at a free port), and the SSH host key provider's keys checked with ssh-keygen and sshd.
import * as assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { appendMetricsEvents } from "../../dynamic-providers/metrics/log";
import { extractRunnerMetrics, MetricsTarget } from "../../dynamic-providers/metrics/pull";
import { sshFingerprint } from "../../dynamic-providers/ssh/keys";
import { generateEd25519OpenSsh, OpenSshKeyPair } from "../../dynamic-providers/ssh/ed25519";
import { SshHostKeyProvider } from "../../dynamic-providers/ssh-host-key";

/** A port nothing listens on (at the moment). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Generates an ed25519 key pair with ssh-keygen; returns the private key's path. */
function keygen(file: string, comment = "runner-fleet-test"): string {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  return file;
}

/** Waits until something accepts TCP connections on the port. */
async function waitForPort(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`sshd exited early: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${port}: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Sshd {
  port: number;
  stop(): Promise<void>;
}

/** Starts `sshd -D -e` with its own config in `dir`, the given host key and authorized keys. */
async function startSshd(dir: string, hostKey: string, authorizedKeys: string): Promise<Sshd> {
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // privilege separation directory
  const port = await freePort();
  const config = path.join(dir, `sshd_config.${port}`);
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, `sshd.${port}.pid`)}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      "StrictModes no",
      "UsePAM no",
      "PermitRootLogin yes",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "MaxStartups 100",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  const proc = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  await waitForPort(port, proc, () => stderr);
  return {
    port,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once("exit", resolve));
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

describe("runner metrics over SSH (real sshd)", function () {
  this.timeout(60_000);
  let tmp: string;
  let sshd: Sshd;
  let clientKey: string;
  let hostPub: string;
  let seq = 0;

  const installStartTs = 1_700_000_000;
  const preJob = {
    workflow: "CI",
    repository: "acme/widgets",
    event: "push",
    timestamp: installStartTs + 160,
    workflow_run_id: "4242",
  };
  const postJob = { timestamp: installStartTs + 400, status: "abnormal", status_info: { code: 7 } };

  /** A fresh metrics directory with the given files (name → content). */
  function metricsDir(files: Record<string, string>, name = `metrics-${++seq}`): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    for (const [name, content] of Object.entries(files)) {
      fs.writeFileSync(path.join(dir, name), content);
    }
    return dir;
  }

  const allFiles = () => ({
    "runner-installed.timestamp": `${installStartTs + 100}\n`,
    "pre-job-metrics.json": JSON.stringify(preJob),
    "post-job-metrics.json": JSON.stringify(postJob),
  });

  /** A target at the test's sshd, as root, with the right client key. */
  function target(extra: Partial<MetricsTarget> = {}): MetricsTarget {
    return {
      host: "127.0.0.1",
      port: sshd.port,
      username: "root",
      privateKey: fs.readFileSync(clientKey, "utf8"),
      flavor: "small",
      installStartTs,
      logPath: path.join(tmp, `logs-${++seq}`, "metrics.log"),
      timeoutMs: 10_000,
      ...extra,
    };
  }

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rf-metrics-"));
    const hostKey = keygen(path.join(tmp, "ssh_host_ed25519_key"), "host");
    hostPub = fs.readFileSync(`${hostKey}.pub`, "utf8");
    clientKey = keygen(path.join(tmp, "client"));
    const authorizedKeys = path.join(tmp, "authorized_keys");
    fs.writeFileSync(authorizedKeys, fs.readFileSync(`${clientKey}.pub`));
    sshd = await startSshd(tmp, hostKey, authorizedKeys);
  });

  after(async function () {
    await sshd?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("emits runner_installed, runner_start and runner_stop with durations, and logs them", async function () {
    // A directory name the remote shell must not interpret.
    const dir = metricsDir(allFiles(), `it's $HOME; \`x\` "${++seq}"`);
    const t = target({ metricsDir: dir, queueDuration: 12 });
    const { events, warnings } = await extractRunnerMetrics(t);
    assert.deepEqual(warnings, []);
    assert.deepEqual(events, [
      {
        timestamp: installStartTs + 100,
        event: "runner_installed",
        flavor: "small",
        duration: 100,
      },
      {
        timestamp: installStartTs + 160,
        event: "runner_start",
        flavor: "small",
        workflow: "CI",
        repo: "acme/widgets",
        github_event: "push",
        idle: 60,
        queue_duration: 12,
      },
      {
        timestamp: installStartTs + 400,
        event: "runner_stop",
        flavor: "small",
        workflow: "CI",
        repo: "acme/widgets",
        github_event: "push",
        status: "abnormal",
        status_info: { code: 7 },
        job_duration: 240,
      },
    ]);
    const lines = fs.readFileSync(t.logPath, "utf8").trimEnd().split("\n");
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      events,
    );
  });

  it("emits nothing and warns of nothing when no file exists", async function () {
    const t = target({ metricsDir: path.join(tmp, "no-such-dir") });
    const { events, warnings } = await extractRunnerMetrics(t);
    assert.deepEqual(events, []);
    assert.deepEqual(warnings, []);
    assert.equal(fs.existsSync(t.logPath), false, "no log file for no events");
  });

  it("refuses a file over 1024 bytes without reading it", async function () {
    const big = JSON.stringify({ ...preJob, workflow: "x".repeat(1900) });
    const dir = metricsDir({ ...allFiles(), "pre-job-metrics.json": big });
    const { events, warnings } = await extractRunnerMetrics(target({ metricsDir: dir }));
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0],
      new RegExp(
        `pre-job-metrics\\.json on 127\\.0\\.0\\.1:\\d+ is ${big.length} bytes, over the 1024-byte limit; not read`,
      ),
    );
    assert.deepEqual(
      events.map((e) => e.event),
      ["runner_installed", "runner_stop"],
    );
    const stop = events[1];
    assert.equal(stop.event, "runner_stop");
    assert.equal(stop.workflow, null);
    assert.equal(stop.job_duration, null);
    assert.ok(fs.existsSync(path.join(dir, "pre-job-metrics.json")), "an oversize file stays");
  });

  it("quarantines a corrupt pre-job file and still emits the other events", async function () {
    const dir = metricsDir({ ...allFiles(), "pre-job-metrics.json": '{"workflow": "CI", ' });
    const { events, warnings } = await extractRunnerMetrics(target({ metricsDir: dir }));
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /pre-job-metrics\.json on .* is corrupt \(not valid JSON/);
    assert.match(warnings[0], /quarantined as .*pre-job-metrics\.json\.quarantined$/);
    assert.equal(fs.existsSync(path.join(dir, "pre-job-metrics.json")), false);
    assert.equal(
      fs.readFileSync(path.join(dir, "pre-job-metrics.json.quarantined"), "utf8"),
      '{"workflow": "CI", ',
    );
    assert.deepEqual(
      events.map((e) => e.event),
      ["runner_installed", "runner_stop"],
    );
  });

  it("quarantines a corrupt installed timestamp; runner_start then has no idle time", async function () {
    const dir = metricsDir({ ...allFiles(), "runner-installed.timestamp": "soon\n" });
    const { events, warnings } = await extractRunnerMetrics(target({ metricsDir: dir }));
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /runner-installed\.timestamp .* is corrupt .*quarantined/);
    assert.ok(fs.existsSync(path.join(dir, "runner-installed.timestamp.quarantined")));
    const start = events.find((e) => e.event === "runner_start");
    assert.ok(start && start.event === "runner_start");
    assert.equal(start.idle, null);
  });

  it("warns of a refused connection, within the timeout, without throwing", async function () {
    const port = await freePort();
    const began = Date.now();
    const t = target({ port, timeoutMs: 5_000 });
    const { events, warnings } = await extractRunnerMetrics(t);
    assert.ok(Date.now() - began < 5_000);
    assert.deepEqual(events, []);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: ECONNREFUSED`),
    );
  });

  it("gives up on a server that never answers when the budget is spent", async function () {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => sockets.push(sock)); // accepts, says nothing
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const began = Date.now();
      const { events, warnings } = await extractRunnerMetrics(target({ port, timeoutMs: 700 }));
      const took = Date.now() - began;
      assert.ok(took >= 600 && took < 3_000, `took ${took}ms`);
      assert.deepEqual(events, []);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /timed out/);
    } finally {
      for (const sock of sockets) sock.destroy();
      silent.close();
    }
  });

  it("warns when the client key is not authorized", async function () {
    const other = keygen(path.join(tmp, "other-client"));
    const privateKey = fs.readFileSync(other, "utf8");
    const dir = metricsDir(allFiles());
    const { events, warnings } = await extractRunnerMetrics(
      target({ privateKey, metricsDir: dir }),
    );
    assert.deepEqual(events, []);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /SSH authentication as root to 127\.0\.0\.1:\d+ failed/);
    assert.ok(!warnings[0].includes("PRIVATE KEY"));
  });

  it("warns of an unusable private key without printing it", async function () {
    const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LXNlY3JldA==\n-----END";
    const { events, warnings } = await extractRunnerMetrics(target({ privateKey }));
    assert.deepEqual(events, []);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /the private key for 127\.0\.0\.1:\d+ cannot be used/);
    assert.ok(!warnings[0].includes("c2VjcmV0"));
  });

  it("refuses a host key other than the pinned one and reads nothing", async function () {
    const stranger = keygen(path.join(tmp, "stranger-host"));
    const dir = metricsDir({ ...allFiles(), "pre-job-metrics.json": "corrupt" });
    const t = target({
      metricsDir: dir,
      hostPublicKey: fs.readFileSync(`${stranger}.pub`, "utf8"),
    });
    const { events, warnings } = await extractRunnerMetrics(t);
    assert.deepEqual(events, []);
    assert.deepEqual(warnings, [
      "host key of 127.0.0.1 does not match the pinned key; nothing was read",
    ]);
    assert.ok(fs.existsSync(path.join(dir, "pre-job-metrics.json")), "nothing was touched");
    assert.equal(fs.existsSync(t.logPath), false);
  });

  it("refuses an unusable pinned host key without connecting", async function () {
    const { events, warnings } = await extractRunnerMetrics(
      target({ metricsDir: metricsDir(allFiles()), hostPublicKey: "ssh-ed25519 AAAAB3NzaC1yc2E=" }),
    );
    assert.deepEqual(events, []);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /pinned host key for 127\.0\.0\.1:\d+ is unusable/);
  });

  it("reads the files when the host key is the pinned one", async function () {
    const { events, warnings } = await extractRunnerMetrics(
      target({ metricsDir: metricsDir(allFiles()), hostPublicKey: hostPub }),
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      events.map((e) => e.event),
      ["runner_installed", "runner_start", "runner_stop"],
    );
  });

  it("appendMetricsEvents appends JSON lines to a new file in a new directory", async function () {
    const logPath = path.join(tmp, "fresh", "nested", "dir", "metrics.log");
    await appendMetricsEvents(logPath, [{ event: "a", timestamp: 1, flavor: "f" }]);
    await appendMetricsEvents(logPath, [
      { event: "b", timestamp: 2, flavor: "f" },
      { event: "c", timestamp: 3, flavor: "f", note: "line\nbreak" },
    ]);
    await appendMetricsEvents(logPath, []);
    const text = fs.readFileSync(logPath, "utf8");
    assert.ok(text.endsWith("\n"));
    const lines = text.trimEnd().split("\n");
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).event),
      ["a", "b", "c"],
    );
  });
});

describe("SshHostKey provider", function () {
  this.timeout(60_000);
  let tmp: string;
  let sshd: Sshd | undefined;

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rf-hostkey-"));
  });
  after(async function () {
    await sshd?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("generates an ed25519 key that ssh-keygen reads, with the same fingerprint", async function () {
    const { id, outs } = await new SshHostKeyProvider().create({ comment: "runner-7 host" });
    assert.match(outs.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ runner-7 host$/);
    assert.match(outs.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n$/);
    assert.match(outs.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(id, outs.fingerprint);
    const pubFile = path.join(tmp, "generated.pub");
    fs.writeFileSync(pubFile, `${outs.publicKey}\n`);
    const printed = execFileSync("ssh-keygen", ["-lf", pubFile], { encoding: "utf8" });
    assert.equal(printed.trim(), `256 ${outs.fingerprint} runner-7 host (ED25519)`);
  });

  /** The public key ssh-keygen derives from a private key (type and base64 only). */
  function derivedPublicKey(privateKey: string, name: string): string {
    const keyFile = path.join(tmp, name);
    fs.writeFileSync(keyFile, privateKey, { mode: 0o600 });
    const out = execFileSync("ssh-keygen", ["-y", "-f", keyFile], { encoding: "utf8" });
    return out.trim().split(/\s+/).slice(0, 2).join(" ");
  }
  const typeAndKey = (line: string) => line.split(" ").slice(0, 2).join(" ");

  it("gives private keys that ssh-keygen derives the same public key from", async function () {
    for (let i = 0; i < 40; i++) {
      const { outs } = await new SshHostKeyProvider().create({ comment: i % 2 ? "" : "c" });
      assert.equal(derivedPublicKey(outs.privateKey, "derive"), typeAndKey(outs.publicKey));
    }
  });

  it("encodes keys whose seed and public key start with zero bytes in full", async function () {
    // ssh2's keygen drops such leading zeros (about one key in 128), which OpenSSH refuses.
    let pair: OpenSshKeyPair | undefined;
    const seed = Buffer.alloc(32, 7);
    seed[0] = 0;
    for (let n = 0; n < 100_000 && !pair; n++) {
      seed.writeUInt32BE(n, 1);
      const candidate = await generateEd25519OpenSsh("zeros", seed);
      if (candidate.publicBlob[4 + 11 + 4] === 0) pair = candidate; // first byte of the key
    }
    assert.ok(pair, "found a seed whose public key starts with a zero byte");
    assert.equal(pair.publicBlob.length, 51);
    assert.equal(derivedPublicKey(pair.privateKey, "zeros"), typeAndKey(pair.publicKey));
    const pubFile = path.join(tmp, "zeros.pub");
    fs.writeFileSync(pubFile, `${pair.publicKey}\n`);
    const printed = execFileSync("ssh-keygen", ["-lf", pubFile], { encoding: "utf8" });
    assert.equal(printed.trim(), `256 ${await sshFingerprint(pair.publicBlob)} zeros (ED25519)`);
  });

  it("works as sshd's HostKey, and pinning its public key then succeeds", async function () {
    const { outs } = await new SshHostKeyProvider().create({ comment: "pinned" });
    const hostKey = path.join(tmp, "ssh_host_ed25519_key");
    fs.writeFileSync(hostKey, outs.privateKey, { mode: 0o600 });
    const clientKey = keygen(path.join(tmp, "client"));
    const authorizedKeys = path.join(tmp, "authorized_keys");
    fs.writeFileSync(authorizedKeys, fs.readFileSync(`${clientKey}.pub`));
    sshd = await startSshd(tmp, hostKey, authorizedKeys);
    const dir = path.join(tmp, "metrics");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "runner-installed.timestamp"), "1700000030");
    const base: MetricsTarget = {
      host: "127.0.0.1",
      port: sshd.port,
      username: "root",
      privateKey: fs.readFileSync(clientKey, "utf8"),
      metricsDir: dir,
      flavor: "large",
      installStartTs: 1_700_000_000,
      logPath: path.join(tmp, "log", "metrics.log"),
    };
    const good = await extractRunnerMetrics({ ...base, hostPublicKey: outs.publicKey });
    assert.deepEqual(good.warnings, []);
    assert.deepEqual(good.events, [
      { timestamp: 1_700_000_030, event: "runner_installed", flavor: "large", duration: 30 },
    ]);
    const other = await new SshHostKeyProvider().create({ comment: "pinned" });
    const bad = await extractRunnerMetrics({ ...base, hostPublicKey: other.outs.publicKey });
    assert.deepEqual(bad.events, []);
    assert.match(bad.warnings.join("\n"), /does not match the pinned key/);
  });

  it("replaces the key when the comment changes, and only then", async function () {
    const provider = new SshHostKeyProvider();
    const { id, outs } = await provider.create({ comment: "a" });
    assert.deepEqual(await provider.diff(id, outs, { comment: "a" }), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    assert.deepEqual(await provider.diff(id, outs, { comment: "b" }), {
      changes: true,
      replaces: ["comment"],
      deleteBeforeReplace: false,
    });
  });

  it("check rejects a multi-line comment", async function () {
    const { failures } = await new SshHostKeyProvider().check({}, { comment: "a\nb" });
    assert.equal(failures.length, 1);
    assert.equal(failures[0].property, "comment");
  });
});
