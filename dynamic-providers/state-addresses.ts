// The addresses the state records for each dynamic provider (see provider-by-reference.ts). State
// in the wild loads `@runner-fleet/dynamic-providers/<module>` and the export by these names, so
// they never change: an implementation that moves leaves a re-exporting shim at its address.
import type { StateAddress } from "./provider-by-reference";

// call-by-address.ts, which every serialized provider loads, is an address of the same kind.
export const stateAddresses = {
  registration: { module: "github-runner", exportName: "GitHubRunnerProvider" },
  teardown: { module: "runner-guard", exportName: "RunnerGuardProvider" },
  sshHostKey: { module: "ssh-host-key", exportName: "SshHostKeyProvider" },
  lostServerSweep: { module: "lost-server-sweep", exportName: "LostServerSweepProvider" },
} as const satisfies Record<string, StateAddress>;
