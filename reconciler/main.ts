// `npm run reconciler`: the reconciler as a long-running process (reconciler/reconciler.ts),
// configured from its environment (reconciler/settings.ts; the systemd unit's EnvironmentFile).
// SIGTERM or SIGINT stops it gracefully: no new `up`, the one in flight finishes (or, after
// RUNNER_FLEET_RECONCILER_STOP_TIMEOUT_SECONDS or a second signal, is cancelled cleanly).
import * as path from "node:path";
import { fleetProgram } from "../program";
import { Reconciler } from "./reconciler";
import { readReconcilerSettings } from "./settings";

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

async function main(): Promise<void> {
  const settings = readReconcilerSettings(process.env);
  let stopping: Promise<void> | undefined;
  const stop = (exitCode: number) => {
    stopping = reconciler.stop().then(() => process.exit(exitCode));
  };
  const reconciler = new Reconciler(settings, {
    program: fleetProgram,
    codeDir: path.resolve(__dirname, ".."),
    // EX_TEMPFAIL: the unit restarts it (Restart=on-failure) with the new code.
    onProgramChanged: () => stopping ?? stop(75),
    log,
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return reconciler.cancel();
    log(`${signal}: stopping`);
    stop(0);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  await reconciler.start();
}

main().catch((err: Error) => {
  console.error(`reconciler: ${err.message}`);
  process.exit(2);
});
