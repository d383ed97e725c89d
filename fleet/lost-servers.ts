// Finds the fleet servers Nova has and the stack does not know: what a killed `pulumi up` leaves
// behind (its pending creates, which neither `up` nor `refresh` looks for).
//
// The program cannot read the state, only the outputs of the last completed deployment, and
// those miss the servers a failed or killed deployment created and recorded: the engine deletes
// those itself (their runners are no longer declared), releasing the runner and pulling its
// metrics first. So a server is swept only after two deployments in a row found it unknown:
//   - known: in the last deployment's `knownServerIds` (every server it declared, and every
//     server known before that Nova still has);
//   - a candidate: unknown to the last deployment too, which listed it in `lostServerCandidates`.
// By then the engine has had a whole deployment to delete a recorded server; what remains was
// never recorded. A candidate whose runner is busy on GitHub waits for its job to end.
import type { LostServer } from "../dynamic-providers/lost-server-sweep";
import { FleetServer, listStackServers } from "../dynamic-providers/openstack/nova-servers";
import { defaultCloudRetry, onTheCloud, CloudRetry } from "./cloud-side-path";
import type { PreviousDeployment } from "./observation";

export interface LostServerPlan {
  /** Unknown for two deployments and idle: deleted by this deployment. */
  sweep: LostServer[];
  /** Unknown now: candidates the next deployment sweeps if still unknown (busy ones included). */
  candidates: FleetServer[];
  /** Known servers Nova still has: carried over into `knownServerIds`. */
  stillKnown: string[];
}

/** Pure: see the file comment. */
export function planLostServers(
  servers: FleetServer[],
  previous: Pick<PreviousDeployment, "knownServerIds" | "lostServerCandidates">,
  busy: Set<string>,
): LostServerPlan {
  const known = new Set(previous.knownServerIds);
  const wasCandidate = new Set(previous.lostServerCandidates);
  const plan: LostServerPlan = { sweep: [], candidates: [], stillKnown: [] };
  for (const server of servers) {
    if (known.has(server.id)) plan.stillKnown.push(server.id);
    else if (!wasCandidate.has(server.id) || busy.has(server.runnerName))
      plan.candidates.push(server);
    else {
      // Its keypair goes with it unless another server of the stack uses that name.
      const shared = servers.some((s) => s.id !== server.id && s.keyName === server.keyName);
      const keypair = server.keyName && !shared ? server.keyName : undefined;
      plan.sweep.push({
        id: server.id,
        runnerName: server.runnerName,
        ...(keypair ? { keypair } : {}),
      });
    }
  }
  plan.sweep.sort((a, b) => a.id.localeCompare(b.id));
  return plan;
}

/**
 * The stack's fleet servers in Nova (a Keystone login and one paged request), or why it could not
 * look: a side path (see `onTheCloud`); without a search the deployment goes on without a sweep,
 * as it did before the search existed.
 */
export function listFleetServers(
  prefix: string,
  stacks: string[],
  env: NodeJS.ProcessEnv = process.env,
  retry: CloudRetry = defaultCloudRetry,
): Promise<FleetServer[] | { skipped: string }> {
  return onTheCloud(
    "the search",
    (session) => listStackServers(session, prefix, stacks),
    env,
    retry,
  );
}

/** The plan when Nova could not be searched: nothing swept, what was known stays known. */
export function planWithoutSearch(
  previous: Pick<PreviousDeployment, "knownServerIds">,
): LostServerPlan {
  return { sweep: [], candidates: [], stillKnown: previous.knownServerIds };
}

/** What the plan tells the operator: the candidates, and the servers this `up` deletes. */
export function lostServerWarnings(plan: LostServerPlan): string[] {
  const describe = (list: { id: string; runnerName: string }[]) =>
    list.map((s) => `${s.id} (${s.runnerName})`).join(", ");
  const warnings: string[] = [];
  if (plan.candidates.length > 0) {
    warnings.push(
      `Nova has servers of this stack that its last deployment did not know: ` +
        `${describe(plan.candidates)}; the next up deletes those still unknown and idle then`,
    );
  }
  if (plan.sweep.length > 0) {
    warnings.push(
      `Nova has servers of this stack that no deployment recorded (an interrupted up); ` +
        `this up deletes them: ${describe(plan.sweep)}`,
    );
  }
  return warnings;
}

/**
 * `lostServerCandidates` for the next deployment: this one's new candidates, and the servers its
 * sweep was to delete and did not (`deleted`: what the sweep resource reports).
 */
export function nextCandidates(plan: LostServerPlan, deleted: { id: string }[]): string[] {
  const gone = new Set(deleted.map((s) => s.id));
  return [
    ...plan.candidates.map((s) => s.id),
    ...plan.sweep.map((s) => s.id).filter((id) => !gone.has(id)),
  ];
}

/** `knownServerIds` for the next deployment: the servers still known and those declared now. */
export function nextKnownServerIds(plan: LostServerPlan, declared: string[]): string[] {
  return [...new Set([...plan.stillKnown, ...declared])].sort();
}

/**
 * The runners Nova has a server for that the last deployment did not know: a server an
 * interrupted `up` made and never recorded may already run the runner's single-use JIT config,
 * so the runner is not kept (a second server of it would never come online); the sweep deals
 * with the server.
 */
export function runnersWithUnknownServers(
  servers: FleetServer[],
  previous: Pick<PreviousDeployment, "knownServerIds">,
): Set<string> {
  const known = new Set(previous.knownServerIds);
  return new Set(servers.filter((s) => !known.has(s.id)).map((s) => s.runnerName));
}
