// Shared by the double's own tests: a movable clock, raw HTTP calls, control calls over HTTP,
// GitHub App JWTs, and Octokit clients.
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { Octokit } from "@octokit/rest";
import { AgentRequestError } from "../../devkit/github-double/runner-agent";
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

/** A control API call over HTTP, `POST /_control/<method>`; the body is undefined on 204. */
export async function callControl(
  double: GitHubDouble,
  method: string,
  args?: unknown[],
): Promise<Pick<RawResponse, "status" | "body">> {
  const res = await fetch(`${double.url}/_control/${method}`, {
    method: "POST",
    body: args === undefined ? undefined : JSON.stringify(args),
  });
  return { status: res.status, body: res.status === 204 ? undefined : await res.json() };
}

/** A fresh RSA key pair for a GitHub App. */
export function rsaKeys() {
  return generateKeyPairSync("rsa", { modulusLength: 2048 });
}

/** A GitHub App JWT, signed as @octokit/auth-app would, with claims relative to `nowSeconds`. */
export function appJwt(
  privateKey: KeyObject,
  appId: number,
  nowSeconds: number,
  claims: { iat?: number; exp?: number } = {},
): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = part({ alg: "RS256", typ: "JWT" });
  const payload = part({ iat: nowSeconds - 30, exp: nowSeconds + 540, iss: appId, ...claims });
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), privateKey);
  return `${header}.${payload}.${signature.toString("base64url")}`;
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

/** The refusal of a simulated runner agent's request; fails when the request succeeded. */
export async function agentRefusal(promise: Promise<unknown>): Promise<AgentRequestError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AgentRequestError) return err;
    throw err;
  }
  throw new Error("the agent's request succeeded, but a refusal was expected");
}
