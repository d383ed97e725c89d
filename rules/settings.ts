// Defaults and ranges of the settings that both the stack config and the providers' inputs carry:
// the config validates what an operator writes, the providers' `check` what the state holds.
import { GITHUB_COM_API_URL, RegistrationMode } from "./github";
import { integerRule, Rule } from "./rule";

export const settingDefaults = {
  githubApiUrl: GITHUB_COM_API_URL,
  runnerGroup: "Default",
  registrationMode: "jit" as RegistrationMode,
  /** 23 minutes: a slow image boots and registers well within it. */
  bootGraceSeconds: 1380,
  busyWaitSeconds: 600,
  flushBusy: false,
  /** A quarter of each pool per `up`, at least one runner (a rollout: fleet/rollout.ts). */
  rolloutSurge: "25%",
  /** How long an `up` waits for a replacement to come online before it halts the rollout. */
  rolloutWaitSeconds: 600,
};

/**
 * A runner offline past the boot grace counts as dead, so a grace under a minute would drop
 * runners that are still booting.
 */
export const bootGraceSeconds = integerRule(60, 86_400);

/** 0 means: do not wait for a busy runner's job (fail, or flush with flushBusy). */
export const busyWaitSeconds = integerRule(0, 86_400);

/** 0 halts at once: an `up` that waits for no replacement cannot tell a good image from a bad one. */
export const rolloutWaitSeconds = integerRule(10, 86_400);

/** How many runners of a pool one `up` replaces: a count, or a share of the pool's quantity. */
export type RolloutSurge = { runners: number } | { percent: number };

/** `rolloutSurge` as written: `0` to `1000` runners, or `1%` to `100%` of a pool. */
export const rolloutSurgeRule: Rule = {
  allowed:
    'a number of runners from 0 to 1000 (0 pauses rollouts), or a share such as "25%" (1% to 100%)',
  test: (v) => parseRolloutSurge(v) !== undefined,
};

export function parseRolloutSurge(v: unknown): RolloutSurge | undefined {
  const text = typeof v === "number" ? String(v) : v;
  if (typeof text !== "string") return undefined;
  const count = /^\s*(\d{1,4})\s*$/.exec(text);
  if (count && Number(count[1]) <= 1000) return { runners: Number(count[1]) };
  const share = /^\s*(\d{1,3})\s*%\s*$/.exec(text);
  if (share && Number(share[1]) >= 1 && Number(share[1]) <= 100)
    return { percent: Number(share[1]) };
  return undefined;
}

/** The runners of a pool of `quantity` one `up` replaces: a share rounds up, to at least one. */
export function surgeOf(surge: RolloutSurge, quantity: number): number {
  if ("runners" in surge) return surge.runners;
  return quantity === 0 ? 0 : Math.max(1, Math.ceil((quantity * surge.percent) / 100));
}
