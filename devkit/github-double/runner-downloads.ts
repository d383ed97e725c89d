// The runner application: `GET .../actions/runners/downloads` lists linux x64 and arm64 builds of
// the newest release, whose download URLs point back at the double, which serves the configured
// tarball at the path GitHub's release downloads use, for every release it published (a test
// publishes a new one with `publishRunnerRelease`, as GitHub does every few weeks).
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

/** The release the double starts with. */
export const runnerVersion = "2.329.0";

/** The releases the double publishes, newest last. */
export class RunnerReleases {
  private readonly versions = [runnerVersion];

  get latest(): string {
    return this.versions[this.versions.length - 1];
  }

  publish(version: string): void {
    if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`not a runner version: ${version}`);
    if (!this.versions.includes(version)) this.versions.push(version);
  }

  /** Whether `path` is the download of a published release (public, like GitHub's assets). */
  isDownload(path: string): boolean {
    return this.versions.some((v) => architectures.some((a) => downloadPath(a, v) === path));
  }
}

const architectures = ["x64", "arm64"] as const;

/** One entry of `GET .../actions/runners/downloads` (`runner-application` in GitHub's schema). */
export interface RunnerApplicationJson {
  os: string;
  architecture: string;
  download_url: string;
  filename: string;
  sha256_checksum: string;
}

/** An empty tar archive (two zero blocks), gzipped: a valid tarball for tests that need none. */
export function emptyTarball(): Buffer {
  return gzipSync(Buffer.alloc(1024));
}

function filename(architecture: string, version: string): string {
  return `actions-runner-linux-${architecture}-${version}.tar.gz`;
}

function downloadPath(architecture: string, version: string): string {
  return `/actions/runner/releases/download/v${version}/${filename(architecture, version)}`;
}

export function runnerDownloads(
  baseUrl: string,
  tarball: Buffer,
  version: string = runnerVersion,
): RunnerApplicationJson[] {
  const sha256 = createHash("sha256").update(tarball).digest("hex");
  return architectures.map((architecture) => ({
    os: "linux",
    architecture,
    download_url: `${baseUrl}${downloadPath(architecture, version)}`,
    filename: filename(architecture, version),
    sha256_checksum: sha256,
  }));
}
