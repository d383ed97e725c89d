// What the reconciler's /healthz says, and when it has settled: for its supervisor, and for the
// tests, bench and sandbox that wait for it.
import type { UpKind, UpOutcome } from "./trigger-loop";

/** What /healthz answers. */
export interface ReconcilerHealth {
  status: "ok";
  paused: boolean;
  upInProgress: boolean;
  /** An `up` was asked for and has not started yet. */
  upPending: boolean;
  ups: number;
  lastUp: { kind: UpKind; outcome: UpOutcome; endedAt: string; commit?: string } | null;
}

/** Settled: no `up` runs or waits, and the last one succeeded. */
export const isSettled = (h: ReconcilerHealth): boolean =>
  !h.upInProgress && !h.upPending && h.lastUp?.outcome === "succeeded";
