// The programs the bench compares, each on its own real-engine stack (Automation API, file
// backend, locally built CLI and plugins, the local OpenStack):
//   - the fleet: `fleetProgram` from program.ts against the GitHub double;
//   - the baseline: a bare program of N `openstack.compute.Instance` + N `openstack.compute.Keypair`
//     with the fleet's flavor, image and network, and nothing else;
//   - the same-spec baseline: N bare servers with the fleet's server spec (a secret userdata of the
//     fleet's size, config drive, the same metadata keys and a security group), no keypair: what
//     Nova and the engine charge for the spec, apart from what our resources cost.
import * as fs from "node:fs";
import * as path from "node:path";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import type { EngineEvent, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { fleetProgram } from "../program";
import {
  cloudEnv,
  StackConfigMap,
  tenantOsEnv,
  testFleetConfig,
} from "../devkit/local-cloud/cloud-env";
import { createTestStack, TestStack } from "../devkit/pulumi/test-stack";
import type { GitHubDouble } from "../devkit/github-double";

export type Kind = "fleet" | "baseline" | "spec";

export interface BenchStack {
  kind: Kind;
  /** Names of everything the stack creates start with it. */
  prefix: string;
  test: TestStack;
  stack: Stack;
  setQuantity(n: number): Promise<void>;
}

/** The bare program: N keypairs and N servers, as close to a runner's server as a bare one gets. */
export function baselineProgram(prefix: string) {
  return async () => {
    const cfg = new pulumi.Config("bench");
    const n = cfg.requireNumber("quantity");
    const serverIds: pulumi.Output<string>[] = [];
    for (let i = 0; i < n; i++) {
      const name = `${prefix}-${i}`;
      const key = new openstack.compute.Keypair(`${name}-key`, { name });
      const server = new openstack.compute.Instance(`${name}-server`, {
        name,
        imageId: cfg.require("imageId"),
        flavorName: cfg.require("flavor"),
        keyPair: key.name,
        networks: [{ name: cfg.require("network") }],
        configDrive: true,
        metadata: { "runner-fleet-bench": prefix },
      });
      serverIds.push(server.id);
    }
    return { serverIds };
  };
}

/**
 * The same-spec baseline: one security group, and N servers each as a fleet runner's server is
 * made (components/runner-server.ts) but bare: a secret userdata of `bench:userDataBytes`, config
 * drive, five metadata keys of the fleet's lengths, the group. No keypair: lean runners have none.
 */
export function specBaselineProgram(prefix: string) {
  return async () => {
    const cfg = new pulumi.Config("bench");
    const n = cfg.requireNumber("quantity");
    const userDataBytes = cfg.requireNumber("userDataBytes");
    const group = new openstack.networking.SecGroup(`${prefix}-group`, {
      name: `${prefix}-runners`,
      description: "bench: the same-spec baseline's group",
    });
    const serverIds: pulumi.Output<string>[] = [];
    for (let i = 0; i < n; i++) {
      const name = `${prefix}-${String(i).padStart(12, "0")}`;
      const userData = `#!/bin/bash\n# ${name}\n`.padEnd(userDataBytes, "#");
      const server = new openstack.compute.Instance(`${name}-server`, {
        name,
        imageId: cfg.require("imageId"),
        flavorName: cfg.require("flavor"),
        networks: [{ name: cfg.require("network") }],
        configDrive: true,
        userData: pulumi.secret(userData),
        securityGroups: [group.name],
        metadata: {
          "runner-fleet": prefix,
          "runner-fleet-stack": `organization/bench-spec/${prefix}#0123456789abcdef`,
          "runner-fleet-pool": "default",
          "github-runner-name": name,
          "github-runner-id": String(100000 + i),
        },
      });
      serverIds.push(server.id);
    }
    return { serverIds };
  };
}

export function createSpecBaselineStack(
  prefix: string,
  userDataBytes: number,
): Promise<BenchStack> {
  return createBareStack(
    "spec",
    specBaselineProgram(prefix),
    specBaselineConfig(cloudEnv(), 0, userDataBytes),
    prefix,
  );
}

export function specBaselineConfig(
  env: Record<string, string>,
  quantity: number,
  userDataBytes: number,
): Record<string, { value: string }> {
  return {
    ...baselineConfig(env, quantity),
    "bench:userDataBytes": { value: String(userDataBytes) },
  };
}

/** Environment of the stacks' engine and plugins. */
function stackEnv(extra: Record<string, string>): Record<string, string> {
  return { ...tenantOsEnv(), ...extra };
}

export async function createFleetStack(
  prefix: string,
  gh: GitHubDouble,
  writeIntervalMs = 0,
): Promise<BenchStack> {
  const test = await createTestStack(
    "bench-fleet",
    fleetProgram,
    stackEnv({ RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS: String(writeIntervalMs) }),
  );
  await test.stack.setAllConfig(fleetConfig(prefix, gh, 0));
  return {
    kind: "fleet",
    prefix,
    test,
    stack: test.stack,
    setQuantity: (n) => test.stack.setConfig("runner-fleet:quantity", { value: String(n) }),
  };
}

/** The fleet's stack config (the e2e suites' test fleet), metrics off. */
export function fleetConfig(
  prefix: string,
  gh: { url: string; adminToken: string },
  quantity: number,
): StackConfigMap {
  return testFleetConfig({
    prefix,
    gh,
    quantity,
    label: "bench",
    extra: { busyWaitSeconds: "30", metricsEnabled: "false" },
  });
}

export function createBaselineStack(prefix: string): Promise<BenchStack> {
  return createBareStack(
    "baseline",
    baselineProgram(prefix),
    baselineConfig(cloudEnv(), 0),
    prefix,
  );
}

/** A stack of a bare program, sized by `bench:quantity`. */
async function createBareStack(
  kind: "baseline" | "spec",
  program: PulumiFn,
  config: Record<string, { value: string }>,
  prefix: string,
): Promise<BenchStack> {
  const test = await createTestStack(`bench-${kind}`, program, stackEnv({}));
  await test.stack.setAllConfig(config);
  return {
    kind,
    prefix,
    test,
    stack: test.stack,
    setQuantity: (n) => test.stack.setConfig("bench:quantity", { value: String(n) }),
  };
}

export function baselineConfig(
  env: Record<string, string>,
  quantity: number,
): Record<string, { value: string }> {
  return {
    "bench:quantity": { value: String(quantity) },
    "bench:imageId": { value: env.RUNNER_FLEET_IMAGE_ID },
    "bench:flavor": { value: env.RUNNER_FLEET_FLAVOR },
    "bench:network": { value: env.RUNNER_FLEET_NETWORK },
  };
}

/** Per resource type and operation: how many steps, how long they took (engine events). */
export interface StepStats {
  type: string;
  op: string;
  count: number;
  meanSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  /** Seconds from the start of the operation to the first step's start / the last step's end. */
  firstStartSeconds: number;
  lastEndSeconds: number;
}

/**
 * Records the engine's step events of one operation, timed on arrival here (the events'
 * own timestamps have a resolution of a second).
 */
export class StepRecorder {
  private readonly started = performance.now();
  private readonly open = new Map<string, { type: string; op: string; at: number }>();
  private readonly done: { type: string; op: string; start: number; end: number }[] = [];
  errors: string[] = [];

  readonly onEvent = (e: EngineEvent): void => {
    const now = (performance.now() - this.started) / 1000;
    const pre = e.resourcePreEvent?.metadata;
    if (pre) this.open.set(pre.urn, { type: pre.type, op: pre.op, at: now });
    const out = e.resOutputsEvent?.metadata ?? e.resOpFailedEvent?.metadata;
    if (out) {
      const begun = this.open.get(out.urn);
      if (begun) {
        this.open.delete(out.urn);
        this.done.push({ type: begun.type, op: begun.op, start: begun.at, end: now });
      }
    }
    const diag = e.diagnosticEvent;
    if (diag && diag.severity === "error") this.errors.push(diag.message.trim());
  };

  stats(): StepStats[] {
    const groups = new Map<string, { type: string; op: string; start: number; end: number }[]>();
    for (const s of this.done) {
      if (s.op === "same" && s.end - s.start < 0.001) continue;
      const key = `${s.type} ${s.op}`;
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    const round = (x: number) => Math.round(x * 100) / 100;
    return [...groups.values()]
      .map((steps) => {
        const d = steps.map((s) => s.end - s.start);
        return {
          type: steps[0].type,
          op: steps[0].op,
          count: steps.length,
          meanSeconds: round(d.reduce((a, b) => a + b, 0) / d.length),
          minSeconds: round(Math.min(...d)),
          maxSeconds: round(Math.max(...d)),
          firstStartSeconds: round(Math.min(...steps.map((s) => s.start))),
          lastEndSeconds: round(Math.max(...steps.map((s) => s.end))),
        };
      })
      .sort((a, b) => a.firstStartSeconds - b.firstStartSeconds);
  }
}

/** Runs `fn` and returns its result with its wall time in seconds. */
export async function wall<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const t0 = performance.now();
  const result = await fn();
  return { result, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Bytes of the stack's checkpoint in its file backend (which the engine rewrites as it goes), and
 * how many of them are dynamic providers' serialized code (`__provider` values).
 */
export function checkpointBytes(test: TestStack): {
  bytes: number;
  providerBytes: number;
  byType: Record<string, { count: number; bytes: number }>;
} {
  const dir = path.join(test.stateDir, ".pulumi", "stacks");
  const out = {
    bytes: 0,
    providerBytes: 0,
    byType: {} as Record<string, { count: number; bytes: number }>,
  };
  const walk = (d: string): void => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".json")) {
        const text = fs.readFileSync(p, "utf8");
        out.bytes += Buffer.byteLength(text);
        for (const m of text.matchAll(/"__provider":\s*"((?:[^"\\]|\\.)*)"/g)) {
          out.providerBytes += m[1].length;
        }
        // Where the bytes go: each resource's JSON (indented as the file backend writes it), by type.
        const checkpoint = JSON.parse(text) as {
          checkpoint?: { latest?: { resources?: { type: string }[] } };
        };
        for (const r of checkpoint.checkpoint?.latest?.resources ?? []) {
          const t = (out.byType[r.type] ??= { count: 0, bytes: 0 });
          t.count++;
          t.bytes += Buffer.byteLength(JSON.stringify(r, null, 4));
        }
      }
    }
  };
  walk(dir);
  return out;
}
