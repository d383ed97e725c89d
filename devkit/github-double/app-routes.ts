// GitHub App endpoints, authenticated with the app's JWT.
import { docsUrl } from "./http-errors";
import { installationJson } from "./installations";
import { ownerFromParams } from "./owner";
import { idParam, type RestRoute, type RouteContext, type RouteResult } from "./rest-route";

/** The calling app's installation on the route's organisation or repository, or 404. */
function installationOf({ state, params, identity }: RouteContext): RouteResult {
  const owner = ownerFromParams(params);
  const installation = state.installations.covering(identity.appId ?? "", owner);
  return { status: 200, body: installationJson(installation, owner, state.baseUrl) };
}

export const appRoutes: RestRoute[] = [
  {
    method: "POST",
    template: "/app/installations/{installation_id}/access_tokens",
    access: "app",
    docs: docsUrl("apps/apps#create-an-installation-access-token-for-an-app"),
    handle: ({ state, params, identity }) => ({
      status: 201,
      body: state.credentials.issueInstallationToken(
        identity.appId ?? "",
        idParam(params.installation_id),
      ),
    }),
  },
  {
    method: "GET",
    template: "/orgs/{org}/installation",
    access: "app",
    docs: docsUrl("apps/apps#get-an-organization-installation-for-the-authenticated-app"),
    handle: installationOf,
  },
  {
    method: "GET",
    template: "/repos/{owner}/{repo}/installation",
    access: "app",
    docs: docsUrl("apps/apps#get-a-repository-installation-for-the-authenticated-app"),
    handle: installationOf,
  },
];
