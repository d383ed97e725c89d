// The GitHub double's request counts as the bench reads them: the fixed cost of an operation, its
// writes, and a short description for a note.
import type { RequestCounts } from "../devkit/github-double/types";

/** Requests whose number does not grow with the runners changed: listings, downloads, groups. */
export function fixedRequests(c: RequestCounts): number {
  return Object.entries(c.byRoute)
    .filter(([route]) =>
      /^GET .*\/actions\/(runners|runners\/downloads|runner-groups)$/.test(route),
    )
    .reduce((a, [, v]) => a + v, 0);
}

/** Content-creating requests (what the provider paces): everything but GET and HEAD. */
export function writes(c: RequestCounts): number {
  return Object.entries(c.byRoute)
    .filter(([route]) => !/^(GET|HEAD) /.test(route))
    .reduce((a, [, v]) => a + v, 0);
}

/** Each route's count, for a note. */
export function describeCounts(c: RequestCounts): string {
  const parts = Object.entries(c.byRoute).map(
    ([route, v]) =>
      `${v}× ${route.replace(/ \/repos\/\{owner\}\/\{repo\}\/actions\/runners/, " …/runners")}`,
  );
  return parts.length ? parts.join(", ") : "none";
}
