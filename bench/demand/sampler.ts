// What the demand bench watches while a trace runs, once a second, from the GitHub double's
// control API (in-process calls, so they cost no GitHub requests): the fleet's runners (idle,
// busy, booting) and the jobs still queued (from the double's `workflow_job` deliveries).
import type { GitHubDouble } from "../../devkit/github-double";

export interface Sample {
  /** Seconds since the trace's start. */
  t: number;
  runners: number;
  idle: number;
  busy: number;
  queued: number;
}

export class FleetSampler {
  readonly samples: Sample[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly gh: GitHubDouble,
    private readonly prefix: string,
    private readonly jobIds: () => number[],
    private readonly t0: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 1000);
    this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Runner-minutes spent online and idle between the trace's start and `untilS`. */
  idleRunnerMinutes(untilS: number): number {
    return this.samples.filter((s) => s.t <= untilS).reduce((sum, s) => sum + s.idle, 0) / 60;
  }

  private sample(): void {
    const runners = this.gh.control.runners().filter((r) => r.name.startsWith(`${this.prefix}-`));
    const taken = new Set(
      this.gh.control
        .webhookDeliveries()
        .filter((d) => d.action !== "queued")
        .map((d) => d.jobId),
    );
    this.samples.push({
      t: (Date.now() - this.t0) / 1000,
      runners: runners.length,
      idle: runners.filter((r) => r.status === "online" && !r.busy).length,
      busy: runners.filter((r) => r.busy).length,
      queued: this.jobIds().filter((id) => !taken.has(id)).length,
    });
  }
}
