// The double's public types: its options, its handle, the control API for tests, and the JSON
// shapes it answers with (named and typed as in GitHub's published REST schemas).
import type { WebhookDelivery, WebhookSettings } from "./webhook-sender";

/** What a personal access token may do: `admin` can manage runners, `read` only read jobs. */
export type Access = "admin" | "read";

/** A personal access token the double accepts. */
export interface TokenGrant {
  token: string;
  access: Access;
}

/** A GitHub App and one of its installations; JWTs are checked against `publicKeyPem`. */
export interface AppCredential {
  appId: number | string;
  installationId: number;
  /** The app's public key (a private key PEM works too: its public half is used). */
  publicKeyPem: string;
}

/** The double's notion of time, in epoch milliseconds, so tests can move it. */
export interface Clock {
  now(): number;
}

export interface GitHubDoubleOptions {
  /** Accepted tokens; by default one random admin token (`GitHubDouble.adminToken`). */
  tokens?: TokenGrant[];
  /** GitHub Apps whose installations may exchange a JWT for an installation token. */
  apps?: AppCredential[];
  /** Defaults to the system clock. */
  clock?: Clock;
  /** The runner tarball served for every platform; by default an empty `.tar.gz`. */
  runnerTarball?: Buffer;
  /** The port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
}

/** A running double. */
export interface GitHubDouble {
  /** The API base URL, `http://127.0.0.1:<port>`, to give Octokit as `baseUrl`. */
  url: string;
  port: number;
  /** The first admin token of the options (or the generated one). */
  adminToken: string;
  control: GitHubDoubleControl;
  /** Stops the server, ending open connections and pending runner long-polls. */
  close(): Promise<void>;
}

/** A runner, by id or by name (a name must be unique across owners to be used here). */
export type RunnerRef = number | string;

export type JobConclusion =
  "success" | "failure" | "cancelled" | "skipped" | "timed_out" | "neutral" | "action_required";

/** A workflow run as `GET /repos/{owner}/{repo}/actions/runs` lists it (`workflow-run`). */
export interface WorkflowRunJson {
  id: number;
  name: string;
  node_id: string;
  head_branch: string;
  head_sha: string;
  run_number: number;
  run_attempt: number;
  event: string;
  status: "queued" | "in_progress" | "completed";
  conclusion: JobConclusion | null;
  url: string;
  html_url: string;
  jobs_url: string;
  created_at: string;
  updated_at: string;
  run_started_at: string;
}

/** A workflow job to queue, as a push or pull request would. */
export interface DispatchJobSpec {
  /** `owner/repo`; the job can run on that repository's runners and its organisation's. */
  repo: string;
  /** `workflow_name` of the job; default `CI`. */
  workflow?: string;
  /** The triggering event; default `push`. */
  event?: string;
  /** The job's name; default `build`. */
  name?: string;
  /** The `runs-on` labels a runner must all have (case-insensitive); default `["self-hosted"]`. */
  labels?: string[];
  /** Only the runner with this name may take the job (it need not exist yet); labels are ignored. */
  runnerName?: string;
  /** The outcome the job should have: handed to the agent, and `finishJob`'s default. */
  conclusion?: JobConclusion;
  /** Who triggered the run (`OWNER`, `MEMBER`, `CONTRIBUTOR`, `NONE`, ...): handed to the agent. */
  authorAssociation?: string;
  /** Default `main`. */
  headBranch?: string;
  /** Default: a random 40-hex-digit sha. */
  headSha?: string;
  /** A script for agents that execute jobs; the double only hands it over. */
  run?: string;
}

/** How a job ended. Without `conclusion`, an exit code maps 0 to success and others to failure. */
export interface JobResult {
  conclusion?: JobConclusion;
  exitCode?: number;
}

/** A runner as the control API reports it: GitHub's fields plus where it lives and its job. */
export interface RunnerSnapshot extends RunnerJson {
  /** The runner's owner as an API prefix: `repos/owner/repo` or `orgs/org`. */
  owner_path: string;
  /** The job assigned to the runner, if any. */
  job_id: number | null;
}

/** Requests to the GitHub REST API, per route template (`GET /orgs/{org}/actions/runners`). */
export interface RequestCounts {
  total: number;
  byRoute: Record<string, number>;
}

/** The primary (hourly) rate limit; omitted fields keep their value. */
export interface RateLimitSettings {
  limit?: number;
  remaining?: number;
  /** When the budget refills, in epoch milliseconds of the double's clock. */
  resetAt?: number;
}

export interface SecondaryRateLimitSettings {
  /** How many of the next requests are refused; default 1. */
  count?: number;
  /** The `retry-after` header; default 60. */
  retryAfterSeconds?: number;
  /** 403 (the default) or 429. */
  status?: 403 | 429;
}

export interface FaultSettings {
  /** How many matching requests fail; default 1. */
  count?: number;
  /** A 5xx status; default 500. */
  status?: number;
  /** Only requests to this route template, e.g. `POST /orgs/{org}/actions/runners/generate-jitconfig`. */
  route?: string;
}

/** Added latency: for the next `count` requests, or until `untilMs` (the double's clock), or both. */
export interface LatencySettings {
  ms: number;
  count?: number;
  untilMs?: number;
}

/**
 * Steers the double from a test. Every method is also served over HTTP as
 * `POST /_control/<method>` with a JSON array of the arguments as the body (see README.md).
 */
export interface GitHubDoubleControl {
  /** Marks a runner online, as if its agent had opened a session. */
  setOnline(runner: RunnerRef): RunnerSnapshot;
  /** Marks a runner offline, ending its agent's session. */
  setOffline(runner: RunnerRef): RunnerSnapshot;
  /** Queues a job; a matching runner's agent gets it when it polls. */
  dispatchJob(spec: DispatchJobSpec): WorkflowJobJson;
  /** Cancels a queued job (its run cancelled before a runner took it). */
  cancelJob(jobId: number): WorkflowJobJson;
  /**
   * Sends signed `workflow_job` deliveries to `url` from now on, one per change of a job's
   * status (null: none, the default).
   */
  setWebhook(settings: WebhookSettings | null): void;
  /** The deliveries sent so far, each with the receiver's answer. */
  webhookDeliveries(): WebhookDelivery[];
  /**
   * Makes a runner busy now (no agent needed): with the queued job of that id, with a new job of
   * that spec, or with the oldest queued job it can take, else a new job (`<org>/simulated` for an
   * organisation's runner). The runner goes online too.
   */
  startJob(runner: RunnerRef, job?: number | DispatchJobSpec): WorkflowJobJson;
  /** Completes the runner's job; the runner turns idle, or is removed if ephemeral. */
  finishJob(runner: RunnerRef, result?: JobResult): WorkflowJobJson;
  runners(): RunnerSnapshot[];
  /** Adds a runner group (visibility `all`) to an organisation. */
  addRunnerGroup(org: string, name: string): RunnerGroupJson;
  requestCounts(): RequestCounts;
  resetRequestCounts(): void;
  setRateLimit(settings: RateLimitSettings): void;
  secondaryRateLimit(settings: SecondaryRateLimitSettings): void;
  fault(settings: FaultSettings): void;
  latency(settings: LatencySettings): void;
  /** Ends faults, secondary limits and latency (not the primary rate limit). */
  clearFaults(): void;
  /**
   * How long (default 10 s) a runner's agent may be silent before GitHub loses it: offline, not
   * busy, its job failed as GitHub fails the job of a runner that lost communication.
   */
  setLostAfterSeconds(seconds: number): void;
  /**
   * Revokes a token the double accepts, a personal access token or an installation token: every
   * request with it is 401 `Bad credentials` from now on.
   */
  revokeToken(token: string): void;
  /**
   * Uninstalls an app installation: new tokens for it and its lookups by organisation or
   * repository are 404, and its tokens already issued are 401 `Bad credentials`.
   */
  uninstallApp(installationId: number): void;
  /** Takes a repository from a token or an installation: its `/repos/...` endpoints answer 404. */
  dropRepositoryAccess(loss: RepositoryAccessLoss): void;
  /**
   * Publishes a runner release (`2.x.y`): the downloads list names it from now on, and its
   * tarball (the configured one) is served beside the earlier releases'.
   */
  publishRunnerRelease(version: string): void;
}

/**
 * A repository a credential no longer reaches: `{token, repo}` for one token (a fine-grained
 * token whose repository list dropped it), `{installationId, repo}` for an installation whose
 * repository selection dropped it (every token of it, issued before or after).
 */
export type RepositoryAccessLoss = { repo: string } & (
  { token: string } | { installationId: number }
);

/** `installation` in GitHub's schema, with the fields of its `account` a client reads. */
export interface InstallationJson {
  id: number;
  account: { login: string; id: number; type: "Organization"; url: string; html_url: string };
  repository_selection: "all" | "selected";
  access_tokens_url: string;
  repositories_url: string;
  html_url: string;
  app_id: number;
  target_id: number;
  target_type: "Organization";
  permissions: Record<string, string>;
  events: string[];
  created_at: string;
  updated_at: string;
  single_file_name: null;
  suspended_by: null;
  suspended_at: null;
}

/** `runner-label` in GitHub's schema. */
export interface RunnerLabelJson {
  id: number;
  name: string;
  type: "read-only" | "custom";
}

/** `runner` in GitHub's schema. */
export interface RunnerJson {
  id: number;
  name: string;
  os: string;
  status: "online" | "offline";
  busy: boolean;
  ephemeral: boolean;
  runner_group_id: number;
  labels: RunnerLabelJson[];
}

/** `runner-groups-org` in GitHub's schema. */
export interface RunnerGroupJson {
  id: number;
  name: string;
  visibility: "all" | "selected" | "private";
  default: boolean;
  runners_url: string;
  inherited: boolean;
  allows_public_repositories: boolean;
  restricted_to_workflows: boolean;
  selected_workflows: string[];
  workflow_restrictions_read_only: boolean;
}

/** `check-annotation` in GitHub's schema. */
export interface CheckAnnotationJson {
  path: string;
  start_line: number;
  end_line: number;
  start_column: number | null;
  end_column: number | null;
  annotation_level: "notice" | "warning" | "failure" | null;
  title: string | null;
  message: string | null;
  raw_details: string | null;
  blob_href: string;
}

/** `job` in GitHub's schema. */
export interface WorkflowJobJson {
  id: number;
  run_id: number;
  run_url: string;
  run_attempt: number;
  node_id: string;
  head_sha: string;
  head_branch: string;
  url: string;
  html_url: string;
  status: "queued" | "in_progress" | "completed";
  conclusion: JobConclusion | null;
  created_at: string;
  started_at: string;
  completed_at: string | null;
  name: string;
  steps: never[];
  check_run_url: string;
  labels: string[];
  runner_id: number | null;
  runner_name: string | null;
  runner_group_id: number | null;
  runner_group_name: string | null;
  workflow_name: string;
}
