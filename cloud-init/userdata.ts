// The userdata of a runner's server: a bash script that prepares the server, runs the GitHub runner
// for its one job and records how it ended. OS commands are called by plain name so that a
// simulator can stand in for them through PATH.
import { METRICS_FILES } from "../rules/metrics-exchange";
import {
  PRE_JOB_SCRIPT_NAME,
  UserDataRegistration,
  USERDATA_DEFAULTS,
  RunnerUserDataSettings,
  UserDataOptions,
} from "./options";
import { renderPreJobScript } from "./pre-job";
import { renderRunnerEnv, proxyVariables } from "./runner-env";
import { heredoc, shellQuote } from "../rules/shell";
import { renderTransparentProxy } from "./transparent-proxy";
import { throwOnProblems, userDataProblems } from "./validate";

/** Nova refuses userdata whose base64 encoding is longer than this. */
export const USERDATA_MAX_BASE64_LENGTH = 65535;

/** How many times apt-get update is tried before the userdata goes on without it. */
const APT_ATTEMPTS = 5;

const HEADER = `#!/bin/bash
# Userdata of a runner-fleet runner: prepares the server, runs the GitHub runner for one job and
# records how it ended. It holds secrets: never trace it (no set -x).
set -eu -o pipefail

log() {
  echo "runner-fleet userdata: $*"
}

# Writes stdin to a file through a temporary one: the metrics pull may read at any moment and must
# never see half a file.
write_atomically() {
  cat >"$1.tmp" && mv -f "$1.tmp" "$1"
}
`;

function hostnameAndEnvSection(opts: UserDataOptions, preJobPath: string): string {
  const env = heredoc(renderRunnerEnv({ ...opts, preJobScriptPath: preJobPath }), "RUNNER_ENV");
  const exports = proxyVariables(opts.proxy).map(([k, v]) => `export ${k}=${shellQuote(v)}\n`);
  return `
log "setting the hostname and the runner's environment"
hostnamectl set-hostname ${shellQuote(opts.runnerName)}
cat >"$runner_dir/.env" ${env.redirect}
${env.text}
chown ubuntu:ubuntu "$runner_dir/.env"
${exports.length ? `# This script's own downloads (apt) go through the proxy too.\n${exports.join("")}` : ""}`;
}

function hostKeySection(key: { privateKey: string; publicKey: string }): string {
  const priv = heredoc(key.privateKey.trim(), "HOST_KEY");
  const pub = heredoc(key.publicKey.trim(), "HOST_KEY_PUB");
  return `
log "installing the SSH host key the manager pins"
(
  umask 077
  cat >/etc/ssh/ssh_host_ed25519_key ${priv.redirect}
${priv.text}
)
cat >/etc/ssh/ssh_host_ed25519_key.pub ${pub.redirect}
${pub.text}
chmod 0644 /etc/ssh/ssh_host_ed25519_key.pub
systemctl restart ssh
`;
}

function authorizedKeySection(publicKey: string): string {
  const line = heredoc(publicKey.trim(), "AUTHORIZED_KEY");
  return `
log "authorizing the manager's metrics key"
install -d -m 0700 -o ubuntu -g ubuntu /home/ubuntu/.ssh
cat >>/home/ubuntu/.ssh/authorized_keys ${line.redirect}
${line.text}
chown ubuntu:ubuntu /home/ubuntu/.ssh/authorized_keys
chmod 0600 /home/ubuntu/.ssh/authorized_keys
`;
}

function transparentProxySection(upstream: string): string {
  return `
log "setting up the transparent proxy"
${renderTransparentProxy(upstream)}
`;
}

function packagesSection(opts: UserDataOptions): string {
  const daemonJson = opts.dockerDaemonConfigPath ?? USERDATA_DEFAULTS.dockerDaemonConfigPath;
  const daemonDir = daemonJson.slice(0, daemonJson.lastIndexOf("/")) || "/";
  const docker =
    opts.dockerhubMirror === undefined
      ? ""
      : `
log "pointing Docker at the Docker Hub mirror"
# Merged into the daemon's existing settings, which the image may have.
mkdir -p ${shellQuote(daemonDir)}
{ cat ${shellQuote(daemonJson)} 2>/dev/null || true; } |
  jq -s --arg mirror ${shellQuote(opts.dockerhubMirror)} '(.[0] // {}) + {"registry-mirrors": [$mirror]}' |
  write_atomically ${shellQuote(daemonJson)}
systemctl restart docker
`;
  return `
log "updating the package lists"
# Jobs that need packages update the lists again, so the runner still starts without them.
export DEBIAN_FRONTEND=noninteractive
for attempt in $(seq ${APT_ATTEMPTS}); do
  if apt-get update; then
    break
  elif [ "$attempt" -lt ${APT_ATTEMPTS} ]; then
    sleep $((attempt * 10))
  else
    log "warning: apt-get update failed ${APT_ATTEMPTS} times; going on without it"
  fi
done
usermod -aG lxd,adm ubuntu
${docker}`;
}

function preJobSection(opts: UserDataOptions): string {
  const script = heredoc(renderPreJobScript(opts), "PRE_JOB_SCRIPT");
  return `
log "writing the pre-job script"
mkdir -p "$metrics_dir"
chown ubuntu:ubuntu "$metrics_dir"
cat >"$pre_job_script" ${script.redirect}
${script.text}
chmod 755 "$pre_job_script"
`;
}

/** The commands that run the runner as `ubuntu`, each through one `runuser` a shim can replace. */
function runnerCommands(name: string, reg: UserDataRegistration): string {
  const asRunner = "runuser -u ubuntu --";
  if (reg.mode === "jit") {
    return `${asRunner} ./run.sh --jitconfig ${shellQuote(reg.encodedJitConfig)}`;
  }
  const labels = reg.labels.length ? ` --labels ${shellQuote(reg.labels.join(","))}` : "";
  return (
    `${asRunner} ./config.sh --url ${shellQuote(reg.url)} --token ${shellQuote(reg.token)} ` +
    `--name ${shellQuote(name)}${labels} --ephemeral --unattended --disableupdate &&\n  ` +
    `${asRunner} ./run.sh`
  );
}

function runSection(opts: UserDataOptions): string {
  return `
log "starting the runner"
date +%s | write_atomically "$metrics_dir/${METRICS_FILES.installed}"
cd "$runner_dir"
runner_status=0
${runnerCommands(opts.runnerName, opts.registration)} || runner_status=$?
log "the runner exited with status $runner_status"

post_job="$metrics_dir/${METRICS_FILES.postJob}"
# A policy refusal, recorded by the pre-job script, says more than the runner's exit status.
if grep -qs '"repo-policy-check-failure"' "$post_job"; then
  log "keeping the repo-policy-check-failure post-job metrics"
else
  if [ "$runner_status" -eq 0 ]; then status=normal; else status=abnormal; fi
  printf '{"timestamp":%s,"status":"%s","status_info":{"code":%s}}\\n' \\
    "$(date +%s)" "$status" "$runner_status" | write_atomically "$post_job"
fi
exit "$runner_status"
`;
}

/**
 * The userdata of one runner, a bash script. In order: sets the hostname and writes the runner's
 * `.env`; with `proxy.aproxyAddress`, installs aproxy and the nftables redirect; runs apt-get
 * update (up to 5 tries, then goes on), adds `ubuntu` to lxd and adm, and with `dockerhubMirror`
 * sets Docker's registry mirror; creates the metrics directory and writes the job-started hook
 * (see `renderPreJobScript`); writes `runner-installed.timestamp`, runs the runner as `ubuntu`
 * (`runuser -u ubuntu --`: `run.sh --jitconfig`, or `config.sh` then `run.sh` with a registration
 * token) and writes `post-job-metrics.json` (status normal for exit status 0, else abnormal),
 * unless the hook recorded a repo-policy-check failure. Exits with the runner's exit status.
 * Commands it calls by name: hostnamectl, chown, snap, nft, apt-get, usermod, jq, systemctl,
 * runuser, and those of the hook.
 * @throws Error naming every invalid option, or when Nova would refuse the userdata as too long
 */
export function renderUserData(opts: UserDataOptions): string {
  throwOnProblems(userDataProblems(opts));
  const script = buildUserData(opts);
  const encodedLength = base64Length(script);
  if (encodedLength > USERDATA_MAX_BASE64_LENGTH) {
    throw new Error(
      `the userdata of runner ${opts.runnerName} is ${encodedLength} characters in base64; ` +
        `OpenStack allows at most ${USERDATA_MAX_BASE64_LENGTH}: shorten \`preJobScript\``,
    );
  }
  return script;
}

/** Characters of `text` in base64, as Nova counts userdata. */
function base64Length(text: string): number {
  return 4 * Math.ceil(Buffer.byteLength(text) / 3);
}

/**
 * Room the size check at preview keeps for a runner's JIT config, which only GitHub knows and only
 * at `up`: GitHub's were about 3 KB and grew by about 4 KB in 2025; this leaves 5 KB more.
 */
export const JIT_CONFIG_RESERVE = 12_288;

/**
 * The base64 length of the largest userdata a runner of these settings gets: the longest runner
 * name, a JIT config of JIT_CONFIG_RESERVE characters (or a registration token, URL and labels),
 * a host key and a repo-policy token of their real sizes. Known at preview, so an oversize
 * setting fails before any resource changes rather than halfway through an `up`.
 */
export function largestUserDataLength(
  settings: RunnerUserDataSettings,
  registration: { mode: "jit" } | { mode: "registration-token"; url: string; labels: string[] },
): number {
  const policy = settings.repoPolicyCompliance;
  return base64Length(
    buildUserData({
      ...settings,
      ...(policy ? { repoPolicyCompliance: { ...policy, token: "t".repeat(256) } } : {}),
      runnerName: "r".repeat(64),
      registration:
        registration.mode === "jit"
          ? { mode: "jit", encodedJitConfig: "A".repeat(JIT_CONFIG_RESERVE) }
          : { ...registration, token: "A".repeat(64) },
      // An ed25519 key in OpenSSH's format: 411 characters private, about 100 public.
      sshHostKey: { privateKey: "k".repeat(411), publicKey: `ssh-ed25519 ${"A".repeat(68)} r` },
      sshAuthorizedKey: `ssh-ed25519 ${"A".repeat(68)} runner-fleet-metrics@${"r".repeat(64)}`,
    }),
  );
}

/** The script, unchecked (see renderUserData). */
function buildUserData(opts: UserDataOptions): string {
  const runnerDir = opts.runnerDir ?? USERDATA_DEFAULTS.runnerDir;
  const metricsDir = opts.metricsDir ?? USERDATA_DEFAULTS.metricsDir;
  const preJobPath = `${runnerDir}/${PRE_JOB_SCRIPT_NAME}`;
  const aproxy = opts.proxy?.aproxyAddress;
  return [
    HEADER,
    `
runner_dir=${shellQuote(runnerDir)}
metrics_dir=${shellQuote(metricsDir)}
pre_job_script=${shellQuote(preJobPath)}
`,
    hostnameAndEnvSection(opts, preJobPath),
    opts.sshHostKey ? hostKeySection(opts.sshHostKey) : "",
    opts.sshAuthorizedKey ? authorizedKeySection(opts.sshAuthorizedKey) : "",
    aproxy === undefined ? "" : transparentProxySection(aproxy),
    packagesSection(opts),
    preJobSection(opts),
    runSection(opts),
  ].join("");
}
