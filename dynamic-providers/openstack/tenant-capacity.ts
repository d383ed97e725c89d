// What the tenant has room for: Nova's absolute limits (instances, cores, RAM) and Neutron's port
// quota, less what is used, and what each flavor takes. The program plans only the servers that
// fit (fleet/quota.ts), so a full quota makes a smaller `up`, not one that fails halfway.
import { OpenStackHttpError, OpenStackSession } from "./session";

/** Room left in the tenant; Infinity where the cloud sets no limit (-1). */
export interface TenantRoom {
  instances: number;
  cores: number;
  ramMiB: number;
  ports: number;
}

/** What one server of a flavor takes. */
export interface FlavorSize {
  vcpus: number;
  ramMiB: number;
}

export interface TenantCapacity {
  room: TenantRoom;
  /** By flavor name and by id. */
  flavors: Map<string, FlavorSize>;
}

/** `limit - used`, or Infinity for an unlimited (-1) or missing limit. */
function left(limit: number | undefined, used: number | undefined): number {
  if (limit === undefined || limit < 0) return Infinity;
  return Math.max(0, limit - (used ?? 0));
}

async function getJson<T>(session: OpenStackSession, service: string, path: string): Promise<T> {
  const res = await session.request("GET", service, path);
  if (!res.ok) {
    await res.body?.cancel();
    throw new OpenStackHttpError(
      `${service}: GET ${path.split("?")[0]}: HTTP ${res.status}`,
      res.status,
    );
  }
  return (await res.json()) as T;
}

/** The tenant's room and the sizes of its flavors (three requests, flavors paged). */
export async function readTenantCapacity(session: OpenStackSession): Promise<TenantCapacity> {
  const { limits } = await getJson<{
    limits: { absolute: Record<string, number | undefined> };
  }>(session, "compute", "/limits");
  const a = limits.absolute;
  if (!session.projectId) throw new Error("Keystone's token names no project");
  const { quota } = await getJson<{
    quota: { port?: { limit: number; used: number; reserved?: number } };
  }>(session, "network", `/v2.0/quotas/${session.projectId}/details.json`);
  const port = quota.port;
  const flavors = new Map<string, FlavorSize>();
  let next: string | undefined = "/flavors/detail?limit=1000";
  for (let page = 0; next && page < 20; page++) {
    const body: {
      flavors: { id: string; name: string; vcpus: number; ram: number }[];
      flavors_links?: { rel: string; href: string }[];
    } = await getJson(session, "compute", next);
    for (const f of body.flavors) {
      const size = { vcpus: f.vcpus, ramMiB: f.ram };
      flavors.set(f.name, size);
      flavors.set(f.id, size);
    }
    next = body.flavors_links?.find((l) => l.rel === "next")?.href;
  }
  return {
    room: {
      instances: left(a.maxTotalInstances, a.totalInstancesUsed),
      cores: left(a.maxTotalCores, a.totalCoresUsed),
      ramMiB: left(a.maxTotalRAMSize, a.totalRAMUsed),
      ports: left(port?.limit, port === undefined ? 0 : port.used + (port.reserved ?? 0)),
    },
    flavors,
  };
}
