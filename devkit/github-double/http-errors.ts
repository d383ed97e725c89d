// Errors as GitHub words them: `{"message", "documentation_url", "status"}`, status a string.

/** The documentation root GitHub links from errors that belong to no endpoint. */
export const docsRoot = "https://docs.github.com/rest";

/** A documentation link of one endpoint, e.g. `docsUrl("actions/self-hosted-runners#...")`. */
export function docsUrl(page: string): string {
  return `${docsRoot}/${page}`;
}

/**
 * A refusal with an HTTP status. Without `documentationUrl` the REST pipeline links the
 * endpoint's documentation page, as GitHub does.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly documentationUrl?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** GitHub's error body. */
export function errorBody(status: number, message: string, documentationUrl: string) {
  return { message, documentation_url: documentationUrl, status: String(status) };
}

/** 404 as GitHub answers for a resource that is not there (or not visible). */
export function notFound(): HttpError {
  return new HttpError(404, "Not Found");
}

/** 422 for a request body that breaks the endpoint's schema, worded like GitHub's validator. */
export function invalidRequest(detail: string): HttpError {
  return new HttpError(422, `Invalid request.\n\n${detail}`);
}
