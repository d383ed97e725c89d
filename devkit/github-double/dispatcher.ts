// Job scheduling as GitHub does it for self-hosted runners: a queued job goes to an online, idle
// runner of its repository or organisation whose labels include all of the job's (or to the one
// runner it names). The runner is busy until the job completes; an ephemeral runner is then
// deregistered. Runner agents long-poll for their job; every change wakes them. A runner whose
// agent went silent (runner-contact.ts) is lost: offline, idle, its job failed.
import { HttpError } from "./http-errors";
import { ownerPath, repoOwner, servesRepo } from "./owner";
import { defaultGroup, type RunnerGroups } from "./runner-groups";
import type { Runner, RunnerRegistry } from "./runners";
import type { Job, JobStore, Repo } from "./jobs";
import type { Clock, DispatchJobSpec, JobConclusion, JobResult } from "./types";

/** A job's change of status, as GitHub's `workflow_job` webhook action names it. */
export type JobListener = (job: Job, action: "queued" | "in_progress" | "completed") => void;

export class Dispatcher {
  private readonly wakers = new Set<() => void>();
  private readonly jobListeners = new Set<JobListener>();
  private closed = false;

  constructor(
    private readonly runners: RunnerRegistry,
    private readonly groups: RunnerGroups,
    private readonly jobs: JobStore,
    private readonly clock: Clock,
  ) {}

  dispatch(spec: DispatchJobSpec): Job {
    const job = this.jobs.add(spec, this.clock.now());
    this.emit(job, "queued");
    this.changed();
    return job;
  }

  /** Calls `listener` at every job's change of status (the webhook sender listens). */
  onJob(listener: JobListener): void {
    this.jobListeners.add(listener);
  }

  private emit(job: Job, action: Parameters<JobListener>[1]): void {
    for (const listener of this.jobListeners) listener(job, action);
  }

  /** Cancels a queued job, as cancelling its run does: completed, `cancelled`, never assigned. */
  cancel(jobId: number): Job {
    const job = this.jobs.byId(jobId);
    if (!job) throw new HttpError(404, `No job ${jobId}`);
    if (job.status !== "queued" || job.assignee) {
      throw new HttpError(
        409,
        `Job ${jobId} is ${job.status}: only a queued job is cancelled here`,
      );
    }
    job.status = "completed";
    job.conclusion = "cancelled";
    job.completedAt = this.clock.now();
    this.emit(job, "completed");
    this.changed();
    return job;
  }

  setOnline(runner: Runner): void {
    runner.status = "online";
    this.changed();
  }

  setOffline(runner: Runner): void {
    runner.status = "offline";
    this.changed();
  }

  /** Deregisters a runner (422 while busy) and wakes its agent's poll. */
  deregister(runner: Runner): void {
    this.runners.remove(runner);
    this.changed();
  }

  /**
   * Makes `runner` busy at once with: the queued job `job`, a new job of spec `job`, or the oldest
   * waiting job it can take, else a new job for it. No agent is involved; one that polls later
   * still receives the job.
   */
  start(runner: Runner, job?: number | DispatchJobSpec): Job {
    if (runner.busy) {
      throw new HttpError(409, `Runner "${runner.name}" is already running job ${runner.jobId}`);
    }
    const chosen = this.jobToStart(runner, job);
    runner.status = "online";
    this.assign(runner, chosen);
    this.begin(chosen);
    this.changed();
    return chosen;
  }

  /**
   * What an agent's poll receives: the runner's job if its agent has not had it yet, else the
   * oldest waiting job the runner can take (which makes it busy), else nothing.
   */
  claim(runner: Runner): Job | undefined {
    if (!this.runners.has(runner) || runner.status !== "online") return undefined;
    const job =
      runner.jobId !== null
        ? this.jobs.byId(runner.jobId)
        : this.jobs.waiting().find((j) => this.fits(runner, j));
    if (!job || job.delivered) return undefined;
    if (!job.assignee) this.assign(runner, job);
    job.delivered = true;
    return job;
  }

  /**
   * Claims a job for `runner`, waiting up to `waitMs` (real time) for one to come. An aborted
   * wait (the agent hung up) claims nothing, so no job goes to an agent that is not listening.
   */
  async waitForJob(runner: Runner, waitMs: number, signal: AbortSignal): Promise<Job | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (signal.aborted) return undefined;
      const job = this.claim(runner);
      const left = deadline - Date.now();
      if (job || this.closed || left <= 0) return job;
      await this.nextChange(left, signal);
    }
  }

  /** The agent has started the runner's job. */
  markStarted(runner: Runner, jobId: number): Job {
    const job = this.currentJob(runner, jobId);
    if (job.status === "queued") this.begin(job);
    return job;
  }

  /**
   * Completes the runner's job. The conclusion is the given one, else the exit code's (0 is
   * success), else the one the job was dispatched with, else success.
   */
  finish(runner: Runner, result: JobResult = {}, jobId?: number): { job: Job; removed: boolean } {
    const job = this.currentJob(runner, jobId);
    this.complete(
      runner,
      job,
      result.conclusion ??
        (result.exitCode === undefined
          ? (job.plannedConclusion ?? "success")
          : result.exitCode === 0
            ? "success"
            : "failure"),
    );
    if (runner.ephemeral) {
      runner.status = "offline";
      this.runners.remove(runner);
    }
    this.changed();
    return { job, removed: runner.ephemeral };
  }

  /**
   * GitHub has not heard from the runner's agent for too long: the runner is offline and idle, and
   * its job failed with GitHub's message. The registration stays (DELETE now succeeds), even for
   * an ephemeral runner; an agent that comes back finds no job and must open a new session.
   */
  loseContact(runner: Runner): void {
    if (!this.runners.has(runner) || runner.status !== "online") return;
    runner.status = "offline";
    const job = runner.jobId === null ? undefined : this.jobs.byId(runner.jobId);
    if (job) {
      this.complete(runner, job, "failure");
      job.failureMessage = lostCommunication(runner.name);
    }
    this.changed();
  }

  /** The runner's job, which must be `jobId` when given; 409 otherwise. */
  currentJob(runner: Runner, jobId?: number): Job {
    const job = runner.jobId === null ? undefined : this.jobs.byId(runner.jobId);
    if (!job) throw new HttpError(409, `Runner "${runner.name}" has no job`);
    if (jobId !== undefined && jobId !== job.id) {
      throw new HttpError(409, `Job ${jobId} is not the job of runner "${runner.name}"`);
    }
    return job;
  }

  /** Ends every pending poll; used when the server closes. */
  shutdown(): void {
    this.closed = true;
    this.changed();
  }

  private fits(runner: Runner, job: Job): boolean {
    if (!servesRepo(runner.owner, job.repo)) return false;
    if (job.runnerName !== null) return job.runnerName.toLowerCase() === runner.name.toLowerCase();
    const names = new Set(runner.labels.map((l) => l.name.toLowerCase()));
    return job.labels.every((label) => names.has(label.toLowerCase()));
  }

  private jobToStart(runner: Runner, job?: number | DispatchJobSpec): Job {
    const now = this.clock.now();
    if (typeof job === "number") {
      const waiting = this.jobs.byId(job);
      if (!waiting || waiting.status !== "queued" || waiting.assignee) {
        throw new HttpError(409, `Job ${job} is not waiting for a runner`);
      }
      this.checkServes(runner, waiting.repo);
      return waiting;
    }
    if (job) {
      this.checkServes(runner, repoOwner(job.repo));
      return this.jobs.add({ ...job, runnerName: runner.name }, now);
    }
    return (
      this.jobs.waiting().find((j) => this.fits(runner, j)) ??
      this.jobs.add({ repo: homeRepo(runner), runnerName: runner.name }, now)
    );
  }

  private checkServes(runner: Runner, repo: Repo): void {
    if (!servesRepo(runner.owner, repo)) {
      throw new HttpError(
        409,
        `Runner "${runner.name}" of ${ownerPath(runner.owner)} cannot run jobs of ${repo.owner}/${repo.repo}`,
      );
    }
  }

  private assign(runner: Runner, job: Job): void {
    const group = this.groups.get(runner.owner, runner.groupId) ?? defaultGroup;
    job.assignee = { id: runner.id, name: runner.name, groupId: group.id, groupName: group.name };
    runner.busy = true;
    runner.jobId = job.id;
  }

  /** The job ends with `conclusion` and its runner is idle. */
  private complete(runner: Runner, job: Job, conclusion: JobConclusion): void {
    if (job.status === "queued") this.begin(job);
    job.status = "completed";
    job.conclusion = conclusion;
    job.completedAt = this.clock.now();
    runner.busy = false;
    runner.jobId = null;
    this.emit(job, "completed");
  }

  private begin(job: Job): void {
    job.status = "in_progress";
    job.startedAt = this.clock.now();
    this.emit(job, "in_progress");
  }

  private changed(): void {
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const wake of wakers) wake();
  }

  /** Resolves on the next change, after `ms`, or on abort, whichever comes first. */
  private nextChange(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", wake);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      signal.addEventListener("abort", wake);
      this.wakers.add(wake);
    });
  }
}

/** The repository of a job made up for a runner: its own, or `<org>/simulated`. */
function homeRepo(runner: Runner): string {
  const owner = runner.owner;
  return owner.kind === "repo" ? `${owner.owner}/${owner.repo}` : `${owner.org}/simulated`;
}

/** GitHub's annotation on the job of a runner it stopped hearing from. */
function lostCommunication(runnerName: string): string {
  return (
    `The self-hosted runner: ${runnerName} lost communication with the server. Verify the machine ` +
    "is running and has a healthy network connection. Anything in your workflow that terminates " +
    "the runner process, starves it for CPU/Memory, or blocks its network access can cause this error."
  );
}
