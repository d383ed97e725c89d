// GitHub's pagination: `per_page` (default 30, at most 100) and `page` (from 1), and a `Link`
// header with `prev`, `next`, `last` and `first` links, in that order, when there is more than
// one page. Links keep the request's other query parameters.

export interface Page<T> {
  items: T[];
  /** The `Link` header, when there is one. */
  headers: Record<string, string>;
}

function positiveInt(value: string | null): number | undefined {
  const n = Number(value);
  return value !== null && Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** One page of `items` as `requestUrl` asks for it; links are absolute URLs under `baseUrl`. */
export function paginate<T>(items: T[], requestUrl: URL, baseUrl: string): Page<T> {
  const perPage = Math.min(positiveInt(requestUrl.searchParams.get("per_page")) ?? 30, 100);
  const page = positiveInt(requestUrl.searchParams.get("page")) ?? 1;
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const pageItems = items.slice((page - 1) * perPage, page * perPage);

  const link = (n: number, rel: string) => {
    const params = new URLSearchParams(requestUrl.searchParams);
    params.set("page", String(n));
    return `<${baseUrl}${requestUrl.pathname}?${params}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, "prev"));
  if (page < lastPage) links.push(link(page + 1, "next"), link(lastPage, "last"));
  if (page > 1) links.push(link(1, "first"));
  return { items: pageItems, headers: links.length ? { link: links.join(", ") } : {} };
}
