// Defaults and ranges of the settings that both the stack config and the providers' inputs carry:
// the config validates what an operator writes, the providers' `check` what the state holds.
import { GITHUB_COM_API_URL, RegistrationMode } from "./github";
import { integerRule } from "./rule";

export const settingDefaults = {
  githubApiUrl: GITHUB_COM_API_URL,
  runnerGroup: "Default",
  registrationMode: "jit" as RegistrationMode,
  /** 23 minutes: a slow image boots and registers well within it. */
  bootGraceSeconds: 1380,
  busyWaitSeconds: 600,
  flushBusy: false,
};

/**
 * A runner offline past the boot grace counts as dead, so a grace under a minute would drop
 * runners that are still booting.
 */
export const bootGraceSeconds = integerRule(60, 86_400);

/** 0 means: do not wait for a busy runner's job (fail, or flush with flushBusy). */
export const busyWaitSeconds = integerRule(0, 86_400);
