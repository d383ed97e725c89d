// Waiting in tests for something the world does in its own time (a runner coming online, a host
// booting): poll until a value, or fail naming what did not happen.
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first value of `fn` that is neither undefined nor false, polled every `everyMs` for `ms`. */
export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 120_000,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The `n` runners `list` gives, once there are exactly `n` and every one is online. */
export function untilAllOnline<R extends { status: string }>(
  list: () => R[],
  n: number,
  ms = 180_000,
): Promise<R[]> {
  return until(
    `${n} runners online`,
    () => {
      const runners = list();
      return runners.length === n && runners.every((r) => r.status === "online")
        ? runners
        : undefined;
    },
    ms,
  );
}
