// The shape of a REST endpoint of the double, and helpers to declare them.
import type { Identity } from "./credentials";
import type { DoubleState } from "./double-state";
import { docsUrl, notFound } from "./http-errors";

/** Who may call: `read` any token, `admin` an admin token, `app` a GitHub App JWT. */
export type RouteAccess = "read" | "admin" | "app";

export interface RouteContext {
  params: Record<string, string>;
  requestUrl: URL;
  /** The parsed JSON body; undefined when there is none. */
  body: unknown;
  identity: Identity;
  state: DoubleState;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RestRoute {
  method: string;
  /** GitHub's path template, e.g. `/repos/{owner}/{repo}/actions/runners`. */
  template: string;
  access: RouteAccess;
  /** The endpoint's documentation page, linked from its errors. */
  docs: string;
  handle(ctx: RouteContext): RouteResult;
}

export interface RepoAndOrgEndpoint {
  method: string;
  /** The path after the owner, e.g. `/actions/runners`. */
  path: string;
  access: RouteAccess;
  /** Documentation pages under https://docs.github.com/rest/ of each variant. */
  docs: { repo: string; org: string };
  handle(ctx: RouteContext): RouteResult;
}

/** An endpoint GitHub serves under both `/repos/{owner}/{repo}` and `/orgs/{org}`. */
export function forRepoAndOrg(endpoint: RepoAndOrgEndpoint): RestRoute[] {
  const { method, path, access, handle } = endpoint;
  return [
    {
      method,
      template: `/repos/{owner}/{repo}${path}`,
      access,
      docs: docsUrl(endpoint.docs.repo),
      handle,
    },
    { method, template: `/orgs/{org}${path}`, access, docs: docsUrl(endpoint.docs.org), handle },
  ];
}

/** A numeric id from the path; 404 when it is not one, as GitHub answers. */
export function idParam(value: string): number {
  const id = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(id)) throw notFound();
  return id;
}
