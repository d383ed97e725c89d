// The fault suite's fleet: the GitHub double behind a recording proxy, Nova behind a fault proxy
// (`openstack:endpointOverrides` routes the provider's compute calls through it), and one stack
// on the real engine. Every operation's stdout, stderr and engine events are kept for the secret
// audit, and every secret the run ever held (token, JIT configs the double issued, runner and
// host private keys) is collected as it appears.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type { LocalWorkspace } from "@pulumi/pulumi/automation";
import { fleetProgram } from "../../program";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { tenantOsEnv, testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import { createTestStack, stateFileText, TestStack } from "../../devkit/pulumi/test-stack";
import { toolchainEnv } from "../../devkit/pulumi/toolchain";
import { leftovers, LeftoverReport, Secret, secretLeaks, secretsOfDeployment } from "./audit";
import { FaultProxy, startFaultProxy } from "./fault-proxy";
import { NovaAdmin } from "./nova-admin";

const JIT_ROUTE = /\/actions\/runners\/generate-jitconfig$/;

/** What one operation did, for the report. */
export interface OpRecord {
  label: string;
  seconds: number;
  ok: boolean;
  error?: string;
}

export class FaultFleet {
  readonly prefix = `rf-fault-${Date.now().toString(36)}`;
  api!: OpenStackApi;
  admin!: NovaAdmin;
  gh!: GitHubDouble;
  /** In front of the double: records each request's time; keeps JIT-config answers. */
  ghProxy!: FaultProxy;
  /** In front of Nova: injects faults. */
  nova!: FaultProxy;
  test!: TestStack;
  /** Captured output of every operation, by `label/stream`. */
  readonly logs: Record<string, string> = {};
  readonly ops: OpRecord[] = [];
  private readonly secrets = new Map<string, Secret>();
  /**
   * When set, the servers' create timeout, in place of the program's own (through a stack
   * transformation of the suite's program): 3 minutes by default, so a server the shared cloud
   * never schedules fails the suite in minutes; case 6 shortens it to seconds.
   */
  serverCreateTimeout: string | undefined = "3m";
  /** The custom timeouts the program itself gave the last server it declared. */
  programServerTimeouts: pulumi.CustomTimeouts | undefined;

  /** The fleet program, with the servers' create timeout overridable by the test. */
  private readonly program = async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      if (args.type !== "openstack:compute/instance:Instance") return undefined;
      this.programServerTimeouts = args.opts.customTimeouts;
      if (!this.serverCreateTimeout) return undefined;
      return {
        props: args.props,
        opts: pulumi.mergeOptions(args.opts, {
          customTimeouts: { ...args.opts.customTimeouts, create: this.serverCreateTimeout },
        }),
      };
    });
    return fleetProgram();
  };

  async start(quantity: number): Promise<void> {
    this.api = await OpenStackApi.login();
    this.admin = await NovaAdmin.login();
    this.gh = await startGitHubDouble();
    this.ghProxy = await startFaultProxy(this.gh.url, { keepBodies: (p) => JIT_ROUTE.test(p) });
    this.nova = await startFaultProxy(new URL(this.admin.computeUrl).origin);
    this.addSecret("GitHub token", this.gh.adminToken);
    this.test = await createTestStack("faults", this.program, {
      ...tenantOsEnv(),
      RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS: "0",
    });
    await this.test.stack.setAllConfig(
      testFleetConfig({
        prefix: this.prefix,
        gh: { url: this.ghProxy.url, adminToken: this.gh.adminToken },
        quantity,
        label: "faults",
        extra: {
          busyWaitSeconds: "3",
          metricsEnabled: "false",
          "openstack:endpointOverrides": JSON.stringify({ compute: `${this.nova.url}/v2.1/` }),
        },
      }),
    );
  }

  get workspace(): LocalWorkspace {
    return this.test.stack.workspace as LocalWorkspace;
  }

  /** The environment the CLI runs with for this stack (toolchain, passphrase, cloud). */
  cliEnv(): NodeJS.ProcessEnv {
    return { ...process.env, ...toolchainEnv(), ...this.workspace.envVars };
  }

  /** Runs the `pulumi` CLI on this stack in its work folder; output is captured under `label`. */
  cli(label: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        "pulumi",
        [...args, "--stack", "test", "--non-interactive"],
        {
          cwd: this.workspace.workDir,
          env: this.cliEnv(),
          maxBuffer: 64 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          // `stack export --show-secrets` prints secrets by design: kept out of the audited logs.
          if (!args.includes("--show-secrets")) {
            this.logs[`${label}/stdout`] = stdout;
            this.logs[`${label}/stderr`] = stderr;
          }
          const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /**
   * Options that capture an operation's stdout and stderr under `label`. Engine events are not
   * kept: they carry secret values (wrapped, not masked) by Pulumi's design, for the client to
   * render masked; the logs an operator keeps are stdout and stderr.
   */
  capture(label: string) {
    const out: string[] = [];
    const err: string[] = [];
    const flush = () => {
      this.logs[`${label}/stdout`] = out.join("");
      this.logs[`${label}/stderr`] = err.join("");
    };
    return {
      opts: {
        onOutput: (s: string) => out.push(s),
        onError: (s: string) => err.push(s),
      },
      flush,
    };
  }

  /** Runs an operation, timing and capturing it; rethrows its error after recording it. */
  async op<T>(label: string, run: (opts: ReturnType<FaultFleet["capture"]>["opts"]) => Promise<T>) {
    const { opts, flush } = this.capture(label);
    const started = Date.now();
    try {
      const result = await run(opts);
      this.record({ label, seconds: (Date.now() - started) / 1000, ok: true });
      return result;
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      this.logs[`${label}/error`] = message;
      this.record({ label, seconds: (Date.now() - started) / 1000, ok: false, error: message });
      throw err;
    } finally {
      flush();
      await this.collectSecrets();
    }
  }

  private record(op: OpRecord): void {
    this.ops.push(op);
    const outcome = op.ok ? "ok" : `failed: ${firstLine(op.error ?? "")}`;
    console.log(`      [fault] ${op.label}: ${op.seconds.toFixed(1)}s, ${outcome}`);
  }

  up(label: string, extra: { refresh?: boolean } = {}) {
    return this.op(label, (opts) => this.test.stack.up({ ...opts, ...extra }));
  }

  destroy(label: string) {
    return this.op(label, (opts) => this.test.stack.destroy(opts));
  }

  refresh(label: string, extra: { clearPendingCreates?: boolean } = {}) {
    return this.op(label, (opts) => this.test.stack.refresh({ ...opts, ...extra }));
  }

  addSecret(label: string, value: string): void {
    if (value && !this.secrets.has(value)) this.secrets.set(value, { label, value });
  }

  /**
   * Adds the secrets the state holds now (decrypted with `stack export --show-secrets`, never
   * logged) and every JIT config the double handed out (from the recording proxy).
   */
  async collectSecrets(): Promise<void> {
    const exported = await this.cli("export", ["stack", "export", "--show-secrets"]);
    if (exported.code === 0) {
      for (const s of secretsOfDeployment(JSON.parse(exported.stdout)))
        this.addSecret(s.label, s.value);
    }
    for (const entry of this.ghProxy.log) {
      if (!entry.body || !JIT_ROUTE.test(entry.path)) continue;
      try {
        const body = JSON.parse(entry.body) as {
          encoded_jit_config?: string;
          runner?: { name: string };
        };
        if (body.encoded_jit_config) {
          this.addSecret(`JIT config of ${body.runner?.name}`, body.encoded_jit_config);
        }
      } catch {
        // an error answer: no config in it
      }
    }
  }

  secretCount(): number {
    return this.secrets.size;
  }

  /** Where secrets leak: the state file and every captured log. */
  leaks(): string[] {
    return secretLeaks([...this.secrets.values()], {
      ...this.logs,
      "state file": stateFileText(this.test.stateDir),
    });
  }

  leftovers(): Promise<LeftoverReport> {
    return leftovers(this.api, this.gh, this.prefix);
  }

  /**
   * The audit every case ends with: exactly `quantity` ACTIVE fleet servers, each with its GitHub
   * runner, nothing left over on either side, and no secret in the state or any log.
   */
  async assertConverged(quantity: number): Promise<void> {
    await this.collectSecrets();
    const report = await this.leftovers();
    const summary = JSON.stringify({
      servers: report.servers.map((s) => `${s.name}:${s.status}`),
      orphanedServers: report.orphanedServers,
      keypairsWithoutServer: report.keypairsWithoutServer,
      runnersWithoutServer: report.runnersWithoutServer,
    });
    assert.equal(report.servers.length, quantity, summary);
    assert.ok(
      report.servers.every((s) => s.status === "ACTIVE"),
      summary,
    );
    assert.deepEqual(report.orphanedServers, [], summary);
    assert.deepEqual(report.keypairsWithoutServer, [], summary);
    assert.deepEqual(report.runnersWithoutServer, [], summary);
    const names = new Set(report.servers.map((s) => s.name));
    assert.equal(names.size, quantity, `server names are unique: ${summary}`);
    assert.ok(this.secretCount() >= 1 + 2 * quantity, `secrets collected: ${this.secretCount()}`);
    assert.deepEqual(this.leaks(), []);
  }

  /** Fleet runners on GitHub now. */
  runners() {
    return this.gh.control.runners().filter((r) => r.name.startsWith(`${this.prefix}-`));
  }

  /** Ends every runner's job, so the next `up` replaces the whole fleet (creates and deletes). */
  finishAll(): string[] {
    const names = this.runners().map((r) => r.name);
    for (const name of names) {
      this.gh.control.startJob(name);
      this.gh.control.finishJob(name, { exitCode: 0 });
    }
    return names;
  }

  async stop(): Promise<void> {
    // For debugging a failed run: every captured log (already audited to hold no secret).
    const dump = process.env.RUNNER_FLEET_FAULT_LOGS;
    if (dump) fs.writeFileSync(dump, JSON.stringify({ ops: this.ops, logs: this.logs }, null, 1));
    this.nova?.clear();
    if (this.gh) {
      this.gh.control.clearFaults();
      for (const r of this.runners()) if (r.busy) this.gh.control.finishJob(r.id, { exitCode: 0 });
    }
    if (this.test) {
      // Leave nothing behind even when a case failed half-way: a second destroy finishes what a
      // first one could not (a server still deleting, say).
      await this.test.stack.setConfig("runner-fleet:metricsEnabled", { value: "false" });
      for (let i = 0; i < 2; i++) {
        const failed = await this.test.stack.destroy().then(
          () => false,
          () => true,
        );
        if (!failed) break;
      }
    }
    await this.nova?.close();
    await this.ghProxy?.close();
    await this.gh?.close();
    this.test?.cleanup();
  }
}

export function firstLine(s: string): string {
  const lines = s.split("\n").filter((l) => /error|fail/i.test(l));
  return (lines[0] ?? s.split("\n")[0] ?? "").trim().slice(0, 200);
}
