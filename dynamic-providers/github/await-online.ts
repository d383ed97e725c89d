// Waiting for a new runner to come online, as a rollout's handover does before the runner it
// replaces may go (fleet/plan.ts). Every waiting runner of the provider process reads the same
// listing, fetched at most once per poll: a rollout of N runners costs one list request per poll,
// not N.
import type { Octokit } from "@octokit/rest";
import { listRunners } from "./runner-listing";

/** How often a waiting handover looks at GitHub's listing. */
export const onlinePollMs = 3_000;

/**
 * Whether runner `name` of `path` is online (idle or busy) within `seconds`. A listing that fails
 * is tried again at the next poll, until the deadline: a wait never fails, it answers false.
 */
export async function awaitOnline(
  octokit: Octokit,
  clientKey: string,
  path: string,
  name: string,
  seconds: number,
): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  const timer = (ms: number) =>
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), Math.max(0, ms)));
  for (;;) {
    // A listing that GitHub's retries hold up (5xx, rate limits) ends the wait at the deadline.
    const listing = listRunners(octokit, clientKey, path, Date.now(), onlinePollMs).catch(
      () => undefined,
    );
    const runners = await Promise.race([listing, timer(deadline - Date.now())]);
    const runner = runners?.find((r) => r.name === name);
    if (runner && (runner.status === "online" || runner.busy)) return true;
    if (Date.now() >= deadline) return false;
    await timer(Math.min(onlinePollMs, deadline - Date.now()));
  }
}
