// Checks of the values the userdata is built from. Quoting already keeps any value from being run
// as code; these checks catch values that would still break the server: a hostname the kernel
// refuses, a line break in the runner's `.env` (one `KEY=VALUE` a line) or in an HTTP header.
// Every problem is reported at once, naming the field, the value and what is allowed; secrets are
// never repeated in a message.
import {
  absolutePath,
  commaList,
  hostName,
  hostPort,
  httpUrl,
  port,
  sshFingerprint,
  sshPublicKeyLine,
} from "../rules/formats";
import { label, registrationMode, runnerName } from "../rules/github";
import type { Rule } from "../rules/rule";
import type { UserDataOptions } from "./options";

/** Base64, standard or URL-safe, as GitHub encodes JIT configs. */
const BASE64 = /^[A-Za-z0-9+/_-]+=*$/;
/** Printable ASCII without spaces: safe in a command line and an HTTP header. */
const TOKEN = /^[\x21-\x7e]+$/;

type Problems = string[];

function check(problems: Problems, field: string, value: unknown, ok: boolean, allowed: string) {
  if (!ok) problems.push(`\`${field}\` must be ${allowed}, got ${JSON.stringify(value)}`);
}

function checkRule(problems: Problems, field: string, value: unknown, rule: Rule) {
  check(problems, field, value, rule.test(value), rule.allowed);
}

function checkSecret(
  problems: Problems,
  field: string,
  value: unknown,
  pattern: RegExp,
  allowed: string,
) {
  if (typeof value !== "string" || !pattern.test(value)) {
    problems.push(`\`${field}\` must be ${allowed} (value withheld: it is a secret)`);
  }
}

function checkOptionalPath(problems: Problems, field: string, value: unknown) {
  if (value !== undefined) checkRule(problems, field, value, absolutePath);
}

function checkRegistration(problems: Problems, reg: UserDataOptions["registration"]) {
  if (reg?.mode === "jit") {
    checkSecret(
      problems,
      "registration.encodedJitConfig",
      reg.encodedJitConfig,
      BASE64,
      "a non-empty base64 string",
    );
  } else if (reg?.mode === "registration-token") {
    checkRule(problems, "registration.url", reg.url, httpUrl);
    checkSecret(
      problems,
      "registration.token",
      reg.token,
      TOKEN,
      "a non-empty token of printable ASCII without spaces",
    );
    const labels: unknown = reg.labels;
    const bad = Array.isArray(labels) ? labels.find((l) => !label.test(l)) : labels;
    if (!Array.isArray(labels) || bad !== undefined) {
      check(problems, "registration.labels", bad, false, `a list of labels of ${label.allowed}`);
    }
  } else {
    check(
      problems,
      "registration.mode",
      (reg as { mode?: unknown })?.mode,
      false,
      registrationMode.allowed,
    );
  }
}

function checkProxy(problems: Problems, proxy: UserDataOptions["proxy"]) {
  if (!proxy) return;
  for (const key of ["http", "https"] as const) {
    const v = proxy[key];
    if (v !== undefined) checkRule(problems, `proxy.${key}`, v, httpUrl);
  }
  if (proxy.noProxy !== undefined) checkRule(problems, "proxy.noProxy", proxy.noProxy, commaList);
  if (proxy.aproxyAddress !== undefined) {
    checkRule(problems, "proxy.aproxyAddress", proxy.aproxyAddress, hostPort);
  }
}

function checkRelays(problems: Problems, relays: UserDataOptions["sshDebugRelays"]) {
  (relays ?? []).forEach((relay, i) => {
    const at = `sshDebugRelays[${i}]`;
    checkRule(problems, `${at}.host`, relay.host, hostName);
    checkRule(problems, `${at}.port`, relay.port, port);
    for (const key of ["rsaFingerprint", "ed25519Fingerprint"] as const) {
      checkRule(problems, `${at}.${key}`, relay[key], sshFingerprint);
    }
  });
}

/** The problems of the options the job-started hook depends on; empty when they are valid. */
export function preJobProblems(
  opts: Pick<UserDataOptions, "metricsDir" | "repoPolicyCompliance" | "preJobScript">,
): string[] {
  const problems: Problems = [];
  checkOptionalPath(problems, "metricsDir", opts.metricsDir);
  const policy = opts.repoPolicyCompliance;
  if (policy) {
    checkRule(problems, "repoPolicyCompliance.url", policy.url, httpUrl);
    checkSecret(
      problems,
      "repoPolicyCompliance.token",
      policy.token,
      TOKEN,
      "a non-empty token of printable ASCII without spaces",
    );
  }
  if (opts.preJobScript !== undefined) {
    check(
      problems,
      "preJobScript",
      opts.preJobScript,
      typeof opts.preJobScript === "string" && !opts.preJobScript.includes("\0"),
      "a script without NUL characters",
    );
  }
  return problems;
}

/** The problems of userdata options; empty when they are valid. */
export function userDataProblems(opts: UserDataOptions): string[] {
  const problems: Problems = [];
  checkRule(problems, "runnerName", opts.runnerName, runnerName);
  checkRegistration(problems, opts.registration);
  checkOptionalPath(problems, "runnerDir", opts.runnerDir);
  checkOptionalPath(problems, "dockerDaemonConfigPath", opts.dockerDaemonConfigPath);
  checkProxy(problems, opts.proxy);
  if (opts.dockerhubMirror !== undefined) {
    checkRule(problems, "dockerhubMirror", opts.dockerhubMirror, httpUrl);
  }
  checkRelays(problems, opts.sshDebugRelays);
  if (opts.sshAuthorizedKey !== undefined) {
    checkRule(problems, "sshAuthorizedKey", opts.sshAuthorizedKey, sshPublicKeyLine);
  }
  return [...problems, ...preJobProblems(opts)];
}

/** Throws one error listing every problem, if there are any. */
export function throwOnProblems(problems: string[]): void {
  if (problems.length > 0) {
    throw new Error(`invalid runner userdata options: ${problems.join("; ")}`);
  }
}
