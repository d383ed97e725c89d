import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Runs `fn`, prints how long it took and appends `{label, seconds}` to the file named by
 * RUNNER_FLEET_TIMINGS (if set), so CI notes can quote real durations. Not an assertion: speed is
 * measured by bench/, never asserted in tests.
 */
export async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  try {
    return await fn();
  } finally {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`      [timing] ${label}: ${seconds.toFixed(1)}s`);
    const file = process.env.RUNNER_FLEET_TIMINGS;
    if (file) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.appendFileSync(file, `${JSON.stringify({ label, seconds })}\n`);
    }
  }
}
