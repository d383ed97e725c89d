// Matches a request path against route templates such as `/orgs/{org}/actions/runners/{runner_id}`.

export interface RouteTemplate {
  method: string;
  template: string;
}

export interface RouteMatch<R> {
  route: R;
  /** The template's `{name}` segments, URL-decoded. */
  params: Record<string, string>;
}

/** The first route (in list order, so literal routes go before parameter routes) that matches. */
export function matchRoute<R extends RouteTemplate>(
  routes: R[],
  method: string,
  path: string,
): RouteMatch<R> | undefined {
  const segments = path.split("/");
  for (const route of routes) {
    if (route.method !== method) continue;
    const parts = route.template.split("/");
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = parts.every((part, i) => {
      if (!part.startsWith("{")) return part === segments[i];
      const value = decodeSegment(segments[i]);
      if (!value) return false;
      params[part.slice(1, -1)] = value;
      return true;
    });
    if (matches) return { route, params };
  }
  return undefined;
}

/** A URL-decoded path segment; undefined when it is empty or badly encoded. */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment) || undefined;
  } catch {
    return undefined;
  }
}
