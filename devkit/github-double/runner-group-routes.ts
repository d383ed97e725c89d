// An organisation's runner groups and the runners in each.
import { docsUrl, notFound } from "./http-errors";
import { ownerFromParams } from "./owner";
import { paginate } from "./pagination";
import { idParam, type RestRoute } from "./rest-route";
import { runnerGroupJson } from "./runner-groups";
import { runnerListing } from "./runner-routes";

const docs = (anchor: string) => docsUrl(`actions/self-hosted-runner-groups#${anchor}`);

export const runnerGroupRoutes: RestRoute[] = [
  {
    method: "GET",
    template: "/orgs/{org}/actions/runner-groups",
    access: "admin",
    docs: docs("list-self-hosted-runner-groups-for-an-organization"),
    handle: ({ state, params, requestUrl }) => {
      const groups = state.groups.list(ownerFromParams(params));
      const page = paginate(groups, requestUrl, state.baseUrl);
      return {
        status: 200,
        body: {
          total_count: groups.length,
          runner_groups: page.items.map((g) => runnerGroupJson(params.org, g, state.baseUrl)),
        },
        headers: page.headers,
      };
    },
  },
  {
    method: "GET",
    template: "/orgs/{org}/actions/runner-groups/{runner_group_id}/runners",
    access: "admin",
    docs: docs("list-self-hosted-runners-in-a-group-for-an-organization"),
    handle: (ctx) => {
      const owner = ownerFromParams(ctx.params);
      const group = ctx.state.groups.get(owner, idParam(ctx.params.runner_group_id));
      if (!group) throw notFound();
      const runners = ctx.state.runners.list(owner).filter((r) => r.groupId === group.id);
      return runnerListing(runners, ctx);
    },
  },
];
