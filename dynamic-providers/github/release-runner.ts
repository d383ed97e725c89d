// Releasing a runner on GitHub before its server goes: shared by the registration's delete and
// the teardown's. A module of its own: the teardown needs this, not the registration provider.
import { ownerPrefix } from "../../rules/github";
import { describeGitHubError, gitHubClient, httpStatus } from "./client";
import { forgetListings } from "./runner-listing";

/** Logs to the engine's diagnostics through the provider's stderr (shown with `-v`/`--logflow`). */
function note(message: string): void {
  process.stderr.write(`runner-fleet: ${message}\n`);
}

/** Sleeps without holding the event loop. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runners this provider process removed from GitHub (`apiUrl path id`), so the registration's
 * own delete, which runs after its teardown's, does not ask GitHub again: a runner costs two
 * requests over its life, its JIT config and one DELETE.
 */
export function releasedRunners(): Set<string> {
  const g = globalThis as typeof globalThis & { __runnerFleetReleased?: Set<string> };
  g.__runnerFleetReleased ??= new Set();
  return g.__runnerFleetReleased;
}

/** What `releaseRunner` needs to know of a runner. */
export interface ReleaseTarget {
  /** Resource id, for messages. */
  id: string;
  /** GitHub API URL, to remember the release per GitHub. */
  apiUrl: string;
  path: string;
  name: string;
  /** 0 when unknown (registration-token mode): then it is looked up by name. */
  runnerId: number;
  busyWaitSeconds: number;
  flushBusy: boolean;
  /**
   * The registration's own delete, which runs once the server is gone: with `flushBusy` it waits
   * (up to `busyWaitSeconds`) for GitHub to see the runner lost and let it go, so no registration
   * outlives its server. The teardown, before the server goes, lets a flushed runner go at once.
   */
  serverGone?: boolean;
}

/**
 * Removes a runner from GitHub: 204 (it was idle) or 404 (already gone) is done; 422 means it is
 * running a job, and GitHub's answer is the only reliable busy signal (the listing's `busy` lags).
 * Then it waits for the job, up to `busyWaitSeconds`, and fails rather than let the server be
 * deleted under a job — unless `flushBusy`, which says so and lets the server go. Once the server
 * is gone (`serverGone`), a flushed runner is retried until GitHub lets it go, within the same
 * bound; a failure keeps the registration in the state, so the next `up` or `destroy` tries again.
 */
export async function releaseRunner(
  octokit: Awaited<ReturnType<typeof gitHubClient>>,
  target: ReleaseTarget,
): Promise<void> {
  const prefix = ownerPrefix(target.path);
  let runnerId = target.runnerId;
  if (!runnerId) {
    const res = await octokit.request(`GET /${prefix}/actions/runners`, {
      name: target.name,
      per_page: 100,
    });
    runnerId = (res.data as { runners: { id: number }[] }).runners[0]?.id ?? 0;
    if (!runnerId) return;
  }
  const deadline = Date.now() + target.busyWaitSeconds * 1000;
  const pollMs = Math.min(10, Math.max(1, target.busyWaitSeconds / 10)) * 1000;
  const released = `${target.apiUrl} ${target.path} ${runnerId}`;
  for (;;) {
    try {
      await octokit.request(`DELETE /${prefix}/actions/runners/{runner_id}`, {
        runner_id: runnerId,
      });
      forgetListings();
      releasedRunners().add(released);
      return;
    } catch (err) {
      const status = httpStatus(err);
      if (status === 404) {
        releasedRunners().add(released); // gone already: an ephemeral runner whose job ended
        return;
      }
      if (status !== 422) {
        throw new Error(describeGitHubError(`removing runner ${target.name} (${target.id})`, err));
      }
    }
    if (target.flushBusy && !target.serverGone) {
      note(
        `runner ${target.name} is busy; flushBusy is set, so its server goes with its job running`,
      );
      return;
    }
    if (Date.now() >= deadline && target.serverGone) {
      throw new Error(
        `runner ${target.name} is still busy on GitHub ${target.busyWaitSeconds}s after its ` +
          "server was deleted (flushBusy); its registration was kept, and the next up or destroy " +
          "removes it once GitHub sees the runner lost",
      );
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `runner ${target.name} is still running a job after ${target.busyWaitSeconds}s ` +
          "(busyWaitSeconds); it was kept. Run again when the job ended, raise busyWaitSeconds, " +
          "or set flushBusy to remove it with its job",
      );
    }
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
  }
}
