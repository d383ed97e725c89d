// The test agent packed as GitHub's runner tarball (`actions-runner-linux-x64-<version>.tar.gz`):
// run.sh, config.sh and bin/ at the archive's root, so the GitHub double can serve it
// (`startGitHubDouble({runnerTarball})`) and the image build bakes it into the runner image.
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { runnerVersion } from "../github-double/runner-downloads";

/** The folder holding the agent's files, as a runner tarball holds them. */
export const runnerAgentDir = path.join(__dirname, "runner-agent");

/** The runner version the agent reports; the double's downloads list names the same. */
export const agentRunnerVersion = runnerVersion;

/** The tarball's file name, as GitHub names the linux x64 runner. */
export function runnerTarballName(version = agentRunnerVersion): string {
  return `actions-runner-linux-x64-${version}.tar.gz`;
}

/**
 * The agent folder as a gzipped tar, entries `./run.sh`, `./config.sh`, `./bin/...` (GitHub's
 * layout). Every entry is mode 0755 and owned by 0:0 with mtime 0, so the bytes depend only on
 * the files' contents.
 */
export function runnerTarball(): Buffer {
  const tar = execFileSync(
    "tar",
    [
      "--create",
      "--file=-",
      "--sort=name",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mtime=@0",
      "--mode=0755",
      "--exclude=./_diag",
      "--exclude=./_work",
      "--exclude=./.runner",
      "--exclude=./.env",
      "-C",
      runnerAgentDir,
      ".",
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return gzipSync(tar, { level: 9 });
}
