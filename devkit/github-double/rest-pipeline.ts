// How the double answers a GitHub REST request, in GitHub's order of checks: (latency, injected
// faults), authentication, secondary then primary rate limit, route, hidden repository,
// permission, body, handler.
// Every answer carries the rate-limit headers, a request id and a `date` from the double's clock.
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { DoubleState } from "./double-state";
import { docsRoot, docsUrl, errorBody, HttpError, notFound } from "./http-errors";
import { parseJson, writeJson } from "./http-io";
import { repoFromParams } from "./owner";
import { requestId } from "./random-ids";
import type { RestRoute, RouteResult } from "./rest-route";
import { restRoutes } from "./rest-routes";
import { matchRoute, type RouteMatch } from "./route-matching";

const rateLimitDocs = docsUrl("using-the-rest-api/rate-limits-for-the-rest-api");

interface RestRequest {
  url: URL;
  authorization: string | undefined;
  rawBody: Buffer;
  match: RouteMatch<RestRoute> | undefined;
  /** The route template key requests are counted and faulted by. */
  routeKey: string;
  requestId: string;
}

export async function handleRestRequest(
  state: DoubleState,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  rawBody: Buffer,
): Promise<void> {
  const method = req.method ?? "GET";
  const match = matchRoute(restRoutes, method, url.pathname);
  const routeKey = `${method} ${match ? match.route.template : url.pathname}`;
  state.counts.record(routeKey);
  const delay = state.faults.takeLatency();
  if (delay > 0) await sleep(delay);

  const request: RestRequest = {
    url,
    authorization: req.headers.authorization,
    rawBody,
    match,
    routeKey,
    requestId: requestId(),
  };
  let result: RouteResult;
  try {
    result = answer(state, request);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    const docs = err.documentationUrl ?? match?.route.docs ?? docsRoot;
    result = {
      status: err.status,
      body: errorBody(err.status, err.message, docs),
      headers: err.headers,
    };
  }
  writeJson(res, result.status, result.body, {
    date: new Date(state.clock.now()).toUTCString(),
    "x-github-request-id": request.requestId,
    "x-github-api-version-selected": "2022-11-28",
    ...state.rateLimit.headers(),
    ...result.headers,
  });
}

function answer(state: DoubleState, request: RestRequest): RouteResult {
  const fault = state.faults.takeFault(request.routeKey);
  if (fault !== undefined) throw new HttpError(fault, "Server Error", docsRoot);

  const route = request.match?.route;
  const identity =
    route?.access === "app"
      ? state.credentials.identifyApp(request.authorization)
      : state.credentials.identify(request.authorization);

  const secondary = state.faults.takeSecondaryRateLimit();
  if (secondary) {
    throw new HttpError(
      secondary.status,
      "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
        `If you reach out to GitHub Support for help, please include the request ID ${request.requestId}.`,
      `${rateLimitDocs}#about-secondary-rate-limits`,
      { "retry-after": String(secondary.retryAfterSeconds) },
    );
  }
  if (!state.rateLimit.take()) {
    throw new HttpError(
      403,
      `API rate limit exceeded for ${identity.subject}. If you reach out to GitHub Support for ` +
        `help, please include the request ID ${request.requestId}.`,
      rateLimitDocs,
    );
  }

  if (!request.match || !route) throw new HttpError(404, "Not Found", docsRoot);
  // GitHub hides a repository the credential may no longer see, before any permission check,
  // so the answer says no more than it would for a repository that does not exist.
  const repo = repoFromParams(request.match.params);
  if (repo && !identity.canSee(repo)) throw notFound();
  if (route.access === "admin" && identity.access !== "admin") {
    throw new HttpError(403, "Resource not accessible by personal access token");
  }
  return route.handle({
    params: request.match.params,
    requestUrl: request.url,
    body: parseJson(request.rawBody),
    identity,
    state,
  });
}
