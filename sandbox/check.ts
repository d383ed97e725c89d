// CI's check of a sandbox run (`npx tsx sandbox/check.ts [--converged]`): 3 servers and 3 runners,
// a full lifecycle in the metrics log, and with --converged, that the last run changed nothing.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { OpenStackApi } from "../devkit/local-cloud/openstack-api";
import { repoRoot } from "../devkit/pulumi/toolchain";

async function main(): Promise<void> {
  const dir = path.join(repoRoot, ".sandbox");
  const gh = JSON.parse(fs.readFileSync(path.join(dir, "github.json"), "utf8")) as {
    url: string;
    adminToken: string;
  };
  const res = await fetch(`${gh.url}/repos/acme/widgets/actions/runners?per_page=100`, {
    headers: { authorization: `Bearer ${gh.adminToken}` },
  });
  const runners = (
    (await res.json()) as { runners: { name: string; status: string }[] }
  ).runners.filter((r) => r.name.startsWith("sandbox-"));
  const servers = (await (await OpenStackApi.login()).servers()).filter(
    (s) => s.metadata["runner-fleet"] === "sandbox",
  );
  assert.equal(servers.length, 3, "3 servers");
  assert.equal(runners.length, 3, "3 runners on the GitHub double");
  assert.deepEqual(runners.map((r) => r.name).sort(), servers.map((s) => s.name).sort());
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
