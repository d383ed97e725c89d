// The Nova metadata keys of a fleet server: what marks it as ours, and whose runner it is. The
// runner component writes them; the lost-server search and the tests read them.

/** The fleet's name prefix. */
export const FLEET_METADATA_KEY = "runner-fleet";
/** The stack that made the server (`organization/project/stack`). */
export const STACK_METADATA_KEY = "runner-fleet-stack";
export const POOL_METADATA_KEY = "runner-fleet-pool";
/** The server's runner's name on GitHub. */
export const RUNNER_METADATA_KEY = "github-runner-name";
export const RUNNER_ID_METADATA_KEY = "github-runner-id";
