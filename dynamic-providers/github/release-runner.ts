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
  /** Listed in `forceRelease`: let the server go when GitHub cannot confirm the release. */
  forceRelease?: boolean;
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
  try {
    await release(octokit, target);
  } catch (err) {
    if (!target.forceRelease) throw err;
    note(
      `runner ${target.name} is in forceRelease: its server goes although GitHub did not ` +
        `confirm the release (${(err as Error).message})`,
    );
  }
}

async function release(
  octokit: Awaited<ReturnType<typeof gitHubClient>>,
  target: ReleaseTarget,
): Promise<void> {
  const prefix = ownerPrefix(target.path);
  let runnerId = target.runnerId;
  if (!runnerId) {
    runnerId = (await runnersNamed(octokit, target))[0]?.id ?? 0;
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
        await confirmAbsent(octokit, target, runnerId);
        releasedRunners().add(released); // gone already: an ephemeral runner whose job ended
        return;
      }
      if (status !== 422) throw lostAccess(target, err);
    }
    if (target.flushBusy && !target.serverGone) {
      note(
        `runner ${target.name} is busy; flushBusy is set, so its server goes with its job running`,
      );
      return;
    }
    if (Date.now() >= deadline && target.flushBusy) {
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

/** The owner's runners of the target's name (GitHub's listing filtered by name). */
async function runnersNamed(
  octokit: Awaited<ReturnType<typeof gitHubClient>>,
  target: ReleaseTarget,
): Promise<{ id: number }[]> {
  try {
    const res = await octokit.request(`GET /${ownerPrefix(target.path)}/actions/runners`, {
      name: target.name,
      per_page: 100,
    });
    return (res.data as { runners: { id: number }[] }).runners;
  } catch (err) {
    throw lostAccess(target, err);
  }
}

/**
 * A 404 on DELETE means "gone" only when the credential can still list the owner's runners and
 * the runner is not among them: GitHub also answers 404 to a token that lost access to the
 * repository, and an App whose installation is gone gets 404 for its token. Otherwise the
 * release fails, and the server is kept.
 */
async function confirmAbsent(
  octokit: Awaited<ReturnType<typeof gitHubClient>>,
  target: ReleaseTarget,
  runnerId: number,
): Promise<void> {
  const listed = await runnersNamed(octokit, target);
  if (listed.some((r) => r.id === runnerId)) {
    throw new Error(
      `GitHub answers 404 to removing runner ${target.name} (${target.id}) and still lists it; ` +
        "it was kept. Run again, or list it in forceRelease to let its server go",
    );
  }
}

/** A release that failed on access (401, 403, 404) or anything else: it keeps the server. */
function lostAccess(target: ReleaseTarget, err: unknown): Error {
  const status = httpStatus(err);
  const what = `removing runner ${target.name} (${target.id})`;
  if (status === 401 || status === 403 || status === 404) {
    return new Error(
      `${describeGitHubError(what, err)}. The credential may have lost access to ${target.path} ` +
        "(a revoked token, an uninstalled App, a repository dropped from its access), so GitHub " +
        "cannot confirm the runner is not running a job: it was kept. Restore access and run " +
        `again, or add it to forceRelease (pulumi config set --path 'forceRelease[0]' ${target.name}) ` +
        "to let its server go",
    );
  }
  return new Error(describeGitHubError(what, err));
}
