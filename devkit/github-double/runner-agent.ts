// A simulated runner agent for tests: what the runner application does against GitHub, reduced
// to the double's `/_runner/` protocol. It starts from a JIT config, or registers with a
// registration token as `config.sh` would. While it holds a job it renews it in the background, as
// the runner renews its job request, so a job may run longer than the double's lostAfterSeconds;
// `stopRenewing()` makes it fall silent, as an agent whose machine died.
import { decodeJitConfig, type JitConfig } from "./jit-config";
import type { AgentJob } from "./jobs";
import type { JobResult, RunnerSnapshot } from "./types";

/** A refusal of the `/_runner/` API, with its status and message. */
export class AgentRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What `config.sh` would send to register a runner with a registration token. */
export interface AgentRegistration {
  token: string;
  name: string;
  labels?: string[];
  ephemeral?: boolean;
  runnerGroupId?: number;
  workFolder?: string;
}

/** The answer to a renewal: the job, and how long the agent may be silent before it is lost. */
export interface JobRenewal {
  job: AgentJob;
  renewWithinMs: number;
}

export class SimulatedRunnerAgent {
  /** The background renewal of the job the agent holds, if any. */
  private renewal: { jobId: number; timer?: NodeJS.Timeout } | undefined;

  constructor(readonly config: JitConfig) {}

  /** An agent for the runner of a `generate-jitconfig` answer's `encoded_jit_config`. */
  static fromJitConfig(encoded: string): SimulatedRunnerAgent {
    return new SimulatedRunnerAgent(decodeJitConfig(encoded));
  }

  /** Registers a new runner with a registration token, as `config.sh --token` does. */
  static async register(
    url: string,
    registration: AgentRegistration,
  ): Promise<SimulatedRunnerAgent> {
    const config = await call<JitConfig>(url, "POST", "/_runner/register", undefined, registration);
    return new SimulatedRunnerAgent(config);
  }

  /** Opens a session: the runner shows online. */
  goOnline(): Promise<RunnerSnapshot> {
    return this.call("POST", "/_runner/session");
  }

  /** Ends the session: the runner shows offline. */
  async goOffline(): Promise<void> {
    await this.call("DELETE", "/_runner/session");
  }

  /**
   * The next job for this runner, waiting up to `waitMs`; undefined when none came. A job is
   * renewed from now until it is reported completed.
   */
  async nextJob(waitMs = 0): Promise<AgentJob | undefined> {
    const job = await this.call<AgentJob | undefined>("GET", `/_runner/jobs/next?waitMs=${waitMs}`);
    if (job) this.keepRenewing(job.id);
    return job;
  }

  /** Renews the job once: the runner is still at it. */
  renewJob(jobId: number): Promise<JobRenewal> {
    return this.call("POST", `/_runner/jobs/${jobId}/renew`);
  }

  /** Ends the background renewal: the double hears nothing more of the job. */
  stopRenewing(): void {
    clearTimeout(this.renewal?.timer);
    this.renewal = undefined;
  }

  async reportStarted(jobId: number): Promise<void> {
    await this.call("POST", `/_runner/jobs/${jobId}/started`);
  }

  /** Reports the job's end; `removed` tells an ephemeral runner it is gone. */
  reportCompleted(
    jobId: number,
    result: JobResult,
  ): Promise<{ job: AgentJob; conclusion: string; removed: boolean }> {
    if (this.renewal?.jobId === jobId) this.stopRenewing();
    return this.call("POST", `/_runner/jobs/${jobId}/completed`, result);
  }

  /** Deregisters the runner with a remove token, as `config.sh remove --token` does. */
  async remove(removeToken: string): Promise<void> {
    await this.call("POST", "/_runner/remove", { token: removeToken });
  }

  /**
   * Renews at once (the agent learns how long it may be silent), then three times within each
   * allowed silence, until stopped or refused: a refused renewal (the job is no longer the
   * runner's, or the double is gone) ends it, as the runner gives up a job it lost.
   */
  private keepRenewing(jobId: number): void {
    this.stopRenewing();
    const renewal: { jobId: number; timer?: NodeJS.Timeout } = { jobId };
    this.renewal = renewal;
    const renew = () => {
      this.renewJob(jobId).then(
        ({ renewWithinMs }) => {
          if (this.renewal !== renewal) return;
          renewal.timer = setTimeout(renew, renewWithinMs / 3);
          // A test that forgets an agent must not be kept alive by it.
          renewal.timer.unref();
        },
        () => {
          if (this.renewal === renewal) this.renewal = undefined;
        },
      );
    };
    renew();
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return call<T>(this.config.url, method, path, this.config.secret, body);
  }
}

/** A `/_runner/` request; the JSON answer, undefined for 204; AgentRequestError otherwise. */
async function call<T>(
  url: string,
  method: string,
  path: string,
  secret: string | undefined,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secret !== undefined) headers.authorization = `Bearer ${secret}`;
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const answer = (await res.json()) as T & { message?: string };
  if (!res.ok) throw new AgentRequestError(res.status, answer.message ?? res.statusText);
  return answer;
}
