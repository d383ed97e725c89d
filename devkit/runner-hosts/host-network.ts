// The simulated tenant network: a Linux bridge in the machine's network namespace that holds the
// subnet's gateway address, and per server a network namespace whose eth0 (one end of a veth
// pair, the other end on the bridge) has the server's fixed address and MAC. The namespaces get
// no default route: a server reaches the bridge's subnet (the machine and other servers), nothing
// beyond it.
import * as fs from "node:fs";
import { CommandError, run, runQuietlySync } from "./commands";

const ip = (args: string[]) => run("ip", args);

/** An IPv4 subnet: network address and prefix length. */
export interface Ipv4Subnet {
  cidr: string;
  gateway: string;
  prefixLength: number;
}

function ipv4ToInt(address: string): number {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${address}`);
  }
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
}

export function isIpv4(address: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(address);
}

/** Whether `address` lies in `cidr` (IPv4). */
export function cidrContains(cidr: string, address: string): boolean {
  const [network, len] = cidr.split("/");
  if (!isIpv4(network) || !isIpv4(address)) return false;
  const bits = Number(len);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (ipv4ToInt(network) & mask) >>> 0 === (ipv4ToInt(address) & mask) >>> 0;
}

/** Without Neutron's answer: the /24 of the address, gateway its first address. */
export function defaultSubnet(address: string): Ipv4Subnet {
  const network = ipv4ToInt(address) & 0xffffff00;
  return {
    cidr: `${intToIpv4(network)}/24`,
    gateway: intToIpv4((network + 1) >>> 0),
    prefixLength: 24,
  };
}

async function linkExists(name: string): Promise<boolean> {
  try {
    await ip(["link", "show", "dev", name]);
    return true;
  } catch {
    return false;
  }
}

const alreadyExists = (err: unknown) =>
  err instanceof CommandError && /File exists|already assigned/i.test(err.stderr);

/**
 * Makes sure the bridge exists, is up and holds `gateway/prefixLength`. Returns whether this call
 * created the bridge.
 */
export async function ensureBridge(bridge: string, subnet: Ipv4Subnet): Promise<boolean> {
  let created = false;
  if (!(await linkExists(bridge))) {
    try {
      await ip(["link", "add", bridge, "type", "bridge"]);
      created = true;
    } catch (err) {
      if (!alreadyExists(err)) throw err;
    }
    // No IPv6 on the bridge: nothing to autoconfigure, nothing to advertise.
    try {
      fs.writeFileSync(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, "1");
    } catch {
      // IPv6 may be off altogether.
    }
  }
  await ip(["link", "set", bridge, "up"]);
  const shown = JSON.parse(await ip(["-j", "-4", "addr", "show", "dev", bridge])) as {
    addr_info?: { local: string; prefixlen: number }[];
  }[];
  const has = shown.some((l) =>
    (l.addr_info ?? []).some(
      (a) => a.local === subnet.gateway && a.prefixlen === subnet.prefixLength,
    ),
  );
  if (!has) {
    try {
      await ip(["addr", "add", `${subnet.gateway}/${subnet.prefixLength}`, "dev", bridge]);
    } catch (err) {
      if (!alreadyExists(err)) throw err;
    }
  }
  return created;
}

/** The interfaces attached to the bridge. */
export async function bridgePorts(bridge: string): Promise<string[]> {
  try {
    const links = JSON.parse(await ip(["-j", "link", "show", "master", bridge])) as {
      ifname: string;
    }[];
    return links.map((l) => l.ifname);
  } catch {
    return [];
  }
}

/** Deletes the bridge if no interface is attached to it any more (another simulator may use it). */
export async function removeBridgeIfUnused(bridge: string): Promise<boolean> {
  if (!(await linkExists(bridge))) return false;
  if ((await bridgePorts(bridge)).length > 0) return false;
  await ip(["link", "del", bridge]).catch(() => undefined);
  return true;
}

export function removeBridgeIfUnusedSync(bridge: string): void {
  const result = runQuietlySync("sh", ["-c", `[ -z "$(ip -o link show master ${bridge})" ]`]);
  if (result) runQuietlySync("ip", ["link", "del", bridge]);
}

/** What a server's namespace is called and wired with. */
export interface HostNetwork {
  namespace: string;
  /** The veth end on the bridge (machine side). */
  veth: string;
  address: string;
  mac?: string;
  subnet: Ipv4Subnet;
}

/** Names for a server: `rfh-<8 hex of its id>`, veth `rfv-<same>` (interface names: 15 chars). */
export function hostNetworkNames(serverId: string): { namespace: string; veth: string } {
  const short = serverId
    .replace(/[^0-9a-f]/gi, "")
    .slice(0, 8)
    .toLowerCase();
  return { namespace: `rfh-${short}`, veth: `rfv-${short}` };
}

export class NamespaceExistsError extends Error {}

/** Creates the namespace and its veth pair, with the server's address and MAC on eth0. */
export async function createHostNetwork(bridge: string, net: HostNetwork): Promise<void> {
  try {
    await ip(["netns", "add", net.namespace]);
  } catch (err) {
    if (err instanceof CommandError && /exists/i.test(err.stderr)) {
      throw new NamespaceExistsError(`network namespace ${net.namespace} exists already`);
    }
    throw err;
  }
  const peer = net.veth.replace(/^rfv-/, "rfp-");
  const ns = ["-n", net.namespace];
  await ip(["link", "add", net.veth, "type", "veth", "peer", "name", peer, "netns", net.namespace]);
  await ip(["link", "set", net.veth, "master", bridge, "up"]);
  await ip([...ns, "link", "set", peer, "name", "eth0"]);
  if (net.mac) await ip([...ns, "link", "set", "eth0", "address", net.mac]);
  await ip([...ns, "addr", "add", `${net.address}/${net.subnet.prefixLength}`, "dev", "eth0"]);
  await ip([...ns, "link", "set", "eth0", "up"]);
  await ip([...ns, "link", "set", "lo", "up"]);
}

/** Removes the veth pair and the namespace; missing ones are fine. */
export async function removeHostNetwork(net: { namespace: string; veth: string }): Promise<void> {
  await ip(["link", "del", net.veth]).catch(() => undefined);
  await ip(["netns", "del", net.namespace]).catch(() => undefined);
}

export function removeHostNetworkSync(net: { namespace: string; veth: string }): void {
  runQuietlySync("ip", ["link", "del", net.veth]);
  runQuietlySync("ip", ["netns", "del", net.namespace]);
}
