// LostServerSweep: deletes the fleet servers Nova has and the state does not know, and their
// keypairs. A killed `pulumi up` leaves such servers: the engine started their creates and never
// recorded the results (pending creates), and neither `up` nor `refresh` looks for them. The
// program finds them (components/lost-servers.ts) and lists them in this resource's inputs, so a
// preview shows them and only an `up` deletes them. Every fleet server depends on this resource,
// so `destroy` deletes it last: its delete then sweeps whatever servers of the stack are left.
import * as pulumi from "@pulumi/pulumi";
import { providerByReference } from "./provider-by-reference";
import { openStackCredentials, OpenStackSession } from "./openstack-session";
import { deleteKeypair, deleteServer, listStackServers } from "./nova-servers";

/** A lost server, and its keypair when the state does not know that either. */
export interface LostServer {
  id: string;
  runnerName: string;
  /** The keypair to delete with it; absent when the state holds it (the engine handles it). */
  keypair?: string;
}

export interface LostServerSweepInputs {
  /** The fleet's name prefix and the stack (`org/project/stack`): what `destroy` sweeps. */
  prefix: string;
  stack: string;
  servers: LostServer[];
}

async function login(): Promise<OpenStackSession> {
  const credentials = openStackCredentials(process.env);
  if ("missing" in credentials) {
    throw new Error(`cannot delete lost servers: ${credentials.missing}`);
  }
  return OpenStackSession.login(credentials);
}

/**
 * Deletes each server (waiting until it is gone), then its keypair; returns those deleted.
 * A failure is a warning: a server Nova will not delete must not hold up the fleet, and the
 * next `up` tries again (it is still lost, and not among those deleted).
 */
async function sweep(servers: LostServer[], session?: OpenStackSession): Promise<LostServer[]> {
  if (servers.length === 0) return [];
  const warn = (text: string) => process.stderr.write(`runner-fleet: ${text}\n`);
  try {
    session ??= await login();
  } catch (err) {
    warn(`lost servers not deleted: ${(err as Error).message}`);
    return [];
  }
  const done = await Promise.all(
    servers.map(async (server) => {
      try {
        await deleteServer(session, server.id);
        if (server.keypair) await deleteKeypair(session, server.keypair);
        warn(`deleted lost server ${server.id} of runner ${server.runnerName}`);
        return server;
      } catch (err) {
        warn(
          `lost server ${server.id} not deleted, the next up tries again: ${(err as Error).message}`,
        );
        return undefined;
      }
    }),
  );
  return done.filter((s): s is LostServer => s !== undefined);
}

/** Its outputs: `servers` are the servers it deleted, so one it could not is tried again. */
export class LostServerSweepProvider implements pulumi.dynamic.ResourceProvider {
  async diff(_id: string, olds: LostServerSweepInputs, news: LostServerSweepInputs) {
    const deleted = new Set(olds.servers.map((s) => s.id));
    const changes =
      olds.prefix !== news.prefix ||
      olds.stack !== news.stack ||
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
    const credentials = openStackCredentials(process.env);
    if ("missing" in credentials) {
      process.stderr.write(`runner-fleet: lost servers not looked for: ${credentials.missing}\n`);
      return;
    }
    const session = await OpenStackSession.login(credentials);
    const left = await listStackServers(session, props.prefix, props.stack);
    for (const server of left) {
      await deleteServer(session, server.id);
      if (server.keyName) await deleteKeypair(session, server.keyName);
    }
  }
}

const sharedSweepProvider = providerByReference(LostServerSweepProvider, "lost-server-sweep");

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
