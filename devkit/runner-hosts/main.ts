// The runner-host simulator from a shell, for sandboxes: runs until SIGTERM or SIGINT, then
// removes every host it made.
//   npx tsx devkit/runner-hosts/main.ts --github-url http://127.0.0.1:PORT [--prefix P]
//     [--state-dir D] [--poll-ms N] [--hosts-file F] [--loopback-port N ...]
// Log lines go to stdout. With --hosts-file, the hosts (HostInfo JSON array) are written to F
// every second. Each --loopback-port makes another port of the machine's 127.0.0.1 reachable on
// the hosts' own 127.0.0.1, as the GitHub double's is. Needs root and the local OpenStack.
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { startRunnerHostSimulator } from "./simulator";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "github-url": { type: "string" },
      prefix: { type: "string" },
      "state-dir": { type: "string" },
      "poll-ms": { type: "string" },
      "hosts-file": { type: "string" },
      "loopback-port": { type: "string", multiple: true },
    },
    strict: true,
  });
  const githubUrl = values["github-url"];
  if (!githubUrl) {
    console.error(
      "usage: main.ts --github-url URL [--prefix P] [--state-dir D] [--poll-ms N]" +
        " [--hosts-file F] [--loopback-port N ...]",
    );
    process.exit(2);
  }
  const sim = await startRunnerHostSimulator({
    githubDoubleUrl: githubUrl,
    fleetPrefix: values.prefix,
    stateDir: values["state-dir"],
    pollMs: values["poll-ms"] ? Number(values["poll-ms"]) : undefined,
    extraLoopbackPorts: (values["loopback-port"] ?? []).map(Number),
    log: (line) => console.log(line),
    handleSignals: false,
  });
  const hostsFile = values["hosts-file"];
  const writeHosts = () => {
    if (!hostsFile) return;
    fs.writeFileSync(`${hostsFile}.tmp`, JSON.stringify(sim.hosts(), null, 2));
    fs.renameSync(`${hostsFile}.tmp`, hostsFile);
  };
  writeHosts();
  const timer = setInterval(writeHosts, 1000);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    clearInterval(timer);
    sim.stop().then(
      () => {
        if (hostsFile) fs.rmSync(hostsFile, { force: true });
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
