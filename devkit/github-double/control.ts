// The control API for tests (see GitHubDoubleControl): direct calls into the double's state. A
// runner the test puts online, offline or to work by hand is no longer watched for its agent's
// silence (runner-contact.ts) until that agent talks again: the test stands in for it.
import type { DoubleState } from "./double-state";
import { HttpError } from "./http-errors";
import { jobJson } from "./jobs";
import { repoOwner } from "./owner";
import { runnerGroupJson } from "./runner-groups";
import { runnerSnapshot } from "./runners";
import type { GitHubDoubleControl, RepositoryAccessLoss, RunnerRef } from "./types";

export function createControl(state: DoubleState): GitHubDoubleControl {
  const { runners, dispatcher, contact, baseUrl } = state;
  const byHand = (ref: RunnerRef) => {
    const runner = runners.find(ref);
    contact.forget(runner);
    return runner;
  };
  return {
    setOnline: (ref) => {
      const runner = byHand(ref);
      dispatcher.setOnline(runner);
      return runnerSnapshot(runner);
    },
    setOffline: (ref) => {
      const runner = byHand(ref);
      dispatcher.setOffline(runner);
      return runnerSnapshot(runner);
    },
    dispatchJob: (spec) => jobJson(dispatcher.dispatch(spec), baseUrl),
    cancelJob: (jobId) => jobJson(dispatcher.cancel(jobId), baseUrl),
    setWebhook: (settings) => state.webhooks.configure(settings),
    webhookDeliveries: () => state.webhooks.deliveries(),
    startJob: (ref, job) => jobJson(dispatcher.start(byHand(ref), job), baseUrl),
    finishJob: (ref, result) => jobJson(dispatcher.finish(runners.find(ref), result).job, baseUrl),
    runners: () => runners.all().map(runnerSnapshot),
    addRunnerGroup: (org, name) => runnerGroupJson(org, state.groups.add(org, name), baseUrl),
    requestCounts: () => state.counts.snapshot(),
    resetRequestCounts: () => state.counts.reset(),
    setRateLimit: (settings) => state.rateLimit.set(settings),
    secondaryRateLimit: (settings) => state.faults.setSecondaryRateLimit(settings),
    fault: (settings) => state.faults.addFault(settings),
    latency: (settings) => state.faults.setLatency(settings),
    clearFaults: () => state.faults.clear(),
    setLostAfterSeconds: (seconds) => contact.setLostAfterSeconds(seconds),
    revokeToken: (token) => state.credentials.revoke(token),
    uninstallApp: (installationId) => state.installations.uninstall(installationId),
    dropRepositoryAccess: (loss) => dropRepositoryAccess(state, loss),
    publishRunnerRelease: (version) => {
      try {
        state.releases.publish(version);
      } catch (err) {
        throw new HttpError(422, (err as Error).message);
      }
    },
  };
}

/** One token's repository list, or an installation's selection, loses `loss.repo`. */
function dropRepositoryAccess(state: DoubleState, loss: RepositoryAccessLoss): void {
  const repo = repoOwner(loss.repo);
  const byToken = "token" in loss;
  const byInstallation = "installationId" in loss;
  if (byToken === byInstallation) {
    throw new HttpError(422, "Name either a token or an installationId, not both or neither");
  }
  if (byToken) state.credentials.dropRepository(loss.token, repo);
  else state.installations.dropRepository(loss.installationId, repo);
}
