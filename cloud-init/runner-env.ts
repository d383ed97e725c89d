// The runner's `.env` file: variables the GitHub runner loads at start and passes to every job.
import { createHash } from "node:crypto";
import type { ProxySettings, SshDebugRelay } from "./options";

/** PATH of jobs: the usual system directories, plus snaps (lxd, aproxy) and user-local tools. */
const RUNNER_PATH =
  "/home/ubuntu/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin";

/**
 * The relay one runner uses: picked by a SHA-256 hash of the runner's name, so a fleet spreads over
 * the relays while each runner's userdata stays the same from one render to the next (a random pick
 * would change it, and Pulumi would replace the server). Undefined without relays.
 */
export function pickSshDebugRelay(
  runnerName: string,
  relays: readonly SshDebugRelay[] | undefined,
): SshDebugRelay | undefined {
  if (!relays || relays.length === 0) return undefined;
  const hash = createHash("sha256").update(runnerName).digest().readUInt32BE(0);
  return relays[hash % relays.length];
}

/** The proxy variables, each in lower and upper case since tools read one or the other. */
export function proxyVariables(proxy: ProxySettings | undefined): [string, string][] {
  const vars: [string, string][] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined) vars.push([name, value], [name.toUpperCase(), value]);
  };
  add("http_proxy", proxy?.http);
  add("https_proxy", proxy?.https);
  add("no_proxy", proxy?.noProxy);
  return vars;
}

/** What the `.env` depends on. */
export interface RunnerEnvInputs {
  runnerName: string;
  /** Absolute path of the job-started hook. */
  preJobScriptPath: string;
  proxy?: ProxySettings;
  dockerhubMirror?: string;
  sshDebugRelays?: SshDebugRelay[];
}

/**
 * The `.env` file's text, one `KEY=VALUE` a line. The runner takes each value verbatim (no quotes,
 * no expansion), so values are written as they are; validation keeps line breaks out of them.
 */
export function renderRunnerEnv(inputs: RunnerEnvInputs): string {
  const vars: [string, string][] = [
    ["PATH", RUNNER_PATH],
    ["LANG", "C.UTF-8"],
    ["ACTIONS_RUNNER_HOOK_JOB_STARTED", inputs.preJobScriptPath],
    ...proxyVariables(inputs.proxy),
  ];
  if (inputs.dockerhubMirror !== undefined) {
    vars.push(
      ["DOCKERHUB_MIRROR", inputs.dockerhubMirror],
      ["CONTAINER_REGISTRY_URL", inputs.dockerhubMirror],
    );
  }
  const relay = pickSshDebugRelay(inputs.runnerName, inputs.sshDebugRelays);
  if (relay) {
    vars.push(
      ["TMATE_SERVER_HOST", relay.host],
      ["TMATE_SERVER_PORT", String(relay.port)],
      ["TMATE_SERVER_RSA_FINGERPRINT", relay.rsaFingerprint],
      ["TMATE_SERVER_ED25519_FINGERPRINT", relay.ed25519Fingerprint],
    );
  }
  return vars.map(([k, v]) => `${k}=${v}\n`).join("");
}
