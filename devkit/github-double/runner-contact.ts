// When each runner's agent last talked to the double, and what follows its silence: GitHub fails
// the job of a runner that stops renewing it and shows an idle runner that stops polling offline.
// Any agent request is contact, and one still open (a long-poll) is contact for as long as it
// lasts. A runner is watched from its agent's first request while online; one the control API
// drives without an agent is the test's to end and is never lost. Silence is timed in real time,
// like a long-poll's wait: agents renew on real timers, so a test's clock (which may stand still
// or jump hours to expire a token) must not decide it.
import { HttpError } from "./http-errors";
import type { Runner } from "./runners";

/** Short for tests; GitHub waits minutes (see README.md). */
export const defaultLostAfterSeconds = 10;

interface Watch {
  lastContactAt: number;
  openRequests: number;
  timer?: NodeJS.Timeout;
}

export class RunnerContact {
  private readonly watches = new Map<Runner, Watch>();
  private limitMs = defaultLostAfterSeconds * 1000;

  /** `onLost` gets a runner whose agent was silent for `lostAfterSeconds`. */
  constructor(private readonly onLost: (runner: Runner) => void) {}

  /** How long an agent may be silent; agents are told, so they renew well within it. */
  get lostAfterMs(): number {
    return this.limitMs;
  }

  setLostAfterSeconds(seconds: unknown): void {
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0) {
      throw new HttpError(422, "lostAfterSeconds must be a positive number of seconds");
    }
    this.limitMs = seconds * 1000;
    // Silences already under way are judged by the new limit, from their last contact.
    for (const [runner, watch] of this.watches) {
      if (watch.openRequests === 0) this.arm(runner, watch);
    }
  }

  /** An agent request of `runner` begins: it is in contact until the request ends. */
  requestStarted(runner: Runner): void {
    const watch = this.watches.get(runner) ?? { lastContactAt: 0, openRequests: 0 };
    clearTimeout(watch.timer);
    watch.openRequests++;
    watch.lastContactAt = performance.now();
    this.watches.set(runner, watch);
  }

  /** The request ends: the silence of an online runner is timed from now. */
  requestEnded(runner: Runner): void {
    const watch = this.watches.get(runner);
    if (!watch) return;
    watch.openRequests--;
    watch.lastContactAt = performance.now();
    if (watch.openRequests > 0) return;
    // Offline (its session ended, or it was lost before this request): nothing to wait for.
    if (runner.status === "online") this.arm(runner, watch);
    else this.forget(runner);
  }

  /** Stops watching `runner` until its agent talks again (the control API took over). */
  forget(runner: Runner): void {
    const watch = this.watches.get(runner);
    if (!watch) return;
    clearTimeout(watch.timer);
    // An open request still ends through requestEnded, which must find its watch.
    if (watch.openRequests === 0) this.watches.delete(runner);
    else watch.timer = undefined;
  }

  /** Stops every timer; used when the server closes. */
  shutdown(): void {
    for (const watch of this.watches.values()) clearTimeout(watch.timer);
    this.watches.clear();
  }

  private arm(runner: Runner, watch: Watch): void {
    clearTimeout(watch.timer);
    const left = watch.lastContactAt + this.limitMs - performance.now();
    watch.timer = setTimeout(
      () => {
        this.watches.delete(runner);
        this.onLost(runner);
      },
      Math.max(left, 0),
    );
    // A forgotten double must not keep a test process alive.
    watch.timer.unref();
  }
}
