// Where runners live: a repository or an organisation. GitHub compares owner names without case.
import { HttpError } from "./http-errors";

export type Owner = { kind: "repo"; owner: string; repo: string } | { kind: "org"; org: string };

/** The owner's API prefix: `repos/owner/repo` or `orgs/org`. */
export function ownerPath(owner: Owner): string {
  return owner.kind === "repo" ? `repos/${owner.owner}/${owner.repo}` : `orgs/${owner.org}`;
}

/** A case-insensitive key for maps of per-owner state. */
export function ownerKey(owner: Owner): string {
  return ownerPath(owner).toLowerCase();
}

/** The owner named by a route's parameters: `{org}`, or `{owner}` and `{repo}`. */
export function ownerFromParams(params: Record<string, string>): Owner {
  return params.org !== undefined
    ? { kind: "org", org: params.org }
    : { kind: "repo", owner: params.owner, repo: params.repo };
}

/** The repository of a `/repos/{owner}/{repo}/...` route's parameters; undefined on others. */
export function repoFromParams(params: Record<string, string>): Owner | undefined {
  return params.owner !== undefined && params.repo !== undefined
    ? { kind: "repo", owner: params.owner, repo: params.repo }
    : undefined;
}

/** An `owner/repo` string as an owner; throws on anything else. */
export function repoOwner(repo: unknown): Owner & { kind: "repo" } {
  const parts = typeof repo === "string" ? repo.split("/") : [];
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new HttpError(422, `${JSON.stringify(repo)} is not an owner/repo name`);
  }
  return { kind: "repo", owner: parts[0], repo: parts[1] };
}

/** Whether runners of `owner` may run jobs of `repo`: its own, or any repository of its organisation. */
export function servesRepo(owner: Owner, repo: Owner & { kind: "repo" }): boolean {
  return owner.kind === "repo"
    ? ownerKey(owner) === ownerKey(repo)
    : owner.org.toLowerCase() === repo.owner.toLowerCase();
}
