// The job queue as GitHub's `workflow_job` deliveries tell it: each job queued, then in progress,
// then completed, whatever order the deliveries arrive in (GitHub does not promise one), each
// delivery counted once (`X-GitHub-Delivery`, as GitHub redelivers). Its snapshot is the demand
// signal of pools sized by the queue (fleet/demand.ts).
import type { DemandSnapshot } from "../fleet/demand";

type JobStatus = "queued" | "in_progress" | "completed";
const ORDER: Record<JobStatus, number> = { queued: 0, in_progress: 1, completed: 2 };

/** The part of a `workflow_job` payload the queue reads (GitHub's webhook schema). */
export interface WorkflowJobPayload {
  action: string;
  workflow_job: {
    id: number;
    status: string;
    labels: string[];
    created_at?: string;
    started_at?: string | null;
  };
  repository?: { full_name: string };
}

export type DeliveryOutcome = "applied" | "duplicate" | "stale";

/** How many delivery ids are remembered: GitHub redelivers within hours, not thousands back. */
const REMEMBERED_DELIVERIES = 10_000;
/** How long a completed job is remembered, so a late delivery of it cannot queue it again. */
const COMPLETED_KEPT_MS = 6 * 3600_000;
/**
 * GitHub cancels a job queued for 24 hours; one queued longer here lost its later deliveries
 * (an organisation's queue has no listing to resync from), so it no longer counts.
 */
export const QUEUED_KEPT_MS = 24 * 3600_000 + 3600_000;

export class JobQueue {
  private readonly jobs = new Map<number, { status: JobStatus; labels: string[]; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}
  private readonly seen = new Set<string>();

  /** Takes one `workflow_job` delivery; a job never goes back (a late `queued` changes nothing). */
  apply(deliveryId: string, payload: WorkflowJobPayload): DeliveryOutcome {
    if (this.seen.has(deliveryId)) return "duplicate";
    this.remember(deliveryId);
    const job = payload.workflow_job;
    const status = (["queued", "in_progress", "completed"] as const).find(
      (s) => s === payload.action || s === job.status,
    );
    if (!status) return "stale";
    const known = this.jobs.get(job.id);
    if (known && ORDER[known.status] >= ORDER[status]) return "stale";
    this.jobs.set(job.id, { status, labels: [...job.labels], at: this.now() });
    this.forgetOldCompleted();
    return "applied";
  }

  /** Replaces what is queued with a listing of the queue (a resync heals a missed delivery). */
  resync(queued: { id: number; labels: string[] }[]): void {
    const listed = new Set(queued.map((j) => j.id));
    for (const [id, job] of this.jobs) {
      if (job.status === "queued" && !listed.has(id)) {
        this.jobs.set(id, { ...job, status: "completed", at: this.now() });
      }
    }
    for (const j of queued) {
      if (!this.jobs.has(j.id)) {
        this.jobs.set(j.id, { status: "queued", labels: [...j.labels], at: this.now() });
      }
    }
  }

  snapshot(source = "webhooks"): DemandSnapshot {
    const since = this.now() - QUEUED_KEPT_MS;
    const queued = [...this.jobs.values()]
      .filter((j) => j.status === "queued" && j.at >= since)
      .map((j) => ({ labels: j.labels }));
    return { queued, source };
  }

  private forgetOldCompleted(): void {
    const before = this.now() - COMPLETED_KEPT_MS;
    const queuedBefore = this.now() - QUEUED_KEPT_MS;
    for (const [id, job] of this.jobs) {
      if (job.status === "completed" && job.at < before) this.jobs.delete(id);
      else if (job.status === "queued" && job.at < queuedBefore) this.jobs.delete(id);
    }
  }

  private remember(deliveryId: string): void {
    this.seen.add(deliveryId);
    if (this.seen.size > REMEMBERED_DELIVERIES) {
      this.seen.delete(this.seen.values().next().value as string);
    }
  }
}
