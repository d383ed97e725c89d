// Shared by the double's own tests: a movable clock, raw HTTP calls, and Octokit clients.
import { Octokit } from "@octokit/rest";
import type { Clock, GitHubDouble } from "../../devkit/github-double/types";

/** A clock that stands still until a test moves it. */
export class TestClock implements Clock {
  constructor(private ms = Date.UTC(2030, 0, 1, 12, 0, 0)) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface RawResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body; undefined when there is none. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read any field
}

/** A plain HTTP request to the double, authenticated with `token` (`token X`) when given. */
export async function call(
  double: GitHubDouble,
  method: string,
  path: string,
  opts: { token?: string; authorization?: string; body?: unknown } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { accept: "application/vnd.github+json" };
  const authorization = opts.authorization ?? (opts.token ? `token ${opts.token}` : undefined);
  if (authorization) headers.authorization = authorization;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${double.url}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Octokit logs failed requests; the tests assert them instead. */
export const quietLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** An Octokit for the double, with the admin token unless another is given. */
export function octokitFor(double: GitHubDouble, token = double.adminToken): Octokit {
  return new Octokit({ baseUrl: double.url, auth: token, log: quietLog });
}

/** The HTTP status and GitHub message of a failed Octokit call. */
export async function refusal(
  promise: Promise<unknown>,
): Promise<{ status: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { status: number; response?: { data?: { message?: string } } };
    return { status: e.status, message: e.response?.data?.message ?? "" };
  }
  throw new Error("the request succeeded, but a refusal was expected");
}
