// Trouble a test switches on for the next requests: secondary rate limits, 5xx answers, latency.
import { HttpError } from "./http-errors";
import type { Clock, FaultSettings, LatencySettings, SecondaryRateLimitSettings } from "./types";

interface Fault {
  left: number;
  status: number;
  route?: string;
}

export class TrafficFaults {
  private secondary: { left: number; retryAfterSeconds: number; status: 403 | 429 } | undefined;
  private faults: Fault[] = [];
  private latency: { ms: number; left?: number; untilMs?: number } | undefined;

  constructor(private readonly clock: Clock) {}

  setSecondaryRateLimit(settings: SecondaryRateLimitSettings): void {
    const status = settings.status ?? 403;
    if (status !== 403 && status !== 429)
      throw new HttpError(422, "a secondary rate limit answers 403 or 429");
    this.secondary = {
      left: settings.count ?? 1,
      retryAfterSeconds: settings.retryAfterSeconds ?? 60,
      status,
    };
  }

  /** Queues a fault; several faults apply in the order they were added. */
  addFault(settings: FaultSettings): void {
    const status = settings.status ?? 500;
    if (!(status >= 500 && status <= 599)) throw new HttpError(422, "a fault answers a 5xx status");
    this.faults.push({ left: settings.count ?? 1, status, route: settings.route });
  }

  /** Replaces the latency setting; without `count` or `untilMs` it lasts until cleared. */
  setLatency(settings: LatencySettings): void {
    this.latency = { ms: settings.ms, left: settings.count, untilMs: settings.untilMs };
  }

  clear(): void {
    this.secondary = undefined;
    this.faults = [];
    this.latency = undefined;
  }

  /** The delay for this request, in milliseconds. */
  takeLatency(): number {
    const latency = this.latency;
    if (!latency) return 0;
    if (latency.untilMs !== undefined && this.clock.now() >= latency.untilMs) {
      this.latency = undefined;
      return 0;
    }
    if (latency.left !== undefined && --latency.left <= 0) this.latency = undefined;
    return latency.ms;
  }

  /** The 5xx status this request to `route` must get, if a fault applies. */
  takeFault(route: string): number | undefined {
    const fault = this.faults.find((f) => f.route === undefined || f.route === route);
    if (!fault) return undefined;
    if (--fault.left <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault.status;
  }

  /** The secondary limit refusal this request must get, if one is switched on. */
  takeSecondaryRateLimit(): { status: 403 | 429; retryAfterSeconds: number } | undefined {
    const secondary = this.secondary;
    if (!secondary) return undefined;
    if (--secondary.left <= 0) this.secondary = undefined;
    return { status: secondary.status, retryAfterSeconds: secondary.retryAfterSeconds };
  }
}
