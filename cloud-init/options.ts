// What the userdata of one runner can be told, and the defaults of what it may leave out.
import { METRICS_DIR } from "../rules/metrics-exchange";

/** How the runner gets onto GitHub. */
export type UserDataRegistration =
  | {
      mode: "jit";
      /** `encoded_jit_config` from GitHub's generate-jitconfig API, a secret. */
      encodedJitConfig: string;
    }
  | {
      /** Registration token, for GitHub Enterprise Server < 3.10 (no JIT configs). */
      mode: "registration-token";
      /** Web URL of the organisation or repository, as `config.sh --url` wants it. */
      url: string;
      /** Registration token, a secret. */
      token: string;
      /** Labels beyond GitHub's defaults (`self-hosted`, OS, architecture); may be empty. */
      labels: string[];
    };

/** Proxy settings of the runner. */
export interface ProxySettings {
  /** `http_proxy`/`HTTP_PROXY` of the runner and of the userdata's own apt-get. */
  http?: string;
  /** `https_proxy`/`HTTPS_PROXY`, likewise. */
  https?: string;
  /** `no_proxy`/`NO_PROXY`, likewise: a comma-separated list. */
  noProxy?: string;
  /**
   * `host:port` of an upstream HTTP proxy to send all outbound TCP 80/443 to, transparently: the
   * aproxy snap listens on :54969 and nftables redirects there every such connection not bound for
   * 10/8, 172.16/12, 192.168/16 or 127/8. The upstream proxy itself must therefore be at one of
   * those addresses or on another port, or aproxy's own connections would loop back into it.
   * The rules are not persisted: the server only ever boots once.
   * @default no transparent proxy
   */
  aproxyAddress?: string;
}

/** A tmate server that jobs may open SSH debug sessions through. */
export interface SshDebugRelay {
  host: string;
  port: number;
  /** `SHA256:...` fingerprint of the relay's RSA host key. */
  rsaFingerprint: string;
  /** `SHA256:...` fingerprint of the relay's ed25519 host key. */
  ed25519Fingerprint: string;
}

/** The repo-policy-compliance service that must approve each job before it runs. */
export interface RepoPolicyCompliance {
  /** Base URL of the service; the check is a POST to `<url>/check-run`. */
  url: string;
  /** One-time token of this runner, a secret, sent as `Authorization: Bearer <token>`. */
  token: string;
}

/** Everything the userdata of one runner depends on. */
export interface UserDataOptions {
  /** Runner name on GitHub, also the server's hostname. */
  runnerName: string;
  registration: UserDataRegistration;
  /**
   * Directory of the GitHub runner in the image, owned by `ubuntu`.
   * @default "/home/ubuntu/actions-runner"
   */
  runnerDir?: string;
  /**
   * Directory the metrics files are written to, pulled over SSH before the server is deleted.
   * @default METRICS_DIR (rules/metrics-exchange.ts)
   */
  metricsDir?: string;
  /** @default no proxy settings */
  proxy?: ProxySettings;
  /**
   * URL of a Docker Hub mirror: set as Docker's `registry-mirrors` (other daemon settings kept)
   * and given to jobs as `DOCKERHUB_MIRROR` and `CONTAINER_REGISTRY_URL`.
   * @default Docker Hub itself
   */
  dockerhubMirror?: string;
  /**
   * Where Docker's daemon configuration is; only tests and simulators change it.
   * @default "/etc/docker/daemon.json"
   */
  dockerDaemonConfigPath?: string;
  /**
   * tmate relays for SSH debug sessions. One is given to the runner (`TMATE_SERVER_*`), chosen by
   * a stable hash of the runner's name: runners spread over the relays, and rendering the same
   * runner again gives the same userdata, so no server is replaced for it.
   * @default none: jobs use tmate's public servers
   */
  sshDebugRelays?: SshDebugRelay[];
  /**
   * The service that must approve every job; a refusal or no answer fails the job, writes a
   * `repo-policy-check-failure` post-job metrics file and powers the server off.
   * @default no check
   */
  repoPolicyCompliance?: RepoPolicyCompliance;
  /**
   * Refuse `pull_request` and `pull_request_target` jobs whose pull request author is not an
   * OWNER, MEMBER or COLLABORATOR of the repository.
   * @default false
   */
  authorCheck?: boolean;
  /**
   * A bash script run at the start of every job, after the checks; its failure fails the job.
   * @default none
   */
  preJobScript?: string;
  /**
   * The server's ed25519 SSH host key, made by the manager (a secret) so it can pin the public
   * half when it pulls metrics: installed as `/etc/ssh/ssh_host_ed25519_key`, then sshd restarts.
   * Userdata scripts run after cloud-init generated its own keys, so this one replaces them.
   * @default the host keys cloud-init generates (nothing pinned)
   */
  sshHostKey?: { privateKey: string; publicKey: string };
  /**
   * The public line of the key the manager's metrics pull logs in with (a lean runner's, made
   * with its registration): appended to `ubuntu`'s authorized_keys. Runners made before lean
   * runners got theirs from a Nova keypair instead.
   * @default none beyond what cloud-init installs
   */
  sshAuthorizedKey?: string;
}

/** What every runner of a fleet shares: the options other than its name, registration and key. */
export type RunnerUserDataSettings = Omit<
  UserDataOptions,
  "runnerName" | "registration" | "sshHostKey" | "sshAuthorizedKey"
>;

/** Defaults of the optional paths. */
export const USERDATA_DEFAULTS = {
  runnerDir: "/home/ubuntu/actions-runner",
  metricsDir: METRICS_DIR,
  dockerDaemonConfigPath: "/etc/docker/daemon.json",
} as const;

/** Port aproxy listens on, the target of the nftables redirect. */
export const APROXY_PORT = 54969;

/** Name of the job-started hook in the runner directory. */
export const PRE_JOB_SCRIPT_NAME = "pre-job.sh";
