// The self-hosted runner endpoints, for repositories and organisations alike.
import {
  objectBody,
  optionalString,
  requiredInteger,
  requiredString,
  requiredStringArray,
} from "./body-schema";
import { notFound } from "./http-errors";
import { encodeJitConfig, jitConfigFor } from "./jit-config";
import { ownerFromParams } from "./owner";
import { paginate } from "./pagination";
import {
  forRepoAndOrg,
  idParam,
  type RestRoute,
  type RouteContext,
  type RouteResult,
} from "./rest-route";
import { runnerDownloads } from "./runner-downloads";
import { runnerJson, type Runner } from "./runners";

const docs = (anchor: string) => ({
  repo: `actions/self-hosted-runners#${anchor}-a-repository`,
  org: `actions/self-hosted-runners#${anchor}-an-organization`,
});

/** A page of runners as the list endpoints answer: `{total_count, runners}` and a `Link`. */
export function runnerListing(runners: Runner[], ctx: RouteContext): RouteResult {
  const page = paginate(runners, ctx.requestUrl, ctx.state.baseUrl);
  return {
    status: 200,
    body: { total_count: runners.length, runners: page.items.map(runnerJson) },
    headers: page.headers,
  };
}

function runnerOf(ctx: RouteContext): Runner {
  const runner = ctx.state.runners.get(ownerFromParams(ctx.params), idParam(ctx.params.runner_id));
  if (!runner) throw notFound();
  return runner;
}

function generateJitConfig(ctx: RouteContext): RouteResult {
  const body = objectBody(ctx.body);
  const name = requiredString(body, "name");
  const groupId = requiredInteger(body, "runner_group_id");
  const labels = requiredStringArray(body, "labels", 1, 100);
  const workFolder = optionalString(body, "work_folder") ?? "_work";
  const { state } = ctx;
  const owner = ownerFromParams(ctx.params);
  // An unknown group is 404, as for any resource the caller cannot see (see README.md).
  if (!state.groups.get(owner, groupId)) throw notFound();
  const runner = state.runners.add({ owner, name, labels, groupId, ephemeral: true });
  const config = jitConfigFor(runner, state.baseUrl, workFolder);
  return {
    status: 201,
    body: { runner: runnerJson(runner), encoded_jit_config: encodeJitConfig(config) },
  };
}

// Literal paths go before `{runner_id}`, which would match them too.
export const runnerRoutes: RestRoute[] = [
  ...forRepoAndOrg({
    method: "GET",
    path: "/actions/runners",
    access: "admin",
    docs: docs("list-self-hosted-runners-for"),
    handle: (ctx) => {
      const name = ctx.requestUrl.searchParams.get("name");
      const runners = ctx.state.runners.list(ownerFromParams(ctx.params));
      return runnerListing(name === null ? runners : runners.filter((r) => r.name === name), ctx);
    },
  }),
  ...forRepoAndOrg({
    method: "GET",
    path: "/actions/runners/downloads",
    access: "admin",
    docs: docs("list-runner-applications-for"),
    handle: ({ state }) => ({
      status: 200,
      body: runnerDownloads(state.baseUrl, state.runnerTarball, state.releases.latest),
    }),
  }),
  ...forRepoAndOrg({
    method: "POST",
    path: "/actions/runners/generate-jitconfig",
    access: "admin",
    docs: docs("create-configuration-for-a-just-in-time-runner-for"),
    handle: generateJitConfig,
  }),
  ...forRepoAndOrg({
    method: "POST",
    path: "/actions/runners/registration-token",
    access: "admin",
    docs: docs("create-a-registration-token-for"),
    handle: ({ state, params }) => ({
      status: 201,
      body: state.runnerTokens.issue("registration", ownerFromParams(params)),
    }),
  }),
  ...forRepoAndOrg({
    method: "POST",
    path: "/actions/runners/remove-token",
    access: "admin",
    docs: docs("create-a-remove-token-for"),
    handle: ({ state, params }) => ({
      status: 201,
      body: state.runnerTokens.issue("remove", ownerFromParams(params)),
    }),
  }),
  ...forRepoAndOrg({
    method: "GET",
    path: "/actions/runners/{runner_id}",
    access: "admin",
    docs: docs("get-a-self-hosted-runner-for"),
    handle: (ctx) => ({ status: 200, body: runnerJson(runnerOf(ctx)) }),
  }),
  ...forRepoAndOrg({
    method: "DELETE",
    path: "/actions/runners/{runner_id}",
    access: "admin",
    docs: docs("delete-a-self-hosted-runner-from"),
    handle: (ctx) => {
      ctx.state.dispatcher.deregister(runnerOf(ctx));
      return { status: 204 };
    },
  }),
];
