// Where an `up` gets its demand snapshot (fleet/demand.ts): from a file the webhook receiver
// keeps (RUNNER_FLEET_DEMAND_FILE, reconciler/), or for a repository from GitHub's REST API, the
// queued jobs of its workflow runs. GitHub lists no queue for an organisation, so there only the
// webhook deliveries tell it. A run with one job running can hold others still queued, so runs in
// progress are read as well as queued ones.
import * as fs from "node:fs";
import { gitHubClient, GitHubCredentials } from "../dynamic-providers/github/client";
import { isRepositoryPath } from "../rules/github";
import type { DemandSnapshot } from "./demand";

interface RunJson {
  id: number;
}
interface JobJson {
  id: number;
  status: string;
  labels: string[];
}

/** The environment variable naming the snapshot file the webhook receiver keeps. */
export const DEMAND_FILE_ENV = "RUNNER_FLEET_DEMAND_FILE";

/**
 * The demand snapshot for this `up`: the file `RUNNER_FLEET_DEMAND_FILE` names if set, else the
 * queue of a repository's runs; undefined for an organisation without the file.
 */
export async function demandSnapshot(
  apiUrl: string,
  path: string,
  credentials: GitHubCredentials,
  env: NodeJS.ProcessEnv,
): Promise<DemandSnapshot | undefined> {
  const file = env[DEMAND_FILE_ENV];
  if (file) return readDemandFile(file);
  return queuedJobsOf(apiUrl, path, credentials);
}

/** Writes a snapshot for the next `up` (atomically: an `up` never reads half a file). */
export function writeDemandFile(file: string, snapshot: DemandSnapshot): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(snapshot)}\n`);
  fs.renameSync(temporary, file);
}

/** The snapshot in `file`; undefined while there is none yet (a receiver that heard nothing). */
function readDemandFile(file: string): DemandSnapshot | undefined {
  if (!fs.existsSync(file)) return undefined;
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as DemandSnapshot;
  const valid =
    Array.isArray(parsed?.queued) &&
    parsed.queued.every(
      (j) => Array.isArray(j?.labels) && j.labels.every((l) => typeof l === "string"),
    );
  if (!valid) throw new Error(`${file} is not a demand snapshot {queued: [{labels}], source}`);
  return { queued: parsed.queued, source: `${parsed.source ?? "a file"} (${file})` };
}

/** The queued jobs of `path`'s runs, or undefined for an organisation (no listing exists). */
export async function queuedJobsOf(
  apiUrl: string,
  path: string,
  credentials: GitHubCredentials,
): Promise<DemandSnapshot | undefined> {
  if (!isRepositoryPath(path)) return undefined;
  const octokit = await gitHubClient(apiUrl, credentials);
  const runs = async (status: string) =>
    (await octokit.paginate(`GET /repos/${path}/actions/runs`, {
      status,
      per_page: 100,
    })) as unknown as RunJson[];
  const open = [...(await runs("queued")), ...(await runs("in_progress"))];
  const queued: DemandSnapshot["queued"] = [];
  for (const run of open) {
    const jobs = (await octokit.paginate(`GET /repos/${path}/actions/runs/${run.id}/jobs`, {
      filter: "latest",
      per_page: 100,
    })) as unknown as JobJson[];
    for (const job of jobs.filter((j) => j.status === "queued")) {
      queued.push({ id: job.id, labels: job.labels });
    }
  }
  return { queued, source: `GitHub's runs of ${path} (${open.length} open)` };
}
