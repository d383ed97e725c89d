// Planning of one `pulumi up`: which runners the fleet keeps, which it adds and which it drops,
// from the runners of the last deployment and one listing of GitHub. A pure function, so
// `pulumi preview` shows exactly which runners would be replaced or removed.
import * as crypto from "node:crypto";
import type { RegistrationMode } from "../rules/github";
import { fleetRunnerName, RUNNER_SUFFIX_DIGITS } from "../rules/runner-names";
import { NEW_RUNNER_MODEL, RunnerModel } from "./runner-spec";

/** A runner the stack deployed, as its outputs remember it. */
export interface KnownRunner {
  name: string;
  pool: string;
  /** ISO 8601 creation time. */
  createdAt: string;
  /** Its spec id (fleet/runner-spec.ts); unset for runners deployed before specs were recorded. */
  spec?: string;
  /** What it is built of (fleet/runner-spec.ts); unset for runners deployed before lean runners. */
  model?: RunnerModel;
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
  | "no-quota"
  | "replaced-without-room";

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
  pools: PlanPool[];
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
   * (`runnersWithUnknownServers`): not kept, since that server may hold their JIT config, unless
   * busy (an `up` cancelled after its creates ended leaves such runners, and they took jobs).
   */
  serversNotRecorded?: ReadonlySet<string>;
  /** The random part of a new name (`randomRunnerSuffix`); injected so tests are deterministic. */
  randomSuffix: () => string;
}

/** A pool as the plan sizes and rolls it. */
export interface PlanPool {
  name: string;
  quantity: number;
  /**
   * The spec id of its new runners (fleet/runner-spec.ts); kept runners of another spec are
   * outdated and rolled (see `planFleet`). Unset: no rollouts (runners are kept as they are).
   */
  spec?: string;
  /** How many outdated runners this `up` replaces (rolloutSurge). @default 0 */
  surge?: number;
  /** Why an earlier `up` halted this pool's rollout to `spec` (fleet/rollout.ts), if it did. */
  haltedBefore?: string;
}

export interface PlannedRunner extends KnownRunner {
  state: RunnerState | "new";
  /** For a new runner of a rollout: the outdated runner it replaces. */
  replaces?: string;
}

/**
 * An outdated runner handed over to its replacement: the `up` creates `to`, waits for it to come
 * online, and only then lets `from` go; if `to` does not, `from` stays and the rollout halts.
 */
export interface Handover {
  from: PlannedRunner;
  to: string;
}

/** What a pool's rollout does in this `up`. */
export interface PoolRollout {
  pool: string;
  spec: string;
  /** Outdated runners replaced by new ones in this `up`. */
  replacing: { from: string; to: string }[];
  /** Outdated runners that are busy: they stay until their job ends, then go as every runner. */
  draining: string[];
  /** Outdated idle runners left for later `up`s (the surge bound, or a halt). */
  waiting: string[];
  /** Outdated runners removed before their replacement, for want of quota (fleet/quota.ts). */
  goFirst?: string[];
  /** Why the rollout does not go on, if it does not. */
  halted?: string;
}

export interface FleetPlan {
  /** Runners to declare in this deployment: kept ones first, then new ones. */
  runners: PlannedRunner[];
  /** Runners left out, so Pulumi removes them, each with its cause. */
  dropped: DroppedRunner[];
  /** GitHub runners with the fleet's prefix that this stack never deployed. */
  orphans: string[];
  /** Outdated runners leaving once their replacement (also in `runners`) is online. */
  handovers: Handover[];
  /** Pools with outdated runners, and what this `up` does about them. */
  rollouts: PoolRollout[];
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

/** Causes that say a runner never came online: of a new spec, they halt its rollout. */
const NEVER_ONLINE: readonly DropCause[] = ["offline-past-boot-grace", "server-in-error"];

/**
 * Plans the fleet. Per pool: busy runners are kept first, then idle ones, then booting ones (runners
 * of the pool's spec before outdated ones), up to the pool's quantity; busy runners beyond it are
 * kept too unless `flushBusy`. Up to `surge` outdated runners that are not busy are replaced by new
 * runners (handovers); busy ones drain. New runners fill the rest. Runners of pools no longer
 * configured are dropped.
 */
export function planFleet(input: PlanInput): FleetPlan {
  const observedByName = new Map(input.observed.map((r) => [r.name, r]));
  const taken = new Set([...input.previous.map((r) => r.name), ...observedByName.keys()]);
  const runners: PlannedRunner[] = [];
  const dropped: FleetPlan["dropped"] = [];
  const handovers: Handover[] = [];
  const rollouts: PoolRollout[] = [];
  const pools = new Map(input.pools.map((p) => [p.name, p]));

  const drop = (runner: KnownRunner, gone: Gone) =>
    dropped.push({ name: runner.name, pool: runner.pool, ...gone });
  const newName = (pool: string) => {
    let name: string;
    do
      name = fleetRunnerName(
        input.namePrefix,
        input.namedPools ? pool : undefined,
        input.randomSuffix(),
      );
    while (taken.has(name));
    taken.add(name);
    return name;
  };
  const createdAt = new Date(input.now).toISOString();
  for (const runner of input.previous) {
    if (!pools.has(runner.pool))
      drop(runner, { cause: "pool-removed", reason: `pool ${runner.pool} removed` });
  }
  for (const pool of input.pools) {
    const { quantity, spec } = pool;
    // A runner deployed before specs were recorded is taken to be of the pool's spec.
    const specOf = (r: KnownRunner) => r.spec ?? spec;
    const outdated = (r: KnownRunner) => spec !== undefined && specOf(r) !== spec;
    const candidates: PlannedRunner[] = [];
    /** Runners of the pool's spec that never came online. */
    const neverOnline: string[] = [];
    for (const runner of input.previous.filter((r) => r.pool === pool.name)) {
      const verdict: ReturnType<typeof classify> = input.serversInError?.has(runner.name)
        ? { gone: { cause: "server-in-error", reason: "its server is in ERROR" } }
        : // A busy runner is running its job on that server: it stays, and leaves after its job.
          input.serversNotRecorded?.has(runner.name) && !observedByName.get(runner.name)?.busy
          ? {
              gone: {
                cause: "server-not-recorded",
                reason: "an interrupted up made its server and did not record it",
              },
            }
          : classify(runner, observedByName.get(runner.name), input);
      if ("gone" in verdict) {
        drop(runner, verdict.gone);
        if (NEVER_ONLINE.includes(verdict.gone.cause) && !outdated(runner))
          neverOnline.push(runner.name);
      } else candidates.push({ ...runner, spec: specOf(runner), state: verdict.state });
    }
    candidates.sort(
      (a, b) =>
        PRIORITY[a.state as RunnerState] - PRIORITY[b.state as RunnerState] ||
        Number(outdated(a)) - Number(outdated(b)) ||
        a.name.localeCompare(b.name),
    );
    // Booting runners of the pool's spec stand for outdated runners they will replace: kept beyond
    // the quantity, so a replacement still booting does not push out a runner that serves.
    const replaceable = candidates.filter((r) => outdated(r) && r.state !== "busy").length;
    const pending = candidates
      .filter((r) => !outdated(r) && r.state === "booting")
      .slice(0, replaceable);
    const kept: PlannedRunner[] = [...pending];
    candidates
      .filter((r) => !pending.includes(r))
      .forEach((runner, i) => {
        if (i < quantity || (runner.state === "busy" && !input.flushBusy)) kept.push(runner);
        else
          drop(runner, {
            cause: "scale-down",
            reason: outdated(runner)
              ? `replaced by a runner of the new spec (${runner.state})`
              : `scale down to ${quantity} (${runner.state})`,
          });
      });
    const old = kept.filter(outdated);
    let replaced = new Set<string>();
    if (spec !== undefined && old.length > 0) {
      const surge = Math.max(0, (pool.surge ?? 0) - pending.length);
      const rollout = planPoolRollout({ ...pool, surge }, old, kept, neverOnline, outdated);
      replaced = new Set(rollout.replace.map((r) => r.name));
      const replacements = rollout.replace.map((from) => {
        const to = newName(pool.name);
        handovers.push({ from, to });
        return { from: from.name, to };
      });
      rollouts.push({
        pool: pool.name,
        spec,
        replacing: replacements,
        draining: old.filter((r) => r.state === "busy").map((r) => r.name),
        waiting: old.filter((r) => r.state !== "busy" && !replaced.has(r.name)).map((r) => r.name),
        ...(rollout.halted ? { halted: rollout.halted } : {}),
      });
    }
    runners.push(...kept.filter((r) => !replaced.has(r.name)));
    for (let i = kept.length - pending.length; i < quantity; i++) {
      runners.push({
        name: newName(pool.name),
        pool: pool.name,
        createdAt,
        spec,
        model: NEW_RUNNER_MODEL,
        state: "new",
      });
    }
    // Replacements come last, so the quota gives room to filling the pool first.
    for (const { from, to } of handovers.filter((h) => h.from.pool === pool.name)) {
      runners.push({
        name: to,
        pool: pool.name,
        createdAt,
        spec,
        model: NEW_RUNNER_MODEL,
        state: "new",
        replaces: from.name,
      });
    }
  }
  const known = new Set(input.previous.map((r) => r.name));
  const orphans = input.observed
    .map((r) => r.name)
    .filter((name) => name.startsWith(`${input.namePrefix}-`) && !known.has(name));
  return { runners, dropped, orphans, handovers, rollouts };
}

/**
 * Which outdated runners of a pool this `up` replaces: up to the surge, those that serve nothing
 * first (booting, then idle); none while the rollout is halted. It halts when runners of the new
 * spec never came online (this plan drops them) and none of that spec is online, or an earlier
 * `up` halted it and still none is online: a bad image stops after its first replacements.
 */
function planPoolRollout(
  pool: PlanPool,
  old: PlannedRunner[],
  kept: PlannedRunner[],
  neverOnline: string[],
  outdated: (r: KnownRunner) => boolean,
): { replace: PlannedRunner[]; halted?: string } {
  const onlineOfSpec = kept.some((r) => !outdated(r) && (r.state === "busy" || r.state === "idle"));
  const halted = onlineOfSpec
    ? undefined
    : (pool.haltedBefore ??
      (neverOnline.length > 0
        ? `runners of the new spec never came online (${neverOnline.join(", ")})`
        : undefined));
  if (halted) return { replace: [], halted };
  const order: Record<string, number> = { booting: 0, idle: 1 };
  const replace = old
    .filter((r) => r.state !== "busy")
    .sort((a, b) => order[a.state] - order[b.state] || a.name.localeCompare(b.name))
    .slice(0, pool.surge ?? 0);
  return { replace };
}
