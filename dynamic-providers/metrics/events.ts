// Runner metrics events: parsing of the files a runner VM leaves in its metrics exchange directory,
// and the JSON-lines events built from them. Pure (no I/O), so it is tested without a VM.
//
// Files (written on the runner VM):
//   runner-installed.timestamp  epoch seconds, just before the runner starts
//   pre-job-metrics.json        {"workflow","repository","event","timestamp","workflow_run_id"}
//   post-job-metrics.json       {"timestamp","status","status_info":{"code":N}}
//
// Events (one JSON object a line; every event has `timestamp` in epoch seconds, `event`, `flavor`):
//   runner_installed  duration = installed − install start (the server's creation time)
//   runner_start      workflow, repo, github_event, idle = max(pre − installed, 0), queue_duration?
//   runner_stop       workflow, repo, github_event, status, status_info?, job_duration, job_conclusion?
//   reconciliation    crashed_runners, idle_runners, active_runners, expected_runners, duration
//
// A value that cannot be known is `null`, never a guess: `idle` without an installed timestamp;
// `workflow`, `repo`, `github_event` and `job_duration` of a runner_stop without a pre-job file
// (its JSON keeps the same shape either way). Optional inputs that were not given
// (`queue_duration`, `status_info`, `job_conclusion`) are left out.

import { POST_JOB_STATUSES, PostJobStatus } from "../../rules/metrics-exchange";

/** Contents of `pre-job-metrics.json`. */
export interface PreJobMetrics {
  workflow: string;
  /** `owner/name` of the repository the job belongs to. */
  repository: string;
  /** The GitHub event that triggered the workflow (`push`, `pull_request`, ...). */
  event: string;
  /** Epoch seconds when the job started. */
  timestamp: number;
  /** The workflow run id, as a string; absent when the file had none. */
  workflow_run_id?: string;
}

/** Contents of `post-job-metrics.json`. */
export interface PostJobMetrics {
  /** Epoch seconds when the job ended. */
  timestamp: number;
  status: PostJobStatus;
  /** Details of an abnormal end: the runner's exit code. */
  status_info?: { code: number };
}

/** The outcome of parsing a metrics file: its value, or why it was rejected. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Fields every event has. */
export interface MetricsEventBase {
  /** Epoch seconds. */
  timestamp: number;
  event: string;
  /** The fleet's pool (flavor) name. */
  flavor: string;
}

export interface RunnerInstalledEvent extends MetricsEventBase {
  event: "runner_installed";
  /** Seconds from the server's creation to the runner being installed (0 if clocks disagree). */
  duration: number;
}

export interface RunnerStartEvent extends MetricsEventBase {
  event: "runner_start";
  workflow: string;
  repo: string;
  github_event: string;
  /** Seconds the runner waited for its job; null without an installed timestamp. */
  idle: number | null;
  /** Seconds the job was queued on GitHub, when the caller knows it. */
  queue_duration?: number;
}

export interface RunnerStopEvent extends MetricsEventBase {
  event: "runner_stop";
  /** From the pre-job file; null without one. */
  workflow: string | null;
  repo: string | null;
  github_event: string | null;
  status: PostJobStatus;
  status_info?: { code: number };
  /** Seconds from job start to end (0 if the end came first); null without a pre-job file. */
  job_duration: number | null;
  /** GitHub's conclusion of the job (`success`, `failure`, ...), when the caller knows it. */
  job_conclusion?: string;
}

export interface ReconciliationEvent extends MetricsEventBase {
  event: "reconciliation";
  crashed_runners: number;
  idle_runners: number;
  active_runners: number;
  expected_runners: number;
  /** Seconds the reconciliation took. */
  duration: number;
}

export type RunnerEvent = RunnerInstalledEvent | RunnerStartEvent | RunnerStopEvent;
export type MetricsEvent = RunnerEvent | ReconciliationEvent;

/** What `buildRunnerEvents` needs: the files that were read (absent ones undefined). */
export interface RunnerEventsInput {
  flavor: string;
  /** Epoch seconds when the runner's installation started (the server's creation time). */
  installStartTs: number;
  /** Contents of `runner-installed.timestamp`. */
  installedTs?: number;
  preJob?: PreJobMetrics;
  postJob?: PostJobMetrics;
  /** Seconds the job was queued, if known. */
  queueDuration?: number;
  /** GitHub's conclusion of the job, if known. */
  jobConclusion?: string;
}

/**
 * The events of one runner's life: runner_installed if its installed timestamp is known,
 * runner_start if its pre-job file is, runner_stop if its post-job file is, in that order.
 */
export function buildRunnerEvents(input: RunnerEventsInput): RunnerEvent[] {
  const events: RunnerEvent[] = [];
  const { flavor, installedTs, preJob, postJob } = input;
  if (installedTs !== undefined) {
    events.push({
      timestamp: installedTs,
      event: "runner_installed",
      flavor,
      duration: Math.max(installedTs - input.installStartTs, 0),
    });
  }
  if (preJob) {
    const start: RunnerStartEvent = {
      timestamp: preJob.timestamp,
      event: "runner_start",
      flavor,
      workflow: preJob.workflow,
      repo: preJob.repository,
      github_event: preJob.event,
      idle: installedTs === undefined ? null : Math.max(preJob.timestamp - installedTs, 0),
    };
    if (input.queueDuration !== undefined) start.queue_duration = input.queueDuration;
    events.push(start);
  }
  if (postJob) {
    const stop: RunnerStopEvent = {
      timestamp: postJob.timestamp,
      event: "runner_stop",
      flavor,
      workflow: preJob?.workflow ?? null,
      repo: preJob?.repository ?? null,
      github_event: preJob?.event ?? null,
      status: postJob.status,
      job_duration: preJob ? Math.max(postJob.timestamp - preJob.timestamp, 0) : null,
    };
    if (postJob.status_info) stop.status_info = { code: postJob.status_info.code };
    if (input.jobConclusion !== undefined) stop.job_conclusion = input.jobConclusion;
    events.push(stop);
  }
  return events;
}

/** What one reconciliation found, for `reconciliationEvent`. */
export interface ReconciliationInput {
  flavor: string;
  /** Epoch seconds when the reconciliation ended. */
  timestamp: number;
  crashedRunners: number;
  idleRunners: number;
  activeRunners: number;
  expectedRunners: number;
  /** Seconds the reconciliation took. */
  duration: number;
}

/** The reconciliation event of one pool (flavor). */
export function reconciliationEvent(input: ReconciliationInput): ReconciliationEvent {
  return {
    timestamp: input.timestamp,
    event: "reconciliation",
    flavor: input.flavor,
    crashed_runners: input.crashedRunners,
    idle_runners: input.idleRunners,
    active_runners: input.activeRunners,
    expected_runners: input.expectedRunners,
    duration: input.duration,
  };
}

/** A short, printable excerpt of untrusted file content for messages. */
function excerpt(text: string): string {
  const s = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  return s;
}

/** Largest accepted epoch second (year 3000): anything beyond is a corrupt value. */
const MAX_EPOCH_SECONDS = 32_503_680_000;

/** Validates a number of epoch seconds (number or numeric string); the reason names `what`. */
function timestampValue(value: unknown, what: string): ParseResult<number> {
  let n: number;
  if (typeof value === "number") {
    n = value;
  } else if (typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)) {
    n = Number(value);
  } else {
    return { ok: false, reason: `${what} is not a number of epoch seconds: ${describe(value)}` };
  }
  if (!Number.isFinite(n) || n < 0 || n > MAX_EPOCH_SECONDS) {
    return { ok: false, reason: `${what} is out of range: ${n}` };
  }
  return { ok: true, value: n };
}

/** Describes a JSON value for messages, briefly. */
function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (typeof value === "string") return excerpt(value);
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 40 ? `${json.slice(0, 40)}…` : json;
}

/** Parses `text` as a JSON object, or says why not. */
function jsonObject(text: string): ParseResult<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: `not valid JSON: ${excerpt(text.trim())}` };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { ok: false, reason: `not a JSON object: ${describe(parsed)}` };
  }
  return { ok: true, value: parsed as Record<string, unknown> };
}

/** Parses `runner-installed.timestamp`: epoch seconds, surrounding whitespace allowed. */
export function parseTimestamp(text: string): ParseResult<number> {
  if (text.trim() === "") return { ok: false, reason: "empty file" };
  return timestampValue(text.trim(), "timestamp");
}

/** Parses `pre-job-metrics.json`. `timestamp` may be a number or a numeric string. */
export function parsePreJob(text: string): ParseResult<PreJobMetrics> {
  const obj = jsonObject(text);
  if (!obj.ok) return obj;
  const o = obj.value;
  for (const key of ["workflow", "repository", "event"] as const) {
    if (typeof o[key] !== "string") {
      return { ok: false, reason: `"${key}" is not a string: ${describe(o[key])}` };
    }
  }
  const ts = timestampValue(o.timestamp, '"timestamp"');
  if (!ts.ok) return ts;
  const value: PreJobMetrics = {
    workflow: o.workflow as string,
    repository: o.repository as string,
    event: o.event as string,
    timestamp: ts.value,
  };
  const runId = o.workflow_run_id;
  if (typeof runId === "string" || (typeof runId === "number" && Number.isFinite(runId))) {
    value.workflow_run_id = String(runId);
  } else if (runId !== undefined && runId !== null) {
    return { ok: false, reason: `"workflow_run_id" is not a string or number: ${describe(runId)}` };
  }
  return { ok: true, value };
}

/** Parses `post-job-metrics.json`; `status_info` may be absent or null. */
export function parsePostJob(text: string): ParseResult<PostJobMetrics> {
  const obj = jsonObject(text);
  if (!obj.ok) return obj;
  const o = obj.value;
  const ts = timestampValue(o.timestamp, '"timestamp"');
  if (!ts.ok) return ts;
  if (!POST_JOB_STATUSES.includes(o.status as PostJobStatus)) {
    return {
      ok: false,
      reason: `"status" is not one of ${POST_JOB_STATUSES.join(", ")}: ${describe(o.status)}`,
    };
  }
  const value: PostJobMetrics = { timestamp: ts.value, status: o.status as PostJobStatus };
  const info = o.status_info;
  if (info !== undefined && info !== null) {
    const code = (info as { code?: unknown }).code;
    if (typeof info !== "object" || Array.isArray(info) || !Number.isInteger(code)) {
      return { ok: false, reason: `"status_info" is not {"code": <integer>}: ${describe(info)}` };
    }
    value.status_info = { code: code as number };
  }
  return { ok: true, value };
}
