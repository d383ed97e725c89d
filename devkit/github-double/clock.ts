// Time as the double tells it: from an injectable clock, printed as GitHub prints timestamps.
import type { Clock } from "./types";

export const systemClock: Clock = { now: () => Date.now() };

export const hourMs = 60 * 60 * 1000;

/** GitHub's timestamp form for jobs and tokens: ISO 8601 in UTC, whole seconds. */
export function githubTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
