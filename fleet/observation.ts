// What the program observes before planning: the runners its last deployment declared (its own
// stack outputs), the runners GitHub lists now (one paged listing), which of its booting runners'
// servers are in ERROR, and the runner version `latest` stands for. (Nova's servers of the stack,
// for the lost-server sweep: fleet/lost-servers.ts.)
import * as pulumi from "@pulumi/pulumi";
import { gitHubClient, GitHubCredentials } from "../dynamic-providers/github/client";
import { listRunners } from "../dynamic-providers/github/runner-listing";
import { ownerPrefix } from "../rules/github";
import { classify, KnownRunner, ObservedRunner, PlanInput } from "./plan";
import type { RecordedIdentity } from "./stack-identity";
import { isRunnerModel, SpecSettings } from "./runner-spec";
import type { RolloutHalt } from "./rollout";

/**
 * This stack as Pulumi names it across projects: `organization/project/stack` (also the legacy
 * stack identity: fleet/stack-identity.ts).
 */
export function stackName(): string {
  return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

/** What the stack's last completed deployment said, through its outputs. */
export interface PreviousDeployment {
  runners: KnownRunner[];
  /** Servers the stack knows (see lost-servers.ts); older stacks: their `serverIds`. */
  knownServerIds: string[];
  /** Servers the last deployment found in Nova and did not know. */
  lostServerCandidates: string[];
  /** The stack identity it recorded (fleet/stack-identity.ts). */
  identity: RecordedIdentity;
  /** The settings of each spec its runners have (fleet/runner-spec.ts), by spec id. */
  runnerSpecs: Record<string, SpecSettings>;
  /** The pools whose rollout it halted, with the spec rolled out and why (fleet/rollout.ts). */
  rolloutHalts: Record<string, RolloutHalt>;
}

/**
 * The outputs of this stack's last deployment, read through a reference to the stack itself;
 * empty on the first deployment. The state, not GitHub, says which runners are ours.
 */
export async function previousDeployment(): Promise<PreviousDeployment> {
  const self = new pulumi.StackReference("previous-deployment", { name: stackName() });
  const read = async <T>(name: string): Promise<T | undefined> => {
    const details = await self.getOutputDetails(name);
    return (details.value ?? details.secretValue) as T | undefined;
  };
  const [runners, known, serverIds, candidates, identity, legacy, specs, halts] = await Promise.all(
    [
      read<KnownRunner[]>("runners"),
      read<string[]>("knownServerIds"),
      read<string[]>("serverIds"),
      read<string[]>("lostServerCandidates"),
      read<string>("stackIdentity"),
      read<string>("legacyStackIdentity"),
      read<Record<string, SpecSettings>>("runnerSpecs"),
      read<Record<string, RolloutHalt>>("rolloutHalts"),
    ],
  );
  const record = <T>(v: T | undefined): T | Record<string, never> =>
    typeof v === "object" && v !== null && !Array.isArray(v) ? v : {};
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : []);
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  return {
    identity: {
      stackIdentity: text(identity),
      legacyStackIdentity: text(legacy),
      deployedBefore: runners !== undefined || known !== undefined || serverIds !== undefined,
    },
    runners: Array.isArray(runners)
      ? runners.map(({ name, pool, createdAt, spec, model }) => ({
          name,
          pool,
          createdAt,
          ...(typeof spec === "string" ? { spec } : {}),
          ...(isRunnerModel(model) ? { model } : {}),
        }))
      : [],
    knownServerIds: strings(known ?? serverIds),
    lostServerCandidates: strings(candidates),
    runnerSpecs: record(specs),
    rolloutHalts: record(halts),
  };
}

/**
 * The runners the plan would keep as booting whose server is in ERROR in the state this
 * deployment starts from: after `up --refresh` (or `refresh`), Nova's status as of now. A
 * server in ERROR never starts its runner, so without this its runner would be kept for the
 * whole boot grace, and refreshing would not help: the provider ignores an ERROR power state.
 * Only booting runners are looked up, each with one engine-local call (no cloud request); a
 * runner whose server the state does not know is left to GitHub's view.
 */
export async function serversInError(
  previous: KnownRunner[],
  observed: ObservedRunner[],
  input: Pick<PlanInput, "now" | "bootGraceSeconds" | "mode">,
): Promise<Set<string>> {
  const byName = new Map(observed.map((r) => [r.name, r]));
  const booting = previous.filter((r) => {
    const verdict = classify(r, byName.get(r.name), input);
    return "state" in verdict && verdict.state === "booting";
  });
  const inError = await Promise.all(
    booting.map((r) =>
      pulumi.runtime
        .invoke("pulumi:pulumi:getResource", { urn: serverUrn(r.name) })
        .then((res) => (res as { state?: { powerState?: string } }).state?.powerState === "error")
        .catch(() => false),
    ),
  );
  return new Set(booting.filter((_, i) => inError[i]).map((r) => r.name));
}

/** The URN of a runner's server, as `RunnerFleet` and `RunnerServer` name it. */
export function serverUrn(runnerName: string): string {
  const type = [
    "runner-fleet:openstack:RunnerFleet",
    "runner-fleet:openstack:RunnerServer",
    "openstack:compute/instance:Instance",
  ].join("$");
  return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${type}::${runnerName}-server`;
}

/** The runners GitHub lists for the fleet's owner whose names carry the fleet's prefix. */
export async function observedRunners(
  apiUrl: string,
  path: string,
  namePrefix: string,
  credentials: GitHubCredentials,
): Promise<ObservedRunner[]> {
  const octokit = await gitHubClient(apiUrl, credentials);
  // A fresh listing: under the Automation API the program runs in a long-lived process.
  const runners = await listRunners(octokit, undefined, path);
  return runners
    .filter((r) => r.name.startsWith(`${namePrefix}-`))
    .map(({ name, status, busy }) => ({ name, status, busy }));
}

/**
 * The newest runner version GitHub offers for the architecture, from its downloads list, so a
 * build of `latest` names a real version (and a new release triggers a new image).
 */
export async function latestRunnerVersion(
  apiUrl: string,
  path: string,
  architecture: "x86_64" | "aarch64",
  credentials: GitHubCredentials,
): Promise<string> {
  const octokit = await gitHubClient(apiUrl, credentials);
  const res = await octokit.request(`GET /${ownerPrefix(path)}/actions/runners/downloads`);
  const arch = architecture === "x86_64" ? "x64" : "arm64";
  const entry = (res.data as { os: string; architecture: string; filename: string }[]).find(
    (d) => d.os === "linux" && d.architecture === arch,
  );
  const version = /-(\d+\.\d+\.\d+)\.tar\.gz$/.exec(entry?.filename ?? "")?.[1];
  if (!version) throw new Error(`GitHub's runner downloads list has no linux/${arch} runner`);
  return version;
}
