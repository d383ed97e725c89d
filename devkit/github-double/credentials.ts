// Who is calling: personal access tokens (admin or read), GitHub App JWTs, and the installation
// tokens those JWTs are exchanged for (admin, valid one hour of the double's clock). A token
// loses access as on GitHub: revoked or its installation uninstalled (401 `Bad credentials`
// from then on), or a repository dropped from it (that repository's endpoints answer 404).
import { verifyAppJwt } from "./app-jwt";
import { githubTime, hourMs } from "./clock";
import { docsRoot, HttpError } from "./http-errors";
import {
  installationPermissions,
  repositorySelection,
  type Installation,
  type Installations,
} from "./installations";
import type { Owner } from "./owner";
import { prefixedToken } from "./random-ids";
import { RepositoryAccess } from "./repository-access";
import type { Access, AppCredential, Clock, TokenGrant } from "./types";

export interface Identity {
  access: Access;
  /** How GitHub names the caller in a rate-limit message, e.g. `user ID 1001`. */
  subject: string;
  /** Set when the caller authenticated as a GitHub App (with a JWT). */
  appId?: string;
  /** Whether the caller may see the owner; GitHub answers 404 for a repository it may not. */
  canSee(owner: Owner): boolean;
}

/** The body of `POST /app/installations/{installation_id}/access_tokens`. */
export interface InstallationToken {
  token: string;
  expires_at: string;
  permissions: Record<string, string>;
  repository_selection: "all" | "selected";
}

/** A token the double has accepted, and what has since been taken from it. */
interface AcceptedToken {
  access: Access;
  subject: string;
  revoked: boolean;
  repos: RepositoryAccess;
  /** An installation token's installation, which it needs to stay installed. */
  installation?: Installation;
  /** An installation token's end, in the clock's epoch ms. */
  expiresAt?: number;
}

const badCredentials = () => new HttpError(401, "Bad credentials", docsRoot);

export class Credentials {
  private readonly tokens = new Map<string, AcceptedToken>();

  constructor(
    grants: TokenGrant[],
    private readonly installations: Installations,
    private readonly apps: AppCredential[],
    private readonly clock: Clock,
  ) {
    grants.forEach((grant, i) =>
      this.tokens.set(grant.token, {
        access: grant.access,
        subject: `user ID ${1001 + i}`,
        revoked: false,
        repos: new RepositoryAccess(),
      }),
    );
  }

  /** The caller of a REST request from its `authorization` header; 401 when unknown or dead. */
  identify(authorization: string | undefined): Identity {
    const accepted = this.tokens.get(bearer(authorization));
    if (!accepted || !this.stillValid(accepted)) throw badCredentials();
    const { access, subject, repos, installation } = accepted;
    return {
      access,
      subject,
      canSee: (owner) => repos.canSee(owner) && (installation?.repos.canSee(owner) ?? true),
    };
  }

  /** The app calling with a JWT (the `/app/...` endpoints); 401 with GitHub's JWT messages. */
  identifyApp(authorization: string | undefined): Identity {
    const appId = verifyAppJwt(bearer(authorization), this.apps, this.clock.now());
    return { access: "admin", subject: `app ID ${appId}`, appId, canSee: () => true };
  }

  /** A one-hour admin token for an installation of the calling app; 404 for another app's. */
  issueInstallationToken(appId: string, installationId: number): InstallationToken {
    const installation = this.installations.ofApp(appId, installationId);
    const token = prefixedToken("ghs_");
    const expiresAt = this.clock.now() + hourMs;
    this.tokens.set(token, {
      access: "admin",
      subject: `installation ID ${installationId}`,
      revoked: false,
      repos: new RepositoryAccess(),
      installation,
      expiresAt,
    });
    return {
      token,
      expires_at: githubTime(expiresAt),
      permissions: installationPermissions,
      repository_selection: repositorySelection(installation),
    };
  }

  /** For the control API: revokes a token the double accepts (or accepted); 404 for others. */
  revoke(token: string): void {
    this.accepted(token).revoked = true;
  }

  /** For the control API: drops a repository from one token's access; 404 for an unknown token. */
  dropRepository(token: string, repo: Owner & { kind: "repo" }): void {
    this.accepted(token).repos.drop(repo);
  }

  private accepted(token: string): AcceptedToken {
    const accepted = this.tokens.get(token);
    if (!accepted) throw new HttpError(404, `No token ${JSON.stringify(token)}`);
    return accepted;
  }

  private stillValid(token: AcceptedToken): boolean {
    if (token.revoked) return false;
    if (token.expiresAt !== undefined && this.clock.now() >= token.expiresAt) return false;
    return token.installation?.installed ?? true;
  }
}

/** The credential of `token X` or `Bearer X`; 401 without one. */
function bearer(authorization: string | undefined): string {
  if (!authorization) throw new HttpError(401, "Requires authentication", docsRoot);
  const match = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw badCredentials();
  return match[1];
}
