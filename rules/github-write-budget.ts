// GitHub's secondary rate limits bind content-generating requests of one token across every `up`:
// about 80 a minute and 500 an hour (GitHub's REST API docs). The minute is paced inside each
// provider process (`writeIntervalMs`); the hour needs a memory that outlives an `up`: a ledger
// file of the times of writes, one line each, that the GitHub client appends to and each `up`
// reads to plan only as many new runners as the hour still allows. The reconciler keeps one
// (reconciler/); a pipeline `up` has none unless it sets the variable.
import * as fs from "node:fs";

/** The ledger file: one write's time (epoch milliseconds) per line. */
export const WRITE_LEDGER_ENV = "RUNNER_FLEET_GITHUB_WRITE_LEDGER";
/** Writes allowed in any hour (default 500, GitHub's figure; a test double may allow more). */
export const WRITES_PER_HOUR_ENV = "RUNNER_FLEET_GITHUB_WRITES_PER_HOUR";
export const DEFAULT_WRITES_PER_HOUR = 500;
const HOUR_MS = 3600_000;

/** The hour's budget the environment sets, with a clear error for a bad value. */
export function writesPerHour(env: NodeJS.ProcessEnv): number {
  const raw = env[WRITES_PER_HOUR_ENV];
  if (raw === undefined || raw === "") return DEFAULT_WRITES_PER_HOUR;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${WRITES_PER_HOUR_ENV} is ${JSON.stringify(raw)}: use a whole number ≥ 1`);
  }
  return n;
}

/** Notes one write in the ledger, if there is one (appends are atomic for a line this short). */
export function recordWrite(env: NodeJS.ProcessEnv, at = Date.now()): void {
  const file = env[WRITE_LEDGER_ENV];
  if (file) fs.appendFileSync(file, `${at}\n`);
}

/** The times of the ledger's writes within the hour before `now` (none without a file). */
export function writesWithinHour(file: string, now: number): number[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return text
    .split("\n")
    .map(Number)
    .filter((t) => Number.isFinite(t) && t > now - HOUR_MS && t <= now + HOUR_MS);
}

/** Rewrites the ledger with only the last hour's writes, so it never grows past the budget. */
export function pruneLedger(file: string, now: number): number[] {
  const kept = writesWithinHour(file, now);
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, kept.map((t) => `${t}\n`).join(""));
  fs.renameSync(temporary, file);
  return kept;
}
