// One listing of a GitHub owner's runners, shared by every resource refreshed in this provider
// process: a refresh of N runners costs ceil(N/100) list requests, not one GET per runner.
import type { Octokit } from "@octokit/rest";
import { ownerPrefix } from "../../rules/github";

/** A self-hosted runner as GitHub lists it (the fields the fleet reads). */
export interface ListedRunner {
  id: number;
  name: string;
  status: "online" | "offline";
  busy: boolean;
  labels: { name: string }[];
}

interface ListingCache {
  listings: Map<string, { at: number; runners: Promise<ListedRunner[]> }>;
}

/** How long one listing answers reads; a refresh of a whole fleet fits well inside it. */
export const listingTtlMs = 30_000;

/**
 * All runners of `path` (`org` or `owner/repo`), 100 a page, fetched once per `ttlMs` per process
 * and client. A failed listing is not cached, so the next read tries again. `clientKey` undefined
 * means no cache: a fresh listing.
 */
export async function listRunners(
  octokit: Octokit,
  clientKey: string | undefined,
  path: string,
  now: number = Date.now(),
  ttlMs: number = listingTtlMs,
): Promise<ListedRunner[]> {
  if (clientKey === undefined) return paginateRunners(octokit, path);
  const g = globalThis as typeof globalThis & { __runnerFleetListings?: ListingCache };
  g.__runnerFleetListings ??= { listings: new Map() };
  const key = `${clientKey} ${path}`;
  const cached = g.__runnerFleetListings.listings.get(key);
  if (cached && now - cached.at < ttlMs) return cached.runners;
  const runners = paginateRunners(octokit, path);
  g.__runnerFleetListings.listings.set(key, { at: now, runners });
  runners.catch(() => g.__runnerFleetListings?.listings.delete(key));
  return runners;
}

function paginateRunners(octokit: Octokit, path: string): Promise<ListedRunner[]> {
  return octokit
    .paginate(`GET /${ownerPrefix(path)}/actions/runners`, { per_page: 100 })
    .then((list) => list as unknown as ListedRunner[]);
}

/** Forgets the listings of this process, after a change that makes them stale. */
export function forgetListings(): void {
  const g = globalThis as typeof globalThis & { __runnerFleetListings?: ListingCache };
  g.__runnerFleetListings?.listings.clear();
}
