// RunnerTeardown (type `pulumi-nodejs:dynamic/github:RunnerGuard`, child `<runner>-guard`, as the
// state knows it): a resource that depends on a runner's server, so Pulumi deletes it *before* the server. Its
// delete releases the runner on GitHub first (204 idle → go on; 422 busy → wait, or
// with flushBusy go on), so a server is never deleted under a running job; then it pulls the
// runner's metrics over SSH (failures are warnings: they never block a delete).
import * as pulumi from "@pulumi/pulumi";
import { comparedInputKeys, providerByReference } from "./provider-by-reference";
import { stateAddresses } from "./state-addresses";
import {
  busySettings,
  isForceReleased,
  ConfigLookup,
  gitHubClient,
  gitHubClientWithKey,
  resolveCredentials,
} from "./github/client";
import { awaitOnline } from "./github/await-online";
import { releaseRunner } from "./github/release-runner";
import { extractRunnerMetrics } from "./metrics/pull";

/** Where and how to pull a runner's metrics before its server goes. */
export interface TeardownMetrics {
  /** The server's address. */
  host: string;
  /** The runner keypair's private key (secret). */
  privateKey: string;
  /** The server's pinned SSH host key (OpenSSH public key line). */
  hostPublicKey: string;
  /** Pool name, the events' `flavor`. */
  flavor: string;
  /** ISO 8601 creation time of the runner: the start of its installation. */
  createdAt: string;
  logPath: string;
}

/** The teardown's inputs, as the state holds them. */
export interface RunnerTeardownInputs {
  apiUrl: string;
  path: string;
  name: string;
  runnerId: number;
  /** The server it tears down: a new server needs a new teardown. */
  serverId: string;
  busyWaitSeconds: number;
  flushBusy: boolean;
  /** Absent when metrics are off. */
  metrics?: TeardownMetrics;
  /**
   * For a rollout's replacement: its create waits this long for the runner to come online, so
   * the outdated runner it replaces goes only then (fleet/plan.ts, handovers). Set at creation
   * only; later deployments leave it out, which is no change.
   */
  awaitOnline?: { seconds: number };
}

/** What the state holds for a teardown. */
export interface RunnerTeardownOutputs extends RunnerTeardownInputs {
  /** For a replacement: whether it came online within `awaitOnline`. */
  cameOnline?: boolean;
}

/** The provider; credentials as for the registration (config secrets or environment). */
export class RunnerTeardownProvider implements pulumi.dynamic.ResourceProvider {
  private configLookup: ConfigLookup = () => undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configLookup = (key) => req.config.get(key);
  }

  async diff(_id: string, olds: RunnerTeardownInputs, news: RunnerTeardownInputs) {
    const differs = (k: keyof RunnerTeardownInputs) =>
      JSON.stringify(olds[k]) !== JSON.stringify(news[k]);
    const replaces = (["serverId", "runnerId", "name", "path", "apiUrl"] as const).filter(differs);
    const changes = comparedInputKeys(news).some(differs);
    return { changes, replaces, deleteBeforeReplace: false };
  }

  async create(inputs: RunnerTeardownInputs): Promise<{ id: string; outs: RunnerTeardownOutputs }> {
    const id = `${inputs.name}-guard`;
    if (!inputs.awaitOnline) return { id, outs: inputs };
    const credentials = resolveCredentials(this.configLookup, process.env);
    const { octokit, clientKey } = await gitHubClientWithKey(inputs.apiUrl, credentials);
    const cameOnline = await awaitOnline(
      octokit,
      clientKey,
      inputs.path,
      inputs.name,
      inputs.awaitOnline.seconds,
    );
    const outs: RunnerTeardownOutputs = { ...inputs, cameOnline };
    return { id, outs };
  }

  async update(_id: string, _olds: RunnerTeardownInputs, news: RunnerTeardownInputs) {
    return { outs: news };
  }

  async delete(id: string, props: RunnerTeardownInputs) {
    const octokit = await gitHubClient(
      props.apiUrl,
      resolveCredentials(this.configLookup, process.env),
    );
    await releaseRunner(octokit, {
      ...props,
      ...busySettings(this.configLookup, props),
      forceRelease: isForceReleased(this.configLookup, props.name),
      id,
    });
    if (props.metrics?.host) {
      const m = props.metrics;
      const { warnings } = await extractRunnerMetrics({
        host: m.host,
        privateKey: m.privateKey,
        hostPublicKey: m.hostPublicKey,
        flavor: m.flavor,
        installStartTs: Math.floor(Date.parse(m.createdAt) / 1000),
        logPath: m.logPath,
      });
      for (const w of warnings)
        process.stderr.write(`runner-fleet: metrics of ${props.name}: ${w}\n`);
    }
  }
}

/** Arguments of a runner's teardown. */
export interface RunnerTeardownArgs {
  apiUrl: pulumi.Input<string>;
  path: pulumi.Input<string>;
  name: pulumi.Input<string>;
  runnerId: pulumi.Input<number>;
  serverId: pulumi.Input<string>;
  busyWaitSeconds: pulumi.Input<number>;
  flushBusy: pulumi.Input<boolean>;
  /** Metrics to pull before the server goes; its private key must be a secret. */
  metrics?: { [K in keyof TeardownMetrics]: pulumi.Input<TeardownMetrics[K]> };
  /** For a rollout's replacement: wait for it to come online (see RunnerTeardownInputs). */
  awaitOnline?: { seconds: number };
}

/**
 * One provider for every resource of this type, serialized as a reference to the class above
 * (`provider-by-reference.ts`): the state holds a few hundred bytes per resource, not the code.
 */
const sharedTeardownProvider = providerByReference(RunnerTeardownProvider, stateAddresses.teardown);

/** Releases a runner and pulls its metrics before its server is deleted: see the file comment. */
export class RunnerTeardown extends pulumi.dynamic.Resource {
  /** For a replacement: whether it came online in time (unknown in a preview). */
  declare readonly cameOnline: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: RunnerTeardownArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      sharedTeardownProvider,
      name,
      { ...args, cameOnline: undefined },
      opts,
      "github",
      "RunnerGuard",
    );
  }
}
