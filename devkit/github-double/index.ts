// A GitHub REST API double for tests: self-hosted runners, runner groups, workflow jobs, GitHub
// App installation tokens, rate limits and faults, plus simulated runner agents. See README.md.
export { startGitHubDouble } from "./server";
export {
  SimulatedRunnerAgent,
  AgentRequestError,
  type AgentRegistration,
  type JobRenewal,
} from "./runner-agent";
export { decodeJitConfig, type JitConfig } from "./jit-config";
export type { AgentJob } from "./jobs";
export type * from "./types";
