// CI's check of a sandbox run (`npx tsx sandbox/check.ts [--save | --unchanged | --converged]`):
// 3 servers and 3 runners, a full lifecycle in the metrics log. With --save, also notes what the
// sandbox is made of (servers, runners, daemons, simulated hosts) in .sandbox/check-snapshot.json;
// with --unchanged, that all of it is still there as noted, untouched (CI runs `npm test` in
// between: the tests must leave a running sandbox alone); with --converged, that the last run
// changed nothing.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { OpenStackApi } from "../devkit/local-cloud/openstack-api";
import { repoRoot } from "../devkit/pulumi/toolchain";

const dir = path.join(repoRoot, ".sandbox");
const snapshotFile = path.join(dir, "check-snapshot.json");
const DAEMONS = ["github-double", "runner-hosts", "reconciler"] as const;

/** What the sandbox is made of, as `--save` notes it and `--unchanged` compares it. */
interface Snapshot {
  servers: { id: string; name: string; status: string }[];
  runners: { id: number; name: string; status: string }[];
  /** PID of each daemon, if it runs. */
  daemons: Record<string, number | null>;
  /** Per server: the network namespace of its simulated host, if its folder and it exist. */
  hosts: Record<string, string | null>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function snapshot(): Promise<Snapshot> {
  const gh = JSON.parse(fs.readFileSync(path.join(dir, "github.json"), "utf8")) as {
    url: string;
    adminToken: string;
  };
  const res = await fetch(`${gh.url}/repos/acme/widgets/actions/runners?per_page=100`, {
    headers: { authorization: `Bearer ${gh.adminToken}` },
  });
  const runners = ((await res.json()) as { runners: Snapshot["runners"] }).runners
    .filter((r) => r.name.startsWith("sandbox-"))
    .map(({ id, name, status }) => ({ id, name, status }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const servers = (await (await OpenStackApi.login()).servers())
    .filter((s) => s.metadata["runner-fleet"] === "sandbox")
    .map(({ id, name, status }) => ({ id, name, status }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const daemons: Snapshot["daemons"] = {};
  for (const name of DAEMONS) {
    const file = path.join(dir, `${name}.pid`);
    const pid = fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8")) : NaN;
    daemons[name] = Number.isInteger(pid) && alive(pid) ? pid : null;
  }
  const hosts: Snapshot["hosts"] = {};
  for (const s of servers) {
    try {
      const meta = JSON.parse(
        fs.readFileSync(path.join(dir, "hosts", s.id, "host.json"), "utf8"),
      ) as { namespace: string };
      hosts[s.id] = fs.existsSync(`/run/netns/${meta.namespace}`) ? meta.namespace : null;
    } catch {
      hosts[s.id] = null;
    }
  }
  return { servers, runners, daemons, hosts };
}

async function main(): Promise<void> {
  const now = await snapshot();
  const { servers, runners } = now;
  assert.equal(servers.length, 3, "3 servers");
  assert.equal(runners.length, 3, "3 runners on the GitHub double");
  assert.deepEqual(
    runners.map((r) => r.name),
    servers.map((s) => s.name),
  );
  const events = fs
    .readFileSync(path.join(dir, "metrics.log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event: string });
  for (const e of ["runner_installed", "runner_start", "runner_stop", "reconciliation"]) {
    assert.ok(
      events.some((x) => x.event === e),
      `metrics log has ${e}`,
    );
  }
  if (process.argv.includes("--save")) {
    for (const name of DAEMONS) assert.ok(now.daemons[name], `the ${name} daemon runs`);
    fs.writeFileSync(snapshotFile, `${JSON.stringify(now, null, 2)}\n`);
  }
  if (process.argv.includes("--unchanged")) {
    const saved = JSON.parse(fs.readFileSync(snapshotFile, "utf8")) as Snapshot;
    const ids = (list: { id: string | number }[]) => list.map((x) => x.id);
    assert.deepEqual(now.daemons, saved.daemons, "the same daemons, still running");
    assert.deepEqual(ids(now.servers), ids(saved.servers), "the same servers");
    assert.ok(
      now.servers.every((s) => s.status === "ACTIVE"),
      `the servers are ACTIVE: ${JSON.stringify(now.servers)}`,
    );
    assert.deepEqual(ids(now.runners), ids(saved.runners), "the same runners on the GitHub double");
    // The runner that replaced the one whose job ran may have been booting at --save.
    assert.ok(
      now.runners.every((r) => r.status === "online"),
      `the runners are online: ${JSON.stringify(now.runners)}`,
    );
    for (const s of now.servers) {
      assert.ok(now.hosts[s.id], `the simulated host of ${s.name} and its namespace are there`);
    }
  }
  if (process.argv.includes("--converged")) {
    const last = JSON.parse(fs.readFileSync(path.join(dir, "last-up.json"), "utf8")) as {
      changes: Record<string, number>;
    };
    // "read" is the stack reading its own last outputs, and the image lookup: no change.
    const changed = Object.entries(last.changes).filter(
      ([op, n]) => !["same", "read"].includes(op) && n > 0,
    );
    assert.deepEqual(changed, [], "the second run changed nothing");
  }
  console.log("sandbox check: ok");
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
