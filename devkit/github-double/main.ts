// Runs the double as a process, for sandboxes driven from a shell:
//   npx tsx devkit/github-double/main.ts --port 0 --state-file FILE [--runner-tarball PATH]
// writes `{"url": ..., "adminToken": ...}` to FILE once it listens, and serves until SIGINT or
// SIGTERM. Steer it over HTTP with `POST <url>/_control/<method>` (see README.md).
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startGitHubDouble } from "./server";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      "state-file": { type: "string" },
      "runner-tarball": { type: "string" },
    },
  });
  const stateFile = values["state-file"];
  const port = Number(values.port);
  if (!stateFile || !Number.isInteger(port)) {
    throw new Error("usage: main.ts --port N --state-file FILE [--runner-tarball PATH]");
  }
  const tarballPath = values["runner-tarball"];
  const double = await startGitHubDouble({
    port,
    runnerTarball: tarballPath ? readFileSync(tarballPath) : undefined,
  });
  // Written whole, then renamed, so a reader polling for the file never sees half of it.
  writeFileSync(
    `${stateFile}.tmp`,
    JSON.stringify({ url: double.url, adminToken: double.adminToken }),
  );
  renameSync(`${stateFile}.tmp`, stateFile);
  console.error(`github-double listening on ${double.url}`);
  const stop = () => {
    double.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
