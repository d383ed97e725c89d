// Who is calling: personal access tokens (admin or read), GitHub App JWTs, and the installation
// tokens those JWTs are exchanged for (admin, valid one hour of the double's clock).
import { verifyAppJwt } from "./app-jwt";
import { githubTime, hourMs } from "./clock";
import { docsRoot, HttpError, notFound } from "./http-errors";
import { prefixedToken } from "./random-ids";
import type { Access, AppCredential, Clock, TokenGrant } from "./types";

export interface Identity {
  access: Access;
  /** How GitHub names the caller in a rate-limit message, e.g. `user ID 1001`. */
  subject: string;
  /** Set when the caller authenticated as a GitHub App (with a JWT). */
  appId?: string;
}

/** The body of `POST /app/installations/{installation_id}/access_tokens`. */
export interface InstallationToken {
  token: string;
  expires_at: string;
  permissions: Record<string, string>;
  repository_selection: "all";
}

const badCredentials = () => new HttpError(401, "Bad credentials", docsRoot);

export class Credentials {
  private readonly tokens = new Map<string, Identity>();
  private readonly installationTokens = new Map<
    string,
    { identity: Identity; expiresAt: number }
  >();

  constructor(
    grants: TokenGrant[],
    private readonly apps: AppCredential[],
    private readonly clock: Clock,
  ) {
    grants.forEach((grant, i) =>
      this.tokens.set(grant.token, { access: grant.access, subject: `user ID ${1001 + i}` }),
    );
  }

  /** The caller of a REST request from its `authorization` header; 401 when unknown. */
  identify(authorization: string | undefined): Identity {
    const token = bearer(authorization);
    const identity = this.tokens.get(token);
    if (identity) return identity;
    const installation = this.installationTokens.get(token);
    if (installation && this.clock.now() < installation.expiresAt) return installation.identity;
    throw badCredentials();
  }

  /** The app calling with a JWT (the `/app/...` endpoints); 401 with GitHub's JWT messages. */
  identifyApp(authorization: string | undefined): Identity {
    const appId = verifyAppJwt(bearer(authorization), this.apps, this.clock.now());
    return { access: "admin", subject: `app ID ${appId}`, appId };
  }

  /** A one-hour admin token for an installation of the calling app; 404 for another app's. */
  issueInstallationToken(appId: string, installationId: number): InstallationToken {
    const installation = this.apps.find(
      (a) => String(a.appId) === appId && a.installationId === installationId,
    );
    if (!installation) throw notFound();
    const token = prefixedToken("ghs_");
    const expiresAt = this.clock.now() + hourMs;
    this.installationTokens.set(token, {
      identity: { access: "admin", subject: `installation ID ${installationId}` },
      expiresAt,
    });
    return {
      token,
      expires_at: githubTime(expiresAt),
      permissions: {
        administration: "write",
        organization_self_hosted_runners: "write",
        actions: "read",
      },
      repository_selection: "all",
    };
  }
}

/** The credential of `token X` or `Bearer X`; 401 without one. */
function bearer(authorization: string | undefined): string {
  if (!authorization) throw new HttpError(401, "Requires authentication", docsRoot);
  const match = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw badCredentials();
  return match[1];
}
