// The job trace both modes of the demand bench run (the reconciler issue's): three bursts of 8
// jobs, each burst queued within 1 s, 3 minutes apart, each job running 30–60 s. Fixed, not
// random, so both modes (and every run) get the same jobs at the same offsets.
export interface TraceJob {
  /** Milliseconds after the trace's start at which it is queued. */
  atMs: number;
  seconds: number;
  burst: number;
}

export const TRACE = { bursts: 3, jobsPerBurst: 8, gapMs: 180_000, spreadMs: 1000 };

export function traceJobs(): TraceJob[] {
  const jobs: TraceJob[] = [];
  for (let b = 0; b < TRACE.bursts; b++) {
    for (let i = 0; i < TRACE.jobsPerBurst; i++) {
      const n = b * TRACE.jobsPerBurst + i;
      jobs.push({
        atMs: b * TRACE.gapMs + Math.floor((i * TRACE.spreadMs) / TRACE.jobsPerBurst),
        // 30–60 s, spread by a stride coprime to 31.
        seconds: 30 + ((n * 13) % 31),
        burst: b,
      });
    }
  }
  return jobs;
}

/** The p-th percentile (nearest rank) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function median(values: number[]): number {
  return percentile(values, 50);
}
