import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { RunnerRegistration } from "../dynamic-providers/runner-registration";
import { RunnerTeardown } from "../dynamic-providers/runner-teardown";
import { SshHostKey } from "../dynamic-providers/ssh-host-key";
import type { RunnerModel } from "../fleet/runner-spec";
import { renderUserData, RunnerUserDataSettings } from "../cloud-init";
import { uuid } from "../rules/formats";
import { gitHubWebUrl, RegistrationMode } from "../rules/github";
import {
  FLEET_METADATA_KEY,
  POOL_METADATA_KEY,
  RUNNER_ID_METADATA_KEY,
  RUNNER_METADATA_KEY,
  STACK_METADATA_KEY,
} from "../rules/server-metadata";

/** The GitHub side of a runner. */
export interface RunnerGitHubSettings {
  apiUrl: string;
  /** `org` or `owner/repo`. */
  path: string;
  runnerGroup: string;
  mode: RegistrationMode;
  labels: string[];
  bootGraceSeconds: number;
  busyWaitSeconds: number;
  flushBusy: boolean;
}

/** Arguments of one runner. */
export interface RunnerServerArgs {
  /** Name of the runner on GitHub and of its server (and keypair, for the nova-keypair model). */
  runnerName: string;
  /** Fleet prefix, stack identity (fleet/stack-identity.ts) and pool, in the server's metadata. */
  fleet: string;
  stack: string;
  pool: string;
  github: RunnerGitHubSettings;
  imageId: pulumi.Input<string>;
  flavorName: string;
  /** Name or id of the network. */
  network: string;
  securityGroupName: pulumi.Input<string>;
  /** Userdata settings other than the runner's name, registration and host key. */
  userData: pulumi.Input<RunnerUserDataSettings>;
  /** ISO 8601 time the runner was planned: the start of its installation, for metrics. */
  createdAt: string;
  /** Pull metrics over SSH into this JSON-lines file before the server goes. @default no metrics */
  metricsLogPath?: string;
  /** The lost-server sweep: the server depends on it, so `destroy` runs the sweep last. */
  sweep?: pulumi.Resource;
  /** Its spec id (fleet/runner-spec.ts), recorded with its registration. */
  spec?: string;
  /** What it is built of (fleet/runner-spec.ts): a runner is declared as it was made. */
  model: RunnerModel;
  /**
   * For a rollout's replacement: how long its `up` waits for it to come online (`cameOnline`),
   * before the runner it replaces may go.
   */
  awaitOnlineSeconds?: number;
}

/**
 * What a running runner keeps when the config changes what it is made of: a change of image,
 * flavor, network, labels, group or userdata settings would replace it in place (under its own
 * name, which GitHub refuses while it is busy). A rollout replaces it by a new runner instead
 * (fleet/plan.ts), so these changes leave it as it is.
 */
const keepsSpec = {
  server: ["imageId", "flavorName", "networks", "userData", "securityGroups"],
  registration: ["labels", "runnerGroup", "mode", "serverSpec"],
};

/** How long a server may take to become ACTIVE, and to be gone after its delete. */
export const serverTimeouts: pulumi.CustomTimeouts = { create: "10m", delete: "10m" };

/**
 * One ephemeral runner: its GitHub registration (with its SSH keys: private keys secret), its
 * server booted with the userdata that starts the runner, and its teardown (child `-guard`) that
 * releases it on GitHub and pulls its metrics before the server is deleted. A runner of the
 * `nova-keypair` model (deployed before lean runners) has a Nova keypair and an SshHostKey too.
 */
export class RunnerServer extends pulumi.ComponentResource {
  readonly serverId: pulumi.Output<string>;
  readonly runnerId: pulumi.Output<number>;
  /** The server's fixed IPv4 address. */
  readonly address: pulumi.Output<string>;
  readonly privateKey: pulumi.Output<string>;
  /** For a rollout's replacement: whether it came online in time (see `awaitOnlineSeconds`). */
  readonly cameOnline: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: RunnerServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("runner-fleet:openstack:RunnerServer", name, {}, opts);
    const gh = args.github;
    const registration = new RunnerRegistration(
      `${name}-registration`,
      {
        apiUrl: gh.apiUrl,
        path: gh.path,
        name: args.runnerName,
        labels: gh.labels,
        runnerGroup: gh.runnerGroup,
        mode: gh.mode,
        bootGraceSeconds: gh.bootGraceSeconds,
        busyWaitSeconds: gh.busyWaitSeconds,
        flushBusy: gh.flushBusy,
        // What the runner was made of (fleet/runner-spec.ts): rollouts, not this resource,
        // act on a change (see `keepsSpec` below).
        serverSpec: args.spec,
      },
      { parent: this, ignoreChanges: keepsSpec.registration },
    );
    const keys = args.model === "lean" ? leanKeys(registration) : legacyKeys(this, name, args);
    const userData = pulumi
      .all([
        registration.encodedJitConfig,
        registration.registrationToken,
        pulumi.output(args.userData),
        keys.host.privateKey,
        keys.host.publicKey,
        keys.authorizedKey,
      ])
      .apply(([jit, token, settings, privateKey, publicKey, authorizedKey]) =>
        renderUserData({
          ...(settings as RunnerUserDataSettings),
          sshHostKey: { privateKey, publicKey },
          ...(authorizedKey ? { sshAuthorizedKey: authorizedKey } : {}),
          runnerName: args.runnerName,
          registration:
            gh.mode === "jit"
              ? { mode: "jit", encodedJitConfig: jit }
              : {
                  mode: "registration-token",
                  url: gitHubWebUrl(gh.apiUrl, gh.path),
                  token,
                  labels: gh.labels,
                },
        }),
      );
    const server = new openstack.compute.Instance(
      `${name}-server`,
      {
        name: args.runnerName,
        imageId: args.imageId,
        flavorName: args.flavorName,
        keyPair: keys.novaKeypair,
        securityGroups: [args.securityGroupName],
        networks: [uuid.test(args.network) ? { uuid: args.network } : { name: args.network }],
        configDrive: true,
        userData: pulumi.secret(userData),
        metadata: {
          [FLEET_METADATA_KEY]: args.fleet,
          [STACK_METADATA_KEY]: args.stack,
          [POOL_METADATA_KEY]: args.pool,
          [RUNNER_METADATA_KEY]: args.runnerName,
          [RUNNER_ID_METADATA_KEY]: registration.runnerId.apply(String),
        },
      },
      // The provider waits 30 minutes by default for ACTIVE (or gone): a server stuck in BUILD
      // or DELETING would hold every scheduled reconcile that long. Ten minutes is far beyond a
      // healthy boot to ACTIVE: the `up` fails instead of hanging, and the next one reads the
      // server again.
      {
        parent: this,
        customTimeouts: serverTimeouts,
        dependsOn: args.sweep ? [args.sweep] : undefined,
        // A server keeps the stack identity it was made with: servers of a stack deployed before
        // identities were unique keep the legacy one, still recognised (fleet/stack-identity.ts),
        // instead of an update of every server at the upgrade.
        ignoreChanges: [`metadata["${STACK_METADATA_KEY}"]`, ...keepsSpec.server],
      },
    );
    const guard = new RunnerTeardown(
      `${name}-guard`,
      {
        apiUrl: gh.apiUrl,
        path: gh.path,
        name: args.runnerName,
        runnerId: registration.runnerId,
        serverId: server.id,
        busyWaitSeconds: gh.busyWaitSeconds,
        flushBusy: gh.flushBusy,
        metrics: args.metricsLogPath
          ? {
              host: server.accessIpV4,
              privateKey: keys.client.privateKey,
              hostPublicKey: keys.host.publicKey,
              flavor: args.pool,
              createdAt: args.createdAt,
              logPath: args.metricsLogPath,
            }
          : undefined,
        ...(args.awaitOnlineSeconds ? { awaitOnline: { seconds: args.awaitOnlineSeconds } } : {}),
      },
      { parent: this, dependsOn: [server] },
    );
    this.cameOnline = guard.cameOnline;
    this.serverId = server.id;
    this.runnerId = registration.runnerId;
    this.address = server.accessIpV4;
    this.privateKey = keys.client.privateKey;
    this.registerOutputs({
      serverId: this.serverId,
      runnerId: this.runnerId,
      address: this.address,
    });
  }
}

/** A runner's SSH keys, wherever they are made. */
interface RunnerKeys {
  host: { privateKey: pulumi.Output<string>; publicKey: pulumi.Output<string> };
  /** The key the metrics pull logs in with. */
  client: { privateKey: pulumi.Output<string> };
  /** Its public line for the userdata to authorize (lean), or undefined (a Nova keypair's). */
  authorizedKey: pulumi.Output<string | undefined>;
  /** The Nova keypair the server boots with (nova-keypair model only). */
  novaKeypair?: pulumi.Output<string>;
}

/** What a registration made with it comes with: no resource of their own. */
function leanKeys(registration: RunnerRegistration): RunnerKeys {
  const text = (value: pulumi.Output<string | undefined>) => value.apply((v) => v ?? "");
  return {
    host: {
      privateKey: text(registration.hostPrivateKey),
      publicKey: text(registration.hostPublicKey),
    },
    client: { privateKey: text(registration.clientPrivateKey) },
    authorizedKey: registration.clientPublicKey,
  };
}

/**
 * A runner deployed before lean runners: its Nova keypair (the login key, private key a secret)
 * and its SshHostKey, under the names that runner's state has them.
 */
function legacyKeys(parent: pulumi.Resource, name: string, args: RunnerServerArgs): RunnerKeys {
  const keypair = new openstack.compute.Keypair(
    `${name}-key`,
    { name: args.runnerName },
    { parent },
  );
  const hostKey = new SshHostKey(`${name}-host-key`, { comment: args.runnerName }, { parent });
  return {
    host: { privateKey: hostKey.privateKey, publicKey: hostKey.publicKey },
    client: { privateKey: keypair.privateKey },
    authorizedKey: pulumi.output(undefined),
    novaKeypair: keypair.name,
  };
}
