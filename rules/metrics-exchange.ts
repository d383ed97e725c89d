// The contract between a runner VM and the manager's metrics pull: the directory the userdata and
// the job hooks write to, the files in it, their size limit and the job statuses.

/** Directory of the metrics files on a runner VM. */
export const METRICS_DIR = "/home/ubuntu/metrics-exchange";

/** Names of the files in the metrics exchange directory. */
export const METRICS_FILES = {
  installed: "runner-installed.timestamp",
  preJob: "pre-job-metrics.json",
  postJob: "post-job-metrics.json",
} as const;

/** Largest size of a metrics file that is read at all, in bytes. */
export const MAX_METRICS_FILE_BYTES = 1024;

/** How a job ended, as the post-job script reports it. */
export type PostJobStatus = "normal" | "abnormal" | "repo-policy-check-failure";

/** The statuses the post-job script writes and the pull accepts. */
export const POST_JOB_STATUSES: readonly PostJobStatus[] = [
  "normal",
  "abnormal",
  "repo-policy-check-failure",
];
