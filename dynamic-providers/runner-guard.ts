// State address of the runner teardown (formerly RunnerGuard): see state-addresses.ts.
export { RunnerTeardownProvider as RunnerGuardProvider } from "./runner-teardown";
