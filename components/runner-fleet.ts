import * as pulumi from "@pulumi/pulumi";
import type { RunnerUserDataSettings } from "../cloud-init";
import type { KnownRunner } from "../fleet/plan";
import { RunnerGitHubSettings, RunnerServer } from "./runner-server";

/** A pool's make-up, as its servers and registrations need it. */
export interface FleetPool {
  name: string;
  flavor: string;
  labels: string[];
}

/** A runner to declare: its name, pool and the time it was planned. */
/** A runner of the plan, as the stack's outputs record it (fleet/plan.ts). */
export type FleetRunner = KnownRunner;

/** An outdated runner and the new runner that replaces it (fleet/plan.ts). */
export interface FleetHandover {
  from: FleetRunner;
  to: string;
}

/** Arguments of the fleet. */
export interface RunnerFleetArgs {
  /** The runners to declare (the plan's, kept and new). */
  runners: FleetRunner[];
  pools: FleetPool[];
  /** The GitHub side of every runner; each pool adds its labels. */
  github: Omit<RunnerGitHubSettings, "labels">;
  /** The fleet's name prefix and the stack identity (fleet/stack-identity.ts), in each server's metadata. */
  namePrefix: string;
  stack: string;
  /** Name or id of the network. */
  network: string;
  imageId: pulumi.Input<string>;
  securityGroupName: pulumi.Input<string>;
  /** The userdata settings every runner gets (secret when they hold the repo-policy token). */
  userData: pulumi.Input<RunnerUserDataSettings>;
  /** Pull metrics over SSH into this JSON-lines file before a server goes. @default no metrics */
  metricsLogPath?: string;
  /** The lost-server sweep every server depends on. */
  sweep?: pulumi.Resource;
  /** Outdated runners that go once their replacement (one of `runners`) is online. */
  handovers?: FleetHandover[];
  /** How long a replacement is waited for. */
  rolloutWaitSeconds?: number;
}

/** What became of a handover. */
export interface HandoverOutcome {
  from: string;
  to: string;
  /** Whether the replacement came online in time; if not, `from` stays. */
  cameOnline: boolean;
}

/** A runner of the fleet, as the stack outputs remember it for the next plan. */
export interface FleetRunnerOutput extends FleetRunner {
  serverId: pulumi.Output<string>;
}

/**
 * The fleet: one RunnerServer per planned runner. Runners left out of the plan are deleted by
 * Pulumi, each teardown first, so idle runners go and busy ones are waited for. An outdated
 * runner handed over to its replacement (a rollout, fleet/plan.ts) is left out too, and so goes
 * at the end of the `up`, after its replacement's wait for online; if the replacement did not
 * come online, it is declared after all and stays.
 */
export class RunnerFleet extends pulumi.ComponentResource {
  readonly runners: FleetRunnerOutput[];
  /**
   * Each handover's outcome, once its replacement came online or its wait ran out. An outdated
   * runner whose replacement did not come online is declared again, unchanged, so it stays.
   */
  readonly handovers: pulumi.Output<HandoverOutcome[]>;
  /** The outdated runners kept that way (in a preview: none yet known). */
  readonly keptOutdated: pulumi.Output<(FleetRunner & { serverId: string })[]>;

  constructor(name: string, args: RunnerFleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("runner-fleet:openstack:RunnerFleet", name, {}, opts);
    const pools = new Map(args.pools.map((p) => [p.name, p]));
    const replacements = new Set((args.handovers ?? []).map((h) => h.to));
    const declareRunner = (runner: FleetRunner) => {
      const pool = pools.get(runner.pool);
      if (!pool) throw new Error(`planned runner ${runner.name} has unknown pool ${runner.pool}`);
      return new RunnerServer(
        runner.name,
        {
          runnerName: runner.name,
          fleet: args.namePrefix,
          stack: args.stack,
          pool: pool.name,
          github: { ...args.github, labels: pool.labels },
          imageId: args.imageId,
          flavorName: pool.flavor,
          network: args.network,
          securityGroupName: args.securityGroupName,
          userData: args.userData,
          createdAt: runner.createdAt,
          metricsLogPath: args.metricsLogPath,
          sweep: args.sweep,
          spec: runner.spec,
          model: runner.model ?? "nova-keypair",
          awaitOnlineSeconds: replacements.has(runner.name) ? args.rolloutWaitSeconds : undefined,
        },
        { parent: this },
      );
    };
    const servers = new Map<string, RunnerServer>();
    this.runners = args.runners.map((runner) => {
      const server = declareRunner(runner);
      servers.set(runner.name, server);
      return { ...runner, serverId: server.serverId };
    });
    const outcomes = (args.handovers ?? []).map(({ from, to }) => {
      const replacement = servers.get(to);
      if (!replacement) throw new Error(`handover to ${to}, which is not planned`);
      // Declared late, once the wait is over: until the program ends, the engine deletes nothing
      // it has not been told to keep, and this keeps `from` when its replacement failed.
      return replacement.cameOnline.apply((online) => {
        const outcome = { from: from.name, to, cameOnline: online === true };
        if (outcome.cameOnline) return { outcome, kept: undefined };
        const kept = declareRunner(from);
        return kept.serverId.apply((serverId) => ({ outcome, kept: { ...from, serverId } }));
      });
    });
    const settled = pulumi.all(outcomes);
    this.handovers = settled.apply((list) => list.map((h) => h.outcome));
    this.keptOutdated = settled.apply((list) => list.flatMap((h) => (h.kept ? [h.kept] : [])));
    this.registerOutputs({});
  }
}
