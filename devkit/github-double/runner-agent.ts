// A simulated runner agent for tests: what the runner application does against GitHub, reduced
// to the double's `/_runner/` protocol. It starts from a JIT config, or registers with a
// registration token as `config.sh` would.
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

export class SimulatedRunnerAgent {
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

  /** The next job for this runner, waiting up to `waitMs`; undefined when none came. */
  nextJob(waitMs = 0): Promise<AgentJob | undefined> {
    return this.call("GET", `/_runner/jobs/next?waitMs=${waitMs}`);
  }

  async reportStarted(jobId: number): Promise<void> {
    await this.call("POST", `/_runner/jobs/${jobId}/started`);
  }

  /** Reports the job's end; `removed` tells an ephemeral runner it is gone. */
  reportCompleted(
    jobId: number,
    result: JobResult,
  ): Promise<{ job: AgentJob; conclusion: string; removed: boolean }> {
    return this.call("POST", `/_runner/jobs/${jobId}/completed`, result);
  }

  /** Deregisters the runner with a remove token, as `config.sh remove --token` does. */
  async remove(removeToken: string): Promise<void> {
    await this.call("POST", "/_runner/remove", { token: removeToken });
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
