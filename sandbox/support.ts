// What the sandbox's parts share: its folder, its log line, its daemons (background processes
// with a PID file and a log in .sandbox/), waiting, and the GitHub double's control API.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../devkit/pulumi/toolchain";

export const dir = path.join(repoRoot, ".sandbox");
export const say = (msg: string) => console.log(`sandbox: ${msg}`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function alive(pidFile: string): boolean {
  if (!fs.existsSync(pidFile)) return false;
  try {
    process.kill(Number(fs.readFileSync(pidFile, "utf8")), 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `node --import tsx script args` detached with its log and PID file in .sandbox/, unless running. */
export function daemon(
  name: string,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): void {
  const pidFile = path.join(dir, `${name}.pid`);
  if (alive(pidFile)) return;
  const log = fs.openSync(path.join(dir, `${name}.log`), "a");
  // Node with tsx's loader rather than the tsx CLI, which kills a child that is slow to report a
  // signal: the reconciler must get SIGTERM itself, and finish its `up`.
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: repoRoot,
    detached: true,
    env,
    stdio: ["ignore", log, log],
  });
  fs.writeFileSync(pidFile, String(child.pid));
  child.unref();
  say(`started ${name} (pid ${child.pid}, log .sandbox/${name}.log)`);
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 120_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`sandbox: timed out waiting for ${what}`);
    await sleep(1000);
  }
}

export interface Double {
  url: string;
  adminToken: string;
}

export async function control<T>(gh: Double, method: string, ...args: unknown[]): Promise<T> {
  const res = await fetch(`${gh.url}/_control/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(args),
  });
  if (!res.ok) throw new Error(`${method}: HTTP ${res.status} ${await res.text()}`);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export interface RunnerSnapshot {
  id: number;
  name: string;
  status: string;
  busy: boolean;
}
