// Process-tree helpers for the kill case: the engine a child process started, and the plugins the
// engine started, found from `/proc` by parent id, so only processes this suite started are
// signalled, each by its id.
import * as fs from "node:fs";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The command line, arguments joined by spaces. */
  cmdline: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may hold spaces: the fields after it are fixed.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    return { pid, ppid, cmdline };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every descendant of `root` now (children first, then theirs). */
export function descendants(root: number): ProcessInfo[] {
  const all = fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readProcess(Number(d)))
    .filter((p): p is ProcessInfo => p !== undefined);
  const out: ProcessInfo[] = [];
  let frontier = [root];
  while (frontier.length > 0) {
    const children = all.filter((p) => frontier.includes(p.ppid));
    out.push(...children);
    frontier = children.map((p) => p.pid);
  }
  return out;
}

/** True while `info.pid` is still that process (not a new one that reused the id). */
export function stillRunning(info: ProcessInfo): boolean {
  const now = readProcess(info.pid);
  return now !== undefined && now.cmdline === info.cmdline;
}

/** SIGKILLs each process of the list that is still the same process. */
export function killEach(list: ProcessInfo[]): number[] {
  const killed: number[] = [];
  for (const p of list) {
    if (!stillRunning(p)) continue;
    try {
      process.kill(p.pid, "SIGKILL");
      killed.push(p.pid);
    } catch {
      // exited meanwhile
    }
  }
  return killed;
}
