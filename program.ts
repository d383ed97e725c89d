// The fleet program, as its flow: read the settings, observe the world, plan, report, declare the
// resources, and return the outputs the next deployment observes. `index.ts` runs it under the
// Pulumi CLI; the tests and the sandbox run it through the Automation API.
import * as path from "node:path";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { RunnerFleet } from "./components/runner-fleet";
import { imageBuildTriggers, RunnerImage } from "./components/runner-image";
import { RunnerSecurityGroup } from "./components/runner-security-group";
import { FleetConfig, fleetConfigWarnings, parseFleetConfig } from "./config/fleet-config";
import { userDataSettings } from "./config/userdata-settings";
import { GitHubCredentials, resolveCredentials } from "./dynamic-providers/github/client";
import { LostServerSweep } from "./dynamic-providers/lost-server-sweep";
import { appendMetricsEvents } from "./dynamic-providers/metrics/log";
import { readTenantCapacity, TenantCapacity } from "./dynamic-providers/openstack/tenant-capacity";
import type { FleetServer } from "./dynamic-providers/openstack/nova-servers";
import { onTheCloud } from "./fleet/cloud-side-path";
import { DemandSnapshot, matchJobsToPools, poolCounts, SizedPool, sizePools } from "./fleet/demand";
import { demandSnapshot } from "./fleet/demand-snapshot";
import { fitPlanToQuota, QuotaVerdict, quotaWarning } from "./fleet/quota";
import { poolSummaries, PoolSummary } from "./fleet/pool-summary";
import { fitPlanToWriteBudget, writeBudgetWarning } from "./fleet/write-budget";
import { WRITE_LEDGER_ENV, writesPerHour, writesWithinHour } from "./rules/github-write-budget";
import {
  listFleetServers,
  LostServerPlan,
  lostServerWarnings,
  nextCandidates,
  nextKnownServerIds,
  planLostServers,
  planWithoutSearch,
  runnersWithUnknownServers,
} from "./fleet/lost-servers";
import {
  latestRunnerVersion,
  observedRunners,
  PreviousDeployment,
  previousDeployment,
  serversInError,
  stackName,
} from "./fleet/observation";
import { legacyStillInUse, StackIdentity, stackIdentity } from "./fleet/stack-identity";
import {
  FleetPlan,
  KnownRunner,
  ObservedRunner,
  planFleet,
  PlanInput,
  randomRunnerSuffix,
} from "./fleet/plan";
import { reconciliationEvents } from "./fleet/reconciliation-events";
import {
  handoverWarnings,
  haltsAfter,
  plannedHalts,
  rolloutCauses,
  rolloutMessage,
} from "./fleet/rollout";
import { poolSpec, RunnerSpec, SpecSettings } from "./fleet/runner-spec";
import { uuid } from "./rules/formats";
import { surgeOf } from "./rules/settings";

export async function fleetProgram() {
  const started = Date.now();
  const settings = readSettings();
  // What the fleet is made of does not depend on what is deployed: both are looked up at once,
  // so every `up` (and the reconciler's) waits for the slower of the two, not for their sum.
  const [world, { runnerVersion, made }] = await Promise.all([
    observe(settings),
    resolveRunnerVersion(settings).then(async (runnerVersion) => ({
      runnerVersion,
      made: await runnersMadeOf(settings, runnerVersion),
    })),
  ]);
  // One clock for every decision of this deployment: ages, boot grace, new runners' createdAt.
  const now = Date.now();
  const planned = await planRunners(settings, world, made.specs, now);
  const { quota, sizes } = planned;
  const fleet = withinWriteBudget(planned.fleet, now);
  await report(settings, { fleet, quota }, sizes, now, (Date.now() - started) / 1000);
  reportRollouts(settings, fleet, made.specs, world.previous);
  const lostServers = planLostServerSweep(world);
  const { identity, servers } = world;
  const marks = "skipped" in servers ? undefined : servers.map((s) => s.stack);
  const pools = poolSummaries(settings.config.pools, fleet, sizes);
  const plan = { fleet, lostServers, quota, identity, marks, specs: made.specs, pools };
  const previousSpecs = world.previous.runnerSpecs;
  recordPlan(plan, previousSpecs);
  const declared = declare(settings, { ...plan, runnerVersion, existingImageId: made.imageId });
  return outputs(settings, plan, declared, previousSpecs);
}

/** The stack config, validated, with the credentials and secrets the program itself needs. */
interface Settings {
  config: FleetConfig;
  credentials: GitHubCredentials;
  repoPolicyComplianceToken: pulumi.Output<string> | undefined;
}

function readSettings(): Settings {
  const cfg = new pulumi.Config("runner-fleet");
  const config = parseFleetConfig((key) => cfg.get(key), pulumi.getStack());
  for (const warning of fleetConfigWarnings(config)) pulumi.log.warn(warning);
  return {
    config,
    credentials: resolveCredentials(
      (key) => cfg.get(key.replace(/^runner-fleet:/, "")),
      process.env,
    ),
    repoPolicyComplianceToken: cfg.getSecret("repoPolicyComplianceToken"),
  };
}

/** What the program sees before it decides which runners to keep. */
interface World {
  /** What the last deployment's outputs say (also a failed one's: see `recordPlan`). */
  previous: PreviousDeployment;
  /** The runners GitHub lists with the fleet's prefix, or why it could not list them. */
  github: ObservedRunner[] | { unreadable: string };
  /** Nova's servers of this stack, or why they could not be listed. */
  servers: FleetServer[] | { skipped: string };
  /** The tenant's room for new servers, or why it could not be read. */
  capacity: TenantCapacity | { skipped: string };
  /** What marks this stack's servers in Nova. */
  identity: StackIdentity;
  /** The job queue, for pools sized by demand (none: no such pool, or no listing for the path). */
  demand?: DemandSnapshot | { skipped: string };
}

async function observe({ config, credentials }: Settings): Promise<World> {
  const previous = await previousDeployment();
  const identity = stackIdentity(stackName(), previous.identity);
  const byDemand = config.pools.some((p) => "maxRunners" in p.sizing);
  const [github, servers, capacity, demand] = await Promise.all([
    observedRunners(config.githubApiUrl, config.githubPath, config.namePrefix, credentials).catch(
      (err: Error) => {
        // With runners to force-release, the operator is recovering from lost access: the
        // program must not stop `destroy --run-program`, whose deletes read the lever.
        if (config.forceRelease.length === 0) throw err;
        pulumi.log.warn(`GitHub cannot be read, so every runner is kept as it is: ${err.message}`);
        return { unreadable: err.message };
      },
    ),
    listFleetServers(config.namePrefix, identity.recognised),
    onTheCloud("reading the quota", readTenantCapacity),
    byDemand
      ? demandSnapshot(config.githubApiUrl, config.githubPath, credentials, process.env).catch(
          (err: Error) => ({
            skipped: `the job queue cannot be read: ${err.message}`,
          }),
        )
      : undefined,
  ]);
  return { previous, github, servers, capacity, identity, demand };
}

/**
 * What each pool's new runners are made of (fleet/runner-spec.ts), and the Glance id of an
 * existing image found by name: looked up once, so the spec and the servers agree.
 */
async function runnersMadeOf(
  settings: Settings,
  runnerVersion: string | undefined,
): Promise<{ specs: Map<string, RunnerSpec>; imageId?: string }> {
  const { config } = settings;
  const image = config.image;
  let imageId: string | undefined;
  let imageIdentity: string;
  if (image.kind === "existing") {
    imageId = uuid.test(image.ref)
      ? image.ref
      : (await openstack.images.getImage({ name: image.ref, mostRecent: true })).id;
    imageIdentity = imageId;
  } else {
    imageIdentity = JSON.stringify(imageBuildTriggers(image, runnerVersion ?? image.runnerVersion));
  }
  const token = settings.repoPolicyComplianceToken
    ? await new Promise<string>((resolve) => settings.repoPolicyComplianceToken?.apply(resolve))
    : undefined;
  const specs = new Map(
    config.pools.map((pool) => [pool.name, poolSpec(config, pool, imageIdentity, token)]),
  );
  return { specs, imageId };
}

/** The runners to keep, make and drop, on the deployment's clock, within the tenant's quota. */
async function planRunners(
  { config }: Settings,
  world: World,
  specs: Map<string, RunnerSpec>,
  now: number,
): Promise<{ fleet: FleetPlan; quota: QuotaVerdict | { skipped: string }; sizes: SizedPool[] }> {
  const previous = world.previous.runners;
  if ("unreadable" in world.github) {
    const pools = new Set(config.pools.map((p) => p.name));
    const kept = previous
      .filter((r) => pools.has(r.pool))
      .map((r) => ({ ...r, state: "idle" as const }));
    return {
      fleet: { runners: kept, dropped: [], orphans: [], handovers: [], rollouts: [] },
      quota: { skipped: "GitHub cannot be read" },
      sizes: [],
    };
  }
  const github = world.github;
  const servers = "skipped" in world.servers ? undefined : world.servers;
  const timing = { now, bootGraceSeconds: config.bootGraceSeconds, mode: config.registrationMode };
  const halts = world.previous.rolloutHalts;
  const sizes = poolSizes(config, world, timing);
  const fleet = planFleet({
    namePrefix: config.namePrefix,
    namedPools: config.namedPools,
    pools: config.pools.map((pool) => {
      const spec = specs.get(pool.name)?.id;
      const halt = halts[pool.name];
      const quantity = sizes.get(pool.name)?.quantity ?? 0;
      return {
        name: pool.name,
        quantity,
        spec,
        surge: surgeOf(config.rolloutSurge, quantity),
        ...(halt && halt.spec === spec ? { haltedBefore: halt.reason } : {}),
      };
    }),
    previous,
    observed: github,
    ...timing,
    flushBusy: config.flushBusy,
    serversInError: await serversInError(previous, github, timing),
    serversNotRecorded: servers && runnersWithUnknownServers(servers, world.previous),
    randomSuffix: randomRunnerSuffix,
  });
  if ("skipped" in world.capacity)
    return { fleet, quota: world.capacity, sizes: [...sizes.values()] };
  const flavors = new Map(config.pools.map((p) => [p.name, p.flavor]));
  // Kept runners Nova has no server for: a failed `up` registered them and made no server.
  const withServer = new Set(servers?.map((s) => s.runnerName));
  const withoutServer = new Set(
    servers ? previous.map((r) => r.name).filter((n) => !withServer.has(n)) : [],
  );
  const fitted = fitPlanToQuota(
    fleet,
    withoutServer,
    world.capacity,
    (pool) => flavors.get(pool) ?? "",
  );
  return { fleet: fitted.plan, quota: fitted.verdict, sizes: [...sizes.values()] };
}

/**
 * Holds back the new runners GitHub's hourly write budget cannot pay for, where a ledger of
 * writes is kept (the reconciler keeps one: rules/github-write-budget.ts).
 */
function withinWriteBudget(fleet: FleetPlan, now: number): FleetPlan {
  const ledger = process.env[WRITE_LEDGER_ENV];
  if (!ledger) return fleet;
  const budget = {
    perHour: writesPerHour(process.env),
    used: writesWithinHour(ledger, now).length,
  };
  const fitted = fitPlanToWriteBudget(fleet, budget);
  const warning = writeBudgetWarning(fitted.verdict);
  if (warning) pulumi.log.warn(warning);
  return fitted.plan;
}

/**
 * The size of each pool for this `up`: its quantity, or from the job queue (fleet/demand.ts).
 * Says how a demand-sized pool got its size.
 */
function poolSizes(
  config: FleetConfig,
  world: World,
  timing: Pick<PlanInput, "now" | "bootGraceSeconds" | "mode">,
): Map<string, SizedPool> {
  const observed = "unreadable" in world.github ? [] : world.github;
  const counts = poolCounts(world.previous.runners, observed, timing);
  const demand = world.demand && !("skipped" in world.demand) ? world.demand : undefined;
  if (world.demand && "skipped" in world.demand) pulumi.log.warn(world.demand.skipped);
  const jobs = demand && matchJobsToPools(demand.queued, config.pools);
  const sized = sizePools(
    config.pools.map((p) => ({ name: p.name, sizing: p.sizing })),
    counts,
    jobs,
    config.fleetMaxRunners,
  );
  for (const pool of sized.filter((p) => p.reason !== "quantity")) {
    pulumi.log.info(`pool ${pool.name} sized to ${pool.quantity}: ${pool.reason}`);
  }
  if (jobs && jobs.unmatched > 0) {
    pulumi.log.info(`${jobs.unmatched} queued jobs match no pool's labels: they spawn nothing`);
  }
  return new Map(sized.map((p) => [p.name, p]));
}

/** Says which runners leave and why, and records the plan as metrics on a real `up`. */
async function report(
  { config }: Settings,
  { fleet, quota }: Pick<DeploymentPlan, "fleet" | "quota">,
  sizes: SizedPool[],
  now: number,
  planningSeconds: number,
): Promise<void> {
  if (config.metrics.enabled && !pulumi.runtime.isDryRun()) {
    const logPath = path.resolve(config.metrics.logPath);
    // Metrics are a side path: a log that cannot be written never fails the deployment.
    await appendMetricsEvents(
      logPath,
      reconciliationEvents(fleet, sizes, Math.floor(now / 1000), planningSeconds),
    ).catch((err: Error) =>
      pulumi.log.warn(`metrics events not written to ${logPath}, the up goes on: ${err.message}`),
    );
  }
  if ("skipped" in quota) pulumi.log.warn(`the tenant's quota is not known: ${quota.skipped}`);
  else {
    const warning = quotaWarning(quota);
    if (warning) pulumi.log.warn(warning);
  }
  for (const { name, reason } of fleet.dropped) {
    pulumi.log.info(`runner ${name} leaves the fleet: ${reason}`);
  }
  if (fleet.orphans.length > 0) {
    pulumi.log.warn(
      `GitHub lists runners with the fleet's prefix that this stack did not deploy: ` +
        `${fleet.orphans.join(", ")}; remove them on GitHub, or use another namePrefix`,
    );
  }
}

/** Says, per pool with outdated runners, why they are outdated and what this `up` does. */
function reportRollouts(
  { config }: Settings,
  fleet: FleetPlan,
  specs: Map<string, RunnerSpec>,
  previous: PreviousDeployment,
): void {
  const surge =
    "runners" in config.rolloutSurge
      ? String(config.rolloutSurge.runners)
      : `${config.rolloutSurge.percent}%`;
  for (const rollout of fleet.rollouts) {
    const spec = specs.get(rollout.pool);
    if (!spec) continue;
    const causes = rolloutCauses(rollout, fleet, previous.runnerSpecs, spec);
    const { level, text } = rolloutMessage(rollout, causes, surge);
    if (level === "warn") pulumi.log.warn(text);
    else pulumi.log.info(text);
  }
}

/** Plans the sweep of the servers of the stack in Nova that no deployment recorded, says so. */
function planLostServerSweep(world: World): LostServerPlan {
  const { servers, previous } = world;
  if ("skipped" in servers) {
    pulumi.log.warn(`servers lost by an interrupted up are not looked for: ${servers.skipped}`);
    return planWithoutSearch(previous);
  }
  // Without GitHub's view no runner counts as idle: nothing is swept.
  if ("unreadable" in world.github) return planWithoutSearch(previous);
  const busy = new Set(world.github.filter((r) => r.busy).map((r) => r.name));
  const plan = planLostServers(servers, previous, busy);
  for (const warning of lostServerWarnings(plan)) pulumi.log.warn(warning);
  return plan;
}

/** For a build of `latest`: the runner version that stands for it now. */
async function resolveRunnerVersion({ config, credentials }: Settings) {
  const image = config.image;
  if (image.kind !== "build" || image.runnerVersion !== "latest") return undefined;
  return latestRunnerVersion(
    config.githubApiUrl,
    config.githubPath,
    image.architecture,
    credentials,
  );
}

/** What this deployment does. */
interface DeploymentPlan {
  fleet: FleetPlan;
  lostServers: LostServerPlan;
  quota: QuotaVerdict | { skipped: string };
  identity: StackIdentity;
  /** The marks of the stack's servers Nova has (undefined: not searched). */
  marks?: string[];
  /** What each pool's new runners are made of. */
  specs: Map<string, RunnerSpec>;
  /** Each pool's labels, size and runners by state (fleet/pool-summary.ts). */
  pools: PoolSummary[];
  runnerVersion?: string;
  /** The Glance id of an existing image, looked up by `runnersMadeOf`. */
  existingImageId?: string;
}

interface Declared {
  sweep: LostServerSweep;
  image: RunnerImage;
  group: RunnerSecurityGroup;
  fleet: RunnerFleet;
}

function declare(settings: Settings, plan: DeploymentPlan): Declared {
  const { config, credentials } = settings;
  const stack = plan.identity.identity;
  // Every server depends on the sweep, so `destroy` runs the sweep's delete last.
  const sweep = new LostServerSweep("lost-servers", {
    prefix: config.namePrefix,
    stack,
    recognised: plan.identity.recognised,
    github: { apiUrl: config.githubApiUrl, path: config.githubPath },
    servers: plan.lostServers.sweep,
  });
  const image = new RunnerImage("image", {
    image: config.image,
    github: {
      apiUrl: config.githubApiUrl,
      path: config.githubPath,
      token: credentials.kind === "token" ? pulumi.secret(credentials.token) : undefined,
    },
    resolvedRunnerVersion: plan.runnerVersion,
    existingImageId: plan.existingImageId,
  });
  const group = new RunnerSecurityGroup("security-group", {
    groupName: `${config.namePrefix}-runners`,
    sshSourceCidr: config.sshSourceCidr,
  });
  const fleet = declareFleet(config, plan.fleet, {
    imageId: image.imageId,
    securityGroupName: group.groupName,
    repoPolicyComplianceToken: settings.repoPolicyComplianceToken,
    stack,
    sweep,
  });
  return { sweep, image, group, fleet };
}

/** The fleet component for the plan's runners, given what the config says of them. */
export function declareFleet(
  config: FleetConfig,
  plan: Pick<FleetPlan, "runners"> & Partial<Pick<FleetPlan, "handovers">>,
  refs: {
    imageId: pulumi.Input<string>;
    securityGroupName: pulumi.Input<string>;
    repoPolicyComplianceToken?: pulumi.Input<string>;
    stack: string;
    sweep?: pulumi.Resource;
  },
): RunnerFleet {
  const token: pulumi.Output<string | undefined> = pulumi.output(refs.repoPolicyComplianceToken);
  return new RunnerFleet("fleet", {
    runners: plan.runners.map(runnerRecord),
    handovers: plan.handovers?.map(({ from, to }) => ({ from: runnerRecord(from), to })),
    rolloutWaitSeconds: config.rolloutWaitSeconds,
    pools: config.pools,
    github: {
      apiUrl: config.githubApiUrl,
      path: config.githubPath,
      runnerGroup: config.runnerGroup,
      mode: config.registrationMode,
      bootGraceSeconds: config.bootGraceSeconds,
      busyWaitSeconds: config.busyWaitSeconds,
      flushBusy: config.flushBusy,
    },
    namePrefix: config.namePrefix,
    stack: refs.stack,
    network: config.network,
    imageId: refs.imageId,
    securityGroupName: refs.securityGroupName,
    userData: token.apply((t) => userDataSettings(config, t)),
    metricsLogPath: config.metrics.enabled ? path.resolve(config.metrics.logPath) : undefined,
    sweep: refs.sweep,
  });
}

/** `{ [key]: value }`, or nothing for an undefined value. */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** A runner as the outputs record it for the next plan. */
function runnerRecord(r: KnownRunner): KnownRunner {
  return {
    name: r.name,
    pool: r.pool,
    createdAt: r.createdAt,
    ...optional("spec", r.spec),
    ...optional("model", r.model),
  };
}

type PlanOfOutputs = Omit<DeploymentPlan, "runnerVersion" | "existingImageId">;

/**
 * The settings of the specs of `runners` and of the pools' new runners, by spec id: only those in
 * use, so a spec leaves the outputs with its last runner.
 */
function specsInUse(
  plan: PlanOfOutputs,
  runners: KnownRunner[],
  previous: Record<string, SpecSettings>,
): Record<string, SpecSettings> {
  const all = new Map([
    ...Object.entries(previous),
    ...[...plan.specs.values()].map((s): [string, SpecSettings] => [s.id, s.settings]),
  ]);
  const used: Record<string, SpecSettings> = {};
  for (const spec of plan.specs.values()) used[spec.id] = spec.settings;
  for (const r of runners) {
    const settings = r.spec ? all.get(r.spec) : undefined;
    if (r.spec && settings) used[r.spec] = settings;
  }
  return used;
}

/** The outputs that follow from the plan alone, known before any resource changes. */
function plannedOutputs(plan: PlanOfOutputs, previous: Record<string, SpecSettings>) {
  const runners = plan.fleet.runners.map(runnerRecord);
  return {
    runners,
    runnerNames: runners.map((r) => r.name),
    droppedRunners: plan.fleet.dropped,
    orphanedRunners: plan.fleet.orphans,
    sweptServers: plan.lostServers.sweep.map((s) => s.id),
    // What marks the stack's servers (fleet/stack-identity.ts).
    stackIdentity: plan.identity.identity,
    // Only while in use: an undefined output would be warned about at every deployment.
    ...optional("legacyStackIdentity", legacyStillInUse(plan.identity, plan.marks)),
    // How many of the servers this deployment wanted the tenant's quota allowed (fleet/quota.ts).
    serverQuota: plan.quota,
    pools: plan.pools,
    // What the runners are made of, and the rollouts halted (fleet/runner-spec.ts, rollout.ts).
    rollouts: plan.fleet.rollouts,
    runnerSpecs: specsInUse(
      plan,
      [...runners, ...plan.fleet.handovers.map((h) => h.from)],
      previous,
    ),
    rolloutHalts: plannedHalts(plan.fleet),
  };
}

/**
 * Records the plan as the stack's outputs before any resource changes. The engine keeps outputs
 * registered during a deployment even when the deployment fails, so after a failed or killed
 * `up` the next one plans from the runners this one made (kept, never made again), not from the
 * last completed deployment's. The complete outputs (`outputs`) replace these at the end; they
 * wait for every resource, so they are registered last. Outdated runners handed over to their
 * replacements are recorded too: they stay until this `up` ends well.
 */
function recordPlan(plan: PlanOfOutputs, previousSpecs: Record<string, SpecSettings>): void {
  const stack = pulumi.runtime.getStackResource();
  if (!stack || pulumi.runtime.isDryRun()) return;
  const planned = plannedOutputs(plan, previousSpecs);
  const runners = [...planned.runners, ...plan.fleet.handovers.map((h) => runnerRecord(h.from))];
  pulumi.runtime.registerResourceOutputs(stack, {
    ...planned,
    runners,
    runnerNames: runners.map((r) => r.name),
    knownServerIds: nextKnownServerIds(plan.lostServers, []),
    lostServerCandidates: nextCandidates(plan.lostServers, []),
  });
}

/** The stack outputs: what the next deployment observes, and what operators read. */
function outputs(
  { config }: Settings,
  plan: PlanOfOutputs,
  declared: Declared,
  previousSpecs: Record<string, SpecSettings>,
) {
  const { sweep, image, group, fleet } = declared;
  const planned = plannedOutputs(plan, previousSpecs);
  // In a preview, no handover has an outcome: the plan's runners are what it shows.
  const keptOutdated = pulumi.runtime.isDryRun() ? pulumi.output([]) : fleet.keptOutdated;
  const runners = keptOutdated.apply((kept) => [...planned.runners, ...kept.map(runnerRecord)]);
  const serverIds = pulumi
    .all([pulumi.all(fleet.runners.map((r) => r.serverId)), keptOutdated])
    .apply(([ids, kept]) => [...ids, ...kept.map((k) => k.serverId)]);
  const rolloutHalts = pulumi.runtime.isDryRun()
    ? pulumi.output(planned.rolloutHalts)
    : fleet.handovers.apply((outcomes) => {
        for (const w of handoverWarnings(outcomes, config.rolloutWaitSeconds)) pulumi.log.warn(w);
        return haltsAfter(plan.fleet, outcomes, config.rolloutWaitSeconds);
      });
  return {
    ...planned,
    runners,
    runnerNames: runners.apply((list) => list.map((r) => r.name)),
    rolloutHalts,
    serverIds,
    imageId: image.imageId,
    securityGroupId: group.groupId,
    // For the next deployment's lost-server search (fleet/lost-servers.ts).
    knownServerIds: serverIds.apply((ids) => nextKnownServerIds(plan.lostServers, ids)),
    lostServerCandidates: sweep.servers.apply((deleted) =>
      nextCandidates(plan.lostServers, deleted),
    ),
  };
}
