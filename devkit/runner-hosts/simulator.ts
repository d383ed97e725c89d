// The runner-host simulator: makes each ACTIVE fleet server of the local OpenStack (whose Nova
// uses the fake virt driver, so nothing boots) behave like a runner VM. Per server:
//
// - a network namespace `rfh-<8 hex of the server id>` whose eth0 has the server's fixed address
//   and MAC, joined by a veth pair to the bridge `rfbr0` that holds the subnet's gateway address,
//   so the machine reaches the server's IP directly (host-network.ts);
// - a PID, UTS and mount namespace (host-init.sh is its PID 1): /etc, /usr and /opt are
//   copy-on-write overlays, and /home, /root, /tmp, /etc/ssh, /etc/docker, /var/lib/cloud,
//   /var/log and /run/runner-host are the host folder's own (`<stateDir>/<server id>/`), so the
//   userdata cannot touch the machine's files; killing PID 1 ends every process of the host;
// - the runner of the server's image (runner-image.ts), or the test agent (runner-agent/) when
//   the image has none, in /home/ubuntu/actions-runner;
// - OpenSSH's sshd on <address>:22 accepting the server's keypair for `ubuntu`, with the host key
//   the userdata installs at /etc/ssh/ssh_host_ed25519_key (reloaded when it changes);
// - the server's userdata, run as root with shims for the system commands (shims/);
// - a forwarder on 127.0.0.1:<GitHub double's port> inside the namespace, relayed over a Unix
//   socket to the double on the machine's 127.0.0.1.
//
// A server whose image has the property `runner_fleet_test_boot=never` gets no host at all, one
// with `after-<N>s` gets its host N seconds late (a slow boot).
//
// A server deleted from Nova, or no longer ACTIVE, loses all of it; stop() (also on SIGINT,
// SIGTERM and process exit) removes everything: processes, namespaces, veths, the bridge if no
// other simulator uses it, folders.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { OpenStackApi, type NovaServer } from "../local-cloud/openstack-api";
import { runnerTarball } from "./build-tarball";
import { pidAlive, run, runCapture, sleep, waitForExit, waitForLine } from "./commands";
import {
  cidrContains,
  createHostNetwork,
  defaultSubnet,
  ensureBridge,
  hostNetworkNames,
  isIpv4,
  NamespaceExistsError,
  removeBridgeIfUnused,
  removeBridgeIfUnusedSync,
  removeHostNetwork,
  removeHostNetworkSync,
  type Ipv4Subnet,
} from "./host-network";
import { RunnerImageCache } from "./runner-image";
import { FLEET_METADATA_KEY } from "../../rules/server-metadata";

/**
 * A Glance image property for images that boot badly: `never` (its servers go ACTIVE in Nova and
 * nothing runs, as with a broken kernel, so their runners never come online) or `after-<N>s` (a
 * slow boot: the host starts N seconds after the simulator first sees the server ACTIVE).
 */
export const BOOT_PROPERTY = "runner_fleet_test_boot";

type BootBehaviour = { never: true } | { delayMs: number };

export interface RunnerHostSimulatorOptions {
  /** The GitHub double's URL (`http://127.0.0.1:<port>`), reachable from inside the hosts. */
  githubDoubleUrl: string;
  /**
   * More ports of the machine's 127.0.0.1 the hosts reach on their own 127.0.0.1 (say, a
   * repo-policy-compliance double); the GitHub double's port always is.
   */
  extraLoopbackPorts?: number[];
  /** Only servers whose metadata `runner-fleet` equals this; default: every server that has it. */
  fleetPrefix?: string;
  /** How often Nova is polled; default 1000 ms. */
  pollMs?: number;
  /** Where host folders live; default /var/tmp/runner-fleet-hosts. */
  stateDir?: string;
  /** The bridge; default rfbr0. */
  bridge?: string;
  /** Receives the simulator's log lines (they are also kept, see `logs()`). */
  log?: (line: string) => void;
  /**
   * Tear everything down on SIGINT/SIGTERM, then re-raise the signal if nobody else listens;
   * default true. A program that stops the simulator itself on signals passes false.
   */
  handleSignals?: boolean;
}

export type HostState = "starting" | "ready" | "off" | "failed";

/** One simulated runner host. */
export interface HostInfo {
  serverId: string;
  serverName: string;
  /** The server's `runner-fleet` metadata. */
  fleet: string;
  hostname: string;
  address: string;
  mac: string | null;
  subnet: Ipv4Subnet | null;
  namespace: string;
  /** The machine-side end of the host's veth pair (on the bridge). */
  veth: string;
  /** The host folder. */
  dir: string;
  /**
   * starting → ready (sshd answers, the userdata runs or ran) → off after `shutdown`/`poweroff`;
   * failed when the setup failed (see `error`).
   */
  state: HostState;
  error: string | null;
  imageId: string | null;
  /** Where /home/ubuntu/actions-runner came from: the server's image, or runner-agent/. */
  agentSource: "image" | "fallback" | null;
  /** Why the image's runner was not used, for `fallback`. */
  agentFallbackReason: string | null;
  /** The public key line of the host key sshd serves now. */
  sshHostKey: string | null;
  /** The userdata's exit code once it ended (128 + n for signal n), else null. */
  userdataExitCode: number | null;
  /** PID (in the machine's PID namespace) of the host's PID 1, while it runs. */
  initPid: number | null;
  /** When Nova last changed the server (its `updated`), as first seen ACTIVE: epoch ms. */
  activeSince: number | null;
  /** When the simulator first saw the server ACTIVE: epoch ms. */
  seenAt: number;
  readyAt: number | null;
  files: { userdataLog: string; shimCalls: string; sshdLog: string; initLog: string };
}

/** One line of a host's shim-calls.log. */
export interface ShimCall {
  time: string;
  command: string;
  args: string[];
  uid: number;
}

export interface RunnerHostSimulator {
  readonly stateDir: string;
  hosts(): HostInfo[];
  /** Resolves when the host of that server is ready (or off); rejects if its setup failed. */
  waitForHost(serverName: string, timeoutMs?: number): Promise<HostInfo>;
  /** The simulator's log lines so far. */
  logs(): string[];
  stop(): Promise<void>;
}

const HOST_INIT = path.join(__dirname, "host-init.sh");
const FORWARDER = path.join(__dirname, "netns-forwarder.ts");
const SHIM = path.join(__dirname, "shims", "runner-host-shim.sh");

/** Commands the userdata finds as shims, first on its PATH. */
export const SHIMMED_COMMANDS = [
  "apt-get",
  "apt",
  "snap",
  "nft",
  "docker",
  "usermod",
  "useradd",
  "groupadd",
  "systemctl",
  "hostnamectl",
  "timedatectl",
  "loginctl",
  "cloud-init",
  "modprobe",
  "sysctl",
  "ufw",
  "iptables",
  "ip6tables",
  "update-grub",
  "shutdown",
  "poweroff",
  "halt",
  "reboot",
  "pkill",
  "su",
  "runuser",
  "sudo",
];

/** The host's own folders (host-init.sh binds `<host folder>/fs/<path with - for />` there). */
const HOST_FOLDERS = ["home", "root", "tmp", "etc/ssh", "etc/docker", "var/lib/cloud", "var/log"];
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const USERDATA_FILE = "/var/lib/cloud/instance/scripts/part-001";

type Address = { addr: string; version?: number; "OS-EXT-IPS-MAC:mac_addr"?: string };
/** A server as listed by an admin with microversion 2.3 (the fields the simulator reads). */
type Server = Omit<NovaServer, "addresses"> & {
  user_id?: string;
  image?: { id: string } | "";
  updated?: string;
  addresses: Record<string, Address[]>;
};

type NeutronSubnet = { cidr: string; gateway_ip: string | null; ip_version: number };

interface Host {
  info: HostInfo;
  /** Unix-socket relays to the machine's loopback ports (see startRelays). */
  relays: net.Server[];
  holder?: ChildProcess;
  /** Processes started with nsenter (their children run in the host's namespaces). */
  children: Set<ChildProcess>;
  sshd?: ChildProcess;
  sshdStarts: number;
  keyHash?: string;
  keyProblem?: string;
  watcher?: fs.FSWatcher;
  /** Whether this simulator created the host's namespace (and so removes it). */
  ownsNetwork: boolean;
  /** Whether this simulator created the host folder. */
  createdDir: boolean;
  startup: Promise<void>;
  stopping: boolean;
  removal?: Promise<void>;
}

class StoppedError extends Error {}

/** Starts the simulator; it polls Nova until `stop()`. */
export async function startRunnerHostSimulator(
  opts: RunnerHostSimulatorOptions,
): Promise<RunnerHostSimulator> {
  const simulator = new Simulator(opts);
  try {
    await simulator.start();
  } catch (err) {
    await simulator.stop();
    throw err;
  }
  return simulator;
}

/** The shim calls a host recorded so far (its `shim-calls.log`). */
export function readShimCalls(host: HostInfo | string): ShimCall[] {
  const file = typeof host === "string" ? path.join(host, "shim-calls.log") : host.files.shimCalls;
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ShimCall);
}

/** Rejects when `promise` takes longer than `ms` (the request itself may go on). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The last lines of a log file, on one line. */
function tail(file: string, lines = 5): string {
  try {
    return fs.readFileSync(file, "utf8").trim().split("\n").slice(-lines).join(" | ");
  } catch {
    return "(no log)";
  }
}

function removeIfEmpty(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // not empty (another simulator's hosts), or gone
  }
}

function lexists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function hostnameOf(serverName: string): string {
  const name = serverName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+/, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return name || "runner";
}

function firstIpv4(server: Server): Address | undefined {
  for (const list of Object.values(server.addresses ?? {})) {
    const found = list.find((a) => a.version === 4 || (a.version === undefined && isIpv4(a.addr)));
    if (found) return found;
  }
  return undefined;
}

/** The PIDs of a process's children (in the machine's PID namespace). */
function childPids(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function kill(pid: number | null | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

class Simulator implements RunnerHostSimulator {
  readonly stateDir: string;
  private readonly simDir: string;
  private readonly bridge: string;
  private readonly pollMs: number;
  private readonly githubPort: number;
  /** The machine's loopback ports the hosts reach on their own 127.0.0.1 (GitHub's first). */
  private readonly loopbackPorts: number[];
  private readonly hostMap = new Map<string, Host>();
  /** Servers another simulator holds (their namespace existed): left alone, logged once. */
  private readonly foreign = new Set<string>();
  /** Servers not booted yet (`BOOT_PROPERTY`): when their host starts (Infinity: never). */
  private readonly bootsAt = new Map<string, number>();
  /** Per image id: how its servers boot (`BOOT_PROPERTY`). */
  private readonly bootOfImage = new Map<string, Promise<BootBehaviour>>();
  private readonly logLines: string[] = [];
  private api?: OpenStackApi;
  private loggedInAt = 0;
  private images: RunnerImageCache;
  private agentTarball?: Buffer;
  private subnets: NeutronSubnet[] = [];
  private bridgeChain: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private stopped = false;
  private stopping?: Promise<void>;
  private readonly onExit = () => this.teardownSync();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.teardownSync();
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  constructor(private readonly opts: RunnerHostSimulatorOptions) {
    const url = new URL(opts.githubDoubleUrl);
    if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") {
      throw new Error(`the GitHub double must listen on 127.0.0.1, not ${url.hostname}`);
    }
    this.githubPort = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    this.bridge = opts.bridge ?? "rfbr0";
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(this.bridge)) throw new Error(`bad bridge ${this.bridge}`);
    this.pollMs = opts.pollMs ?? 1000;
    this.stateDir = path.resolve(opts.stateDir ?? "/var/tmp/runner-fleet-hosts");
    this.simDir = path.join(
      this.stateDir,
      `.simulator-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    );
    this.loopbackPorts = [...new Set([this.githubPort, ...(opts.extraLoopbackPorts ?? [])])];
    for (const port of this.loopbackPorts) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
    }
    this.images = new RunnerImageCache(path.join(this.simDir, "images"), async (id, file) =>
      (await this.openstack()).api.download("image", `/v2/images/${id}/file`, file),
    );
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error("the runner-host simulator needs root");
    fs.mkdirSync(this.stateDir, { recursive: true });
    process.on("exit", this.onExit);
    if (this.opts.handleSignals !== false) {
      process.on("SIGINT", this.onSignal);
      process.on("SIGTERM", this.onSignal);
    }
    await this.removeStaleHosts();
    fs.mkdirSync(this.simDir, { recursive: true });
    fs.writeFileSync(`${this.simDir}/owner.json`, JSON.stringify({ pid: process.pid }));
    // The mount point of /var/lib/cloud (an empty folder) is the one trace on the machine.
    fs.mkdirSync("/var/lib/cloud", { recursive: true });
    await this.openstack();
    this.log(
      `started: fleet ${this.opts.fleetPrefix ?? "(any)"}, GitHub port ${this.githubPort}, ` +
        `state ${this.stateDir}`,
    );
    this.schedulePoll(0);
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling?.catch(() => undefined);
    await Promise.all([...this.hostMap.values()].map((h) => this.removeHost(h, "stop")));
    await this.bridgeChain.catch(() => undefined);
    await removeBridgeIfUnused(this.bridge);
    fs.rmSync(this.simDir, { recursive: true, force: true });
    removeIfEmpty(this.stateDir);
    process.off("exit", this.onExit);
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    this.log("stopped");
  }

  /** On process exit or a signal: no awaiting, just kill and remove everything. */
  private teardownSync(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const host of this.hostMap.values()) {
      host.stopping = true;
      this.killHostProcesses(host);
      for (const relay of host.relays) relay.close();
      if (host.ownsNetwork) removeHostNetworkSync(host.info);
      if (host.createdDir) fs.rmSync(host.info.dir, { recursive: true, force: true });
    }
    this.hostMap.clear();
    removeBridgeIfUnusedSync(this.bridge);
    fs.rmSync(this.simDir, { recursive: true, force: true });
    removeIfEmpty(this.stateDir);
  }

  /** Hosts left by a simulator that died without cleaning up (its PID is gone). */
  private async removeStaleHosts(): Promise<void> {
    for (const entry of fs.readdirSync(this.stateDir)) {
      const dir = path.join(this.stateDir, entry);
      try {
        if (entry.startsWith(".simulator-")) {
          const owner = JSON.parse(fs.readFileSync(path.join(dir, "owner.json"), "utf8"));
          if (!pidAlive(owner.pid)) fs.rmSync(dir, { recursive: true, force: true });
          continue;
        }
        const meta = JSON.parse(fs.readFileSync(path.join(dir, "host.json"), "utf8")) as {
          simulatorPid: number;
          namespace: string;
          veth: string;
        };
        if (pidAlive(meta.simulatorPid)) continue;
        this.log(`removing the stale host ${entry} of simulator ${meta.simulatorPid}`);
        for (const pid of await this.namespacePids(meta.namespace)) kill(pid, "SIGKILL");
        await removeHostNetwork(meta);
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // not a host folder
      }
    }
  }

  private async namespacePids(namespace: string): Promise<number[]> {
    const out = await run("ip", ["netns", "pids", namespace]).catch(() => "");
    return out.split(/\s+/).filter(Boolean).map(Number);
  }

  /**
   * Relays connections from a host's forwarder (Unix sockets `<host>/loopback-<port>.sock`, the
   * host's /run/runner-host/...) to the machine's 127.0.0.1:<port>.
   */
  private async startRelays(host: Host): Promise<void> {
    for (const port of this.loopbackPorts) {
      const socketPath = path.join(host.info.dir, `loopback-${port}.sock`);
      if (Buffer.byteLength(socketPath) > 100) {
        throw new Error(`${socketPath} is too long for a Unix socket: use a shorter stateDir`);
      }
      const relay = net.createServer((inbound) => {
        const outbound = net.connect(port, "127.0.0.1");
        inbound.pipe(outbound);
        outbound.pipe(inbound);
        const end = () => {
          inbound.destroy();
          outbound.destroy();
        };
        for (const s of [inbound, outbound]) {
          s.on("error", end);
          s.on("close", end);
        }
      });
      host.relays.push(relay);
      await new Promise<void>((resolve, reject) => {
        relay.once("error", reject);
        relay.listen(socketPath, () => resolve());
      });
    }
  }

  private static closeRelays(host: Host): Promise<void> {
    const closing = host.relays.map(
      (r) => new Promise<void>((resolve) => r.close(() => resolve())),
    );
    host.relays = [];
    return Promise.all(closing).then(() => undefined);
  }

  private log(line: string): void {
    const stamped = `${new Date().toISOString()} ${line}`;
    this.logLines.push(stamped);
    if (this.logLines.length > 5000) this.logLines.shift();
    this.opts.log?.(stamped);
  }

  logs(): string[] {
    return [...this.logLines];
  }

  // ---- OpenStack --------------------------------------------------------------------------------

  /** Admin clients; logs in again after 30 minutes (Keystone tokens last an hour). */
  private async openstack(): Promise<{ api: OpenStackApi }> {
    if (!this.api || Date.now() - this.loggedInAt > 30 * 60_000) {
      this.api = await OpenStackApi.login({ admin: true });
      this.loggedInAt = Date.now();
    }
    return { api: this.api };
  }

  private async subnetFor(address: string): Promise<Ipv4Subnet> {
    const find = () =>
      this.subnets.find((s) => s.ip_version === 4 && cidrContains(s.cidr, address));
    if (!find()) {
      const { api } = await this.openstack();
      this.subnets = (
        await withTimeout(
          api.get<{ subnets: NeutronSubnet[] }>("network", "/v2.0/subnets"),
          60_000,
          "Neutron",
        )
      ).subnets;
    }
    const subnet = find();
    if (!subnet?.gateway_ip) return defaultSubnet(address);
    return {
      cidr: subnet.cidr,
      gateway: subnet.gateway_ip,
      prefixLength: Number(subnet.cidr.split("/")[1]),
    };
  }

  private async keypairPublicKey(server: Server): Promise<string | null> {
    if (!server.key_name) return null;
    const { api } = await this.openstack();
    const query = server.user_id ? `?user_id=${encodeURIComponent(server.user_id)}` : "";
    const body = await withTimeout(
      api.get<{ keypair: { public_key: string } }>(
        "compute",
        `/os-keypairs/${encodeURIComponent(server.key_name)}${query}`,
        "2.10",
      ),
      60_000,
      "Nova (keypair)",
    );
    return body.keypair.public_key.trim();
  }

  // ---- polling ----------------------------------------------------------------------------------

  private schedulePoll(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll()
        .catch((err: unknown) => this.log(`poll failed: ${(err as Error).message}`))
        .finally(() => this.schedulePoll(this.pollMs));
    }, delay);
  }

  private matches(server: Server): boolean {
    const fleet = server.metadata?.[FLEET_METADATA_KEY];
    if (fleet === undefined) return false;
    return this.opts.fleetPrefix === undefined || fleet === this.opts.fleetPrefix;
  }

  private async poll(): Promise<void> {
    let servers: Server[];
    try {
      const { api } = await this.openstack();
      servers = (await withTimeout(api.servers({ allTenants: true }), 20_000, "Nova")) as Server[];
    } catch (err) {
      if (/HTTP 401/.test((err as Error).message)) this.loggedInAt = 0; // log in again
      throw err;
    }
    if (this.stopped) return;
    const active = new Map<string, Server>();
    for (const server of servers) {
      if (this.matches(server) && server.status === "ACTIVE" && firstIpv4(server)) {
        active.set(server.id, server);
      }
    }
    for (const server of active.values()) {
      if (this.hostMap.has(server.id) || this.foreign.has(server.id)) continue;
      if (!this.bootsAt.has(server.id)) {
        const boot = await this.bootOf(server);
        const at = "never" in boot ? Infinity : Date.now() + boot.delayMs;
        this.bootsAt.set(server.id, at);
        if (at === Infinity) this.log(`server ${server.name}: its image never boots: no host`);
        else if ("delayMs" in boot && boot.delayMs > 0)
          this.log(`server ${server.name}: boots in ${boot.delayMs} ms`);
      }
      if (Date.now() < (this.bootsAt.get(server.id) as number)) continue;
      this.startHost(server);
    }
    for (const id of this.bootsAt.keys()) if (!active.has(id)) this.bootsAt.delete(id);
    for (const host of this.hostMap.values()) {
      if (!active.has(host.info.serverId)) {
        const still = servers.find((s) => s.id === host.info.serverId);
        void this.removeHost(host, still ? `server is ${still.status}` : "server deleted");
      } else {
        this.checkHost(host);
      }
    }
    for (const id of this.foreign) if (!active.has(id)) this.foreign.delete(id);
  }

  private bootOf(server: Server): Promise<BootBehaviour> {
    const id = server.image && typeof server.image === "object" ? server.image.id : undefined;
    if (!id) return Promise.resolve({ delayMs: 0 });
    let boot = this.bootOfImage.get(id);
    if (!boot) {
      boot = this.openstack()
        .then(({ api }) => api.get<Record<string, unknown>>("image", `/v2/images/${id}`))
        .then((image): BootBehaviour => {
          const property = image[BOOT_PROPERTY];
          if (property === "never") return { never: true };
          const delay = /^after-(\d+)s$/.exec(String(property ?? ""));
          return { delayMs: delay ? Number(delay[1]) * 1000 : 0 };
        });
      boot.catch(() => this.bootOfImage.delete(id)); // asked again at the next poll
      this.bootOfImage.set(id, boot);
    }
    return boot;
  }

  // ---- hosts ------------------------------------------------------------------------------------

  hosts(): HostInfo[] {
    return [...this.hostMap.values()].map((h) => ({ ...h.info }));
  }

  async waitForHost(serverName: string, timeoutMs = 60_000): Promise<HostInfo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const host = [...this.hostMap.values()].find((h) => h.info.serverName === serverName);
      if (host?.info.state === "ready" || host?.info.state === "off") return { ...host.info };
      if (host?.info.state === "failed") {
        throw new Error(`host of ${serverName} failed: ${host.info.error}`);
      }
      if (this.stopped) throw new Error("the simulator stopped");
      if (Date.now() > deadline) {
        throw new Error(
          `no ready host for server ${serverName} within ${timeoutMs} ms` +
            (host ? ` (state ${host.info.state})` : ""),
        );
      }
      await sleep(50);
    }
  }

  private startHost(server: Server): void {
    const address = firstIpv4(server) as Address;
    const names = hostNetworkNames(server.id);
    const dir = path.join(this.stateDir, server.id);
    const info: HostInfo = {
      serverId: server.id,
      serverName: server.name,
      fleet: server.metadata[FLEET_METADATA_KEY],
      hostname: hostnameOf(server.name),
      address: address.addr,
      mac: address["OS-EXT-IPS-MAC:mac_addr"] ?? null,
      subnet: null,
      namespace: names.namespace,
      veth: names.veth,
      dir,
      state: "starting",
      error: null,
      imageId: server.image && typeof server.image === "object" ? server.image.id : null,
      agentSource: null,
      agentFallbackReason: null,
      sshHostKey: null,
      userdataExitCode: null,
      initPid: null,
      activeSince: server.updated ? Date.parse(server.updated) : null,
      seenAt: Date.now(),
      readyAt: null,
      files: {
        userdataLog: path.join(dir, "userdata.log"),
        shimCalls: path.join(dir, "shim-calls.log"),
        sshdLog: path.join(dir, "sshd.log"),
        initLog: path.join(dir, "init.log"),
      },
    };
    const host: Host = {
      info,
      relays: [],
      children: new Set(),
      sshdStarts: 0,
      ownsNetwork: false,
      createdDir: false,
      stopping: false,
      startup: Promise.resolve(),
    };
    this.hostMap.set(server.id, host);
    this.log(`server ${server.name} (${server.id}) is ACTIVE at ${address.addr}: setting up`);
    host.startup = this.setUpHost(host, server).then(
      () => {
        info.state = "ready";
        info.readyAt = Date.now();
        this.log(
          `host ${info.serverName} ready in ${((info.readyAt - info.seenAt) / 1000).toFixed(2)} s` +
            ` (agent from ${info.agentSource})`,
        );
      },
      (err: unknown) => {
        if (host.stopping || err instanceof StoppedError) return;
        if (err instanceof NamespaceExistsError) {
          // Another simulator runs this server: leave it (and its namespace) alone.
          this.log(`server ${info.serverName}: ${err.message}; left to its simulator`);
          this.foreign.add(server.id);
          this.hostMap.delete(server.id);
          if (host.createdDir) fs.rmSync(dir, { recursive: true, force: true });
          return;
        }
        info.state = "failed";
        info.error = (err as Error).message;
        this.log(`host ${info.serverName} failed: ${info.error}`);
        void this.endHostProcesses(host);
      },
    );
  }

  private async setUpHost(host: Host, server: Server): Promise<void> {
    const { info } = host;
    const step = () => {
      if (host.stopping) throw new StoppedError("stopped");
    };
    // Another simulator's host (same server, say with no fleet prefix): touch nothing of it.
    if (fs.existsSync(`/run/netns/${info.namespace}`)) {
      throw new NamespaceExistsError(`network namespace ${info.namespace} exists already`);
    }
    fs.rmSync(info.dir, { recursive: true, force: true });
    host.createdDir = true;
    for (const folder of HOST_FOLDERS) {
      fs.mkdirSync(path.join(info.dir, "fs", folder.replace(/\//g, "-")), { recursive: true });
    }
    fs.writeFileSync(
      path.join(info.dir, "host.json"),
      JSON.stringify({
        simulatorPid: process.pid,
        serverId: info.serverId,
        serverName: info.serverName,
        namespace: info.namespace,
        veth: info.veth,
        address: info.address,
      }),
    );
    const [subnet, publicKey] = await Promise.all([
      this.subnetFor(info.address),
      this.keypairPublicKey(server).catch((err: Error) => {
        this.log(`server ${info.serverName}: no keypair public key (${err.message})`);
        return null;
      }),
      this.installRunner(host),
    ]);
    info.subnet = subnet;
    step();
    await this.prepareFolders(host, server, publicKey);
    step();

    // Network: the bridge (once), then this server's namespace and veth.
    const bridgeUp = this.bridgeChain.then(() => ensureBridge(this.bridge, subnet));
    this.bridgeChain = bridgeUp.catch(() => undefined);
    await bridgeUp;
    step();
    host.ownsNetwork = true;
    try {
      await createHostNetwork(this.bridge, {
        namespace: info.namespace,
        veth: info.veth,
        address: info.address,
        mac: info.mac ?? undefined,
        subnet,
      });
    } catch (err) {
      if (err instanceof NamespaceExistsError) host.ownsNetwork = false;
      throw err;
    }
    step();

    // PID 1 of the host: mount, PID and UTS namespaces inside the network namespace.
    const initLog = fs.openSync(info.files.initLog, "a");
    const holder = spawn(
      "nsenter",
      [
        `--net=/run/netns/${info.namespace}`,
        "unshare",
        "--mount",
        "--uts",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "--propagation",
        "private",
        "bash",
        HOST_INIT,
        info.dir,
        info.hostname,
      ],
      { stdio: ["pipe", "pipe", initLog], env: { PATH: SYSTEM_PATH, LANG: "C.UTF-8" } },
    );
    fs.closeSync(initLog);
    host.holder = holder;
    holder.on("exit", (code, signal) => {
      info.initPid = null;
      if (!host.stopping) this.log(`host ${info.serverName}: PID 1 ended (${signal ?? code})`);
    });
    await waitForLine(holder, "ready", 30_000, `PID 1 of ${info.serverName}`).catch((err) => {
      throw new Error(`${(err as Error).message}: ${tail(info.files.initLog)}`);
    });
    holder.stdout?.resume();
    info.initPid = childPids(holder.pid as number)[0] ?? null;
    if (!info.initPid) throw new Error("PID 1 of the host not found");
    step();

    // The GitHub double (and any extra loopback port), on the host's own 127.0.0.1.
    await this.startRelays(host);
    const forwarderLog = fs.openSync(path.join(info.dir, "forwarder.log"), "a");
    // Run from the host folder (its /run/runner-host): the host has its own /tmp, so a checkout
    // under the machine's /tmp is out of its sight.
    fs.copyFileSync(FORWARDER, path.join(info.dir, "netns-forwarder.ts"));
    const forwarder = this.spawnInHost(
      host,
      [
        process.execPath,
        "--no-warnings",
        "/run/runner-host/netns-forwarder.ts",
        ...this.loopbackPorts.map((port) => `${port}=/run/runner-host/loopback-${port}.sock`),
      ],
      ["ignore", "pipe", forwarderLog],
    );
    fs.closeSync(forwarderLog);
    await waitForLine(forwarder, "listening", 30_000, `the GitHub forwarder of ${info.serverName}`);
    forwarder.stdout?.resume();
    step();

    this.startSshd(host);
    this.watchHostKey(host);
    this.runUserdata(host, server);
    await this.waitForSsh(host, 30_000);
  }

  /** /home/ubuntu/actions-runner: the image's runner, else the test agent. */
  private async installRunner(host: Host): Promise<void> {
    const { info } = host;
    const target = path.join(info.dir, "fs", "home", "ubuntu", "actions-runner");
    let source: string | null = null;
    if (info.imageId) {
      try {
        const found = await this.images.runner(info.imageId);
        if (found.dir !== null) source = found.dir;
        else info.agentFallbackReason = found.reason;
      } catch (err) {
        info.agentFallbackReason = `image ${info.imageId} not read: ${(err as Error).message}`;
      }
    } else {
      info.agentFallbackReason = "the server has no image (boot from volume)";
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (source) {
      await run("cp", ["-a", source, target]);
      info.agentSource = "image";
    } else {
      this.log(
        `server ${info.serverName}: ${info.agentFallbackReason}; using the test agent of runner-agent/`,
      );
      // What the runner tarball holds (not whatever a manual run left in runner-agent/).
      fs.mkdirSync(target);
      this.agentTarball ??= runnerTarball();
      await run("tar", ["-xzf", "-", "-C", target], { input: this.agentTarball });
      info.agentSource = "fallback";
    }
  }

  /** The host's own /home, /etc/ssh and /var/lib/cloud, before PID 1 mounts them. */
  private async prepareFolders(host: Host, server: Server, publicKey: string | null) {
    const { info } = host;
    const fsDir = (folder: string) => path.join(info.dir, "fs", folder.replace(/\//g, "-"));
    fs.chmodSync(fsDir("tmp"), 0o1777);
    fs.chmodSync(fsDir("root"), 0o700);
    const ssh = path.join(fsDir("home"), "ubuntu", ".ssh");
    fs.mkdirSync(ssh, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(ssh, "authorized_keys"), publicKey ? `${publicKey}\n` : "", {
      mode: 0o600,
    });

    this.installShims(info.dir);

    const etcSsh = fsDir("etc/ssh");
    fs.mkdirSync(path.join(etcSsh, "sshd_config.d"), { recursive: true });
    for (const f of ["moduli", "ssh_config"]) {
      if (fs.existsSync(`/etc/ssh/${f}`)) fs.copyFileSync(`/etc/ssh/${f}`, path.join(etcSsh, f));
    }
    // The host key a first boot generates; the userdata may replace it.
    await run("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      `root@${info.hostname}`,
      "-f",
      path.join(etcSsh, "ssh_host_ed25519_key"),
    ]);
    fs.writeFileSync(
      path.join(etcSsh, "sshd_config"),
      [
        `# sshd of the simulated runner host ${info.serverName} (${info.serverId})`,
        "Include /etc/ssh/sshd_config.d/*.conf",
        `ListenAddress ${info.address}:22`,
        "HostKey /etc/ssh/ssh_host_ed25519_key",
        "PidFile /run/runner-host/sshd.pid",
        "AuthorizedKeysFile .ssh/authorized_keys",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin no",
        "AllowUsers ubuntu",
        "PrintMotd no",
        "UseDNS no",
        "LogLevel VERBOSE",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        "",
      ].join("\n"),
    );

    const cloud = fsDir("var/lib/cloud");
    const instance = path.join(cloud, "instance");
    fs.mkdirSync(path.join(instance, "scripts"), { recursive: true });
    fs.mkdirSync(path.join(cloud, "data"), { recursive: true });
    fs.writeFileSync(path.join(instance, "instance-id"), `${info.serverId}\n`);
    fs.writeFileSync(path.join(cloud, "data", "instance-id"), `${info.serverId}\n`);
    let userdata = Buffer.from(server["OS-EXT-SRV-ATTR:user_data"] ?? "", "base64");
    if (userdata[0] === 0x1f && userdata[1] === 0x8b) userdata = gunzipSync(userdata);
    fs.writeFileSync(path.join(instance, "user-data.txt"), userdata, { mode: 0o600 });
    fs.writeFileSync(path.join(instance, "scripts", "part-001"), userdata, { mode: 0o700 });
  }

  /**
   * The shims, in the upper layer of the host's copy-on-write /usr: /usr/local/sbin/<command>
   * (first on PATH) for each, and in place of the machine's own /usr/{bin,sbin,local/bin}/<command>
   * (also /bin and /sbin, which link there) so that another PATH (the runner's .env sets one) or
   * an absolute path reaches the shim too. pkill is only shadowed: its shim runs the real one.
   */
  private installShims(hostDir: string): void {
    const upper = path.join(hostDir, "overlay", "usr", "upper");
    const lib = path.join(upper, "local", "lib", "runner-host");
    fs.mkdirSync(lib, { recursive: true });
    fs.copyFileSync(SHIM, path.join(lib, "shim.sh"));
    fs.chmodSync(path.join(lib, "shim.sh"), 0o755);
    const target = "/usr/local/lib/runner-host/shim.sh";
    for (const command of SHIMMED_COMMANDS) {
      const places = ["local/sbin"];
      if (command !== "pkill") {
        places.push(...["bin", "sbin", "local/bin"].filter((d) => lexists(`/usr/${d}/${command}`)));
      }
      for (const place of places) {
        fs.mkdirSync(path.join(upper, place), { recursive: true });
        fs.symlinkSync(target, path.join(upper, place, command));
      }
    }
  }

  /** A command in the host's namespaces (as root); the nsenter process is tracked. */
  private spawnInHost(
    host: Host,
    argv: string[],
    stdio: ("ignore" | "pipe" | number)[],
    env: NodeJS.ProcessEnv = { PATH: SYSTEM_PATH, LANG: "C.UTF-8" },
  ): ChildProcess {
    if (!host.info.initPid) throw new Error("the host has no PID 1");
    const child = spawn(
      "nsenter",
      ["-t", String(host.info.initPid), "-m", "-u", "-n", "-p", "--wd=/", "--", ...argv],
      { stdio: stdio as ("ignore" | "pipe")[], env },
    );
    host.children.add(child);
    child.once("exit", () => host.children.delete(child));
    return child;
  }

  private startSshd(host: Host): void {
    const { info } = host;
    if (host.stopping || info.state === "off" || !info.initPid) return;
    host.sshdStarts++;
    const logFd = fs.openSync(info.files.sshdLog, "a");
    const sshd = this.spawnInHost(
      host,
      ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"],
      ["ignore", logFd, logFd],
    );
    fs.closeSync(logFd);
    host.sshd = sshd;
    this.noteHostKey(host);
    sshd.once("exit", (code, signal) => {
      if (host.sshd === sshd) host.sshd = undefined;
      if (host.stopping || info.state === "off" || fs.existsSync(this.poweredOffFile(host))) {
        return;
      }
      // Supervised, as systemd would: back after a pause (see sshd.log for why it ended).
      const delay = Math.min(5000, 250 * host.sshdStarts);
      this.log(
        `host ${info.serverName}: sshd ended (${signal ?? code}); restarting in ${delay} ms`,
      );
      setTimeout(() => this.startSshd(host), delay);
    });
  }

  private poweredOffFile(host: Host): string {
    return path.join(host.info.dir, "powered-off");
  }

  private hostKeyFile(host: Host): string {
    return path.join(host.info.dir, "fs", "etc-ssh", "ssh_host_ed25519_key");
  }

  /** Records the key sshd loads now (at its start); its public half comes from checkHostKey. */
  private noteHostKey(host: Host): void {
    host.keyHash = this.hostKeyHash(host) ?? undefined;
    host.info.sshHostKey = null;
    void this.checkHostKey(host);
  }

  private hostKeyHash(host: Host): string | null {
    try {
      return createHash("sha256")
        .update(fs.readFileSync(this.hostKeyFile(host)))
        .digest("hex");
    } catch {
      return null;
    }
  }

  private watchHostKey(host: Host): void {
    let timer: NodeJS.Timeout | undefined;
    try {
      host.watcher = fs.watch(path.dirname(this.hostKeyFile(host)), () => {
        clearTimeout(timer);
        timer = setTimeout(() => void this.checkHostKey(host), 50);
      });
      host.watcher.on("error", () => undefined);
    } catch {
      // the poll checks too
    }
  }

  /**
   * When /etc/ssh/ssh_host_ed25519_key changed (the userdata installed the manager's key), sshd
   * reloads once the key is complete and usable: SIGHUP makes it re-execute itself.
   */
  private async checkHostKey(host: Host): Promise<void> {
    const hash = this.hostKeyHash(host);
    if (!hash || host.stopping) return;
    if (hash === host.keyHash && host.info.sshHostKey) return;
    const check = await runCapture("ssh-keygen", ["-y", "-f", this.hostKeyFile(host)], 10_000);
    if (check.code !== 0) {
      const problem = `${hash}: ${check.stderr.trim()}`;
      if (host.keyProblem !== problem) {
        host.keyProblem = problem;
        this.log(`host ${host.info.serverName}: host key not usable (yet): ${check.stderr.trim()}`);
      }
      return;
    }
    if (this.hostKeyHash(host) !== hash) return; // changed meanwhile: the next check sees it
    host.info.sshHostKey = check.stdout.trim();
    if (hash === host.keyHash) return;
    host.keyHash = hash;
    const sshdPid = host.sshd?.pid ? childPids(host.sshd.pid)[0] : undefined;
    if (sshdPid) {
      kill(sshdPid, "SIGHUP");
      this.log(`host ${host.info.serverName}: new host key installed, sshd reloaded`);
    }
  }

  private runUserdata(host: Host, server: Server): void {
    const { info } = host;
    const text = Buffer.from(server["OS-EXT-SRV-ATTR:user_data"] ?? "", "base64")
      .subarray(0, 64)
      .toString("latin1");
    const logFd = fs.openSync(info.files.userdataLog, "a");
    const note = (line: string) =>
      fs.appendFileSync(
        info.files.userdataLog,
        `[runner-host] ${new Date().toISOString()} ${line}\n`,
      );
    if (!server["OS-EXT-SRV-ATTR:user_data"]) {
      note("no userdata");
      fs.closeSync(logFd);
      return;
    }
    if (/^(#cloud-config|Content-Type:|#include|#cloud-boothook)/i.test(text)) {
      note(`userdata of this kind is not run by the simulator: ${text.split("\n")[0]}`);
      fs.closeSync(logFd);
      return;
    }
    const argv = text.startsWith("#!") ? [USERDATA_FILE] : ["/bin/bash", USERDATA_FILE];
    note(`running ${argv.join(" ")}`);
    const child = this.spawnInHost(host, argv, ["ignore", logFd, logFd], {
      PATH: SYSTEM_PATH,
      HOME: "/root",
      USER: "root",
      LOGNAME: "root",
      SHELL: "/bin/bash",
      LANG: "C.UTF-8",
      TERM: "dumb",
    });
    fs.closeSync(logFd);
    child.once("exit", (code, signal) => {
      // nsenter reports the child's status (a signal as 128 + n).
      info.userdataExitCode = code ?? 128;
      if (!host.stopping) note(`userdata exited with ${signal ?? code}`);
    });
  }

  private async waitForSsh(host: Host, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (host.stopping) throw new StoppedError("stopped");
      const ok = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: host.info.address, port: 22, timeout: 1000 });
        socket.once("data", () => {
          socket.destroy();
          resolve(true);
        });
        const no = () => {
          socket.destroy();
          resolve(false);
        };
        socket.once("error", no);
        socket.once("timeout", no);
        socket.once("close", no);
      });
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`sshd on ${host.info.address}:22 did not answer`);
      await sleep(50);
    }
  }

  /** Per poll: power-off and host key. */
  private checkHost(host: Host): void {
    const { info } = host;
    if (info.state === "ready" && fs.existsSync(this.poweredOffFile(host))) {
      info.state = "off";
      this.log(`host ${info.serverName} powered off`);
    }
    if (info.state === "ready") void this.checkHostKey(host);
  }

  /** Kills every process of the host at once (teardown on process exit, failed setups). */
  private killHostProcesses(host: Host): void {
    // PID 1 first: the kernel then kills every process of the host's PID namespace.
    kill(host.info.initPid, "SIGKILL");
    kill(host.holder?.pid, "SIGKILL");
    for (const child of host.children) kill(child.pid, "SIGKILL");
  }

  /**
   * Kills the host's PID 1, so the kernel kills every process of its PID namespace, and waits
   * until they are all gone: unshare (the holder) exits only once its child, PID 1, is reaped,
   * which happens after the namespace is empty; nsenter exits once its child has. What is still
   * there after 10 s is killed directly.
   */
  private async endHostProcesses(host: Host): Promise<void> {
    kill(host.info.initPid ?? (host.holder?.pid ? childPids(host.holder.pid)[0] : null), "SIGKILL");
    if (!host.info.initPid && !host.holder?.pid) {
      for (const child of host.children) kill(child.pid, "SIGKILL");
    }
    const all = [...host.children, ...(host.holder ? [host.holder] : [])];
    const exited = await Promise.all(all.map((c) => waitForExit(c, 10_000)));
    if (exited.includes(false)) {
      this.log(`host ${host.info.serverName}: processes still there after 10 s; killing them`);
      this.killHostProcesses(host);
      await Promise.all(all.map((c) => waitForExit(c, 5_000)));
    }
  }

  private removeHost(host: Host, reason: string): Promise<void> {
    host.removal ??= (async () => {
      const { info } = host;
      host.stopping = true;
      this.log(`host ${info.serverName}: removing (${reason})`);
      // Ending PID 1 makes any setup step still waiting fail at once.
      kill(host.info.initPid, "SIGKILL");
      await host.startup.catch(() => undefined);
      await this.endHostProcesses(host);
      await Simulator.closeRelays(host);
      host.watcher?.close();
      if (host.ownsNetwork) await removeHostNetwork(info);
      if (host.createdDir) fs.rmSync(info.dir, { recursive: true, force: true });
      this.hostMap.delete(info.serverId);
      this.log(`host ${info.serverName}: removed`);
    })();
    return host.removal;
  }
}
