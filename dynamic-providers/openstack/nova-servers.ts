// Nova calls the lost-server sweep needs: list a stack's fleet servers, delete a server and wait
// until it is gone, delete a keypair.
import { OpenStackHttpError, OpenStackSession } from "./session";

import { RUNNER_METADATA_KEY, STACK_METADATA_KEY } from "../../rules/server-metadata";

export interface FleetServer {
  id: string;
  /** The runner's name, from the server's metadata. */
  runnerName: string;
  keyName: string | null;
  /** The stack identity it is marked with (one of those searched for). */
  stack: string;
}

interface NovaServerDetail {
  id: string;
  key_name: string | null;
  metadata?: Record<string, string>;
}

/** `^prefix-` as a Nova name filter (a regular expression). */
function namePattern(prefix: string): string {
  return `^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-`;
}

/** Every server whose name starts with `prefix-` and whose metadata names one of `stacks`. */
export async function listStackServers(
  session: OpenStackSession,
  prefix: string,
  stacks: string[],
): Promise<FleetServer[]> {
  const found: FleetServer[] = [];
  let next: string | undefined =
    `/servers/detail?limit=1000&name=${encodeURIComponent(namePattern(prefix))}`;
  for (let page = 0; next && page < 100; page++) {
    const res = await session.request("GET", "compute", next);
    if (!res.ok) throw new OpenStackHttpError(`Nova: GET servers: HTTP ${res.status}`, res.status);
    const body = (await res.json()) as {
      servers: NovaServerDetail[];
      servers_links?: { rel: string; href: string }[];
    };
    for (const s of body.servers) {
      const runnerName = s.metadata?.[RUNNER_METADATA_KEY];
      const stack = s.metadata?.[STACK_METADATA_KEY];
      if (!stack || !stacks.includes(stack) || !runnerName) continue;
      found.push({ id: s.id, runnerName, keyName: s.key_name, stack });
    }
    next = body.servers_links?.find((l) => l.rel === "next")?.href;
  }
  return found;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Deletes a server and waits until Nova no longer has it (404), at most `timeoutMs`. */
export async function deleteServer(
  session: OpenStackSession,
  id: string,
  timeoutMs = 300_000,
): Promise<void> {
  const res = await session.request("DELETE", "compute", `/servers/${id}`);
  if (res.status === 404) return;
  if (res.status !== 204) throw new Error(`Nova: DELETE server ${id}: HTTP ${res.status}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await session.request("GET", "compute", `/servers/${id}`);
    if (got.status === 404) return;
    await got.body?.cancel();
    if (Date.now() > deadline) {
      throw new Error(`Nova: server ${id} is still there ${timeoutMs / 1000}s after its delete`);
    }
    await sleep(2000);
  }
}

/** Deletes a keypair of the session's user; one already gone is fine. */
export async function deleteKeypair(session: OpenStackSession, name: string): Promise<void> {
  const res = await session.request(
    "DELETE",
    "compute",
    `/os-keypairs/${encodeURIComponent(name)}`,
  );
  if (res.status !== 202 && res.status !== 204 && res.status !== 404) {
    throw new Error(`Nova: DELETE keypair ${name}: HTTP ${res.status}`);
  }
}
