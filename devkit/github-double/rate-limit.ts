// The primary (hourly) rate limit: one budget for all callers of the double. Every REST request
// that gets past authentication spends one unit; when none is left, requests are refused until
// the reset time of the double's clock, and the budget then refills for a new hour.
import { hourMs } from "./clock";
import type { Clock, RateLimitSettings } from "./types";

export class PrimaryRateLimit {
  private limit = 5000;
  private remaining = 5000;
  private resetAt: number;

  constructor(private readonly clock: Clock) {
    this.resetAt = clock.now() + hourMs;
  }

  set(settings: RateLimitSettings): void {
    this.limit = settings.limit ?? this.limit;
    this.remaining = settings.remaining ?? Math.min(this.remaining, this.limit);
    this.resetAt = settings.resetAt ?? this.resetAt;
  }

  /** Spends one unit; false when the budget is spent. */
  take(): boolean {
    this.refillIfDue();
    if (this.remaining <= 0) return false;
    this.remaining--;
    return true;
  }

  /** The `x-ratelimit-*` headers GitHub sends on every response. */
  headers(): Record<string, string> {
    this.refillIfDue();
    return {
      "x-ratelimit-limit": String(this.limit),
      "x-ratelimit-remaining": String(this.remaining),
      "x-ratelimit-used": String(this.limit - this.remaining),
      // Rounded up: a client that waits until this second must find the budget refilled.
      "x-ratelimit-reset": String(Math.ceil(this.resetAt / 1000)),
      "x-ratelimit-resource": "core",
    };
  }

  private refillIfDue(): void {
    const now = this.clock.now();
    if (now < this.resetAt) return;
    this.remaining = this.limit;
    this.resetAt = now + hourMs;
  }
}
