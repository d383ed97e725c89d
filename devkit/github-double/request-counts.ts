// How many REST requests the double received, per route template, so tests can bound a
// client's API use ("a refresh of 250 runners costs 3 list requests").
import type { RequestCounts } from "./types";

export class RequestCounter {
  private counts = new Map<string, number>();

  /** Counts one request; `key` is `METHOD /route/{template}` (or the path, for unknown routes). */
  record(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  snapshot(): RequestCounts {
    const byRoute = Object.fromEntries(this.counts);
    return { total: [...this.counts.values()].reduce((a, b) => a + b, 0), byRoute };
  }

  reset(): void {
    this.counts = new Map();
  }
}
