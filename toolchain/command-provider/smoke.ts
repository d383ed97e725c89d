// Smoke test of the stand-in command provider on the real engine (not part of the test suite).
// Usage, from /work/main after `. scripts/env.sh`:
//   npx tsx toolchain/command-provider/smoke.ts /tmp/pulumi-resource-command
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import * as command from "@pulumi/command";

const plugin = path.resolve(process.argv[2] ?? "/tmp/pulumi-resource-command");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "command-smoke-"));
fs.symlinkSync(path.resolve(__dirname, "../../node_modules"), path.join(work, "node_modules"));
const env: Record<string, string> = {
  PULUMI_CONFIG_PASSPHRASE: "x",
  PULUMI_SKIP_UPDATE_CHECK: "true",
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  PULUMI_HOME: path.join(work, "home"),
  PATH: process.env.PATH!,
};
execFileSync("pulumi", ["plugin", "install", "resource", "command", "1.2.1", "--file", plugin], {
  env: { ...process.env, ...env },
  stdio: "inherit",
});

// What the program declares; each step changes it.
const want = { trigger: "1", token: "a", fail: false, secret: false };
const marker = (t: string) => path.join(work, `marker-${t}`);

async function program() {
  const file = new command.local.Command("file", {
    create: `echo "made $T" > marker-$T && echo created`,
    delete: `rm marker-$T && echo "deleted after: $PULUMI_COMMAND_STDOUT" >> deleted.log`,
    dir: work,
    environment: { T: want.trigger },
    triggers: [want.trigger],
  });
  const upd = new command.local.Command("upd", {
    create: `echo "create $TOKEN"`,
    update: `echo "update $TOKEN prev=[$PULUMI_COMMAND_STDOUT]"`,
    environment: { TOKEN: want.secret ? pulumi.secret(want.token) : want.token },
  });
  if (want.fail) {
    new command.local.Command("bad", { create: "echo doomed >&2; exit 3" });
  }
  return { fileOut: file.stdout, fileErr: file.stderr, updOut: upd.stdout };
}

async function main() {
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: "smoke", projectName: "smoke", program },
    {
      workDir: work,
      envVars: env,
      projectSettings: { name: "smoke", runtime: "nodejs", backend: { url: `file://${work}` } },
    },
  );
  // SMOKE_VERBOSE=1 shows the engine output.
  const quiet = {
    onOutput: process.env.SMOKE_VERBOSE ? (s: string) => process.stdout.write(s) : () => {},
  };

  const pv = await stack.preview(quiet);
  console.log("preview:", pv.changeSummary);
  assert.equal(fs.existsSync(marker("1")), false, "preview must not run create");

  let r = await stack.up(quiet);
  console.log("up 1:", r.summary.resourceChanges, JSON.stringify(r.outputs));
  assert.equal(r.outputs.fileOut.value, "created");
  assert.equal(r.outputs.updOut.value, "create a");
  assert.equal(fs.readFileSync(marker("1"), "utf8"), "made 1\n");

  r = await stack.up(quiet);
  console.log("up 2 (no change):", r.summary.resourceChanges);
  assert.deepEqual(r.summary.resourceChanges, { same: 3 });

  want.trigger = "2";
  r = await stack.up(quiet);
  console.log("up 3 (trigger 1 -> 2):", r.summary.resourceChanges);
  assert.equal(r.summary.resourceChanges?.replace, 1);
  assert.equal(fs.existsSync(marker("1")), false, "old marker removed by delete");
  assert.equal(fs.readFileSync(marker("2"), "utf8"), "made 2\n");
  assert.equal(fs.readFileSync(path.join(work, "deleted.log"), "utf8"), "deleted after: created\n");

  want.token = "b";
  want.secret = true;
  r = await stack.up(quiet);
  console.log(
    "up 4 (update command, secret env):",
    r.summary.resourceChanges,
    JSON.stringify(r.outputs.updOut),
  );
  assert.equal(r.summary.resourceChanges?.update, 1);
  assert.equal(r.outputs.updOut.value, "update b prev=[create a]");
  assert.equal(r.outputs.updOut.secret, true);

  want.fail = true;
  const err = await stack.up(quiet).then(
    () => undefined,
    (e: Error) => e,
  );
  const lines = String(err?.message).split("\n");
  const at = lines.findIndex((l) => l.includes("exit code 3"));
  const line = lines[at];
  console.log("up 5 (failing create):\n" + lines.slice(at, at + 3).join("\n"));
  assert.ok(line?.includes("exit code 3"), "failure names the exit code");
  want.fail = false;

  const d = await stack.destroy(quiet);
  console.log("destroy:", d.summary.resourceChanges);
  assert.equal(fs.existsSync(marker("2")), false, "destroy runs delete");
  console.log("smoke OK in", work);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
