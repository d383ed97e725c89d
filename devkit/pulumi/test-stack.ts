import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { repoRoot, toolchainEnv } from "./toolchain";

/** A stack on the real engine with its own `file://` backend and passphrase in a temp folder. */
export interface TestStack {
  stack: Stack;
  /** The folder holding the file backend's state. */
  stateDir: string;
  /**
   * The stack's work folder, where the engine starts the dynamic providers; its `node_modules`
   * links the checkout whose packages (and `@runner-fleet/dynamic-providers`) they load.
   */
  workDir: string;
  /** The `file://` URL of the stack's backend. */
  backendUrl: string;
  /** Removes the stack's folders; the caller destroys resources first. */
  cleanup(): void;
}

/** Options of `createTestStack`; every one has a default that suits a test of this checkout. */
export interface TestStackOptions {
  /**
   * The node_modules folder the work folder links, by default the repository's. Another
   * checkout's makes the dynamic providers run that checkout's code (see previous-code.ts).
   */
  nodeModules?: string;
}

/**
 * Creates a stack that runs `program` in this process through the Automation API (the engine
 * calls back into it), with the locally built CLI and plugins and no network downloads.
 *
 * The work folder links the repository's node_modules (or `options.nodeModules`), because the
 * engine starts dynamic providers there and they load their packages from it.
 */
export async function createTestStack(
  projectName: string,
  program: PulumiFn,
  env: Record<string, string> = {},
  options: TestStackOptions = {},
): Promise<TestStack> {
  // The inline program runs in this process, not under the CLI: like a user's program, it sees
  // the OpenStack credentials the CLI and its plugins get (for the lost-server search).
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith("OS_")) process.env[key] = value;
  }
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `${projectName}-`));
  const stateDir = path.join(base, "state");
  const workDir = path.join(base, "work");
  fs.mkdirSync(stateDir);
  fs.mkdirSync(workDir);
  linkNodeModules(workDir, options.nodeModules ?? path.join(repoRoot, "node_modules"));
  const backendUrl = `file://${stateDir}`;
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: "test", projectName, program },
    {
      workDir,
      projectSettings: {
        name: projectName,
        runtime: "nodejs",
        backend: { url: backendUrl },
      },
      envVars: {
        ...toolchainEnv(),
        PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(16).toString("hex"),
        ...env,
      },
    },
  );
  return {
    stack,
    stateDir,
    workDir,
    backendUrl,
    cleanup: () => fs.rmSync(base, { recursive: true, force: true }),
  };
}

/**
 * Points `<workDir>/node_modules` at `target`, replacing the link in one rename, so a dynamic
 * provider process never sees the folder without one. The engine starts a new dynamic provider
 * process for each operation, so the next operation loads the packages of `target`.
 */
export function linkNodeModules(workDir: string, target: string): void {
  const link = path.join(workDir, "node_modules");
  const temporary = `${link}.${process.pid}.tmp`;
  fs.rmSync(temporary, { force: true });
  fs.symlinkSync(target, temporary);
  fs.renameSync(temporary, link);
}

/** The checkpoint file of a stack in a file backend, for secret-leak audits. */
export function stateFileText(stateDir: string): string {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith(".json")) files.push(p);
    }
  };
  walk(stateDir);
  return files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
}
