// The cloud-init userdata of a runner's server, rendered by pure functions.
export {
  APROXY_PORT,
  USERDATA_DEFAULTS,
  type ProxySettings,
  type RepoPolicyCompliance,
  type UserDataRegistration,
  type RunnerUserDataSettings,
  type SshDebugRelay,
  type UserDataOptions,
} from "./options";
export { renderPreJobScript, type PreJobOptions } from "./pre-job";
export { pickSshDebugRelay } from "./runner-env";
export { renderNftRuleset } from "./transparent-proxy";
export {
  JIT_CONFIG_RESERVE,
  largestUserDataLength,
  renderUserData,
  USERDATA_MAX_BASE64_LENGTH,
} from "./userdata";
