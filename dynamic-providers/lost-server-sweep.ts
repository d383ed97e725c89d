// LostServerSweep: deletes the fleet servers Nova has and the state does not know, and their
// keypairs. A killed `pulumi up` leaves such servers: the engine started their creates and never
// recorded the results (pending creates), and neither `up` nor `refresh` looks for them. The
// program finds them (fleet/lost-servers.ts) and lists them in this resource's inputs, so a
// preview shows them and only an `up` deletes them. Every fleet server depends on this resource,
// so `destroy` deletes it last: its delete then sweeps whatever servers of the stack are left.
import * as pulumi from "@pulumi/pulumi";
import { providerByReference } from "./provider-by-reference";
import { stateAddresses } from "./state-addresses";
import { openStackCredentials, OpenStackSession } from "./openstack/session";
import { deleteKeypair, deleteServer, listStackServers } from "./openstack/nova-servers";
import {
  busySettings,
  ConfigLookup,
  gitHubClient,
  isForceReleased,
  resolveCredentials,
} from "./github/client";
import { releaseRunner } from "./github/release-runner";
import { settingDefaults } from "../rules/settings";

/** A lost server, and its keypair when the state does not know that either. */
export interface LostServer {
  id: string;
  runnerName: string;
  /** The keypair to delete with it; absent when another server of the stack uses it. */
  keypair?: string;
}

export interface LostServerSweepInputs {
  /** The fleet's name prefix and the stack identity (fleet/stack-identity.ts): what `destroy` sweeps. */
  prefix: string;
  stack: string;
  /** Every identity that marks the stack's servers; absent in states of older versions: `stack`. */
  recognised?: string[];
  /** Where the runners live, so `destroy` releases a lost server's runner first (busy check). */
  github?: { apiUrl: string; path: string };
  servers: LostServer[];
}

function warn(text: string): void {
  process.stderr.write(`runner-fleet: ${text}\n`);
}

/** A session from the environment's credentials, or why there is none. */
async function login(): Promise<OpenStackSession | { missing: string }> {
  const credentials = openStackCredentials(process.env);
  return "missing" in credentials ? credentials : OpenStackSession.login(credentials);
}

/** Deletes a lost server (waiting until it is gone), then its keypair. */
async function deleteLostServer(session: OpenStackSession, server: LostServer): Promise<void> {
  await deleteServer(session, server.id);
  if (server.keypair) await deleteKeypair(session, server.keypair);
  warn(`deleted lost server ${server.id} of runner ${server.runnerName}`);
}

/**
 * Deletes the servers; returns those deleted. A failure is a warning: a server Nova will not
 * delete must not hold up the fleet, and the next `up` tries again (it is still lost, and not
 * among those deleted).
 */
async function sweep(servers: LostServer[]): Promise<LostServer[]> {
  if (servers.length === 0) return [];
  const session = await login().catch((err: Error) => ({ missing: err.message }));
  if ("missing" in session) {
    warn(`lost servers not deleted: ${session.missing}`);
    return [];
  }
  const done = await Promise.all(
    servers.map((server) =>
      deleteLostServer(session, server).then(
        () => server,
        (err: Error) =>
          warn(`lost server ${server.id} not deleted, the next up tries again: ${err.message}`),
      ),
    ),
  );
  return done.filter((s): s is LostServer => s !== undefined);
}

/** Its outputs: `servers` are the servers it deleted, so one it could not is tried again. */
export class LostServerSweepProvider implements pulumi.dynamic.ResourceProvider {
  private configLookup: ConfigLookup = () => undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configLookup = (key) => req.config.get(key);
  }

  async diff(_id: string, olds: LostServerSweepInputs, news: LostServerSweepInputs) {
    const deleted = new Set(olds.servers.map((s) => s.id));
    const changes =
      olds.prefix !== news.prefix ||
      olds.stack !== news.stack ||
      JSON.stringify(olds.recognised) !== JSON.stringify(news.recognised) ||
      JSON.stringify(olds.github) !== JSON.stringify(news.github) ||
      news.servers.some((s) => !deleted.has(s.id));
    return { changes };
  }

  async create(inputs: LostServerSweepInputs) {
    return { id: "lost-servers", outs: { ...inputs, servers: await sweep(inputs.servers) } };
  }

  async update(_id: string, _olds: LostServerSweepInputs, news: LostServerSweepInputs) {
    return { outs: { ...news, servers: await sweep(news.servers) } };
  }

  /**
   * Runs after every server of the state is deleted (they all depend on this resource): any
   * server of the stack Nova still has is lost. Without credentials it says so and lets the
   * destroy finish, since it cannot look; a server it cannot delete fails the destroy, which
   * keeps this resource, so the next destroy tries again.
   */
  async delete(_id: string, props: LostServerSweepInputs) {
    const session = await login();
    if ("missing" in session) {
      warn(`lost servers not looked for: ${session.missing}`);
      return;
    }
    const left = await listStackServers(session, props.prefix, props.recognised ?? [props.stack]);
    await Promise.all(
      left.map(async (s) => {
        // As the guard does before its server goes: a busy runner is waited for (or flushed).
        if (props.github) await this.release(props.github, s.runnerName);
        await deleteLostServer(session, {
          id: s.id,
          runnerName: s.runnerName,
          keypair: s.keyName ?? undefined,
        });
      }),
    );
  }

  /** Releases a lost server's runner on GitHub with the stack's busy settings as set now. */
  private async release(github: { apiUrl: string; path: string }, name: string): Promise<void> {
    const octokit = await gitHubClient(
      github.apiUrl,
      resolveCredentials(this.configLookup, process.env),
    );
    const saved = {
      flushBusy: settingDefaults.flushBusy,
      busyWaitSeconds: settingDefaults.busyWaitSeconds,
    };
    await releaseRunner(octokit, {
      id: `lost server of ${name}`,
      apiUrl: github.apiUrl,
      path: github.path,
      name,
      runnerId: 0,
      ...busySettings(this.configLookup, saved),
      forceRelease: isForceReleased(this.configLookup, name),
    });
  }
}

const sharedSweepProvider = providerByReference(
  LostServerSweepProvider,
  stateAddresses.lostServerSweep,
);

/** See the file comment. */
export class LostServerSweep extends pulumi.dynamic.Resource {
  /** The servers this deployment's sweep deleted. */
  declare readonly servers: pulumi.Output<LostServer[]>;

  constructor(
    name: string,
    args: { [K in keyof LostServerSweepInputs]: pulumi.Input<LostServerSweepInputs[K]> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(sharedSweepProvider, name, { ...args }, opts, "openstack", "LostServerSweep");
  }
}
