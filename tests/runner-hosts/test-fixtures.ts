// What the simulator's tests create as the tenant, through the OpenStack REST APIs: keypairs,
// images and servers, and a userdata that follows the runner userdata's contract.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cloudEnv } from "../../devkit/local-cloud/cloud-env";
import { sleep } from "../../devkit/runner-hosts/commands";
import { OpenStackApi, OpenStackError } from "../../devkit/local-cloud/openstack-api";
import { mbrWithLinuxPartition } from "../../devkit/runner-hosts/partition-table";

/** An OpenSSH ed25519 key pair made with ssh-keygen, in a temporary folder. */
export interface KeyFiles {
  dir: string;
  privateKeyFile: string;
  privateKey: string;
  publicKey: string;
}

export function makeKeyPair(comment: string): KeyFiles {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rf-hosts-key-"));
  const file = path.join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  return {
    dir,
    privateKeyFile: file,
    privateKey: fs.readFileSync(file, "utf8"),
    publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim(),
  };
}

/** The tenant's resources made by a test, removed by `cleanup()` even after a failure. */
export class TenantFixtures {
  private readonly servers = new Set<string>();
  private readonly keypairs = new Set<string>();
  private readonly images = new Set<string>();

  private constructor(readonly api: OpenStackApi) {}

  static async login(): Promise<TenantFixtures> {
    return new TenantFixtures(await OpenStackApi.login());
  }

  async createKeypair(name: string, publicKey: string): Promise<void> {
    await this.api.json("compute", "POST", "/os-keypairs", {
      body: { keypair: { name, public_key: publicKey } },
    });
    this.keypairs.add(name);
  }

  /** Uploads an image (qcow2 or raw data) and waits until it is active; returns its id. */
  async createImage(name: string, data: Buffer, diskFormat: "qcow2" | "raw"): Promise<string> {
    const image = await this.api.json<{ id: string }>("image", "POST", "/v2/images", {
      body: { name, disk_format: diskFormat, container_format: "bare", visibility: "private" },
    });
    this.images.add(image.id);
    await this.api.checked("image", "PUT", `/v2/images/${image.id}/file`, { body: data });
    for (let i = 0; i < 100; i++) {
      const got = await this.api.json<{ status: string }>("image", "GET", `/v2/images/${image.id}`);
      if (got.status === "active") return image.id;
      await sleep(100);
    }
    throw new Error(`image ${name} did not become active`);
  }

  async flavorId(name: string): Promise<string> {
    const { flavors } = await this.api.json<{ flavors: { id: string; name: string }[] }>(
      "compute",
      "GET",
      "/flavors",
    );
    const flavor = flavors.find((f) => f.name === name);
    if (!flavor) throw new Error(`no flavor ${name}`);
    return flavor.id;
  }

  /** Creates a server on the tenant network with the cloud's flavor; returns its id. */
  async createServer(spec: {
    name: string;
    imageId?: string;
    keyName: string;
    metadata: Record<string, string>;
    userData: string;
  }): Promise<string> {
    const env = cloudEnv();
    const { server } = await this.api.json<{ server: { id: string } }>(
      "compute",
      "POST",
      "/servers",
      {
        body: {
          server: {
            name: spec.name,
            imageRef: spec.imageId ?? env.RUNNER_FLEET_IMAGE_ID,
            flavorRef: await this.flavorId(env.RUNNER_FLEET_FLAVOR),
            networks: [{ uuid: env.RUNNER_FLEET_NETWORK_ID }],
            key_name: spec.keyName,
            metadata: spec.metadata,
            user_data: Buffer.from(spec.userData).toString("base64"),
          },
        },
      },
    );
    this.servers.add(server.id);
    return server.id;
  }

  async server(id: string): Promise<{ id: string; status: string; updated: string } | null> {
    try {
      return (
        await this.api.json<{ server: { id: string; status: string; updated: string } }>(
          "compute",
          "GET",
          `/servers/${id}`,
        )
      ).server;
    } catch (err) {
      if (err instanceof OpenStackError && err.status === 404) return null;
      throw err;
    }
  }

  async waitForStatus(id: string, status: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const server = await this.server(id);
      if (server?.status === status) return;
      if (server?.status === "ERROR") throw new Error(`server ${id} is in ERROR`);
      if (Date.now() > deadline)
        throw new Error(`server ${id} is ${server?.status}, not ${status}`);
      await sleep(250);
    }
  }

  /** Deletes the server and waits until Nova no longer lists it. */
  async deleteServer(id: string): Promise<void> {
    try {
      await this.api.checked("compute", "DELETE", `/servers/${id}`);
    } catch (err) {
      if (!(err instanceof OpenStackError && err.status === 404)) throw err;
    }
    const deadline = Date.now() + 120_000;
    while ((await this.server(id)) !== null) {
      if (Date.now() > deadline) throw new Error(`server ${id} was not deleted`);
      await sleep(250);
    }
    this.servers.delete(id);
  }

  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all(
      [...this.servers].map((id) => this.deleteServer(id).catch((e) => errors.push(e))),
    );
    for (const name of this.keypairs) {
      await this.api
        .checked("compute", "DELETE", `/os-keypairs/${encodeURIComponent(name)}`)
        .catch((e) => errors.push(e));
    }
    for (const id of this.images) {
      await this.api.checked("image", "DELETE", `/v2/images/${id}`).catch((e) => errors.push(e));
    }
    this.keypairs.clear();
    this.images.clear();
    if (errors.length) throw new Error(`cleanup: ${errors.map(String).join("; ")}`);
  }
}

/**
 * A runner image as the image build makes one: a partitioned disk (MBR) whose Linux partition
 * holds an ext4 filesystem with `runnerDir` at /home/ubuntu/actions-runner, as qcow2. Built with
 * mkfs.ext4 -d, dd and qemu-img: no loop device, no root needed.
 */
export function buildRunnerImage(runnerDir: string): Buffer {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rf-hosts-image-"));
  try {
    const root = path.join(work, "root");
    fs.mkdirSync(path.join(root, "home", "ubuntu"), { recursive: true });
    execFileSync("cp", ["-a", runnerDir, path.join(root, "home", "ubuntu", "actions-runner")]);
    const fsFile = path.join(work, "root.fs");
    execFileSync("mkfs.ext4", ["-q", "-F", "-d", root, fsFile, "8M"]);
    const disk = path.join(work, "disk.raw");
    const startSector = 2048;
    const fsBytes = fs.statSync(fsFile).size;
    fs.writeFileSync(disk, mbrWithLinuxPartition(startSector, fsBytes / 512));
    fs.truncateSync(disk, startSector * 512 + fsBytes);
    execFileSync("dd", [
      `if=${fsFile}`,
      `of=${disk}`,
      "bs=512",
      `seek=${startSector}`,
      "conv=notrunc",
      "status=none",
    ]);
    const qcow2 = path.join(work, "disk.qcow2");
    execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", disk, qcow2]);
    return fs.readFileSync(qcow2);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * A userdata that follows the runner userdata's contract (see cloud-init/): hostname,
 * the runner's .env with the job-started hook, the hook, apt-get, usermod, the SSH host key,
 * runner-installed.timestamp, the runner as ubuntu through runuser, post-job-metrics.json from
 * run.sh's exit code; optionally a power-off at the end.
 */
export function sampleUserdata(opts: {
  runnerName: string;
  encodedJitConfig: string;
  hostKey?: { privateKey: string; publicKey: string };
  powerOffAtEnd?: boolean;
}): string {
  const hostKey = opts.hostKey
    ? `(
  umask 077
  cat >/etc/ssh/ssh_host_ed25519_key <<'KEY'
${opts.hostKey.privateKey.trim()}
KEY
)
echo '${opts.hostKey.publicKey}' >/etc/ssh/ssh_host_ed25519_key.pub
systemctl restart ssh
`
    : "";
  return `#!/bin/bash
set -eu -o pipefail
runner_dir=/home/ubuntu/actions-runner
metrics_dir=/home/ubuntu/metrics-exchange
hostnamectl set-hostname '${opts.runnerName}'
cat >"$runner_dir/.env" <<'EOF'
LANG=C.UTF-8
ACTIONS_RUNNER_HOOK_JOB_STARTED=/home/ubuntu/actions-runner/pre-job.sh
EOF
${hostKey}apt-get update
usermod -aG lxd,adm ubuntu
mkdir -p "$metrics_dir"
chown ubuntu:ubuntu "$metrics_dir"
cat >"$runner_dir/pre-job.sh" <<'EOF'
#!/bin/bash
set -eu
env | grep -E '^(GITHUB|RUNNER)_' | sort >/home/ubuntu/metrics-exchange/pre-job-env.txt
cp "$GITHUB_EVENT_PATH" /home/ubuntu/metrics-exchange/pre-job-event.json
hostname >/home/ubuntu/metrics-exchange/pre-job-hostname.txt
EOF
chmod 755 "$runner_dir/pre-job.sh"
date +%s >"$metrics_dir/runner-installed.timestamp"
cd "$runner_dir"
status=0
runuser -u ubuntu -- ./run.sh --jitconfig '${opts.encodedJitConfig}' || status=$?
printf '{"timestamp":%s,"status_info":{"code":%s}}\\n' "$(date +%s)" "$status" >"$metrics_dir/post-job-metrics.json"
${opts.powerOffAtEnd ? "shutdown -h now\n" : ""}exit "$status"
`;
}
