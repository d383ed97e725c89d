// The sandbox's fleet part (run by sandbox/sandbox.sh): a GitHub double and the runner-host
// simulator as background processes, a base image, the `sandbox` stack of the real fleet program
// on a file backend in .sandbox/, and the reconciler beside them, absorbing a burst of jobs the
// first time (sandbox/reconciler-demo.ts). `up` (default) or `down`.
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { fleetProgram } from "../program";
import { cloudEnv, tenantOsEnv } from "../devkit/local-cloud/cloud-env";
import { repoRoot, toolchainEnv } from "../devkit/pulumi/toolchain";
import { runnerTarball } from "../devkit/runner-hosts/build-tarball";
import { burst, startReconciler, stopReconciler } from "./reconciler-demo";
import {
  alive,
  control,
  daemon,
  dir,
  type Double,
  type RunnerSnapshot,
  say,
  waitFor,
} from "./support";

const prefix = "sandbox";
const metricsLog = path.join(dir, "metrics.log");
/** A small ext4 base image with /home/ubuntu, as a cloud image would have, in Glance. */
function ensureBaseImage(env: NodeJS.ProcessEnv): string {
  const name = "rf-sandbox-base";
  const found = execFileSync(
    "openstack",
    ["image", "list", "--name", name, "-f", "value", "-c", "ID"],
    { env },
  )
    .toString()
    .trim();
  if (found) return name;
  const root = path.join(dir, "base-root");
  fs.mkdirSync(path.join(root, "home", "ubuntu"), { recursive: true });
  const raw = path.join(dir, "base.raw");
  execFileSync("truncate", ["-s", "16M", raw]);
  execFileSync("mkfs.ext4", ["-q", "-F", "-d", root, raw]);
  execFileSync(
    "openstack",
    ["image", "create", "--disk-format", "raw", "--container-format", "bare", "--file", raw, name],
    { env, stdio: "ignore" },
  );
  return name;
}

async function sandboxStack(gh: Double): Promise<Stack> {
  const workDir = path.join(dir, "work");
  fs.mkdirSync(workDir, { recursive: true });
  const link = path.join(workDir, "node_modules");
  if (!fs.existsSync(link)) fs.symlinkSync(path.join(repoRoot, "node_modules"), link);
  const passFile = path.join(dir, "passphrase");
  if (!fs.existsSync(passFile))
    fs.writeFileSync(passFile, crypto.randomBytes(24).toString("hex"), { mode: 0o600 });
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  // The inline program runs in this process: it reads the OpenStack credentials from here (the
  // lost-server search), as a program run by the CLI reads them from the CLI's environment.
  Object.assign(process.env, tenantOsEnv());
  return LocalWorkspace.createOrSelectStack(
    { stackName: "sandbox", projectName: "runner-fleet", program: fleetProgram },
    {
      workDir,
      projectSettings: {
        name: "runner-fleet",
        runtime: "nodejs",
        backend: { url: `file://${path.join(dir, "state")}` },
      },
      envVars: {
        ...toolchainEnv(),
        ...tenantOsEnv(),
        PULUMI_CONFIG_PASSPHRASE: fs.readFileSync(passFile, "utf8"),
        // The double has no secondary rate limit to respect.
        RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS: "0",
      },
    },
  ).then(async (stack) => {
    // A sandbox made before pools were sized by the queue has a quantity, which excludes minIdle.
    await stack.removeConfig("runner-fleet:quantity").catch(() => undefined);
    await stack.setAllConfig({
      "runner-fleet:githubPath": { value: "acme/widgets" },
      "runner-fleet:githubApiUrl": { value: gh.url },
      "runner-fleet:githubToken": { value: gh.adminToken, secret: true },
      "runner-fleet:namePrefix": { value: prefix },
      // Sized by the queue: 3 idle runners kept ready, up to 8 for a burst.
      "runner-fleet:minIdle": { value: "3" },
      "runner-fleet:maxRunners": { value: "8" },
      "runner-fleet:flavor": { value: cloudEnv().RUNNER_FLEET_FLAVOR },
      "runner-fleet:network": { value: cloudEnv().RUNNER_FLEET_NETWORK },
      "runner-fleet:imageBuild": {
        value: JSON.stringify({
          baseImage: "rf-sandbox-base",
          runnerVersion: "latest",
          architecture: "x86_64",
          name: "rf-sandbox-runner",
        }),
      },
      "runner-fleet:sshSourceCidr": { value: "10.42.0.0/24" },
      "runner-fleet:labels": { value: '["sandbox"]' },
      "runner-fleet:metricsLogPath": { value: metricsLog },
    });
    return stack;
  });
}

async function up(): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const tarball = path.join(dir, "runner.tar.gz");
  fs.writeFileSync(tarball, runnerTarball());
  const stateFile = path.join(dir, "github.json");
  if (!alive(path.join(dir, "github-double.pid"))) fs.rmSync(stateFile, { force: true });
  daemon("github-double", "devkit/github-double/main.ts", [
    "--port",
    "0",
    "--state-file",
    stateFile,
    "--runner-tarball",
    tarball,
  ]);
  const gh = await waitFor<Double>("the GitHub double", async () =>
    fs.existsSync(stateFile)
      ? (JSON.parse(fs.readFileSync(stateFile, "utf8")) as Double)
      : undefined,
  );
  daemon("runner-hosts", "devkit/runner-hosts/main.ts", [
    "--github-url",
    gh.url,
    "--prefix",
    prefix,
    "--state-dir",
    path.join(dir, "hosts"),
  ]);
  const osEnv = { ...process.env, ...tenantOsEnv() };
  ensureBaseImage(osEnv);

  const stack = await sandboxStack(gh);
  const firstRun = !(await stack.outputs()).runners;
  say("pulumi up (3 idle runners: minIdle 3, maxRunners 8)");
  const result = await stack.up({ onOutput: (out) => process.stdout.write(out) });
  // For sandbox/check.ts: what the first `up` of this run changed.
  fs.writeFileSync(
    path.join(dir, "last-up.json"),
    JSON.stringify({ firstRun, changes: result.summary.resourceChanges }),
  );

  if (firstRun) {
    const runners = await waitFor(
      "3 runners online (the simulated hosts booted them)",
      async () => {
        const list = (await control<RunnerSnapshot[]>(gh, "runners")).filter((r) =>
          r.name.startsWith(`${prefix}-`),
        );
        return list.length === 3 && list.every((r) => r.status === "online") ? list : undefined;
      },
      300_000,
    );
    const target = runners[0].name;
    say(`dispatching one job to ${target}`);
    await control(gh, "dispatchJob", {
      repo: "acme/widgets",
      workflow: "CI",
      event: "push",
      runnerName: target,
      run: "sleep 2; echo built",
    });
    await waitFor(`the job on ${target} to finish`, async () =>
      (await control<RunnerSnapshot[]>(gh, "runners")).some((r) => r.name === target)
        ? undefined
        : true,
    );
    say("pulumi up: replaces the runner whose job finished, pulling its metrics first");
    await stack.up({ onOutput: (out) => process.stdout.write(out) });
    // The events of that runner's life (no secrets in them: names, times, statuses).
    const events = fs.existsSync(metricsLog) ? fs.readFileSync(metricsLog, "utf8").trim() : "";
    say(`metrics log ${metricsLog}:\n${events || "(empty)"}`);
  }
  // The reconciler, beside the double: it deploys the config committed from the work folder.
  const reconciler = await startReconciler(
    gh,
    stack.workspace.workDir,
    fs.readFileSync(path.join(dir, "passphrase"), "utf8"),
  );
  if (firstRun) await burst(gh, reconciler, 5, 3);
  const outputs = await stack.outputs();
  console.log(`
Where to look:
  runners on the GitHub double: curl -s -H "Authorization: Bearer ${gh.adminToken}" ${gh.url}/repos/acme/widgets/actions/runners
  servers on OpenStack:         set -a; . ${path.join(process.env.RUNNER_FLEET_OS_DIR ?? "/var/tmp/runner-fleet-openstack", "cloud.env")}; set +a; openstack server list
  runner names:                 ${(outputs.runnerNames?.value as string[] | undefined)?.join(", ")}
  metrics log:                  ${metricsLog}
  simulated hosts:              .sandbox/hosts/ (userdata.log, shim-calls.log per server)
  the reconciler:               ${reconciler}/healthz, ${reconciler}/metrics; log .sandbox/reconciler.log
  its config in git:            commit in ${stack.workspace.workDir} and push: the next up deploys it
  pause it:                     touch .sandbox/reconciler/paused
  run again: npm run sandbox    (converges without change)     remove: npm run sandbox -- down`);
}

async function down(): Promise<void> {
  const stateFile = path.join(dir, "github.json");
  // First, so that no up of its own runs beside the destroy.
  await stopReconciler();
  if (fs.existsSync(stateFile) && alive(path.join(dir, "github-double.pid"))) {
    const gh = JSON.parse(fs.readFileSync(stateFile, "utf8")) as Double;
    const stack = await sandboxStack(gh);
    await stack.setConfig("runner-fleet:flushBusy", { value: "true" });
    // The program runs so the providers see flushBusy as set now, not as last deployed.
    say("pulumi destroy --run-program");
    await stack.destroy({ runProgram: true, onOutput: (out) => process.stdout.write(out) });
  }
  for (const name of ["runner-hosts", "github-double"]) {
    const pidFile = path.join(dir, `${name}.pid`);
    if (!alive(pidFile)) continue;
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    process.kill(-pid, "SIGTERM");
    await waitFor(`${name} to stop`, async () => (alive(pidFile) ? undefined : true), 60_000);
  }
  const osEnv = { ...process.env, ...tenantOsEnv() };
  try {
    execFileSync("openstack", ["image", "delete", "rf-sandbox-base"], {
      env: osEnv,
      stdio: "ignore",
    });
  } catch {
    // already gone
  }
  fs.rmSync(dir, { recursive: true, force: true });
  say("removed");
}

(process.argv[2] === "down" ? down() : up()).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
