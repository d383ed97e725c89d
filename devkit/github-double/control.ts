// The control API for tests (see GitHubDoubleControl): direct calls into the double's state.
import type { DoubleState } from "./double-state";
import { jobJson } from "./jobs";
import { runnerGroupJson } from "./runner-groups";
import { runnerSnapshot } from "./runners";
import type { GitHubDoubleControl } from "./types";

export function createControl(state: DoubleState): GitHubDoubleControl {
  const { runners, dispatcher, baseUrl } = state;
  return {
    setOnline: (ref) => {
      const runner = runners.find(ref);
      dispatcher.setOnline(runner);
      return runnerSnapshot(runner);
    },
    setOffline: (ref) => {
      const runner = runners.find(ref);
      dispatcher.setOffline(runner);
      return runnerSnapshot(runner);
    },
    dispatchJob: (spec) => jobJson(dispatcher.dispatch(spec), baseUrl),
    startJob: (ref, job) => jobJson(dispatcher.start(runners.find(ref), job), baseUrl),
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
  };
}
