// Small process helpers of the simulator: run a command, wait for a line of a child's output,
// wait for a child to exit.
import { execFile, spawnSync, type ChildProcess } from "node:child_process";

/** A command that failed, with its stderr. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly code: number | null,
  ) {
    super(`${command}: ${stderr.trim() || `exit code ${code}`}`);
  }
}

/** Runs a command (no shell) and resolves with its stdout; rejects with a CommandError. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        maxBuffer: 64 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 120_000,
        env: opts.env,
        cwd: opts.cwd,
      },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === "number" ? err.code : null;
          reject(new CommandError(`${cmd} ${args.join(" ")}`, String(stderr || err.message), code));
        } else {
          resolve(String(stdout));
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs a command (no shell) and resolves with its output and exit code, never rejecting. */
export function runCapture(
  cmd: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
        resolve({
          stdout: String(stdout),
          stderr: String(stderr || (err && !stderr ? err.message : "")),
          code,
        });
      },
    );
  });
}

/** Runs a command synchronously, ignoring failures (for teardown on process exit). */
export function runQuietlySync(cmd: string, args: string[]): boolean {
  const result = spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
  return result.status === 0;
}

/**
 * Resolves with the first line of the child's stdout that starts with `prefix`; rejects when the
 * child exits first or after `timeoutMs`.
 */
export function waitForLine(
  child: ChildProcess,
  prefix: string,
  timeoutMs: number,
  what: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const done = (err: Error | null, line?: string) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      if (err) reject(err);
      else resolve(line ?? "");
    };
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      const line = lines.find((l) => l.startsWith(prefix));
      if (line !== undefined) done(null, line);
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`${what} exited (${signal ?? `code ${code}`}) before it was ready`));
    const timer = setTimeout(
      () => done(new Error(`${what} was not ready within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** Resolves when the child has exited (at once if it already has), or after `timeoutMs`. */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether a process of that pid exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
