// Planning of one `pulumi up`: which runners the fleet keeps, which it adds and which it drops,
// from the runners of the last deployment and one listing of GitHub. A pure function, so
// `pulumi preview` shows exactly which runners would be replaced or removed.
import * as crypto from "node:crypto";
import type { RegistrationMode } from "../rules/github";
import { fleetRunnerName, RUNNER_SUFFIX_DIGITS } from "../rules/runner-names";

/** A runner the stack deployed, as its outputs remember it. */
export interface KnownRunner {
  name: string;
  pool: string;
  /** ISO 8601 creation time. */
  createdAt: string;
}

/** A runner as GitHub lists it. */
export interface ObservedRunner {
  name: string;
  status: "online" | "offline";
  busy: boolean;
}

export type RunnerState = "busy" | "idle" | "booting";

/** Why a runner leaves the fleet; `reason` beside it says the same for people. */
export type DropCause =
  | "pool-removed"
  | "gone-from-github"
  | "offline-past-boot-grace"
  | "server-in-error"
  | "server-not-recorded"
  | "scale-down"
  | "no-quota";

/** A runner the plan leaves out, so Pulumi removes it. */
export interface DroppedRunner {
  name: string;
  pool: string;
  cause: DropCause;
  reason: string;
}

export interface PlanInput {
  namePrefix: string;
  /** Runner names carry the pool name when the stack configured pools. */
  namedPools: boolean;
  pools: { name: string; quantity: number }[];
  previous: KnownRunner[];
  observed: ObservedRunner[];
  /** Epoch milliseconds. */
  now: number;
  bootGraceSeconds: number;
  /** JIT runners exist on GitHub from creation; token-mode runners only once their VM booted. */
  mode: RegistrationMode;
  flushBusy: boolean;
  /**
   * Runners whose server Nova reports in ERROR (see `serversInError`): dead at once, whatever
   * GitHub says, since a server in ERROR never starts its runner.
   */
  serversInError?: ReadonlySet<string>;
  /**
   * Runners with a server in Nova that the last deployment did not record
   * (`runnersWithUnknownServers`): not kept, since that server may hold their JIT config.
   */
  serversNotRecorded?: ReadonlySet<string>;
  /** The random part of a new name (`randomRunnerSuffix`); injected so tests are deterministic. */
  randomSuffix: () => string;
}

export interface PlannedRunner extends KnownRunner {
  state: RunnerState | "new";
}

export interface FleetPlan {
  /** Runners to declare in this deployment: kept ones first, then new ones. */
  runners: PlannedRunner[];
  /** Runners left out, so Pulumi removes them, each with its cause. */
  dropped: DroppedRunner[];
  /** GitHub runners with the fleet's prefix that this stack never deployed. */
  orphans: string[];
}

const PRIORITY: Record<RunnerState, number> = { busy: 0, idle: 1, booting: 2 };

/** The random part of a new runner's name. */
export function randomRunnerSuffix(): string {
  return crypto.randomBytes(RUNNER_SUFFIX_DIGITS / 2).toString("hex");
}

/** Classifies a deployed runner from GitHub's listing, or says why it is gone. */
export function classify(
  runner: KnownRunner,
  observed: ObservedRunner | undefined,
  input: Pick<PlanInput, "now" | "bootGraceSeconds" | "mode">,
): { state: RunnerState } | { gone: Gone } {
  const ageSeconds = (input.now - Date.parse(runner.createdAt)) / 1000;
  const booting = ageSeconds < input.bootGraceSeconds;
  if (!observed) {
    if (input.mode === "registration-token" && booting) return { state: "booting" };
    return {
      gone: {
        cause: "gone-from-github",
        reason: "gone from GitHub (its job finished, or it was removed)",
      },
    };
  }
  if (observed.busy) return { state: "busy" };
  if (observed.status === "online") return { state: "idle" };
  if (booting) return { state: "booting" };
  return {
    gone: {
      cause: "offline-past-boot-grace",
      reason: `offline for longer than the boot grace period (${input.bootGraceSeconds}s)`,
    },
  };
}

/** Why a known runner is gone. */
type Gone = Pick<DroppedRunner, "cause" | "reason">;

/**
 * Plans the fleet. Per pool: busy runners are kept first, then idle ones, then booting ones, up
 * to the pool's quantity; busy runners beyond it are kept too unless `flushBusy`. New runners fill
 * the rest. Runners of pools no longer configured are dropped.
 */
export function planFleet(input: PlanInput): FleetPlan {
  const observedByName = new Map(input.observed.map((r) => [r.name, r]));
  const taken = new Set([...input.previous.map((r) => r.name), ...observedByName.keys()]);
  const runners: PlannedRunner[] = [];
  const dropped: FleetPlan["dropped"] = [];
  const pools = new Map(input.pools.map((p) => [p.name, p.quantity]));

  const drop = (runner: KnownRunner, gone: Gone) =>
    dropped.push({ name: runner.name, pool: runner.pool, ...gone });
  for (const runner of input.previous) {
    if (!pools.has(runner.pool))
      drop(runner, { cause: "pool-removed", reason: `pool ${runner.pool} removed` });
  }
  for (const [pool, quantity] of pools) {
    const candidates: PlannedRunner[] = [];
    for (const runner of input.previous.filter((r) => r.pool === pool)) {
      const verdict: ReturnType<typeof classify> = input.serversInError?.has(runner.name)
        ? { gone: { cause: "server-in-error", reason: "its server is in ERROR" } }
        : input.serversNotRecorded?.has(runner.name)
          ? {
              gone: {
                cause: "server-not-recorded",
                reason: "an interrupted up made its server and did not record it",
              },
            }
          : classify(runner, observedByName.get(runner.name), input);
      if ("gone" in verdict) drop(runner, verdict.gone);
      else candidates.push({ ...runner, state: verdict.state });
    }
    candidates.sort(
      (a, b) =>
        PRIORITY[a.state as RunnerState] - PRIORITY[b.state as RunnerState] ||
        a.name.localeCompare(b.name),
    );
    candidates.forEach((runner, i) => {
      if (i < quantity || (runner.state === "busy" && !input.flushBusy)) runners.push(runner);
      else
        drop(runner, {
          cause: "scale-down",
          reason: `scale down to ${quantity} (${runner.state})`,
        });
    });
    const kept = runners.filter((r) => r.pool === pool).length;
    for (let i = kept; i < quantity; i++) {
      let name: string;
      do
        name = fleetRunnerName(
          input.namePrefix,
          input.namedPools ? pool : undefined,
          input.randomSuffix(),
        );
      while (taken.has(name));
      taken.add(name);
      runners.push({ name, pool, createdAt: new Date(input.now).toISOString(), state: "new" });
    }
  }
  const known = new Set(input.previous.map((r) => r.name));
  const orphans = input.observed
    .map((r) => r.name)
    .filter((name) => name.startsWith(`${input.namePrefix}-`) && !known.has(name));
  return { runners, dropped, orphans };
}
