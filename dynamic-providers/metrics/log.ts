// The metrics log: JSON lines appended to a local file, by the metrics pull (runner events) and by
// the program (reconciliation events).

/**
 * Appends events as JSON lines to `logPath`, creating its parent directories, in one write on a
 * file opened for appending (so lines of concurrent writers do not interleave).
 */
export async function appendMetricsEvents(logPath: string, events: object[]): Promise<void> {
  if (events.length === 0) return;
  const { mkdir, open } = await import("node:fs/promises");
  const { dirname } = await import("node:path");
  await mkdir(dirname(logPath), { recursive: true });
  const data = Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join(""), "utf8");
  const file = await open(logPath, "a", 0o640);
  try {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await file.write(data, offset, data.length - offset);
      offset += bytesWritten;
    }
  } finally {
    await file.close();
  }
}
