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
import * as pulumi from "@pulumi/pulumi";
import { LostServer, LostServerSweep } from "../dynamic-providers/lost-server-sweep";
import { FleetServer, listStackServers } from "../dynamic-providers/openstack/nova-servers";
import { openStackCredentials, OpenStackSession } from "../dynamic-providers/openstack/session";
import type { PreviousDeployment } from "./observation";
import type { ObservedRunner } from "./plan";

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
 * Lists the stack's fleet servers in Nova (a Keystone login and one paged request) and plans
 * the sweep. Without OpenStack credentials in the environment (`OS_*` or `OS_CLOUD`) it cannot
 * look, and says why.
 */
export async function findLostServers(
  prefix: string,
  stack: string,
  previous: PreviousDeployment,
  observed: ObservedRunner[],
): Promise<LostServerPlan | { skipped: string }> {
  const credentials = openStackCredentials(process.env);
  if ("missing" in credentials) return { skipped: credentials.missing };
  const session = await OpenStackSession.login(credentials);
  const servers = await listStackServers(session, prefix, stack);
  const busy = new Set(observed.filter((r) => r.busy).map((r) => r.name));
  return planLostServers(servers, previous, busy);
}

/** The sweep of this deployment, and what its outputs tell the next one. */
export interface LostServerSweepResult {
  resource: LostServerSweep;
  /** Ids of the servers this deployment sweeps. */
  swept: string[];
  /** `lostServerCandidates` for the next deployment: new candidates and failed sweeps. */
  candidates: pulumi.Output<string[]>;
  /** `knownServerIds` for the next deployment, given the servers declared now. */
  knownServerIds(declared: pulumi.Input<string>[]): pulumi.Output<string[]>;
}

/** Looks for lost servers, says what it found, and declares the sweep (see the file comment). */
export async function declareLostServerSweep(
  prefix: string,
  stack: string,
  previous: PreviousDeployment,
  observed: ObservedRunner[],
): Promise<LostServerSweepResult> {
  const found = await findLostServers(prefix, stack, previous, observed);
  let plan: LostServerPlan;
  if ("skipped" in found) {
    pulumi.log.warn(`servers lost by an interrupted up are not looked for: ${found.skipped}`);
    plan = { sweep: [], candidates: [], stillKnown: previous.knownServerIds };
  } else plan = found;
  const describe = (list: { id: string; runnerName: string }[]) =>
    list.map((s) => `${s.id} (${s.runnerName})`).join(", ");
  if (plan.candidates.length > 0) {
    pulumi.log.warn(
      `Nova has servers of this stack that its last deployment did not know: ` +
        `${describe(plan.candidates)}; the next up deletes those still unknown and idle then`,
    );
  }
  if (plan.sweep.length > 0) {
    pulumi.log.warn(
      `Nova has servers of this stack that no deployment recorded (an interrupted up); ` +
        `this up deletes them: ${describe(plan.sweep)}`,
    );
  }
  const resource = new LostServerSweep("lost-servers", { prefix, stack, servers: plan.sweep });
  const candidateIds = plan.candidates.map((s) => s.id);
  return {
    resource,
    swept: plan.sweep.map((s) => s.id),
    candidates: resource.servers.apply((deleted) => {
      const gone = new Set(deleted.map((s) => s.id));
      return [...candidateIds, ...plan.sweep.map((s) => s.id).filter((id) => !gone.has(id))];
    }),
    knownServerIds: (declared) =>
      pulumi.all(declared).apply((ids) => [...new Set([...plan.stillKnown, ...ids])].sort()),
  };
}
