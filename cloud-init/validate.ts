// Checks of the values the userdata is built from. Quoting already keeps any value from being run
// as code; these checks catch values that would still break the server: a hostname the kernel
// refuses, a line break in the runner's `.env` (one `KEY=VALUE` a line) or in an HTTP header.
// Every problem is reported at once, naming the field, the value and what is allowed; secrets are
// never repeated in a message.
import type { UserDataOptions } from "./options";

/** A valid hostname label and GitHub runner name: 1 to 64 characters. */
const RUNNER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?$/;
const HTTP_URL = /^https?:\/\/[^\s/?#]+(?:[/?#]\S*)?$/;
const ABSOLUTE_PATH = /^\/[A-Za-z0-9._/-]*$/;
const HOST = /^[A-Za-z0-9.-]{1,253}$/;
const HOST_PORT = /^[A-Za-z0-9.-]{1,253}:(\d{1,5})$/;
const NO_WHITESPACE = /^\S+$/;
const LABEL = /^[^,\s]{1,256}$/;
/** Base64, standard or URL-safe, as GitHub encodes JIT configs. */
const BASE64 = /^[A-Za-z0-9+/_-]+=*$/;
/** Printable ASCII without spaces: safe in a command line and an HTTP header. */
const TOKEN = /^[\x21-\x7e]+$/;

type Problems = string[];

function check(problems: Problems, field: string, value: unknown, ok: boolean, allowed: string) {
  if (!ok) problems.push(`\`${field}\` must be ${allowed}, got ${JSON.stringify(value)}`);
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

function matches(value: unknown, pattern: RegExp): boolean {
  return typeof value === "string" && pattern.test(value);
}

function checkOptionalPath(problems: Problems, field: string, value: unknown) {
  if (value === undefined) return;
  check(
    problems,
    field,
    value,
    matches(value, ABSOLUTE_PATH),
    "an absolute path of letters, digits, '.', '_', '-' and '/'",
  );
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
  } else if (reg?.mode === "token") {
    check(problems, "registration.url", reg.url, matches(reg.url, HTTP_URL), "an http(s) URL");
    checkSecret(
      problems,
      "registration.token",
      reg.token,
      TOKEN,
      "a non-empty token of printable ASCII without spaces",
    );
    const labels: unknown = reg.labels;
    const bad = Array.isArray(labels) ? labels.find((l) => !matches(l, LABEL)) : labels;
    if (!Array.isArray(labels) || bad !== undefined) {
      check(
        problems,
        "registration.labels",
        bad,
        false,
        "a list of labels of 1 to 256 characters without commas or spaces",
      );
    }
  } else {
    check(
      problems,
      "registration.mode",
      (reg as { mode?: unknown })?.mode,
      false,
      '"jit" or "token"',
    );
  }
}

function checkProxy(problems: Problems, proxy: UserDataOptions["proxy"]) {
  if (!proxy) return;
  for (const key of ["http", "https"] as const) {
    const v = proxy[key];
    if (v !== undefined) check(problems, `proxy.${key}`, v, matches(v, HTTP_URL), "an http(s) URL");
  }
  if (proxy.noProxy !== undefined) {
    check(
      problems,
      "proxy.noProxy",
      proxy.noProxy,
      matches(proxy.noProxy, NO_WHITESPACE),
      "a comma-separated list without spaces",
    );
  }
  const aproxy = proxy.aproxyAddress;
  if (aproxy !== undefined) {
    const port = typeof aproxy === "string" ? HOST_PORT.exec(aproxy)?.[1] : undefined;
    check(
      problems,
      "proxy.aproxyAddress",
      aproxy,
      port !== undefined && Number(port) >= 1 && Number(port) <= 65535,
      "host:port of the upstream proxy",
    );
  }
}

function checkRelays(problems: Problems, relays: UserDataOptions["sshDebugRelays"]) {
  (relays ?? []).forEach((relay, i) => {
    const at = `sshDebugRelays[${i}]`;
    check(problems, `${at}.host`, relay.host, matches(relay.host, HOST), "a host name");
    check(
      problems,
      `${at}.port`,
      relay.port,
      Number.isInteger(relay.port) && relay.port >= 1 && relay.port <= 65535,
      "a port from 1 to 65535",
    );
    for (const key of ["rsaFingerprint", "ed25519Fingerprint"] as const) {
      check(
        problems,
        `${at}.${key}`,
        relay[key],
        matches(relay[key], NO_WHITESPACE),
        "a host key fingerprint (SHA256:...) without spaces",
      );
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
    check(
      problems,
      "repoPolicyCompliance.url",
      policy.url,
      matches(policy.url, HTTP_URL),
      "an http(s) URL",
    );
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
  check(
    problems,
    "runnerName",
    opts.runnerName,
    matches(opts.runnerName, RUNNER_NAME),
    "1 to 64 letters, digits or '-', starting and ending with a letter or digit (it is the hostname)",
  );
  checkRegistration(problems, opts.registration);
  checkOptionalPath(problems, "runnerDir", opts.runnerDir);
  checkOptionalPath(problems, "dockerDaemonConfigPath", opts.dockerDaemonConfigPath);
  checkProxy(problems, opts.proxy);
  if (opts.dockerhubMirror !== undefined) {
    check(
      problems,
      "dockerhubMirror",
      opts.dockerhubMirror,
      matches(opts.dockerhubMirror, HTTP_URL),
      "an http(s) URL",
    );
  }
  checkRelays(problems, opts.sshDebugRelays);
  return [...problems, ...preJobProblems(opts)];
}

/** Throws one error listing every problem, if there are any. */
export function throwOnProblems(problems: string[]): void {
  if (problems.length > 0) {
    throw new Error(`invalid runner userdata options: ${problems.join("; ")}`);
  }
}
