// The control API over HTTP, for other processes: `POST /_control/<method>` with a JSON array of
// the method's arguments (or no body); the answer is the method's result as JSON, or 204.
// Errors are `{message}` with the status (404 unknown runner, token or installation, 409
// conflict, 422 bad argument).
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "./http-errors";
import { parseJson, writeJson } from "./http-io";
import type { GitHubDoubleControl } from "./types";

type ControlMethod = (...args: unknown[]) => unknown;

export function handleControlRequest(
  control: GitHubDoubleControl,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  rawBody: Buffer,
): void {
  try {
    const name = url.pathname.slice("/_control/".length);
    if (req.method !== "POST" || !Object.hasOwn(control, name)) {
      throw new HttpError(404, `No control method "${name}": use POST /_control/<method>`);
    }
    const args = parseJson(rawBody) ?? [];
    if (!Array.isArray(args))
      throw new HttpError(400, "The body must be a JSON array of arguments");
    const method = (control as unknown as Record<string, ControlMethod>)[name];
    const result = method(...args);
    writeJson(res, result === undefined ? 204 : 200, result);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    writeJson(res, err.status, { message: err.message });
  }
}
