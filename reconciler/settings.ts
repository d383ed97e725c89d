// The reconciler's own settings, from its environment (the systemd unit's EnvironmentFile). What
// the fleet is comes from the stack config in git; these say where that is and how to drive it.
// A bad value stops the reconciler at start, naming the variable, the value and what is allowed.
import * as fs from "node:fs";
import * as path from "node:path";
import { writesPerHour } from "../rules/github-write-budget";

export interface ReconcilerSettings {
  /** A git checkout of the repository holding Pulumi.yaml and the stack's Pulumi.<stack>.yaml. */
  checkout: string;
  /** The branch whose config is deployed; the checkout is fast-forwarded to it before each `up`. */
  branch: string;
  remote: string;
  stack: string;
  host: string;
  port: number;
  webhookSecret: string;
  /** Where the demand snapshot, the GitHub write ledger and the pause switch live. */
  stateDir: string;
  pauseFile: string;
  /** How long the first trigger waits for more before an `up` starts. */
  debounceMs: number;
  refreshSeconds: number;
  lockRetrySeconds: number;
  failureRetrySeconds: number;
  /** After SIGTERM, how long an `up` in flight may go on before it is cancelled. */
  stopTimeoutSeconds: number;
  writesPerHour: number;
}

const PREFIX = "RUNNER_FLEET_RECONCILER_";
/** How long an `up` in flight may go on after SIGTERM; the unit's TimeoutStopSec covers it. */
export const DEFAULT_STOP_TIMEOUT_SECONDS = 900;

export function readReconcilerSettings(env: NodeJS.ProcessEnv): ReconcilerSettings {
  const text = (name: string, fallback?: string): string => {
    const v = env[PREFIX + name];
    if (v !== undefined && v !== "") return v;
    if (fallback !== undefined) return fallback;
    throw new Error(`${PREFIX}${name} is not set: it is required`);
  };
  const whole = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[PREFIX + name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(
        `${PREFIX}${name} is ${JSON.stringify(raw)}: use a whole number from ${min} to ${max}`,
      );
    }
    return n;
  };
  const checkout = path.resolve(text("CHECKOUT"));
  if (!fs.existsSync(path.join(checkout, "Pulumi.yaml"))) {
    throw new Error(
      `${PREFIX}CHECKOUT is ${JSON.stringify(checkout)}: it must be a git checkout holding Pulumi.yaml`,
    );
  }
  const listen = text("LISTEN", "127.0.0.1:8787");
  const match = /^(.+):(\d{1,5})$/.exec(listen);
  if (!match || Number(match[2]) > 65535) {
    throw new Error(`${PREFIX}LISTEN is ${JSON.stringify(listen)}: use host:port (port 0–65535)`);
  }
  const stateDir = path.resolve(text("STATE_DIR", "/var/lib/runner-fleet-reconciler"));
  return {
    checkout,
    branch: text("BRANCH", "main"),
    remote: text("REMOTE", "origin"),
    stack: text("STACK"),
    host: match[1].replace(/^\[(.*)\]$/, "$1"),
    port: Number(match[2]),
    webhookSecret: webhookSecret(env),
    stateDir,
    pauseFile: path.resolve(text("PAUSE_FILE", path.join(stateDir, "paused"))),
    debounceMs: whole("DEBOUNCE_MS", 1000, 0, 60_000),
    refreshSeconds: whole("REFRESH_SECONDS", 600, 10, 86_400),
    lockRetrySeconds: whole("LOCK_RETRY_SECONDS", 10, 1, 3600),
    failureRetrySeconds: whole("FAILURE_RETRY_SECONDS", 60, 1, 3600),
    stopTimeoutSeconds: whole("STOP_TIMEOUT_SECONDS", DEFAULT_STOP_TIMEOUT_SECONDS, 0, 86_400),
    writesPerHour: writesPerHour(env),
  };
}

/** The webhook secret, from a file (kept out of the environment and of `ps`) or the variable. */
function webhookSecret(env: NodeJS.ProcessEnv): string {
  const file = env[`${PREFIX}WEBHOOK_SECRET_FILE`];
  const secret = file ? fs.readFileSync(file, "utf8").trim() : env[`${PREFIX}WEBHOOK_SECRET`];
  if (!secret) {
    throw new Error(
      `${PREFIX}WEBHOOK_SECRET_FILE (or ${PREFIX}WEBHOOK_SECRET) is not set: the webhook's ` +
        `secret is required, so that only GitHub's signed deliveries move the fleet`,
    );
  }
  return secret;
}
