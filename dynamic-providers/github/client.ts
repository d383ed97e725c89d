// GitHub access for the dynamic providers: credentials, a throttled and retrying Octokit, and
// error messages safe for logs.
//
// Everything here runs inside the dynamic provider process (provider-by-reference.ts). Packages
// are loaded inside the functions, so the program that declares the resources never loads them,
// and clients live in a per-process cache on globalThis, shared by every resource of a run.
import type { Octokit } from "@octokit/rest";
import { busyWaitSeconds as busyWaitSecondsRule } from "../../rules/settings";
import { recordWrite } from "../../rules/github-write-budget";

/** How the providers authenticate to GitHub. Never a resource input: see `resolveCredentials`. */
export type GitHubCredentials =
  | { kind: "token"; token: string }
  | { kind: "app"; appId: string; installationId: string; privateKey: string };

/** Reads a config value from the provider's `configure` request, if it was given one. */
export type ConfigLookup = (key: string) => string | undefined;

/**
 * Resolves credentials from Pulumi config (secrets) first, then the environment:
 * `runner-fleet:githubToken` / `GITHUB_TOKEN` for a token, or `runner-fleet:githubAppId`,
 * `githubAppInstallationId`, `githubAppPrivateKey` / `GITHUB_APP_ID`, `GITHUB_APP_INSTALLATION_ID`,
 * `GITHUB_APP_PRIVATE_KEY` for a GitHub App. The error names the settings, never a value.
 */
export function resolveCredentials(
  config: ConfigLookup,
  env: NodeJS.ProcessEnv,
): GitHubCredentials {
  const pick = (key: string, envName: string): string | undefined =>
    config(`runner-fleet:${key}`) || env[envName] || undefined;
  const token = pick("githubToken", "GITHUB_TOKEN");
  if (token) return { kind: "token", token };
  const appId = pick("githubAppId", "GITHUB_APP_ID");
  const installationId = pick("githubAppInstallationId", "GITHUB_APP_INSTALLATION_ID");
  const privateKey = pick("githubAppPrivateKey", "GITHUB_APP_PRIVATE_KEY");
  if (appId && installationId && privateKey) {
    return { kind: "app", appId, installationId, privateKey };
  }
  throw new Error(
    "GitHub credentials are missing: set the secret `runner-fleet:githubToken` (or GITHUB_TOKEN), " +
      "or all of `runner-fleet:githubAppId`, `githubAppInstallationId` and the secret " +
      "`githubAppPrivateKey` (or GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID, GITHUB_APP_PRIVATE_KEY)",
  );
}

/**
 * Busy-runner settings for a delete. A deleted resource's inputs are those of its last deploy, so
 * `flushBusy` and `busyWaitSeconds` set in the stack config now take precedence: that is how an
 * operator flushes runners that a scale-down removes.
 */
export function busySettings(
  config: ConfigLookup,
  saved: { flushBusy: boolean; busyWaitSeconds: number },
): { flushBusy: boolean; busyWaitSeconds: number } {
  const flush = config("runner-fleet:flushBusy");
  const wait = config("runner-fleet:busyWaitSeconds");
  return {
    flushBusy: flush === undefined ? saved.flushBusy : flush === "true",
    // The config is not validated at a delete: a value out of range keeps the saved one.
    busyWaitSeconds:
      wait !== undefined && /^\d+$/.test(wait) && busyWaitSecondsRule.test(Number(wait))
        ? Number(wait)
        : saved.busyWaitSeconds,
  };
}

/**
 * Whether the operator listed this runner in `forceRelease` (read from the stack config at the
 * delete, as the busy settings are): its server may go although GitHub did not confirm the
 * release, for a credential that lost access for good. Validated by the program; here a value
 * that is not a JSON list of strings releases nothing.
 */
export function isForceReleased(config: ConfigLookup, name: string): boolean {
  try {
    const names: unknown = JSON.parse(config("runner-fleet:forceRelease") ?? "[]");
    return Array.isArray(names) && names.includes(name);
  } catch {
    return false;
  }
}

/** Retry budget of one request: GitHub outages and rate limits are waited out, not hammered. */
export interface RetryPolicy {
  /** Retries of a request after a 5xx answer. */
  serverErrorRetries: number;
  /** Retries of a request after a primary or secondary rate limit. */
  rateLimitRetries: number;
  /** Longest wait, in seconds, the provider accepts before giving up on a rate limit. */
  maxRateLimitWaitSeconds: number;
}

/**
 * Pause between content-creating requests (JIT configs, deletes) of one provider process. GitHub's
 * secondary limit allows about 80 a minute; 750 ms keeps under it. `RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS`
 * overrides it (e.g. 0 against a test double, or higher on a shared token).
 */
export function writeIntervalMs(env: NodeJS.ProcessEnv): number {
  const v = Number(env.RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS);
  return Number.isFinite(v) && v >= 0 ? v : 750;
}

export const defaultRetryPolicy: RetryPolicy = {
  serverErrorRetries: 4,
  rateLimitRetries: 3,
  maxRateLimitWaitSeconds: 900,
};

interface ClientCache {
  clients: Map<string, Promise<Octokit>>;
}

/**
 * An Octokit for `apiUrl` with the throttling plugin (honours `retry-after` and the rate-limit
 * reset time, paces content-creating requests) and the retry plugin (backs off on 5xx), shared by
 * every resource in this provider process so the pacing is shared too.
 */
export async function gitHubClient(
  apiUrl: string,
  credentials: GitHubCredentials,
  policy: RetryPolicy = defaultRetryPolicy,
): Promise<Octokit> {
  return (await gitHubClientWithKey(apiUrl, credentials, policy)).octokit;
}

/** The shared client, and the key that names it (for caches of its answers, as listings). */
export async function gitHubClientWithKey(
  apiUrl: string,
  credentials: GitHubCredentials,
  policy: RetryPolicy = defaultRetryPolicy,
): Promise<{ octokit: Octokit; clientKey: string }> {
  const { createHash } = await import("node:crypto");
  const key = createHash("sha256")
    .update(JSON.stringify([apiUrl, credentials, policy]))
    .digest("hex");
  const g = globalThis as typeof globalThis & { __runnerFleetGitHub?: ClientCache };
  g.__runnerFleetGitHub ??= { clients: new Map() };
  let client = g.__runnerFleetGitHub.clients.get(key);
  if (!client) {
    client = newClient(apiUrl, credentials, policy);
    g.__runnerFleetGitHub.clients.set(key, client);
  }
  return { octokit: await client, clientKey: key };
}

async function newClient(
  apiUrl: string,
  credentials: GitHubCredentials,
  policy: RetryPolicy,
): Promise<Octokit> {
  const { Octokit: Base } = await import("@octokit/rest");
  const { throttling } = await import("@octokit/plugin-throttling");
  const { retry } = await import("@octokit/plugin-retry");
  const Client = Base.plugin(throttling, retry);
  const { default: Bottleneck } = await import("bottleneck");
  const auth =
    credentials.kind === "token"
      ? { auth: credentials.token }
      : {
          authStrategy: (await import("@octokit/auth-app")).createAppAuth,
          auth: {
            appId: credentials.appId,
            installationId: credentials.installationId,
            privateKey: credentials.privateKey,
          },
        };
  const rateLimited = (retryAfter: number, retryCount: number): boolean =>
    retryCount < policy.rateLimitRetries && retryAfter <= policy.maxRateLimitWaitSeconds;
  const client = new Client({
    ...auth,
    baseUrl: apiUrl.replace(/\/$/, ""),
    userAgent: "runner-fleet",
    // Octokit logs request details on warnings; the providers report errors themselves.
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    // 409 (name taken) and 429 (rate limit, the throttling plugin's business) are not retried.
    retry: {
      retries: policy.serverErrorRetries,
      doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451],
    },
    throttle: {
      write: new Bottleneck.Group({ maxConcurrent: 1, minTime: writeIntervalMs(process.env) }),
      onRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) =>
        rateLimited(retryAfter, retryCount),
      onSecondaryRateLimit: (
        retryAfter: number,
        _options: unknown,
        _octokit: unknown,
        retryCount: number,
      ) => rateLimited(retryAfter, retryCount),
    },
  }) as unknown as Octokit;
  // Every write attempt counts against the hour's budget, answered or not (rules/github-write-budget.ts).
  client.hook.before("request", (options) => {
    if (options.method !== "GET" && options.method !== "HEAD") recordWrite(process.env);
  });
  return client;
}

/** The HTTP status of an Octokit error, or undefined for a network failure. */
export function httpStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown })?.status;
  return typeof status === "number" ? status : undefined;
}

/**
 * An error message safe for logs and state: the operation, the HTTP status and GitHub's message,
 * never the request (which carries the token or a JIT config).
 */
export function describeGitHubError(operation: string, err: unknown): string {
  const status = httpStatus(err);
  const message = (err as { response?: { data?: { message?: unknown } } })?.response?.data?.message;
  const detail = typeof message === "string" ? message : (err as Error)?.message;
  return `${operation} failed${status ? ` (HTTP ${status})` : ""}: ${detail ?? "unknown error"}`;
}
