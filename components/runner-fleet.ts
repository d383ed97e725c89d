import * as pulumi from "@pulumi/pulumi";
import type { RunnerUserDataSettings } from "../cloud-init";
import { RunnerGitHubSettings, RunnerServer } from "./runner-server";

/** A pool's make-up, as its servers and registrations need it. */
export interface FleetPool {
  name: string;
  flavor: string;
  labels: string[];
}

/** A runner to declare: its name, pool and the time it was planned. */
export interface FleetRunner {
  name: string;
  pool: string;
  /** ISO 8601. */
  createdAt: string;
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
}

/** A runner of the fleet, as the stack outputs remember it for the next plan. */
export interface FleetRunnerOutput extends FleetRunner {
  serverId: pulumi.Output<string>;
}

/**
 * The fleet: one RunnerServer per planned runner. Runners left out of the plan are deleted by
 * Pulumi, each teardown first, so idle runners go and busy ones are waited for.
 */
export class RunnerFleet extends pulumi.ComponentResource {
  readonly runners: FleetRunnerOutput[];

  constructor(name: string, args: RunnerFleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("runner-fleet:openstack:RunnerFleet", name, {}, opts);
    const pools = new Map(args.pools.map((p) => [p.name, p]));
    this.runners = args.runners.map((runner) => {
      const pool = pools.get(runner.pool);
      if (!pool) throw new Error(`planned runner ${runner.name} has unknown pool ${runner.pool}`);
      const server = new RunnerServer(
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
        },
        { parent: this },
      );
      return {
        name: runner.name,
        pool: runner.pool,
        createdAt: runner.createdAt,
        serverId: server.serverId,
      };
    });
    this.registerOutputs({});
  }
}
