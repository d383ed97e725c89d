// When the reconciler runs an `up`: soon after a trigger (a change of the job queue, a runner
// consumed), at most `debounceMs` after the first one so a burst of webhooks makes one `up`, and
// periodically with `--refresh`. Never two at once: triggers that arrive during an `up` coalesce
// into one follow-up. A stack locked by another `up` (a pipeline's) is retried shortly; a failed
// `up` later. Paused, it acts on nothing and keeps what it was asked to do for when it resumes.

export type UpKind = "demand" | "refresh";
export type UpOutcome = "succeeded" | "failed" | "locked" | "cancelled";

export interface TriggerLoopOptions {
  debounceMs: number;
  refreshMs: number;
  lockRetryMs: number;
  failureRetryMs: number;
  /** How often a paused loop looks whether it was resumed. */
  pausePollMs?: number;
  paused: () => boolean;
  /** Runs one `up`; `reasons` are the triggers it answers. Never throws. */
  run: (kind: UpKind, reasons: string[]) => Promise<UpOutcome>;
  log: (line: string) => void;
}

export class TriggerLoop {
  private readonly reasons = new Set<string>();
  private refreshDue = false;
  private timer?: NodeJS.Timeout;
  private refreshTimer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly opts: TriggerLoopOptions) {}

  /** Starts the periodic refresh, the first one now: the fleet is reconciled at start. */
  start(): void {
    this.refreshTimer = setInterval(() => this.requestRefresh(), this.opts.refreshMs);
    this.requestRefresh();
  }

  /** Asks for an `up` soon; `reason` says why, for the log. */
  trigger(reason: string): void {
    if (this.stopped) return;
    this.reasons.add(reason);
    this.schedule(this.opts.debounceMs);
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Whether an `up` was asked for and has not started yet. */
  get pending(): boolean {
    return this.reasons.size > 0 || this.refreshDue;
  }

  /** No more `up`s; resolves when the one in flight (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.refreshTimer);
    clearTimeout(this.timer);
    await this.running;
  }

  private requestRefresh(): void {
    if (this.stopped) return;
    this.refreshDue = true;
    this.schedule(0);
  }

  /** Sets the timer unless one is set already (the first trigger's window holds) or an `up` runs. */
  private schedule(ms: number): void {
    if (this.stopped || this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.fire();
    }, ms);
  }

  private async fire(): Promise<void> {
    if (this.stopped || this.running) return;
    if (this.reasons.size === 0 && !this.refreshDue) return;
    if (this.opts.paused()) {
      this.retryAfter(this.opts.pausePollMs ?? 2000);
      return;
    }
    const kind: UpKind = this.refreshDue ? "refresh" : "demand";
    const reasons = [...this.reasons, ...(this.refreshDue ? ["periodic refresh"] : [])];
    this.reasons.clear();
    this.refreshDue = false;
    let done!: () => void;
    this.running = new Promise<void>((resolve) => (done = resolve));
    let outcome: UpOutcome;
    try {
      outcome = await this.opts.run(kind, reasons);
    } catch (err) {
      this.opts.log(`up failed: ${(err as Error).message}`);
      outcome = "failed";
    }
    this.running = undefined;
    done();
    if (outcome === "locked" || outcome === "failed") {
      // Nothing asked for is lost: the reasons go back, the refresh too if this was one.
      reasons.filter((r) => r !== "periodic refresh").forEach((r) => this.reasons.add(r));
      if (kind === "refresh") this.refreshDue = true;
      const ms = outcome === "locked" ? this.opts.lockRetryMs : this.opts.failureRetryMs;
      this.opts.log(`${outcome === "locked" ? "stack locked" : "up failed"}: again in ${ms} ms`);
      this.retryAfter(ms);
      return;
    }
    // What arrived during the `up` has waited already: one follow-up, now.
    if (this.reasons.size > 0 || this.refreshDue) this.schedule(0);
  }

  private retryAfter(ms: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule(ms);
  }
}
