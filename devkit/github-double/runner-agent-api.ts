// The simulated runner agent's protocol, under `/_runner/` (not GitHub's; see README.md). An
// agent authenticates with `Authorization: Bearer <secret>`, the secret of its JIT config or of
// its registration. Every authenticated request is contact (runner-contact.ts): a runner running
// a job renews it, an idle one long-polls.
import type { IncomingMessage, ServerResponse } from "node:http";
import { objectBody, optionalString, requiredString } from "./body-schema";
import type { DoubleState } from "./double-state";
import { HttpError, notFound } from "./http-errors";
import { parseJson, writeJson } from "./http-io";
import { agentJob } from "./jobs";
import { jitConfigFor } from "./jit-config";
import { defaultGroup } from "./runner-groups";
import { runnerSnapshot, type Runner } from "./runners";
import { matchRoute } from "./route-matching";
import type { JobConclusion } from "./types";

/** The longest long-poll of `GET /_runner/jobs/next`, so a forgotten agent cannot hold a socket. */
const maxWaitMs = 60_000;

interface AgentContext {
  state: DoubleState;
  params: Record<string, string>;
  url: URL;
  body: Record<string, unknown>;
  /** Aborted when the agent hangs up before the answer. */
  hangUp: AbortSignal;
}

type Reply = { status: number; body?: unknown };

/** An endpoint; all but `register` need the agent's secret and get its runner. */
type AgentRoute = { method: string; template: string } & (
  | { authenticated: false; handle(ctx: AgentContext): Reply }
  | { authenticated: true; handle(ctx: AgentContext, runner: Runner): Reply | Promise<Reply> }
);

const jobId = (params: Record<string, string>) => Number(params.job_id);

const agentRoutes: AgentRoute[] = [
  {
    method: "POST",
    template: "/_runner/register",
    authenticated: false,
    handle: ({ state, body }) => {
      const owner = state.runnerTokens.redeem("registration", body.token);
      const labels = body.labels ?? [];
      if (!Array.isArray(labels) || labels.some((l) => typeof l !== "string")) {
        throw new HttpError(422, "labels must be an array of strings");
      }
      const groupId = body.runnerGroupId ?? defaultGroup.id;
      if (typeof groupId !== "number" || !state.groups.get(owner, groupId)) throw notFound();
      const runner = state.runners.add({
        owner,
        name: requiredString(body, "name"),
        labels: labels as string[],
        groupId,
        ephemeral: body.ephemeral === true,
      });
      const workFolder = optionalString(body, "workFolder") ?? "_work";
      return { status: 201, body: jitConfigFor(runner, state.baseUrl, workFolder) };
    },
  },
  {
    method: "POST",
    template: "/_runner/session",
    authenticated: true,
    handle: ({ state }, runner) => {
      state.dispatcher.setOnline(runner);
      return { status: 200, body: runnerSnapshot(runner) };
    },
  },
  {
    method: "DELETE",
    template: "/_runner/session",
    authenticated: true,
    handle: ({ state }, runner) => {
      state.dispatcher.setOffline(runner);
      return { status: 204 };
    },
  },
  {
    method: "GET",
    template: "/_runner/jobs/next",
    authenticated: true,
    handle: async ({ state, url, hangUp }, runner) => {
      if (runner.status !== "online") {
        throw new HttpError(409, "The runner has no session: POST /_runner/session first");
      }
      const waitMs = Math.min(Math.max(Number(url.searchParams.get("waitMs")) || 0, 0), maxWaitMs);
      const job = await state.dispatcher.waitForJob(runner, waitMs, hangUp);
      return job ? { status: 200, body: agentJob(job) } : { status: 204 };
    },
  },
  {
    method: "POST",
    template: "/_runner/jobs/{job_id}/started",
    authenticated: true,
    handle: ({ state, params }, runner) => {
      const job = state.dispatcher.markStarted(runner, jobId(params));
      return { status: 200, body: agentJob(job) };
    },
  },
  {
    method: "POST",
    template: "/_runner/jobs/{job_id}/renew",
    authenticated: true,
    handle: ({ state, params }, runner) => {
      // The request itself is the contact; the answer tells the agent how long it may be silent.
      const job = state.dispatcher.currentJob(runner, jobId(params));
      return {
        status: 200,
        body: { job: agentJob(job), renewWithinMs: state.contact.lostAfterMs },
      };
    },
  },
  {
    method: "POST",
    template: "/_runner/jobs/{job_id}/completed",
    authenticated: true,
    handle: ({ state, params, body }, runner) => {
      const exitCode = body.exitCode;
      if (exitCode !== undefined && !Number.isInteger(exitCode)) {
        throw new HttpError(422, "exitCode must be an integer");
      }
      const { job, removed } = state.dispatcher.finish(
        runner,
        {
          conclusion: optionalString(body, "conclusion") as JobConclusion | undefined,
          exitCode: exitCode as number | undefined,
        },
        jobId(params),
      );
      return { status: 200, body: { job: agentJob(job), conclusion: job.conclusion, removed } };
    },
  },
  {
    method: "POST",
    template: "/_runner/remove",
    authenticated: true,
    handle: ({ state, body }, runner) => {
      state.runnerTokens.redeem("remove", body.token);
      state.dispatcher.deregister(runner);
      return { status: 204 };
    },
  },
];

/** Answers a `/_runner/...` request; errors are `{message}` with the status. */
export async function handleAgentRequest(
  state: DoubleState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  rawBody: Buffer,
): Promise<void> {
  try {
    const match = matchRoute(agentRoutes, req.method ?? "GET", url.pathname);
    if (!match) throw new HttpError(404, `No runner-agent endpoint ${req.method} ${url.pathname}`);
    const hangUp = new AbortController();
    res.on("close", () => {
      if (!res.writableEnded) hangUp.abort();
    });
    const ctx = {
      state,
      params: match.params,
      url,
      body: objectBody(parseJson(rawBody)),
      hangUp: hangUp.signal,
    };
    const route = match.route;
    const result = route.authenticated
      ? await inContact(state, authenticate(state, req.headers.authorization), (runner) =>
          route.handle(ctx, runner),
        )
      : route.handle(ctx);
    writeJson(res, result.status, result.body);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    writeJson(res, err.status, { message: err.message });
  }
}

/** Handles an agent's request; its runner is in contact while the request lasts. */
async function inContact(
  state: DoubleState,
  runner: Runner,
  handle: (runner: Runner) => Reply | Promise<Reply>,
): Promise<Reply> {
  state.contact.requestStarted(runner);
  try {
    return await handle(runner);
  } finally {
    state.contact.requestEnded(runner);
  }
}

function authenticate(state: DoubleState, authorization: string | undefined): Runner {
  const secret = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  const runner = secret === undefined ? undefined : state.runners.bySecret(secret);
  if (!runner)
    throw new HttpError(401, "Unknown runner credentials (the runner may have been removed)");
  return runner;
}
