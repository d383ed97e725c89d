// Inputs of the GitHub runner registration, their defaults and their validation: pure functions,
// tested without an engine, used by the provider's `check`.

/** How a runner registers: a just-in-time config, or a registration token for GHES < 3.10. */
export type RegistrationMode = "jit" | "registration-token";

/** The registration's inputs once `check` applied the defaults. */
export interface RunnerRegistrationInputs {
  /** GitHub API base URL, e.g. `https://api.github.com` or `https://ghes.example/api/v3`. */
  apiUrl: string;
  /** `org` or `owner/repo`. */
  path: string;
  /** Runner name, also the server name. */
  name: string;
  /** Labels as configured; `self-hosted` and `linux` are added on GitHub. */
  labels: string[];
  /** Runner group name (organisations only). */
  runnerGroup: string;
  mode: RegistrationMode;
  /** A registration absent from GitHub is only judged gone after this many seconds. */
  bootGraceSeconds: number;
  /** How long a delete waits for a busy runner's job to end. */
  busyWaitSeconds: number;
  /** Delete a busy runner's registration anyway (its job fails). */
  flushBusy: boolean;
  /**
   * A digest of what the runner's server is made from (image, flavor, userdata settings). A JIT
   * config is single-use, so a server that must be replaced needs a new registration too.
   */
  serverSpec: string;
}

/** A validation failure in the shape Pulumi's `check` returns. */
export interface InputFailure {
  property: string;
  reason: string;
}

export const registrationDefaults = {
  apiUrl: "https://api.github.com",
  runnerGroup: "Default",
  mode: "jit" as RegistrationMode,
  bootGraceSeconds: 1380,
  busyWaitSeconds: 600,
  flushBusy: false,
};

/** Labels GitHub's JIT API needs on every Linux runner; the seed system added them itself. */
export const defaultLabels = ["self-hosted", "linux"];

const ORG = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9_.-]{1,100}$/;
const RUNNER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const LABEL = /^[^,\s]{1,256}$/;

/** Checks `path`: an organisation login or `owner/repo`. Returns a reason, or undefined. */
export function pathProblem(path: unknown): string | undefined {
  if (typeof path !== "string") return `must be a string, got ${JSON.stringify(path)}`;
  const parts = path.split("/");
  const ok =
    (parts.length === 1 && ORG.test(parts[0])) ||
    (parts.length === 2 && ORG.test(parts[0]) && REPO.test(parts[1]) && !/^\.+$/.test(parts[1]));
  return ok
    ? undefined
    : `must be an organisation (\`my-org\`) or a repository (\`owner/repo\`), got ${JSON.stringify(path)}`;
}

/** Checks a label list (1 to 98 labels, so GitHub's limit of 100 holds with the defaults). */
export function labelsProblem(labels: unknown): string | undefined {
  if (!Array.isArray(labels)) return `must be a list of strings, got ${JSON.stringify(labels)}`;
  const bad = labels.find((l) => typeof l !== "string" || !LABEL.test(l));
  if (bad !== undefined) {
    return `each label must be 1 to 256 characters without commas or spaces, got ${JSON.stringify(bad)}`;
  }
  if (effectiveLabels(labels as string[]).length > 100) {
    return `at most 100 labels are allowed on GitHub, including ${defaultLabels.join(" and ")}; got ${labels.length}`;
  }
  return undefined;
}

/** The labels sent to GitHub: the defaults first, then the configured ones, without duplicates. */
export function effectiveLabels(labels: string[]): string[] {
  return [...new Set([...defaultLabels, ...labels])];
}

/**
 * Applies defaults and validates raw inputs. Returns the inputs and the failures; each failure
 * names the property, the value received and what is allowed.
 */
export function checkRegistrationInputs(news: Record<string, unknown>): {
  inputs: RunnerRegistrationInputs;
  failures: InputFailure[];
} {
  const inputs: RunnerRegistrationInputs = {
    apiUrl: (news.apiUrl as string | undefined) ?? registrationDefaults.apiUrl,
    path: news.path as string,
    name: news.name as string,
    labels: (news.labels as string[] | undefined) ?? [],
    runnerGroup: (news.runnerGroup as string | undefined) ?? registrationDefaults.runnerGroup,
    mode: (news.mode as RegistrationMode | undefined) ?? registrationDefaults.mode,
    bootGraceSeconds:
      (news.bootGraceSeconds as number | undefined) ?? registrationDefaults.bootGraceSeconds,
    busyWaitSeconds:
      (news.busyWaitSeconds as number | undefined) ?? registrationDefaults.busyWaitSeconds,
    flushBusy: (news.flushBusy as boolean | undefined) ?? registrationDefaults.flushBusy,
    serverSpec: (news.serverSpec as string | undefined) ?? "",
  };
  const failures: InputFailure[] = [];
  const fail = (property: string, reason: string | undefined): void => {
    if (reason) failures.push({ property, reason: `\`${property}\` ${reason}` });
  };
  fail("path", pathProblem(inputs.path));
  fail(
    "name",
    typeof inputs.name === "string" && RUNNER_NAME.test(inputs.name)
      ? undefined
      : `must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, got ${JSON.stringify(inputs.name)}`,
  );
  fail("labels", labelsProblem(inputs.labels));
  fail(
    "apiUrl",
    /^https?:\/\/[^\s/]+(\/\S*)?$/.test(String(inputs.apiUrl))
      ? undefined
      : `must be an http(s) URL, got ${JSON.stringify(inputs.apiUrl)}`,
  );
  fail(
    "runnerGroup",
    typeof inputs.runnerGroup === "string" && inputs.runnerGroup.length > 0
      ? undefined
      : `must be a runner group name, got ${JSON.stringify(inputs.runnerGroup)}`,
  );
  fail(
    "mode",
    inputs.mode === "jit" || inputs.mode === "registration-token"
      ? undefined
      : `must be "jit" or "registration-token", got ${JSON.stringify(inputs.mode)}`,
  );
  for (const key of ["bootGraceSeconds", "busyWaitSeconds"] as const) {
    fail(
      key,
      Number.isInteger(inputs[key]) && inputs[key] >= 0 && inputs[key] <= 86_400
        ? undefined
        : `must be an integer from 0 to 86400, got ${JSON.stringify(inputs[key])}`,
    );
  }
  fail(
    "flushBusy",
    typeof inputs.flushBusy === "boolean"
      ? undefined
      : `must be true or false, got ${JSON.stringify(inputs.flushBusy)}`,
  );
  return { inputs, failures };
}

/** Inputs whose change needs a new registration (a runner cannot be renamed or relabelled). */
export const replaceOnChange: (keyof RunnerRegistrationInputs)[] = [
  "apiUrl",
  "path",
  "name",
  "labels",
  "runnerGroup",
  "mode",
  "serverSpec",
];
