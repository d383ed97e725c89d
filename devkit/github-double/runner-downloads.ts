// The runner application: `GET .../actions/runners/downloads` lists linux x64 and arm64 builds
// whose download URLs point back at the double, which serves the configured tarball at the path
// GitHub's release downloads use.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

export const runnerVersion = "2.329.0";

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

function filename(architecture: string): string {
  return `actions-runner-linux-${architecture}-${runnerVersion}.tar.gz`;
}

function downloadPath(architecture: string): string {
  return `/actions/runner/releases/download/v${runnerVersion}/${filename(architecture)}`;
}

export function runnerDownloads(baseUrl: string, tarball: Buffer): RunnerApplicationJson[] {
  const sha256 = createHash("sha256").update(tarball).digest("hex");
  return architectures.map((architecture) => ({
    os: "linux",
    architecture,
    download_url: `${baseUrl}${downloadPath(architecture)}`,
    filename: filename(architecture),
    sha256_checksum: sha256,
  }));
}

/** Whether `path` is a runner download (public, like GitHub's release assets). */
export function isRunnerDownload(path: string): boolean {
  return architectures.some((architecture) => downloadPath(architecture) === path);
}
