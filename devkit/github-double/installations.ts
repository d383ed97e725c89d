// The GitHub App installations the double knows, one per configured app credential: whether each
// is still installed, which repositories its selection has dropped, and how GitHub shows it.
// The double has no accounts, so an installation is on every organisation (see README.md).
import { createHash } from "node:crypto";
import { githubTime } from "./clock";
import { HttpError, notFound } from "./http-errors";
import type { Owner } from "./owner";
import { RepositoryAccess } from "./repository-access";
import type { AppCredential, Clock, InstallationJson } from "./types";

/** What an installation, and so each of its tokens, may do. */
export const installationPermissions: Record<string, string> = {
  administration: "write",
  organization_self_hosted_runners: "write",
  actions: "read",
};

export interface Installation {
  appId: string;
  id: number;
  installed: boolean;
  /** The selection: every repository but those dropped from it. */
  repos: RepositoryAccess;
  createdAt: number;
}

export class Installations {
  private readonly installations: Installation[];

  constructor(apps: AppCredential[], clock: Clock) {
    this.installations = apps.map((app) => ({
      appId: String(app.appId),
      id: app.installationId,
      installed: true,
      repos: new RepositoryAccess(),
      createdAt: clock.now(),
    }));
  }

  /** The calling app's installation of that id; 404 when it is another app's or uninstalled. */
  ofApp(appId: string, id: number): Installation {
    const found = this.installed(appId).find((i) => i.id === id);
    if (!found) throw notFound();
    return found;
  }

  /**
   * The calling app's installation that covers `owner` (for a repository: whose selection still
   * includes it); 404 when there is none, as GitHub answers.
   */
  covering(appId: string, owner: Owner): Installation {
    const found = this.installed(appId).find((i) => i.repos.canSee(owner));
    if (!found) throw notFound();
    return found;
  }

  /** For the control API: the installation is gone, with every token of it; 404 when unknown. */
  uninstall(id: number): void {
    this.find(id).installed = false;
  }

  /** For the control API: the selection no longer includes `repo`; 404 when unknown. */
  dropRepository(id: number, repo: Owner & { kind: "repo" }): void {
    this.find(id).repos.drop(repo);
  }

  private find(id: number): Installation {
    const found = this.installations.find((i) => i.id === id);
    if (!found) throw new HttpError(404, `No installation ${JSON.stringify(id)}`);
    return found;
  }

  private installed(appId: string): Installation[] {
    return this.installations.filter((i) => i.installed && i.appId === appId);
  }
}

/** `all`, or `selected` once a repository was dropped (GitHub has no "all but"). */
export function repositorySelection(installation: Installation): "all" | "selected" {
  return installation.repos.narrowed ? "selected" : "all";
}

/** `installation` in GitHub's schema, as seen from `owner` (its organisation is the account). */
export function installationJson(
  installation: Installation,
  owner: Owner,
  baseUrl: string,
): InstallationJson {
  const login = owner.kind === "org" ? owner.org : owner.owner;
  const accountId = stableAccountId(login);
  const time = githubTime(installation.createdAt);
  return {
    id: installation.id,
    account: {
      login,
      id: accountId,
      type: "Organization",
      url: `${baseUrl}/users/${login}`,
      html_url: `${baseUrl}/${login}`,
    },
    repository_selection: repositorySelection(installation),
    access_tokens_url: `${baseUrl}/app/installations/${installation.id}/access_tokens`,
    repositories_url: `${baseUrl}/installation/repositories`,
    html_url: `${baseUrl}/organizations/${login}/settings/installations/${installation.id}`,
    app_id: Number(installation.appId),
    target_id: accountId,
    target_type: "Organization",
    permissions: installationPermissions,
    events: [],
    created_at: time,
    updated_at: time,
    single_file_name: null,
    suspended_by: null,
    suspended_at: null,
  };
}

/** An id for an account the double never registered: from its name, so it never changes. */
function stableAccountId(login: string): number {
  return createHash("sha256").update(login.toLowerCase()).digest().readUInt32BE(0);
}
