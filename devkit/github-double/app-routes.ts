// GitHub App endpoints, authenticated with the app's JWT.
import { docsUrl } from "./http-errors";
import { idParam, type RestRoute } from "./rest-route";

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
];
