// What the bench left on the local OpenStack, and a last-resort sweep of it. The stacks' own
// `destroy` is the way resources go; this only removes what a failed or interrupted destroy left,
// found by the run's unique name prefix, so other users of the cloud are never touched.
import { OpenStackApi } from "../devkit/local-cloud/openstack-api";

/** GETs answer their JSON; other calls accept a 404 (already gone). */
async function call(api: OpenStackApi, method: string, service: string, path: string) {
  const res = await api.request(method, service, path);
  if (method === "GET") {
    if (!res.ok) throw new Error(`${method} ${service}${path}: HTTP ${res.status}`);
    return res.json() as Promise<unknown>;
  }
  await res.arrayBuffer();
  if (!res.ok && res.status !== 404)
    throw new Error(`${method} ${service}${path}: HTTP ${res.status}`);
  return undefined;
}

/** Servers, keypairs and security groups of the tenant whose names start with `prefix`. */
export interface Leftovers {
  servers: { id: string; name: string }[];
  keypairs: string[];
  securityGroups: { id: string; name: string }[];
}

export async function leftovers(prefix: string, session?: OpenStackApi): Promise<Leftovers> {
  const s = session ?? (await OpenStackApi.login());
  const servers = (
    (await call(s, "GET", "compute", "/servers?limit=1000")) as {
      servers: { id: string; name: string }[];
    }
  ).servers
    .filter((x) => x.name.startsWith(prefix))
    .map(({ id, name }) => ({ id, name }));
  const keypairs = (
    (await call(s, "GET", "compute", "/os-keypairs")) as {
      keypairs: { keypair: { name: string } }[];
    }
  ).keypairs
    .map((k) => k.keypair.name)
    .filter((n) => n.startsWith(prefix));
  const securityGroups = (
    (await call(s, "GET", "network", "/v2.0/security-groups")) as {
      security_groups: { id: string; name: string }[];
    }
  ).security_groups
    .filter((g) => g.name.startsWith(prefix))
    .map(({ id, name }) => ({ id, name }));
  return { servers, keypairs, securityGroups };
}

export function leftoverCount(l: Leftovers): number {
  return l.servers.length + l.keypairs.length + l.securityGroups.length;
}

/**
 * Deletes whatever carries `prefix`: servers first (and waits for them to go, since a group in
 * use cannot be deleted), then keypairs and security groups. Returns what is still there.
 */
export async function sweep(prefix: string, timeoutMs = 180_000): Promise<Leftovers> {
  const s = await OpenStackApi.login();
  let left = await leftovers(prefix, s);
  for (const server of left.servers) {
    await call(s, "DELETE", "compute", `/servers/${server.id}`).catch(() => undefined);
  }
  const deadline = Date.now() + timeoutMs;
  while (left.servers.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    left = await leftovers(prefix, s);
  }
  for (const name of left.keypairs) {
    await call(s, "DELETE", "compute", `/os-keypairs/${encodeURIComponent(name)}`).catch(
      () => undefined,
    );
  }
  for (const group of left.securityGroups) {
    await call(s, "DELETE", "network", `/v2.0/security-groups/${group.id}`).catch(() => undefined);
  }
  return leftovers(prefix, s);
}
