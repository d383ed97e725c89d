import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { FleetConfig } from "../config/fleet-config";
import type { FleetPlan } from "../fleet/plan";
import { RunnerServer } from "./runner-server";
import type { UserDataOptions } from "../cloud-init";

/** Arguments of the fleet. */
export interface RunnerFleetArgs {
  config: FleetConfig;
  /** The runners to declare, from `planFleet`. */
  plan: FleetPlan;
  imageId: pulumi.Input<string>;
  securityGroupName: pulumi.Input<string>;
  /** The repo-policy-compliance token, a secret, when the check is on. */
  repoPolicyComplianceToken?: pulumi.Input<string>;
  /** `organization/project/stack`, in each server's metadata. */
  stack: string;
  /** The lost-server sweep every server depends on. */
  sweep?: pulumi.Resource;
}

/** A runner of the fleet, as the stack outputs remember it for the next plan. */
export interface FleetRunnerOutput {
  name: string;
  pool: string;
  createdAt: string;
  serverId: pulumi.Output<string>;
}

/** The userdata settings the config gives every runner. */
export function userDataSettings(
  config: FleetConfig,
  repoPolicyToken: string | undefined,
): Omit<UserDataOptions, "runnerName" | "registration" | "sshHostKey"> {
  return {
    proxy: config.proxy,
    dockerhubMirror: config.dockerhubMirror,
    sshDebugRelays: config.sshDebugRelays,
    repoPolicyCompliance:
      config.repoPolicyComplianceUrl && repoPolicyToken
        ? { url: config.repoPolicyComplianceUrl, token: repoPolicyToken }
        : undefined,
    authorCheck: config.authorCheck,
    preJobScript: config.preJobScript,
  };
}

/**
 * The fleet: one RunnerServer per planned runner. Runners left out of the plan are deleted by
 * Pulumi, each guard first, so idle runners go and busy ones are waited for.
 */
export class RunnerFleet extends pulumi.ComponentResource {
  readonly runners: FleetRunnerOutput[];

  constructor(name: string, args: RunnerFleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("runner-fleet:openstack:RunnerFleet", name, {}, opts);
    const { config, plan } = args;
    const pools = new Map(config.pools.map((p) => [p.name, p]));
    const token: pulumi.Output<string | undefined> = pulumi.output(args.repoPolicyComplianceToken);
    this.runners = plan.runners.map((runner) => {
      const pool = pools.get(runner.pool);
      if (!pool) throw new Error(`planned runner ${runner.name} has unknown pool ${runner.pool}`);
      const server = new RunnerServer(
        runner.name,
        {
          runnerName: runner.name,
          fleet: config.namePrefix,
          stack: args.stack,
          pool: pool.name,
          github: {
            apiUrl: config.githubApiUrl,
            path: config.githubPath,
            runnerGroup: config.runnerGroup,
            mode: config.registrationMode,
            labels: pool.labels,
            bootGraceSeconds: config.bootGraceSeconds,
            busyWaitSeconds: config.busyWaitSeconds,
            flushBusy: config.flushBusy,
          },
          imageId: args.imageId,
          flavorName: pool.flavor,
          network: config.network,
          securityGroupName: args.securityGroupName,
          userData: token.apply((t) => userDataSettings(config, t)),
          createdAt: runner.createdAt,
          metricsLogPath: config.metrics.enabled ? path.resolve(config.metrics.logPath) : undefined,
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
