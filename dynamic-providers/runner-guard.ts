// RunnerGuard: a resource that depends on a runner's server, so Pulumi deletes it *before* the
// server. Its delete releases the runner on GitHub first (204 idle → go on; 422 busy → wait, or
// with flushBusy go on), so a server is never deleted under a running job.
import * as pulumi from "@pulumi/pulumi";
import { busySettings, ConfigLookup, gitHubClient, resolveCredentials } from "./github-client";
import { releaseRunner } from "./github-runner";

/** The guard's inputs, as the state holds them. */
export interface RunnerGuardInputs {
  apiUrl: string;
  path: string;
  name: string;
  runnerId: number;
  /** The server it guards: a new server needs a new guard. */
  serverId: string;
  busyWaitSeconds: number;
  flushBusy: boolean;
}

/** The provider; credentials as for the registration (config secrets or environment). */
export class RunnerGuardProvider implements pulumi.dynamic.ResourceProvider {
  private configLookup: ConfigLookup = () => undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configLookup = (key) => req.config.get(key);
  }

  async diff(_id: string, olds: RunnerGuardInputs, news: RunnerGuardInputs) {
    const replaces = (["serverId", "runnerId", "name", "path", "apiUrl"] as const).filter(
      (k) => olds[k] !== news[k],
    );
    const changes = (Object.keys(news) as (keyof RunnerGuardInputs)[]).some(
      (k) => olds[k] !== news[k],
    );
    return { changes, replaces, deleteBeforeReplace: false };
  }

  async create(inputs: RunnerGuardInputs) {
    return { id: `${inputs.name}-guard`, outs: inputs };
  }

  async update(_id: string, _olds: RunnerGuardInputs, news: RunnerGuardInputs) {
    return { outs: news };
  }

  async delete(id: string, props: RunnerGuardInputs) {
    const octokit = await gitHubClient(
      props.apiUrl,
      resolveCredentials(this.configLookup, process.env),
    );
    await releaseRunner(octokit, { ...props, ...busySettings(this.configLookup, props), id });
  }
}

/** Arguments of a runner's guard. */
export interface RunnerGuardArgs {
  apiUrl: pulumi.Input<string>;
  path: pulumi.Input<string>;
  name: pulumi.Input<string>;
  runnerId: pulumi.Input<number>;
  serverId: pulumi.Input<string>;
  busyWaitSeconds: pulumi.Input<number>;
  flushBusy: pulumi.Input<boolean>;
}

/** Guards a runner's server: see the file comment. */
export class RunnerGuard extends pulumi.dynamic.Resource {
  constructor(name: string, args: RunnerGuardArgs, opts?: pulumi.CustomResourceOptions) {
    super(new RunnerGuardProvider(), name, { ...args }, opts, "github", "RunnerGuard");
  }
}
