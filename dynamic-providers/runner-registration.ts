// RunnerRegistration (type `pulumi-nodejs:dynamic/github:RunnerRegistration`): the registration of
// one ephemeral runner on GitHub, as a Pulumi dynamic resource.
//
// create  = a just-in-time config for a named runner (or a registration token, for GHES < 3.10);
// read    = online / offline / busy from one listing shared by the whole refresh, or gone, in
//           which case it leaves the state and the next `up` creates a new runner;
//           and the runner's two SSH keys (a lean runner's, components/runner-server.ts);
// delete  = DELETE on GitHub, after the server is gone: 204 or 404 is done; 422 (busy) waits for
//           the job, bounded; with flushBusy, for GitHub to see the runner lost (same bound).
import * as pulumi from "@pulumi/pulumi";
import { comparedInputKeys, providerByReference } from "./provider-by-reference";
import { stateAddresses } from "./state-addresses";
import {
  busySettings,
  isForceReleased,
  ConfigLookup,
  describeGitHubError,
  gitHubClient,
  gitHubClientWithKey,
  httpStatus,
  resolveCredentials,
} from "./github/client";
import {
  checkRegistrationInputs,
  RunnerRegistrationInputs,
  replaceOnChange,
} from "./github/registration-inputs";
import { effectiveLabels, isRepositoryPath, ownerPrefix, RegistrationMode } from "../rules/github";
import { releasedRunners, releaseRunner } from "./github/release-runner";
import { listRunners } from "./github/runner-listing";
import { generateEd25519OpenSsh } from "./ssh/ed25519";

/**
 * A lean runner's SSH keys, made with its registration rather than as resources of their own
 * (two fewer per runner): its server's host key, installed by the userdata and pinned by the
 * metrics pull, and the key that pull logs in with, authorized by the userdata. Registrations
 * made before lean runners have none (their runners keep a Nova keypair and an SshHostKey).
 */
export interface RunnerSshKeys {
  /** OpenSSH private host key (secret). */
  hostPrivateKey?: string;
  /** OpenSSH public line of the host key, to pin. */
  hostPublicKey?: string;
  /** OpenSSH private key the metrics pull logs in with (secret). */
  clientPrivateKey?: string;
  /** OpenSSH public line of that key, for the server's authorized_keys. */
  clientPublicKey?: string;
}

/** The registration's secret outputs. */
const SECRET_OUTPUTS = [
  "encodedJitConfig",
  "registrationToken",
  "hostPrivateKey",
  "clientPrivateKey",
] as const;

async function runnerSshKeys(runnerName: string): Promise<Required<RunnerSshKeys>> {
  const [host, client] = await Promise.all([
    generateEd25519OpenSsh(runnerName),
    generateEd25519OpenSsh(`runner-fleet-metrics@${runnerName}`),
  ]);
  return {
    hostPrivateKey: host.privateKey,
    hostPublicKey: host.publicKey,
    clientPrivateKey: client.privateKey,
    clientPublicKey: client.publicKey,
  };
}

/** What the state holds for a registration. */
export interface RunnerRegistrationOutputs extends RunnerRegistrationInputs, RunnerSshKeys {
  /** GitHub's runner id (0 in registration-token mode until the runner registered). */
  runnerId: number;
  /** Runner group id the runner was registered in. */
  runnerGroupId: number;
  /** Labels as GitHub holds them, defaults included. */
  effectiveLabels: string[];
  /** The JIT config for `run.sh --jitconfig` (secret; empty in registration-token mode). */
  encodedJitConfig: string;
  /** Registration token for `config.sh` (secret; empty in JIT mode). */
  registrationToken: string;
  /** When the registration was created (ISO 8601). */
  createdAt: string;
  /** Last known state on GitHub. */
  status: "online" | "offline" | "busy" | "booting";
}

/**
 * The provider. It holds no client and captures nothing: credentials arrive in `configure` (from
 * stack config secrets) or from the environment, and clients are per-process (`gitHubClient`).
 */
export class RunnerRegistrationProvider implements pulumi.dynamic.ResourceProvider {
  private configLookup: ConfigLookup = () => undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configLookup = (key) => req.config.get(key);
  }

  private async client(apiUrl: string) {
    return gitHubClientWithKey(apiUrl, resolveCredentials(this.configLookup, process.env));
  }

  async check(_olds: unknown, news: Record<string, unknown>) {
    const { inputs, failures } = checkRegistrationInputs(news);
    return { inputs: { ...news, ...inputs }, failures };
  }

  async diff(_id: string, olds: RunnerRegistrationOutputs, news: RunnerRegistrationInputs) {
    const changed = comparedInputKeys(news).filter(
      (k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
    );
    const replaces = changed.filter((k) => replaceOnChange.includes(k));
    // New names make replacements collision-free, so the new registration comes first.
    return { changes: changed.length > 0, replaces, deleteBeforeReplace: false };
  }

  async create(inputs: RunnerRegistrationInputs) {
    const { octokit } = await this.client(inputs.apiUrl);
    const prefix = ownerPrefix(inputs.path);
    const labels = effectiveLabels(inputs.labels);
    const createdAt = new Date().toISOString();
    if (inputs.mode === "registration-token") {
      const res = await octokit
        .request(`POST /${prefix}/actions/runners/registration-token`)
        .catch((err: unknown) => {
          throw new Error(describeGitHubError(`registration token for ${inputs.path}`, err));
        });
      const outs: RunnerRegistrationOutputs = {
        ...inputs,
        runnerId: 0,
        runnerGroupId: 0,
        effectiveLabels: labels,
        encodedJitConfig: "",
        registrationToken: (res.data as { token: string }).token,
        createdAt,
        status: "booting",
        ...(await runnerSshKeys(inputs.name)),
      };
      return { id: `name:${inputs.name}`, outs };
    }
    const runnerGroupId = await runnerGroupIdOf(octokit, inputs.path, inputs.runnerGroup);
    const generate = () =>
      octokit.request(`POST /${prefix}/actions/runners/generate-jitconfig`, {
        name: inputs.name,
        runner_group_id: runnerGroupId,
        labels,
        work_folder: "_work",
      });
    let res;
    try {
      res = await generate();
    } catch (err) {
      if (httpStatus(err) !== 409) {
        throw new Error(describeGitHubError(`JIT config for runner ${inputs.name}`, err));
      }
      // A runner of this name exists: left over from a create whose result never reached the
      // state. Names are unique per fleet, so it is ours; an idle one is replaced.
      res = await replaceLeftover(octokit, inputs, generate);
    }
    const data = res.data as { runner: { id: number }; encoded_jit_config: string };
    const outs: RunnerRegistrationOutputs = {
      ...inputs,
      runnerId: data.runner.id,
      runnerGroupId,
      effectiveLabels: labels,
      encodedJitConfig: data.encoded_jit_config,
      registrationToken: "",
      createdAt,
      status: "offline",
      ...(await runnerSshKeys(inputs.name)),
    };
    return { id: String(data.runner.id), outs };
  }

  async read(id: string, props: RunnerRegistrationOutputs) {
    const { octokit, clientKey } = await this.client(props.apiUrl);
    const runners = await listRunners(octokit, clientKey, props.path).catch((err: unknown) => {
      throw new Error(describeGitHubError(`listing runners of ${props.path}`, err));
    });
    const found = runners.find((r) =>
      props.runnerId ? r.id === props.runnerId : r.name === props.name,
    );
    if (!found) {
      const ageSeconds = (Date.now() - Date.parse(props.createdAt)) / 1000;
      // A JIT runner exists on GitHub from its creation, so absent means gone (its job is done).
      // A token-mode runner only appears once its VM registered: give it the boot grace period.
      if (props.mode === "registration-token" && ageSeconds < props.bootGraceSeconds) {
        return { id, props: { ...props, status: "booting" } };
      }
      return { id: undefined, props };
    }
    const status = found.busy ? "busy" : found.status;
    return { id: String(found.id), props: { ...props, runnerId: found.id, status } };
  }

  async update(_id: string, olds: RunnerRegistrationOutputs, news: RunnerRegistrationInputs) {
    // Only settings of the provider itself change in place (grace, busy wait, flushBusy).
    return { outs: { ...olds, ...news } };
  }

  async delete(id: string, props: RunnerRegistrationOutputs) {
    // Its teardown, deleted first in this same provider process, usually released it already.
    if (props.runnerId && releasedRunners().has(`${props.apiUrl} ${props.path} ${props.runnerId}`))
      return;
    const { octokit } = await this.client(props.apiUrl);
    await releaseRunner(octokit, {
      ...props,
      ...busySettings(this.configLookup, props),
      forceRelease: isForceReleased(this.configLookup, props.name),
      id,
      serverGone: true,
    });
  }
}

/** Id of the runner group `name` for an organisation, from one listing per process; 1 for repos. */
async function runnerGroupIdOf(
  octokit: Awaited<ReturnType<typeof gitHubClient>>,
  path: string,
  name: string,
): Promise<number> {
  if (isRepositoryPath(path)) return 1; // repository runners all live in the Default group
  // One listing per client (so per GitHub and credentials) and organisation, per process.
  const g = globalThis as typeof globalThis & {
    __runnerFleetGroups?: WeakMap<object, Map<string, Promise<unknown[]>>>;
  };
  g.__runnerFleetGroups ??= new WeakMap();
  let byPath = g.__runnerFleetGroups.get(octokit);
  if (!byPath) g.__runnerFleetGroups.set(octokit, (byPath = new Map()));
  let groups = byPath.get(path);
  if (!groups) {
    const cache = byPath;
    groups = octokit.paginate(`GET /orgs/${path}/actions/runner-groups`, { per_page: 100 });
    cache.set(path, groups);
    groups.catch(() => cache.delete(path));
  }
  const list = (await groups.catch((err: unknown) => {
    throw new Error(describeGitHubError(`listing runner groups of ${path}`, err));
  })) as { id: number; name: string }[];
  const group = list.find((x) => x.name === name);
  if (!group) {
    throw new Error(
      `runner group ${JSON.stringify(name)} does not exist in organisation ${path}; ` +
        `its groups are: ${list.map((x) => JSON.stringify(x.name)).join(", ")}`,
    );
  }
  return group.id;
}

/** Removes an idle leftover runner of the same name, then generates the JIT config again. */
async function replaceLeftover<T>(
  octokit: Awaited<ReturnType<typeof gitHubClient>>,
  inputs: RunnerRegistrationInputs,
  generate: () => Promise<T>,
): Promise<T> {
  const prefix = ownerPrefix(inputs.path);
  const res = await octokit.request(`GET /${prefix}/actions/runners`, {
    name: inputs.name,
    per_page: 100,
  });
  const leftover = (res.data as { runners: { id: number; busy: boolean }[] }).runners[0];
  if (leftover?.busy) {
    throw new Error(`runner name ${inputs.name} is taken by a busy runner (id ${leftover.id})`);
  }
  if (leftover) {
    await octokit.request(`DELETE /${prefix}/actions/runners/{runner_id}`, {
      runner_id: leftover.id,
    });
  }
  return generate().catch((err: unknown) => {
    throw new Error(describeGitHubError(`JIT config for runner ${inputs.name}`, err));
  });
}

/** Arguments of a GitHub runner registration. */
export interface RunnerRegistrationArgs {
  /** Organisation (`my-org`) or repository (`owner/repo`). */
  path: pulumi.Input<string>;
  /** Runner name: unique within the fleet, at most 64 characters. */
  name: pulumi.Input<string>;
  /** Labels; `self-hosted` and `linux` are added. @default none beyond the two */
  labels?: pulumi.Input<pulumi.Input<string>[]>;
  /** Runner group name, for organisations. @default settingDefaults.runnerGroup */
  runnerGroup?: pulumi.Input<string>;
  /** JIT config, or a registration token for GHES < 3.10. @default "jit" */
  mode?: pulumi.Input<RegistrationMode>;
  /** GitHub API base URL. @default settingDefaults.githubApiUrl (rules/settings.ts) */
  apiUrl?: pulumi.Input<string>;
  /**
   * Seconds a token-mode runner may stay unregistered before it counts as gone.
   * @default settingDefaults.bootGraceSeconds
   */
  bootGraceSeconds?: pulumi.Input<number>;
  /**
   * Seconds a delete waits for a busy runner's job to end.
   * @default settingDefaults.busyWaitSeconds
   */
  busyWaitSeconds?: pulumi.Input<number>;
  /** Remove a busy runner anyway, failing its job. @default false */
  flushBusy?: pulumi.Input<boolean>;
  /**
   * What the runner's server is made of (the fleet passes its spec id, fleet/runner-spec.ts): a
   * change replaces the registration, as a JIT config is single-use. The fleet ignores changes of
   * it and rolls runners out instead (components/runner-server.ts).
   */
  serverSpec?: pulumi.Input<string>;
}

/**
 * One provider for every resource of this type, serialized as a reference to the class above
 * (`provider-by-reference.ts`): the state holds a few hundred bytes per resource, not the code.
 */
const sharedRunnerRegistrationProvider = providerByReference(
  RunnerRegistrationProvider,
  stateAddresses.registration,
);

/**
 * The registration of one ephemeral runner on GitHub, with its SSH keys (`RunnerSshKeys`). Its JIT
 * config, registration token and private keys are secret outputs. Credentials come from stack config secrets or the environment, never inputs.
 */
export class RunnerRegistration extends pulumi.dynamic.Resource {
  declare readonly runnerId: pulumi.Output<number>;
  declare readonly encodedJitConfig: pulumi.Output<string>;
  declare readonly registrationToken: pulumi.Output<string>;
  declare readonly effectiveLabels: pulumi.Output<string[]>;
  declare readonly status: pulumi.Output<string>;
  declare readonly hostPrivateKey: pulumi.Output<string | undefined>;
  declare readonly hostPublicKey: pulumi.Output<string | undefined>;
  declare readonly clientPrivateKey: pulumi.Output<string | undefined>;
  declare readonly clientPublicKey: pulumi.Output<string | undefined>;

  constructor(name: string, args: RunnerRegistrationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      sharedRunnerRegistrationProvider,
      name,
      {
        ...args,
        runnerId: undefined,
        encodedJitConfig: undefined,
        registrationToken: undefined,
        effectiveLabels: undefined,
        status: undefined,
        hostPrivateKey: undefined,
        hostPublicKey: undefined,
        clientPrivateKey: undefined,
        clientPublicKey: undefined,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: [...SECRET_OUTPUTS] }),
      "github",
      "RunnerRegistration",
    );
  }
}
