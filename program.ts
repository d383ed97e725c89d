// The fleet program: config → observation → plan → components → outputs. `index.ts` runs it
// under the Pulumi CLI; the tests and the sandbox run it through the Automation API.
import * as crypto from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parseFleetConfig } from "./config/fleet-config";
import { planFleet } from "./fleet/plan";
import {
  latestRunnerVersion,
  observedRunners,
  previousDeployment,
  stackIdentity,
  serversInError,
} from "./fleet/observation";
import { declareLostServerSweep } from "./fleet/lost-servers";
import { RunnerFleet } from "./components/runner-fleet";
import { RunnerImage } from "./components/runner-image";
import { RunnerSecurityGroup } from "./components/runner-security-group";
import { reconciliationEvents } from "./fleet/reconciliation-events";
import { resolveCredentials } from "./dynamic-providers/github/client";
import { appendMetricsEvents } from "./dynamic-providers/metrics/pull";

export async function fleetProgram() {
  const started = Date.now();
  const cfg = new pulumi.Config("runner-fleet");
  const config = parseFleetConfig((key) => cfg.get(key), pulumi.getStack());
  const credentials = resolveCredentials(
    (key) => cfg.get(key.replace(/^runner-fleet:/, "")),
    process.env,
  );

  const last = await previousDeployment();
  const previous = last.runners;
  const observed = await observedRunners(
    config.githubApiUrl,
    config.githubPath,
    config.namePrefix,
    credentials,
  );
  const now = Date.now();
  const failed = await serversInError(previous, observed, {
    now,
    bootGraceSeconds: config.bootGraceSeconds,
    mode: config.registrationMode,
  });
  const plan = planFleet({
    namePrefix: config.namePrefix,
    namedPools: config.namedPools,
    pools: config.pools,
    previous,
    observed,
    now,
    bootGraceSeconds: config.bootGraceSeconds,
    mode: config.registrationMode,
    flushBusy: config.flushBusy,
    serversInError: failed,
    randomSuffix: () => crypto.randomBytes(6).toString("hex"),
  });
  if (config.metrics.enabled && !pulumi.runtime.isDryRun()) {
    const pools = new Map(previous.map((r) => [r.name, r.pool]));
    await appendMetricsEvents(
      path.resolve(config.metrics.logPath),
      reconciliationEvents(
        plan,
        config.pools,
        (name) => pools.get(name),
        Math.floor(Date.now() / 1000),
        (Date.now() - started) / 1000,
      ),
    );
  }
  for (const { name, reason } of plan.dropped) {
    pulumi.log.info(`runner ${name} leaves the fleet: ${reason}`);
  }
  if (plan.orphans.length > 0) {
    pulumi.log.warn(
      `GitHub lists runners with the fleet's prefix that this stack did not deploy: ` +
        `${plan.orphans.join(", ")}; remove them on GitHub, or use another namePrefix`,
    );
  }

  const stack = stackIdentity();
  const lost = await declareLostServerSweep(config.namePrefix, stack, last, observed);

  const image = new RunnerImage("image", {
    image: config.image,
    github: {
      apiUrl: config.githubApiUrl,
      path: config.githubPath,
      token: credentials.kind === "token" ? pulumi.secret(credentials.token) : undefined,
    },
    resolvedRunnerVersion:
      config.image.kind === "build" && config.image.runnerVersion === "latest"
        ? await latestRunnerVersion(
            config.githubApiUrl,
            config.githubPath,
            config.image.architecture,
            credentials,
          )
        : undefined,
  });
  const group = new RunnerSecurityGroup("security-group", {
    groupName: `${config.namePrefix}-runners`,
    sshSourceCidr: config.sshSourceCidr,
  });
  const fleet = new RunnerFleet("fleet", {
    config,
    plan,
    imageId: image.imageId,
    securityGroupName: group.groupName,
    repoPolicyComplianceToken: cfg.getSecret("repoPolicyComplianceToken"),
    stack,
    sweep: lost.resource,
  });

  return {
    runners: fleet.runners.map(({ name, pool, createdAt }) => ({ name, pool, createdAt })),
    runnerNames: fleet.runners.map((r) => r.name),
    serverIds: fleet.runners.map((r) => r.serverId),
    imageId: image.imageId,
    securityGroupId: group.groupId,
    droppedRunners: plan.dropped,
    orphanedRunners: plan.orphans,
    // For the next deployment's lost-server search (fleet/lost-servers.ts).
    knownServerIds: lost.knownServerIds(fleet.runners.map((r) => r.serverId)),
    lostServerCandidates: lost.candidates,
    sweptServers: lost.swept,
  };
}
