// The reconciler as tests, the bench and the sandbox run it: `npm run reconciler`'s entry point as
// a child process, with a config repository (a bare git repo that plays the GitOps repository's
// main branch, and the checkout the reconciler fast-forwards), its output kept line by line.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ReconcilerHealth } from "../../reconciler/health";
import { repoRoot, toolchainEnv } from "./toolchain";

/** Runs git in `dir`, quietly, as a test author who commits config. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync("git", ["-C", dir, ...args], {
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "runner-fleet tests",
      GIT_AUTHOR_EMAIL: "tests@runner-fleet.invalid",
      GIT_COMMITTER_NAME: "runner-fleet tests",
      GIT_COMMITTER_EMAIL: "tests@runner-fleet.invalid",
    },
  })
    .toString()
    .trim();
}

/**
 * Makes `opsDir` (a stack's work folder, holding Pulumi.yaml and Pulumi.<stack>.yaml) a clone of
 * a new bare repository `<base>/config.git` with its config committed on main, and returns a
 * second clone for the reconciler, whose engine loads the packages through its node_modules.
 */
export function configRepository(base: string, opsDir: string): { bare: string; checkout: string } {
  const bare = path.join(base, "config.git");
  const checkout = path.join(base, "checkout");
  // Made once: a later call (the sandbox run again) commits what changed.
  if (fs.existsSync(bare)) {
    commitConfig(opsDir, "the fleet's stack config");
    return { bare, checkout };
  }
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", bare]);
  git(opsDir, "init", "--quiet", "--initial-branch=main");
  fs.writeFileSync(path.join(opsDir, ".gitignore"), "node_modules\n");
  git(opsDir, "remote", "add", "origin", bare);
  commitConfig(opsDir, "the fleet's stack config");
  execFileSync("git", ["clone", "--quiet", bare, checkout]);
  fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(checkout, "node_modules"));
  return { bare, checkout };
}

/** Commits the config files of `opsDir`, if changed, and pushes them to main, as a merged pull request. */
export function commitConfig(opsDir: string, message: string): string {
  git(opsDir, "add", "-A");
  if (!hasCommits(opsDir) || git(opsDir, "status", "--porcelain") !== "") {
    git(opsDir, "commit", "--quiet", "-m", message);
  }
  git(opsDir, "push", "--quiet", "origin", "main");
  return git(opsDir, "rev-parse", "HEAD");
}

function hasCommits(dir: string): boolean {
  try {
    git(dir, "rev-parse", "--verify", "--quiet", "HEAD");
    return true;
  } catch {
    return false;
  }
}

/** The reconciler's /healthz at `url`. */
export async function reconcilerHealth(url: string): Promise<ReconcilerHealth> {
  return (await (await fetch(`${url}/healthz`)).json()) as ReconcilerHealth;
}

export interface ReconcilerLine {
  at: number;
  text: string;
}

export class ReconcilerProcess {
  readonly lines: ReconcilerLine[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  url?: string;

  /** Starts it; `env` holds its settings (RUNNER_FLEET_RECONCILER_*) and the stack's secrets. */
  constructor(env: Record<string, string>, logFile?: string) {
    // Node itself with tsx's loader, not the tsx CLI: the CLI hands a signal on and kills its
    // child if the child does not report it within 30 ms, which a busy reconciler may not.
    this.child = spawn(process.execPath, ["--import", "tsx", "reconciler/main.ts"], {
      cwd: repoRoot,
      env: { ...process.env, ...toolchainEnv(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log = logFile ? fs.openSync(logFile, "a") : undefined;
    let partial = "";
    const take = (chunk: Buffer) => {
      if (log !== undefined) fs.writeSync(log, chunk);
      const text = partial + chunk.toString("utf8");
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) this.lines.push({ at: Date.now(), text: line });
    };
    this.child.stdout?.on("data", take);
    this.child.stderr?.on("data", take);
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Waits for a line matching `pattern` after line `from`; returns it and its index. */
  async waitFor(
    pattern: RegExp,
    ms = 180_000,
    from = 0,
  ): Promise<{ line: ReconcilerLine; index: number }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const index = this.lines.findIndex((l, i) => i >= from && pattern.test(l.text));
      if (index >= 0) return { line: this.lines[index], index };
      if (this.child.exitCode !== null) {
        throw new Error(`the reconciler exited (${this.child.exitCode}): ${this.tail()}`);
      }
      if (Date.now() > deadline) throw new Error(`no line ${pattern} in: ${this.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async started(): Promise<string> {
    const { line } = await this.waitFor(/listening on (http:\/\/\S+)/, 60_000);
    this.url = /listening on (http:\/\/\S+)/.exec(line.text)?.[1];
    return this.url as string;
  }

  /** The lines matching `pattern`. */
  matching(pattern: RegExp): ReconcilerLine[] {
    return this.lines.filter((l) => pattern.test(l.text));
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.url}/metrics`)).text();
  }

  /** One sample's value from /metrics (0 when absent). */
  async metric(name: string, labels = ""): Promise<number> {
    const line = (await this.metrics())
      .split("\n")
      .find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
    return line ? Number(line.split(" ").pop()) : 0;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  exit(): Promise<number | null> {
    return this.exited;
  }

  /** Stops it as systemd does (SIGTERM) and returns its exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }

  tail(n = 30): string {
    return this.lines
      .slice(-n)
      .map((l) => l.text)
      .join("\n");
  }
}
