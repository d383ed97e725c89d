// Inputs of the GitHub runner registration, their defaults and their validation: pure functions,
// tested without an engine, used by the provider's `check`. The rules are those the stack config
// applies (rules/), so what passes `pulumi preview` passes `check`.
import { httpUrl } from "../../rules/formats";
import {
  labelsProblem,
  pathProblem,
  RegistrationMode,
  registrationMode,
  runnerName,
} from "../../rules/github";
import { ruleProblem } from "../../rules/rule";
import { bootGraceSeconds, busyWaitSeconds, settingDefaults } from "../../rules/settings";

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

/**
 * Applies defaults and validates raw inputs. Returns the inputs and the failures; each failure
 * names the property, the value received and what is allowed.
 */
export function checkRegistrationInputs(news: Record<string, unknown>): {
  inputs: RunnerRegistrationInputs;
  failures: InputFailure[];
} {
  const inputs: RunnerRegistrationInputs = {
    apiUrl: (news.apiUrl as string | undefined) ?? settingDefaults.githubApiUrl,
    path: news.path as string,
    name: news.name as string,
    labels: (news.labels as string[] | undefined) ?? [],
    runnerGroup: (news.runnerGroup as string | undefined) ?? settingDefaults.runnerGroup,
    mode: (news.mode as RegistrationMode | undefined) ?? settingDefaults.registrationMode,
    bootGraceSeconds:
      (news.bootGraceSeconds as number | undefined) ?? settingDefaults.bootGraceSeconds,
    busyWaitSeconds:
      (news.busyWaitSeconds as number | undefined) ?? settingDefaults.busyWaitSeconds,
    flushBusy: (news.flushBusy as boolean | undefined) ?? settingDefaults.flushBusy,
    serverSpec: (news.serverSpec as string | undefined) ?? "",
  };
  const failures: InputFailure[] = [];
  const fail = (property: string, reason: string | undefined): void => {
    if (reason) failures.push({ property, reason });
  };
  fail("path", withField("path", pathProblem(inputs.path)));
  fail("name", ruleProblem("name", runnerName, inputs.name));
  fail("labels", withField("labels", labelsProblem(inputs.labels)));
  fail("apiUrl", ruleProblem("apiUrl", httpUrl, inputs.apiUrl));
  fail(
    "runnerGroup",
    typeof inputs.runnerGroup === "string" && inputs.runnerGroup.length > 0
      ? undefined
      : `\`runnerGroup\` must be a runner group name, got ${JSON.stringify(inputs.runnerGroup)}`,
  );
  fail("mode", ruleProblem("mode", registrationMode, inputs.mode));
  fail(
    "bootGraceSeconds",
    ruleProblem("bootGraceSeconds", bootGraceSeconds, inputs.bootGraceSeconds),
  );
  fail("busyWaitSeconds", ruleProblem("busyWaitSeconds", busyWaitSeconds, inputs.busyWaitSeconds));
  fail(
    "flushBusy",
    typeof inputs.flushBusy === "boolean"
      ? undefined
      : `\`flushBusy\` must be true or false, got ${JSON.stringify(inputs.flushBusy)}`,
  );
  return { inputs, failures };
}

function withField(field: string, reason: string | undefined): string | undefined {
  return reason && `\`${field}\` ${reason}`;
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
