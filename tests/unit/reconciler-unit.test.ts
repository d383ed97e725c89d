// The reconciler's systemd unit and environment example (examples/reconciler/): systemd accepts
// the unit, its stop timeout covers the longest `up` the reconciler waits for, and the example
// environment names only settings the reconciler reads.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFAULT_STOP_TIMEOUT_SECONDS, readReconcilerSettings } from "../../reconciler/settings";

const dir = path.join(__dirname, "..", "..", "examples", "reconciler");
const unit = fs.readFileSync(path.join(dir, "runner-fleet-reconciler.service"), "utf8");

describe("the reconciler's systemd unit", function () {
  it("passes systemd-analyze verify, installed where this checkout is", function () {
    const root = path.join(__dirname, "..", "..");
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "unit-"));
    const file = path.join(tmp, "runner-fleet-reconciler.service");
    fs.writeFileSync(file, unit.replaceAll("/opt/runner-fleet", path.resolve(root)));
    try {
      execFileSync("systemd-analyze", ["verify", "--man=no", file], { stdio: "pipe" });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("waits longer on stop than an up in flight may take, and restarts after a program change", function () {
    const timeout = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
    assert.ok(timeout > DEFAULT_STOP_TIMEOUT_SECONDS + 120, `TimeoutStopSec=${timeout}`);
    assert.match(unit, /^KillMode=mixed$/m, "SIGTERM to the reconciler only, not to the CLI");
    assert.match(unit, /^Restart=on-failure$/m, "exit 75 after a program change restarts it");
  });

  it("the example environment holds only settings the reconciler reads; bad ones are named", function () {
    const env = fs.readFileSync(path.join(dir, "reconciler.env"), "utf8");
    const named = [...env.matchAll(/^#? ?(RUNNER_FLEET_RECONCILER_[A-Z_]+)=/gm)].map((m) => m[1]);
    const source = fs.readFileSync(
      path.join(__dirname, "..", "..", "reconciler", "settings.ts"),
      "utf8",
    );
    for (const name of named) {
      assert.ok(source.includes(name.replace("RUNNER_FLEET_RECONCILER_", "")), name);
    }
    const good = {
      RUNNER_FLEET_RECONCILER_CHECKOUT: path.join(__dirname, "..", ".."),
      RUNNER_FLEET_RECONCILER_STACK: "prod",
      RUNNER_FLEET_RECONCILER_WEBHOOK_SECRET: "s",
    };
    assert.equal(readReconcilerSettings(good).host, "127.0.0.1");
    assert.throws(
      () => readReconcilerSettings({ ...good, RUNNER_FLEET_RECONCILER_DEBOUNCE_MS: "soon" }),
      /RUNNER_FLEET_RECONCILER_DEBOUNCE_MS is "soon": use a whole number from 0 to 60000/,
    );
    assert.throws(
      () => readReconcilerSettings({ ...good, RUNNER_FLEET_RECONCILER_WEBHOOK_SECRET: "" }),
      /RUNNER_FLEET_RECONCILER_WEBHOOK_SECRET_FILE \(or RUNNER_FLEET_RECONCILER_WEBHOOK_SECRET\) is not set/,
    );
    assert.throws(
      () => readReconcilerSettings({ RUNNER_FLEET_RECONCILER_CHECKOUT: dir }),
      /RUNNER_FLEET_RECONCILER_CHECKOUT is ".*": it must be a git checkout holding Pulumi.yaml/,
    );
  });
});
