// The userdata settings a stack's config gives every runner, and the check that they leave the
// userdata within Nova's limit once a runner's own parts (name, JIT config, host key) are added.
import {
  JIT_CONFIG_RESERVE,
  largestUserDataLength,
  RunnerUserDataSettings,
  USERDATA_MAX_BASE64_LENGTH,
} from "../cloud-init";
import { gitHubWebUrl } from "../rules/github";
import type { FleetConfig } from "./fleet-config";

/**
 * The userdata settings the config gives every runner. A change of one outdates the runners made
 * before it (fleet/runner-spec.ts lists each setting), which a rollout then replaces.
 */
export function userDataSettings(
  config: FleetConfig,
  repoPolicyToken: string | undefined,
): RunnerUserDataSettings {
  return {
    proxy: config.proxy,
    dockerhubMirror: config.dockerhubMirror,
    sshDebugRelays: config.sshDebugRelays,
    repoPolicyCompliance:
      config.repoPolicyComplianceUrl && repoPolicyToken
        ? { url: config.repoPolicyComplianceUrl, token: repoPolicyToken }
        : undefined,
    authorCheck: config.authorCheck,
    preJobScript: config.preJobScript,
  };
}

/**
 * Whether the largest userdata of any pool fits Nova's limit, with room for a JIT config of
 * JIT_CONFIG_RESERVE characters (the repo-policy token counted at its longest); a problem naming
 * the longest setting if not.
 */
export function userDataSizeProblem(config: FleetConfig): string | undefined {
  const settings = userDataSettings(config, config.repoPolicyComplianceUrl ? "t" : undefined);
  // A JIT config carries the labels; a registration token's userdata lists each pool's.
  const registrations =
    config.registrationMode === "jit"
      ? [{ mode: "jit" as const }]
      : config.pools.map((pool) => ({
          mode: "registration-token" as const,
          url: gitHubWebUrl(config.githubApiUrl, config.githubPath),
          labels: pool.labels,
        }));
  const length = Math.max(...registrations.map((r) => largestUserDataLength(settings, r)));
  if (length <= USERDATA_MAX_BASE64_LENGTH) return undefined;
  const over = Math.ceil(((length - USERDATA_MAX_BASE64_LENGTH) * 3) / 4);
  const culprit =
    config.preJobScript !== undefined
      ? `\`preJobScript\` (${Buffer.byteLength(config.preJobScript)} bytes)`
      : "the userdata settings (`proxy`, `sshDebugRelays`, `dockerhubMirror`)";
  return (
    `${culprit} make the runners' userdata ${length} characters in base64, with room for a ` +
    `JIT config of ${JIT_CONFIG_RESERVE}; OpenStack allows at most ${USERDATA_MAX_BASE64_LENGTH}: ` +
    `shorten it by at least ${over} bytes`
  );
}
