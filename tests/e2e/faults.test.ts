// The fleet under faults, on the real engine, the local OpenStack (Nova behind a fault proxy) and
// the GitHub double (its own faults, behind a recording proxy). Each case injects a fault, runs
// the operation, then, the fault cleared, ONE more `up` must converge: exactly `quantity` ACTIVE
// servers, each with its GitHub runner, no orphaned server, keypair or runner, and no secret in
// the state file or any captured log. Request counts during a fault are bounded: retries, never
// storms. Durations and counts are printed as `[fault]` lines for the record.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { FaultFleet, firstLine } from "../faults/harness";
import { descendants, killEach, ProcessInfo } from "../faults/processes";
import type { UpChildSettings } from "../../devkit/pulumi/up-child";
import { repoRoot } from "../../devkit/pulumi/toolchain";

const QUANTITY = 2;
const JIT_ROUTE = "POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig";
const JIT_PATH = /\/actions\/runners\/generate-jitconfig$/;
const SERVERS_PATH = /^\/v2\.1\/servers$/;
const SERVER_PATH = /^\/v2\.1\/servers\/[0-9a-f-]{36}$/;
/** A loopback address for servers that answer nothing on port 22 (see case 7). */
const SILENT_HOST = "127.77.0.1";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true, or fails after `ms`. */
async function until(what: string, fn: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe("the fleet under faults", function () {
  const fleet = new FaultFleet();
  const gh = () => fleet.gh.control;
  const note = (line: string) => console.log(`      [fault] ${line}`);
  /** Runs an operation that may fail; returns its error's first line, or undefined. */
  const attempt = async (run: () => Promise<unknown>) => {
    try {
      await run();
      return undefined;
    } catch (err) {
      return firstLine((err as Error).message ?? String(err));
    }
  };
  /** The fault cleared, ONE more `up` converges and the audit is clean. */
  const converge = async (label: string, quantity = QUANTITY) => {
    fleet.nova.clear();
    gh().clearFaults();
    await fleet.up(`${label}: converging up`);
    await fleet.assertConverged(quantity);
  };

  before(async function () {
    await fleet.start(QUANTITY);
    await fleet.up("initial up 0 to 2");
    await fleet.assertConverged(QUANTITY);
  });

  after(async function () {
    await fleet.stop();
  });

  it("1. a burst of 3 x 502 on generate-jitconfig: the up retries and succeeds, then converges", async function () {
    fleet.finishAll();
    gh().resetRequestCounts();
    gh().fault({ count: 3, status: 502, route: JIT_ROUTE });
    const error = await attempt(() => fleet.up("5xx burst: up"));
    const counts = gh().requestCounts();
    note(`5xx burst: error=${error ?? "none"} requests=${JSON.stringify(counts.byRoute)}`);
    // 2 registrations: 2 requests, one retry per 502, at most one more per registration.
    assert.ok(counts.byRoute[JIT_ROUTE] <= 2 + 3 + 2, JSON.stringify(counts));
    assert.equal(error, undefined, "the retries absorb a burst of 3");
    await converge("5xx burst");
  });

  for (const status of [429, 403] as const) {
    it(`2. a secondary rate limit (${status}, retry-after 3 s) on the JIT configs: waited, not hammered`, async function () {
      const count = 2;
      const retryAfterSeconds = 3;
      fleet.finishAll();
      gh().resetRequestCounts();
      const since = fleet.ghProxy.log.length;
      // Switched on as the first JIT-config request arrives: it and the next are refused.
      fleet.ghProxy.add({
        name: `secondary limit ${status}`,
        method: "POST",
        path: JIT_PATH,
        count: 1,
        action: {
          kind: "call",
          fn: () => gh().secondaryRateLimit({ count, retryAfterSeconds, status }),
        },
      });
      const started = Date.now();
      await fleet.up(`secondary ${status}: up`);
      const seconds = (Date.now() - started) / 1000;
      const log = fleet.ghProxy.log.slice(since);
      const limited = log.filter((e) => e.status === status);
      const gaps = limited.map((l) => {
        const retry = log.find(
          (e) =>
            e.at > l.at &&
            e.method === l.method &&
            e.path === l.path &&
            e.requestBody === l.requestBody,
        );
        return retry ? (retry.at - l.at) / 1000 : Infinity;
      });
      const counts = gh().requestCounts();
      note(
        `secondary ${status}: ${seconds.toFixed(1)}s, refused=${limited.length}, ` +
          `retried after ${gaps.map((g) => g.toFixed(1)).join(", ")}s, ` +
          `requests=${JSON.stringify(counts.byRoute)}`,
      );
      assert.equal(limited.length, count);
      // Each refused request is sent again once, after retry-after, not before.
      for (const gap of gaps) assert.ok(gap >= retryAfterSeconds - 0.2 && gap < 30, String(gap));
      // Requests made while limited: the refused ones and one retry each.
      assert.equal(counts.byRoute[JIT_ROUTE], QUANTITY + count, JSON.stringify(counts));
      await converge(`secondary ${status}`);
    });
  }

  it("3. 60 s of latency spikes (2 s per GitHub request): every up completes, then converges", async function () {
    const windowMs = 60_000;
    const end = Date.now() + windowMs;
    gh().latency({ ms: 2_000, untilMs: end });
    gh().resetRequestCounts();
    let ups = 0;
    // Ups back to back through the window, each replacing the whole fleet.
    while (Date.now() < end - 20_000) {
      fleet.finishAll();
      await fleet.up(`latency: up ${++ups}`);
    }
    const counts = gh().requestCounts();
    note(`latency: ${ups} ups in the window, requests=${JSON.stringify(counts.byRoute)}`);
    // No request timed out into a retry: one JIT config per new runner.
    assert.equal(counts.byRoute[JIT_ROUTE], ups * QUANTITY, JSON.stringify(counts));
    assert.ok(ups >= 1);
    await converge("latency");
  });

  it("4a. Nova answers 500 to POST /servers twice: the up fails cleanly, the next converges reusing its registrations", async function () {
    fleet.finishAll();
    const registered = new Set(
      gh()
        .runners()
        .map((r) => r.name),
    );
    const since = fleet.nova.log.length;
    const rule = fleet.nova.add({
      name: "POST /servers 500",
      method: "POST",
      path: SERVERS_PATH,
      count: 2,
      action: { kind: "fail", status: 500 },
    });
    const error = await attempt(() => fleet.up("nova POST 500: up"));
    const posts = fleet.nova.log
      .slice(since)
      .filter((e) => e.method === "POST" && SERVERS_PATH.test(e.path));
    note(
      `nova POST 500: injected=${rule.hits}, POST /servers answers=${posts.map((p) => p.status)}, ` +
        `error=${error ?? "none"}`,
    );
    // One request per server: the provider does not retry a 500 on create.
    assert.ok(posts.length <= QUANTITY + 2, `POST /servers: ${posts.length}`);
    // The failed up registered its runners; the state holds them, its outputs do not.
    const madeByFailedUp = gh()
      .runners()
      .map((r) => r.name)
      .filter((name) => !registered.has(name));
    assert.equal(madeByFailedUp.length, QUANTITY, `registrations: ${madeByFailedUp}`);
    gh().resetRequestCounts();
    await converge("nova POST 500");
    // The next up keeps them (they count toward quantity) and makes only their servers.
    const counts = gh().requestCounts();
    note(`nova POST 500: converging up: requests=${JSON.stringify(counts.byRoute)}`);
    assert.equal(counts.byRoute[JIT_ROUTE] ?? 0, 0, "no new registration");
    const servers = (await fleet.leftovers()).servers.map((s) => s.name).sort();
    assert.deepEqual(servers, [...madeByFailedUp].sort());
  });

  it("4b. Nova answers 500 to DELETE /servers/{id}: the up fails cleanly, the next converges", async function () {
    fleet.finishAll();
    const since = fleet.nova.log.length;
    const rule = fleet.nova.add({
      name: "DELETE /servers/{id} 500",
      method: "DELETE",
      path: SERVER_PATH,
      count: 1,
      action: { kind: "fail", status: 500 },
    });
    const error = await attempt(() => fleet.up("nova DELETE 500: up"));
    const deletes = fleet.nova.log
      .slice(since)
      .filter((e) => e.method === "DELETE" && SERVER_PATH.test(e.path));
    note(
      `nova DELETE 500: injected=${rule.hits}, DELETE answers=${deletes.map((p) => p.status)}, ` +
        `error=${error ?? "none"}`,
    );
    assert.ok(deletes.length <= QUANTITY + 2, `DELETE /servers/{id}: ${deletes.length}`);
    await converge("nova DELETE 500");
  });

  it("5. a server in ERROR: the next up --refresh replaces its runner, then converges", async function () {
    const [victim] = (await fleet.leftovers()).servers;
    await fleet.admin.resetState(victim.id, "error");
    const error = await attempt(() => fleet.up("ERROR: up --refresh", { refresh: true }));
    const output = fleet.logs["ERROR: up --refresh/stdout"] ?? "";
    // Nova deletes the server, but the provider's wait for the delete (upstream Terraform
    // provider) takes ERROR for an unexpected state and fails that up: the next one converges.
    const providerWait = /unexpected state 'ERROR', wanted target 'DELETED, SOFT_DELETED'/;
    note(`ERROR: error=${error ?? "none"}, provider wait failed=${providerWait.test(output)}`);
    assert.match(output, /leaves the fleet: its server is in ERROR/);
    assert.ok(error === undefined || providerWait.test(output), error);
    const deadline = Date.now() + 60_000;
    while ((await fleet.admin.status(victim.id)) !== undefined) {
      assert.ok(Date.now() < deadline, "the ERROR server is deleted");
      await sleep(500);
    }
    await converge("ERROR");
    const after = (await fleet.leftovers()).servers;
    assert.ok(!after.some((s) => s.name === victim.name), "its runner was replaced");
  });

  it("6. servers stuck in BUILD: the up gives up after the create timeout, the next converges", async function () {
    fleet.finishAll();
    const created = new Set<string>();
    fleet.nova.add({
      name: "note new servers",
      method: "POST",
      path: SERVERS_PATH,
      action: {
        kind: "rewrite",
        transform: (body) => {
          created.add((body as { server: { id: string } }).server.id);
          return body;
        },
      },
    });
    fleet.nova.add({
      name: "new servers stay in BUILD",
      method: "GET",
      path: SERVER_PATH,
      action: {
        kind: "rewrite",
        transform: (body) => {
          const server = (body as { server?: Record<string, unknown> }).server;
          if (server && created.has(server.id as string)) {
            server.status = "BUILD";
            server["OS-EXT-STS:vm_state"] = "building";
          }
          return body;
        },
      },
    });
    // The program's own create timeout is minutes; the suite shortens it to 20 s.
    const usual = fleet.serverCreateTimeout;
    fleet.serverCreateTimeout = "20s";
    const started = Date.now();
    const error = await attempt(() => fleet.up("BUILD: up"));
    const seconds = (Date.now() - started) / 1000;
    fleet.serverCreateTimeout = usual;
    note(
      `BUILD: ${seconds.toFixed(1)}s, error=${error ?? "none"}, ` +
        `program's timeouts=${JSON.stringify(fleet.programServerTimeouts)}`,
    );
    assert.ok(fleet.programServerTimeouts?.create, "the program bounds the create itself");
    assert.ok(error, "the up fails");
    assert.ok(seconds < 20 + 60, `bounded: ${seconds}s`);
    await converge("BUILD");
  });

  it("8. the engine SIGKILLed while servers are being created: recovery, then converges", async function () {
    fleet.finishAll();
    // Nova creates the servers, but its answers are held: the creates are in flight.
    const hold = fleet.nova.add({
      name: "hold POST /servers answers",
      method: "POST",
      path: SERVERS_PATH,
      action: { kind: "hold" },
    });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "faults-kill-"));
    const settings: UpChildSettings = {
      projectName: "faults",
      stackName: "test",
      workDir: fleet.workspace.workDir,
      backendUrl: `file://${fleet.test.stateDir}`,
      envVars: fleet.workspace.envVars,
      programModule: path.join(repoRoot, "program.ts"),
      programExport: "fleetProgram",
      resultFile: path.join(work, "result.json"),
    };
    fs.writeFileSync(path.join(work, "settings.json"), JSON.stringify(settings), { mode: 0o600 });
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(repoRoot, "devkit", "pulumi", "up-child.ts"),
        path.join(work, "settings.json"),
      ],
      { cwd: repoRoot, env: fleet.cliEnv(), stdio: ["ignore", "pipe", "pipe"] },
    );
    const out: string[] = [];
    const err: string[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b.toString()));
    child.stderr.on("data", (b: Buffer) => err.push(b.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    let tree: ProcessInfo[] = [];
    try {
      await until(`${QUANTITY} creates in flight`, () => hold.held >= QUANTITY, 180_000);
      tree = descendants(child.pid as number);
      const engine = tree.find((p) => /^\S*pulumi up /.test(p.cmdline));
      assert.ok(engine, `the engine among ${tree.map((p) => p.cmdline.slice(0, 60)).join(" | ")}`);
      process.kill(engine.pid, "SIGKILL");
      note(
        `kill: engine ${engine.pid} SIGKILLed ${((Date.now() - started) / 1000).toFixed(1)}s into the up`,
      );
      const code = await Promise.race([exited, sleep(60_000).then(() => "hung")]);
      assert.notEqual(code, "hung", "the child ends once its engine is gone");
      assert.notEqual(code, 0);
    } finally {
      hold.remove();
      // Plugins the engine started outlive it: ended here, each by its id.
      const leftover = killEach(tree);
      note(`kill: ended ${leftover.length} leftover engine children (plugins)`);
      if (child.exitCode === null) child.kill("SIGKILL");
      fleet.logs["killed up/stdout"] = out.join("");
      fleet.logs["killed up/stderr"] = err.join("");
      fs.rmSync(work, { recursive: true, force: true });
    }

    // The situation: Nova has the servers, the state has only pending creates for them.
    const exported = JSON.parse((await fleet.cli("export", ["stack", "export"])).stdout) as {
      deployment: {
        pending_operations?: {
          type: string;
          resource: { urn: string; type: string; inputs: Record<string, unknown> };
        }[];
        resources?: { type: string; id?: string }[];
      };
    };
    const pending = exported.deployment.pending_operations ?? [];
    const servers = (await fleet.leftovers()).servers;
    const tracked = new Set(
      (exported.deployment.resources ?? [])
        .filter((r) => r.type === "openstack:compute/instance:Instance")
        .map((r) => r.id),
    );
    const untracked = servers.filter((s) => !tracked.has(s.id));
    note(
      `kill: pending operations=${pending.map((p) => `${p.type} ${p.resource.urn.split("::").pop()}`)}, ` +
        `servers Nova has and the state does not=${untracked.map((s) => s.name)}`,
    );
    assert.ok(untracked.length >= 1, "the interrupted creates made servers Pulumi lost track of");

    // Recovery 1: the lock of the killed update, if the backend keeps one.
    const cancel = await attempt(() => fleet.test.stack.cancel());
    note(`kill: stack cancel: ${cancel ?? "ok"}`);

    // Recovery 2: a refresh that clears the pending creates. (`--import-pending-creates` would
    // adopt the servers, but CLI 3.274.1 drops the adopted operations in the same refresh.)
    const refresh = await fleet.cli("recovery refresh", [
      "refresh",
      "--yes",
      "--skip-preview",
      "--clear-pending-creates",
    ]);
    note(
      `kill: refresh --clear-pending-creates: exit ${refresh.code} ${firstLine(refresh.stderr)}`,
    );
    assert.equal(refresh.code, 0, refresh.stdout + refresh.stderr);
    const after = JSON.parse((await fleet.cli("export", ["stack", "export"])).stdout) as {
      deployment: { pending_operations?: unknown[]; resources?: { type: string; id?: string }[] };
    };
    assert.deepEqual(after.deployment.pending_operations ?? [], []);

    // The servers of the interrupted creates are exactly those the state does not know.
    const known = new Set((after.deployment.resources ?? []).map((r) => r.id));
    const lost = (await fleet.leftovers()).servers.filter((s) => !known.has(s.id));
    assert.deepEqual(
      lost.map((s) => s.id).sort(),
      untracked.map((s) => s.id).sort(),
      "exactly the servers of the interrupted creates are lost",
    );

    // Recovery 3: one up; it notes the lost servers in Nova (their metadata names the stack)
    // as candidates, while the engine removes what the killed up recorded.
    await fleet.up("kill: first up");
    const candidates = (await fleet.test.stack.outputs()).lostServerCandidates.value as string[];
    assert.deepEqual(
      [...candidates].sort(),
      untracked.map((s) => s.id).sort(),
      "the up notes exactly the lost servers",
    );
    // Recovery 4: the next up (the scheduled reconcile) deletes them, still unknown, and
    // converges.
    await converge("kill");
    const remaining = new Set((await fleet.leftovers()).servers.map((s) => s.id));
    assert.ok(
      untracked.every((s) => !remaining.has(s.id)),
      "the lost servers are deleted",
    );
    const swept = (await fleet.test.stack.outputs()).sweptServers.value as string[];
    assert.deepEqual([...swept].sort(), untracked.map((s) => s.id).sort());
  });

  it("7. SSH unreachable with metrics on: scale down and destroy are not blocked", async function () {
    // A listener that accepts on port 22 and never answers: SSH waits for a banner in vain.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => {
      sockets.push(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(22, SILENT_HOST, resolve));
    const metricsLog = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), "faults-metrics-")),
      "m.log",
    );
    try {
      // Servers created from now on answer at that address in Nova (the fake driver's addresses
      // lead nowhere from this host, and the suite stays on 127.0.0.1).
      fleet.nova.add({
        name: `servers at ${SILENT_HOST}`,
        method: "GET",
        path: SERVER_PATH,
        action: {
          kind: "rewrite",
          transform: (body) => {
            const server = (body as { server?: { addresses?: Record<string, { addr: string }[]> } })
              .server;
            if (!server) return body; // a 404 once the server is gone
            for (const list of Object.values(server.addresses ?? {})) {
              for (const a of list) a.addr = SILENT_HOST;
            }
            return body;
          },
        },
      });
      await fleet.test.stack.setAllConfig({
        "runner-fleet:metricsEnabled": { value: "true" },
        "runner-fleet:metricsLogPath": { value: metricsLog },
      });
      fleet.finishAll();
      await fleet.up("ssh: up with metrics on");
      await fleet.test.stack.setConfig("runner-fleet:quantity", { value: "1" });
      let started = Date.now();
      await fleet.up("ssh: scale down 2 to 1");
      const scaleDown = (Date.now() - started) / 1000;
      const afterScaleDown = sockets.length;
      note(
        `ssh: scale down ${scaleDown.toFixed(1)}s, SSH connections left unanswered=${afterScaleDown}`,
      );
      assert.ok(afterScaleDown >= 1, "the metrics pull tried the server");
      assert.ok(scaleDown < 90, `bounded: ${scaleDown}s`);
      await fleet.up("ssh: converging up");
      await fleet.assertConverged(1);

      started = Date.now();
      await fleet.destroy("ssh: destroy");
      const destroy = (Date.now() - started) / 1000;
      note(
        `ssh: destroy ${destroy.toFixed(1)}s, SSH connections left unanswered=${sockets.length}`,
      );
      assert.ok(sockets.length > afterScaleDown, "the metrics pull tried the last server too");
      assert.ok(destroy < 90, `bounded: ${destroy}s`);
      const events = fs.existsSync(metricsLog) ? fs.readFileSync(metricsLog, "utf8") : "";
      assert.doesNotMatch(events, /"runner_(installed|start|stop)"/, "nothing was read");
      const left = await fleet.leftovers();
      assert.deepEqual(
        [left.servers.length, left.keypairsWithoutServer, left.runnersWithoutServer],
        [0, [], []],
      );
      await fleet.collectSecrets();
      assert.deepEqual(fleet.leaks(), []);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
      fs.rmSync(path.dirname(metricsLog), { recursive: true, force: true });
    }
  });
});
