// Peak memory of a process tree, from /proc: every `intervalMs` the descendants of a root process
// are found (by parent pid) and their VmHWM (peak resident set) and VmRSS are read. VmHWM only
// grows, so the last reading of a process is its peak up to that moment.
import * as fs from "node:fs";

/** What a process of the tree is, from its command line. */
export type ProcessRole =
  | "engine" // the pulumi CLI running the operation (preview, up, refresh, destroy)
  | "openstack-provider" // pulumi-resource-openstack
  | "command-provider" // pulumi-resource-command
  | "dynamic-provider" // node running @pulumi/pulumi/cmd/dynamic-provider
  | "other"; // other pulumi commands (version, config), shells, tsx's esbuild, launchers

export interface ProcessPeak {
  pid: number;
  role: ProcessRole;
  command: string;
  /** Peak resident set (VmHWM) in KiB at the last reading. */
  hwmKiB: number;
}

export function roleOf(argv: string[]): ProcessRole {
  const exe = argv[0]?.split("/").pop() ?? "";
  const line = argv.join(" ");
  if (exe === "pulumi") {
    return ["preview", "up", "refresh", "destroy"].includes(argv[1] ?? "") ? "engine" : "other";
  }
  if (exe === "pulumi-resource-openstack") return "openstack-provider";
  if (exe === "pulumi-resource-command") return "command-provider";
  // Not `node -e "require.resolve(...dynamic-provider)"`, the launcher script's look-up.
  if (/node$/.test(exe) && argv[1] !== "-e" && line.includes("dynamic-provider")) {
    return "dynamic-provider";
  }
  return "other";
}

/**
 * The command line as the results may show it. `pulumi config set-all --secret key=value`, run by
 * the Automation API, carries secrets in its arguments: only the subcommand is kept.
 */
export function describeCommand(argv: string[]): string {
  const exe = argv[0]?.split("/").pop() ?? "";
  if (exe === "pulumi" && argv[1] === "config") {
    return `${argv.slice(0, 3).join(" ")} (arguments not recorded: they may hold secrets)`;
  }
  return argv.join(" ").slice(0, 160);
}

function readStatus(pid: number): { ppid: number; hwm: number; rss: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1]);
    return { ppid: field("PPid"), hwm: field("VmHWM") || 0, rss: field("VmRSS") || 0 };
  } catch {
    return undefined; // exited between listing and reading
  }
}

function readArgv(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** Polls the tree under `rootPid` (not the root itself) until `stop()`. */
export class TreeMemorySampler {
  private readonly peaks = new Map<number, ProcessPeak>();
  private timer: NodeJS.Timeout | undefined;
  /** Largest sum of VmRSS over the tree's providers seen in one sample, KiB. */
  peakConcurrentProvidersKiB = 0;
  samples = 0;

  constructor(
    private readonly rootPid: number,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): ProcessPeak[] {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return [...this.peaks.values()];
  }

  private sample(): void {
    const parents = new Map<number, number>();
    const status = new Map<number, { hwm: number; rss: number }>();
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const s = readStatus(Number(entry));
      if (!s) continue;
      parents.set(Number(entry), s.ppid);
      status.set(Number(entry), s);
    }
    const inTree = (pid: number): boolean => {
      for (let p = parents.get(pid), hops = 0; p !== undefined && hops < 64; hops++) {
        if (p === this.rootPid) return true;
        p = parents.get(p);
      }
      return false;
    };
    let providersRss = 0;
    for (const [pid, s] of status) {
      if (!inTree(pid)) continue;
      let peak = this.peaks.get(pid);
      if (!peak) {
        const argv = readArgv(pid);
        peak = { pid, role: roleOf(argv), command: describeCommand(argv), hwmKiB: 0 };
        this.peaks.set(pid, peak);
      }
      peak.hwmKiB = Math.max(peak.hwmKiB, s.hwm);
      if (peak.role.endsWith("provider")) providersRss += s.rss;
    }
    this.peakConcurrentProvidersKiB = Math.max(this.peakConcurrentProvidersKiB, providersRss);
    this.samples++;
  }
}

/** Sum of the peaks of each role, in MiB. */
export function peaksByRole(peaks: ProcessPeak[]): Record<ProcessRole, number> {
  const out: Record<ProcessRole, number> = {
    engine: 0,
    "openstack-provider": 0,
    "command-provider": 0,
    "dynamic-provider": 0,
    other: 0,
  };
  for (const p of peaks) out[p.role] += p.hwmKiB / 1024;
  return out;
}
