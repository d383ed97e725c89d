// A job as the double's REST API gives it (`GET /repos/{owner}/{repo}/actions/jobs/{id}`), for the
// tests, bench and sandbox that time jobs: the wait is started_at − created_at.
export interface JobTimes {
  status: string;
  conclusion: string | null;
  created_at: string;
  started_at: string;
}

export async function fetchJob(
  gh: { url: string; adminToken: string },
  id: number,
  repo = "acme/widgets",
): Promise<JobTimes> {
  const res = await fetch(`${gh.url}/repos/${repo}/actions/jobs/${id}`, {
    headers: { authorization: `Bearer ${gh.adminToken}` },
  });
  if (!res.ok) throw new Error(`job ${id}: HTTP ${res.status}`);
  return (await res.json()) as JobTimes;
}

/** Seconds a job waited for a runner. */
export const jobWaitSeconds = (j: JobTimes): number =>
  (Date.parse(j.started_at) - Date.parse(j.created_at)) / 1000;
