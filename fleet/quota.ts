// Plans only the servers the tenant has room for. An `up` that asks Nova for more than its quota
// fails halfway, after making registrations and keypairs for servers it never gets; planning
// within the quota makes a smaller `up` that succeeds, and says how many runners wait for room.
// What this `up` deletes frees room only at its end, so it is not counted.
import type { TenantCapacity, TenantRoom } from "../dynamic-providers/openstack/tenant-capacity";
import type { DroppedRunner, FleetPlan } from "./plan";

/** What the quota allowed of this deployment's server creates. */
export interface QuotaVerdict {
  /** Servers the plan would create: its new runners and recorded runners without a server. */
  wanted: number;
  allowed: number;
  /** The limits that held creates back. */
  limitedBy: (keyof TenantRoom)[];
  /** The room before this deployment; null where the cloud sets no limit. */
  room: Record<keyof TenantRoom, number | null>;
}

/**
 * Keeps the creates that fit, in plan order (recorded runners first: they hold registrations
 * already); new runners beyond the room are not planned, recorded ones are dropped.
 */
export function fitPlanToQuota(
  plan: FleetPlan,
  /** Runners of the plan that need a server: recorded ones whose server the state lacks. */
  needServer: ReadonlySet<string>,
  capacity: TenantCapacity,
  flavorOfPool: (pool: string) => string,
): { plan: FleetPlan; verdict: QuotaVerdict } {
  const creates = [
    ...plan.runners.filter((r) => r.state !== "new" && needServer.has(r.name)),
    ...plan.runners.filter((r) => r.state === "new"),
  ];
  const room = { ...capacity.room };
  const limitedBy = new Set<keyof TenantRoom>();
  const held = new Set<string>();
  for (const runner of creates) {
    const size = capacity.flavors.get(flavorOfPool(runner.pool)) ?? { vcpus: 0, ramMiB: 0 };
    const takes: TenantRoom = { instances: 1, ports: 1, cores: size.vcpus, ramMiB: size.ramMiB };
    const short = (Object.keys(takes) as (keyof TenantRoom)[]).filter((k) => takes[k] > room[k]);
    if (short.length > 0) {
      short.forEach((k) => limitedBy.add(k));
      held.add(runner.name);
      continue;
    }
    for (const k of Object.keys(takes) as (keyof TenantRoom)[]) room[k] -= takes[k];
  }
  const dropped: DroppedRunner[] = plan.runners
    .filter((r) => held.has(r.name) && r.state !== "new")
    .map((r) => ({
      name: r.name,
      pool: r.pool,
      cause: "no-quota",
      reason: "the tenant's quota has no room for its server",
    }));
  // A rollout without room: the outdated runner goes first (only as many as the surge lets be
  // replaced), and the pool is filled when its delete has made room, at the next `up`.
  const goesFirst = new Set(
    plan.runners.filter((r) => held.has(r.name) && r.replaces).map((r) => r.replaces as string),
  );
  for (const { from } of plan.handovers.filter((h) => goesFirst.has(h.from.name))) {
    dropped.push({
      name: from.name,
      pool: from.pool,
      cause: "replaced-without-room",
      reason:
        "outdated, and the quota has no room for its replacement: it goes first, and a runner " +
        "of the new spec takes its place when its delete has made room",
    });
  }
  const finite = (n: number) => (Number.isFinite(n) ? n : null);
  return {
    plan: {
      ...plan,
      runners: plan.runners.filter((r) => !held.has(r.name)),
      dropped: [...plan.dropped, ...dropped],
      handovers: plan.handovers.filter((h) => !goesFirst.has(h.from.name)),
      rollouts: plan.rollouts.map((r) => ({
        ...r,
        replacing: r.replacing.filter((x) => !goesFirst.has(x.from)),
        goFirst: [
          ...(r.goFirst ?? []),
          ...r.replacing.filter((x) => goesFirst.has(x.from)).map((x) => x.from),
        ],
      })),
    },
    verdict: {
      wanted: creates.length,
      allowed: creates.length - held.size,
      limitedBy: [...limitedBy].sort(),
      room: {
        instances: finite(capacity.room.instances),
        cores: finite(capacity.room.cores),
        ramMiB: finite(capacity.room.ramMiB),
        ports: finite(capacity.room.ports),
      },
    },
  };
}

/** The operator's line when the quota held creates back. */
export function quotaWarning(verdict: QuotaVerdict): string | undefined {
  if (verdict.allowed === verdict.wanted) return undefined;
  const room = verdict.limitedBy.map((k) => `${k} ${verdict.room[k]} free`).join(", ");
  return (
    `quota allows ${verdict.allowed} of ${verdict.wanted} new runners (${room}); ` +
    `the rest wait for room: raise the tenant's quota, or lower quantity`
  );
}
