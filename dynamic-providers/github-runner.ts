// State address of the runner registration (formerly GitHubRunner): see state-addresses.ts.
export { RunnerRegistrationProvider as GitHubRunnerProvider } from "./runner-registration";
