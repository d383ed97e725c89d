// The job-started hook (ACTIONS_RUNNER_HOOK_JOB_STARTED): the runner runs it, as its own user and
// with the job's GITHUB_* variables, before the job's first step; a non-zero exit fails the job.
import { METRICS_FILES } from "../rules/metrics-exchange";
import { RepoPolicyCompliance, USERDATA_DEFAULTS, UserDataOptions } from "./options";
import { shellQuote } from "../rules/shell";
import { preJobProblems, throwOnProblems } from "./validate";

/** What the hook depends on. */
export type PreJobOptions = Pick<
  UserDataOptions,
  "metricsDir" | "repoPolicyCompliance" | "authorCheck" | "preJobScript"
>;

/** Longest workflow name recorded: the metrics pull reads files of at most 1024 bytes. */
const WORKFLOW_NAME_MAX = 120;

const HEADER = `#!/bin/bash
# Job-started hook of a runner-fleet runner: records the job's metrics, then runs the checks that
# may refuse the job. A non-zero exit fails the job.
set -u -o pipefail
`;

const HELPERS = `
# Writes stdin to a file through a temporary one: the metrics pull may read at any moment and must
# never see half a file.
write_atomically() {
  cat >"$1.tmp" && mv -f "$1.tmp" "$1"
}

# The job's event payload, or /dev/null (no payload) when the runner gave none.
event_path=\${GITHUB_EVENT_PATH:-}
if [ ! -r "$event_path" ]; then
  event_path=/dev/null
fi
`;

/** Pre-job metrics, written with jq so any workflow name gives valid JSON. */
function metricsSection(): string {
  return `
# Metrics are best effort: failing to write them must not fail the job. The workflow name is cut
# so that the file stays small enough for the metrics pull to read it.
if ! metrics=$(jq -n -c \\
  --arg workflow "\${GITHUB_WORKFLOW:-}" \\
  --arg repository "\${GITHUB_REPOSITORY:-}" \\
  --arg event "\${GITHUB_EVENT_NAME:-}" \\
  --arg run_id "\${GITHUB_RUN_ID:-}" \\
  --argjson timestamp "$(date +%s)" \\
  '{workflow: $workflow[:${WORKFLOW_NAME_MAX}], repository: $repository, event: $event, timestamp: $timestamp, workflow_run_id: $run_id}') ||
  ! printf '%s\\n' "$metrics" | write_atomically "$metrics_dir/${METRICS_FILES.preJob}"; then
  echo "runner-fleet pre-job: could not write the pre-job metrics" >&2
fi
`;
}

/** The repo-policy-compliance check: any answer but 2xx refuses the job and stops the server. */
function policySection(policy: RepoPolicyCompliance): string {
  const url = `${policy.url.replace(/\/+$/, "")}/check-run`;
  return `
# Repo-policy-compliance check: the service must approve this job before it runs.
policy_url=${shellQuote(url)}
policy_token=${shellQuote(policy.token)}

# Records the failure, stops the runner and powers the server off: a runner whose job the policy
# refused must not take another. $1: HTTP status (0 without an answer), $2: why.
refuse_by_policy() {
  echo "runner-fleet pre-job: the repo-policy-compliance check failed: $2" >&2
  # Stopping the listener makes the runner stop this script too; the power-off must still happen.
  trap '' INT TERM HUP
  printf '{"timestamp":%s,"status":"repo-policy-check-failure","status_info":{"code":%s}}\\n' \\
    "$(date +%s)" "$1" | write_atomically "$metrics_dir/${METRICS_FILES.postJob}"
  pkill -f Runner.Listener
  # The hook runs as the runner's user, which powers off through its passwordless sudo.
  sudo -n shutdown -h now
  exit 1
}

# For a pull request, the commit and repository are those of its head, which the job runs:
# GITHUB_SHA is then a merge commit, and the head may be a fork.
ref_branch=\${GITHUB_REF:-}
ref_branch=\${ref_branch#refs/heads/}
if ! policy_request=$(jq -n -c --slurpfile event "$event_path" \\
  --arg repository "\${GITHUB_REPOSITORY:-}" \\
  --arg target "\${GITHUB_BASE_REF:-$ref_branch}" \\
  --arg source "\${GITHUB_HEAD_REF:-$ref_branch}" \\
  --arg sha "\${GITHUB_SHA:-}" \\
  '($event[0] // {}) as $e | {repository_name: $repository, source_repository_name: ($e.pull_request.head.repo.full_name // $repository), target_branch_name: $target, source_branch_name: $source, commit_sha: ($e.pull_request.head.sha // $sha)}'); then
  refuse_by_policy 0 "could not build the request from the job's event payload"
fi
policy_answer=$(mktemp) || refuse_by_policy 0 "could not create a temporary file"
# The token goes through a file descriptor, never onto a command line that ps would show.
http_code=$(curl --silent --show-error --max-time 60 --output "$policy_answer" \\
  --write-out '%{http_code}' --header 'Content-Type: application/json' \\
  --header @<(printf 'Authorization: Bearer %s\\n' "$policy_token") \\
  --data-binary "$policy_request" "$policy_url")
curl_status=$?
if ! [[ $http_code =~ ^[0-9]+$ ]]; then
  http_code=0
fi
http_code=$((10#$http_code))
if [ "$curl_status" -ne 0 ]; then
  refuse_by_policy "$http_code" "no answer from $policy_url (curl exit status $curl_status)"
elif [ "$http_code" -lt 200 ] || [ "$http_code" -gt 299 ]; then
  refuse_by_policy "$http_code" "$policy_url answered HTTP $http_code: $(head -c 1000 "$policy_answer")"
fi
rm -f "$policy_answer"
echo "runner-fleet pre-job: the repo-policy-compliance check passed"
`;
}

/** The author check: pull requests run only for the repository's owners, members, collaborators. */
const AUTHOR_SECTION = `
# Author check: pull request jobs run only for those the repository trusts.
case "\${GITHUB_EVENT_NAME:-}" in
  pull_request | pull_request_target)
    association=$(jq -r '.pull_request.author_association // empty' "$event_path" 2>/dev/null) ||
      association=''
    case "$association" in
      OWNER | MEMBER | COLLABORATOR) ;;
      *)
        echo "runner-fleet pre-job: refusing this job: this runner only runs pull requests whose" \\
          "author is an OWNER, MEMBER or COLLABORATOR of the repository; the author of this one" \\
          "is \${association:-unknown} (author_association)" >&2
        exit 1
        ;;
    esac
    ;;
esac
`;

/** The operator's script, run by bash; quoted as one word, so any text is safe. */
function userScriptSection(script: string): string {
  return `
# The operator's pre-job script: its failure fails the job.
bash -c ${shellQuote(script)} pre-job-script || {
  status=$?
  echo "runner-fleet pre-job: the pre-job script failed with exit status $status" >&2
  exit "$status"
}
`;
}

/**
 * The job-started hook, a bash script. In order: writes `pre-job-metrics.json` (workflow,
 * repository, event, timestamp, workflow_run_id); with `repoPolicyCompliance`, asks the service
 * and, unless it answers 2xx, writes a `repo-policy-check-failure` post-job file, stops the runner
 * (`pkill -f Runner.Listener`), powers off (`sudo -n shutdown -h now`) and exits 1; with
 * `authorCheck`, exits 1 for a pull request whose author is not an OWNER, MEMBER or COLLABORATOR;
 * runs `preJobScript`. Needs bash, jq and, for the policy check, curl.
 * @throws Error naming every invalid option
 */
export function renderPreJobScript(opts: PreJobOptions): string {
  throwOnProblems(preJobProblems(opts));
  const metricsDir = opts.metricsDir ?? USERDATA_DEFAULTS.metricsDir;
  return [
    HEADER,
    `\nmetrics_dir=${shellQuote(metricsDir)}\n`,
    HELPERS,
    metricsSection(),
    opts.repoPolicyCompliance ? policySection(opts.repoPolicyCompliance) : "",
    opts.authorCheck ? AUTHOR_SECTION : "",
    opts.preJobScript !== undefined ? userScriptSection(opts.preJobScript) : "",
  ].join("");
}
