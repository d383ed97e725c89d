// What the program observes before planning: the runners its last deployment declared (its own
// stack outputs) and the runners GitHub lists now (one paged listing).
import * as pulumi from "@pulumi/pulumi";
import { gitHubClient, GitHubCredentials } from "../dynamic-providers/github-client";
import { listRunners } from "../dynamic-providers/runner-listing";
import type { KnownRunner, ObservedRunner } from "./fleet-plan";

/**
 * The `runners` output of this stack's last deployment, read through a reference to the stack
 * itself; empty on the first deployment. The state, not GitHub, says which runners are ours.
 */
export async function previousRunners(): Promise<KnownRunner[]> {
  const self = new pulumi.StackReference("previous-deployment", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  const details = await self.getOutputDetails("runners");
  const value = (details.value ?? details.secretValue) as KnownRunner[] | undefined;
  return Array.isArray(value)
    ? value.map(({ name, pool, createdAt }) => ({ name, pool, createdAt }))
    : [];
}

/** The runners GitHub lists for the fleet's owner whose names carry the fleet's prefix. */
export async function observedRunners(
  apiUrl: string,
  path: string,
  namePrefix: string,
  credentials: GitHubCredentials,
): Promise<ObservedRunner[]> {
  const octokit = await gitHubClient(apiUrl, credentials);
  // A fresh listing: under the Automation API the program runs in a long-lived process.
  const runners = await listRunners(octokit, undefined, path);
  return runners
    .filter((r) => r.name.startsWith(`${namePrefix}-`))
    .map(({ name, status, busy }) => ({ name, status, busy }));
}

/**
 * The newest runner version GitHub offers for the architecture, from its downloads list, so a
 * build of `latest` names a real version (and a new release triggers a new image).
 */
export async function latestRunnerVersion(
  apiUrl: string,
  path: string,
  architecture: "x86_64" | "aarch64",
  credentials: GitHubCredentials,
): Promise<string> {
  const octokit = await gitHubClient(apiUrl, credentials);
  const owner = path.includes("/") ? `repos/${path}` : `orgs/${path}`;
  const res = await octokit.request(`GET /${owner}/actions/runners/downloads`);
  const arch = architecture === "x86_64" ? "x64" : "arm64";
  const entry = (res.data as { os: string; architecture: string; filename: string }[]).find(
    (d) => d.os === "linux" && d.architecture === arch,
  );
  const version = /-(\d+\.\d+\.\d+)\.tar\.gz$/.exec(entry?.filename ?? "")?.[1];
  if (!version) throw new Error(`GitHub's runner downloads list has no linux/${arch} runner`);
  return version;
}
