// Workflow jobs: what tests dispatch, as GitHub's jobs API and as a runner agent see them.
import { githubTime } from "./clock";
import { HttpError } from "./http-errors";
import { ownerKey, repoOwner, type Owner } from "./owner";
import { randomSha } from "./random-ids";
import type {
  CheckAnnotationJson,
  DispatchJobSpec,
  JobConclusion,
  WorkflowJobJson,
  WorkflowRunJson,
} from "./types";

export type Repo = Owner & { kind: "repo" };

export interface Job {
  id: number;
  runId: number;
  repo: Repo;
  workflow: string;
  event: string;
  name: string;
  labels: string[];
  headBranch: string;
  headSha: string;
  /** Only this runner may take the job. */
  runnerName: string | null;
  plannedConclusion: JobConclusion | null;
  authorAssociation: string | null;
  run: string | null;
  status: "queued" | "in_progress" | "completed";
  conclusion: JobConclusion | null;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  /**
   * Why GitHub failed the job itself (a runner that lost communication), shown as the annotation
   * of its check run; null when the job ended as its runner reported.
   */
  failureMessage: string | null;
  /** The runner the job went to; kept after the runner is gone, as GitHub keeps it. */
  assignee: { id: number; name: string; groupId: number; groupName: string } | null;
  /** Whether the assignee's agent has received the job. */
  delivered: boolean;
}

/** A job as the simulated runner agent receives it from `GET /_runner/jobs/next`. */
export interface AgentJob {
  id: number;
  runId: number;
  repo: string;
  workflow: string;
  event: string;
  name: string;
  labels: string[];
  headBranch: string;
  headSha: string;
  /** The outcome the test wants; an agent that only simulates reports it back. */
  conclusion: JobConclusion | null;
  authorAssociation: string | null;
  run: string | null;
}

export class JobStore {
  private readonly jobs = new Map<number, Job>();
  // Separate, distinctive ranges so a run id is never mistaken for a job or runner id.
  private nextRunId = 100_001;
  private nextJobId = 500_001;

  add(spec: DispatchJobSpec, now: number): Job {
    if (spec.labels !== undefined && !isStringArray(spec.labels)) {
      throw new HttpError(422, "labels must be an array of strings");
    }
    const job: Job = {
      id: this.nextJobId++,
      runId: this.nextRunId++,
      repo: repoOwner(spec.repo),
      workflow: spec.workflow ?? "CI",
      event: spec.event ?? "push",
      name: spec.name ?? "build",
      labels: spec.labels ?? ["self-hosted"],
      headBranch: spec.headBranch ?? "main",
      headSha: spec.headSha ?? randomSha(),
      runnerName: spec.runnerName ?? null,
      plannedConclusion: spec.conclusion ?? null,
      authorAssociation: spec.authorAssociation ?? null,
      run: spec.run ?? null,
      status: "queued",
      conclusion: null,
      createdAt: now,
      startedAt: null,
      completedAt: null,
      failureMessage: null,
      assignee: null,
      delivered: false,
    };
    this.jobs.set(job.id, job);
    return job;
  }

  byId(id: number): Job | undefined {
    return this.jobs.get(id);
  }

  /** A job of `repo`, or undefined (also for another repository's job). */
  get(repo: Repo, id: number): Job | undefined {
    const job = this.jobs.get(id);
    return job && ownerKey(job.repo) === ownerKey(repo) ? job : undefined;
  }

  ofRun(repo: Repo, runId: number): Job[] {
    return this.all().filter((j) => j.runId === runId && ownerKey(j.repo) === ownerKey(repo));
  }

  /** The jobs of `repo`, oldest first: each stands for a workflow run of one job. */
  ofRepo(repo: Repo): Job[] {
    return this.all().filter((j) => ownerKey(j.repo) === ownerKey(repo));
  }

  /** Queued, unassigned jobs, oldest first. */
  waiting(): Job[] {
    return this.all().filter((j) => j.status === "queued" && !j.assignee);
  }

  private all(): Job[] {
    return [...this.jobs.values()];
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** A job as `GET /repos/{owner}/{repo}/actions/jobs/{job_id}` returns it. */
export function jobJson(job: Job, baseUrl: string): WorkflowJobJson {
  const repoUrl = `${baseUrl}/repos/${job.repo.owner}/${job.repo.repo}`;
  return {
    id: job.id,
    run_id: job.runId,
    run_url: `${repoUrl}/actions/runs/${job.runId}`,
    run_attempt: 1,
    node_id: `CR_${Buffer.from(`job:${job.id}`).toString("base64url")}`,
    head_sha: job.headSha,
    head_branch: job.headBranch,
    url: `${repoUrl}/actions/jobs/${job.id}`,
    html_url: `${baseUrl}/${job.repo.owner}/${job.repo.repo}/actions/runs/${job.runId}/job/${job.id}`,
    status: job.status,
    conclusion: job.conclusion,
    created_at: githubTime(job.createdAt),
    // GitHub fills started_at with the creation time until a runner starts the job.
    started_at: githubTime(job.startedAt ?? job.createdAt),
    completed_at: job.completedAt === null ? null : githubTime(job.completedAt),
    name: job.name,
    steps: [],
    check_run_url: `${repoUrl}/check-runs/${job.id}`,
    labels: [...job.labels],
    runner_id: job.assignee?.id ?? null,
    runner_name: job.assignee?.name ?? null,
    runner_group_id: job.assignee?.groupId ?? null,
    runner_group_name: job.assignee?.groupName ?? null,
    workflow_name: job.workflow,
  };
}

/**
 * The workflow run of a job, as `GET /repos/{owner}/{repo}/actions/runs` lists it (the fields a
 * client reads; every run of the double has one job, so the run's status is its job's).
 */
export function runJson(job: Job, baseUrl: string): WorkflowRunJson {
  const repoUrl = `${baseUrl}/repos/${job.repo.owner}/${job.repo.repo}`;
  return {
    id: job.runId,
    name: job.workflow,
    node_id: `WFR_${Buffer.from(`run:${job.runId}`).toString("base64url")}`,
    head_branch: job.headBranch,
    head_sha: job.headSha,
    run_number: job.runId - 100_000,
    run_attempt: 1,
    event: job.event,
    status: job.status,
    conclusion: job.conclusion,
    url: `${repoUrl}/actions/runs/${job.runId}`,
    html_url: `${baseUrl}/${job.repo.owner}/${job.repo.repo}/actions/runs/${job.runId}`,
    jobs_url: `${repoUrl}/actions/runs/${job.runId}/jobs`,
    created_at: githubTime(job.createdAt),
    updated_at: githubTime(job.completedAt ?? job.startedAt ?? job.createdAt),
    run_started_at: githubTime(job.createdAt),
  };
}

/**
 * The annotations of the job's check run: GitHub's reason when it failed the job itself, filed
 * against `.github`, line 1, without title or details.
 */
export function jobAnnotations(job: Job, baseUrl: string): CheckAnnotationJson[] {
  if (job.failureMessage === null) return [];
  const { owner, repo } = job.repo;
  return [
    {
      path: ".github",
      start_line: 1,
      end_line: 1,
      start_column: null,
      end_column: null,
      annotation_level: "failure",
      title: "",
      message: job.failureMessage,
      raw_details: "",
      blob_href: `${baseUrl}/${owner}/${repo}/blob/${job.headSha}/.github`,
    },
  ];
}

export function agentJob(job: Job): AgentJob {
  return {
    id: job.id,
    runId: job.runId,
    repo: `${job.repo.owner}/${job.repo.repo}`,
    workflow: job.workflow,
    event: job.event,
    name: job.name,
    labels: [...job.labels],
    headBranch: job.headBranch,
    headSha: job.headSha,
    conclusion: job.plannedConclusion,
    authorAssociation: job.authorAssociation,
    run: job.run,
  };
}
