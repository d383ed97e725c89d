// Workflow jobs of a repository: one job, the jobs of a run, and the annotations of a job's check
// run (its id is the job's), where GitHub says why it failed a job the runner never finished.
import { docsUrl, notFound } from "./http-errors";
import { jobAnnotations, jobJson, runJson, type Repo } from "./jobs";
import { paginate } from "./pagination";
import { idParam, type RestRoute } from "./rest-route";

const docs = (anchor: string) => docsUrl(`actions/workflow-jobs#${anchor}`);

const repoOf = (params: Record<string, string>): Repo => ({
  kind: "repo",
  owner: params.owner,
  repo: params.repo,
});

/** The `status` values of GitHub's runs listing that the double's runs can have. */
const RUN_STATUSES = ["queued", "in_progress", "completed"];

export const jobRoutes: RestRoute[] = [
  {
    method: "GET",
    template: "/repos/{owner}/{repo}/actions/runs",
    access: "read",
    docs: docsUrl("actions/workflow-runs#list-workflow-runs-for-a-repository"),
    handle: ({ state, params, requestUrl }) => {
      const status = requestUrl.searchParams.get("status");
      // GitHub also takes conclusions (`success`, `failure`, ...) as a status filter.
      const runs = state.jobs
        .ofRepo(repoOf(params))
        .filter((j) =>
          status === null
            ? true
            : RUN_STATUSES.includes(status)
              ? j.status === status
              : j.conclusion === status,
        )
        .reverse(); // newest first, as GitHub lists them
      const page = paginate(runs, requestUrl, state.baseUrl);
      return {
        status: 200,
        body: {
          total_count: runs.length,
          workflow_runs: page.items.map((j) => runJson(j, state.baseUrl)),
        },
        headers: page.headers,
      };
    },
  },
  {
    method: "GET",
    template: "/repos/{owner}/{repo}/actions/jobs/{job_id}",
    access: "read",
    docs: docs("get-a-job-for-a-workflow-run"),
    handle: ({ state, params }) => {
      const job = state.jobs.get(repoOf(params), idParam(params.job_id));
      if (!job) throw notFound();
      return { status: 200, body: jobJson(job, state.baseUrl) };
    },
  },
  {
    method: "GET",
    template: "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs",
    access: "read",
    docs: docs("list-jobs-for-a-workflow-run"),
    handle: ({ state, params, requestUrl }) => {
      const jobs = state.jobs.ofRun(repoOf(params), idParam(params.run_id));
      // Every run has at least one job, so no jobs means no such run.
      if (jobs.length === 0) throw notFound();
      const page = paginate(jobs, requestUrl, state.baseUrl);
      return {
        status: 200,
        body: { total_count: jobs.length, jobs: page.items.map((j) => jobJson(j, state.baseUrl)) },
        headers: page.headers,
      };
    },
  },
  {
    method: "GET",
    template: "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations",
    access: "read",
    docs: docsUrl("checks/runs#list-check-run-annotations"),
    handle: ({ state, params, requestUrl }) => {
      const job = state.jobs.get(repoOf(params), idParam(params.check_run_id));
      if (!job) throw notFound();
      const page = paginate(jobAnnotations(job, state.baseUrl), requestUrl, state.baseUrl);
      return { status: 200, body: page.items, headers: page.headers };
    },
  },
];
