// Reading requests and writing JSON responses.
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "./http-errors";

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The JSON of a request body, undefined when empty; 400 `Problems parsing JSON` otherwise. */
export function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new HttpError(400, "Problems parsing JSON");
  }
}

/** Writes a response: JSON when there is a body, nothing (as for 204) otherwise. */
export function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const json = JSON.stringify(body);
  res
    .writeHead(status, {
      ...headers,
      "content-type": "application/json; charset=utf-8",
      "content-length": String(Buffer.byteLength(json)),
    })
    .end(json);
}
