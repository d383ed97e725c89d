// How the fleet names its runners: `prefix[-pool]-<12 hex digits>`. The planner makes the names;
// config validation checks that they will fit GitHub's limit (RUNNER_NAME_MAX).

/** Hex digits of a runner name's random part. */
export const RUNNER_SUFFIX_DIGITS = 12;

/** A runner's name; `pool` is left out when the stack has no `pools` (one unnamed pool). */
export function fleetRunnerName(prefix: string, pool: string | undefined, suffix: string): string {
  return pool === undefined ? `${prefix}-${suffix}` : `${prefix}-${pool}-${suffix}`;
}

/** The length of every runner name of a pool. */
export function fleetRunnerNameLength(prefix: string, pool: string | undefined): number {
  return fleetRunnerName(prefix, pool, "x".repeat(RUNNER_SUFFIX_DIGITS)).length;
}
