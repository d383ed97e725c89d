// GitHub's rules for self-hosted runners, as config validation, the userdata renderer and the
// registration provider all apply them: names, labels, owners, registration modes, URL layout.
import { patternRule, Rule } from "./rule";

/** How a runner registers: a just-in-time config, or a registration token for GHES < 3.10. */
export type RegistrationMode = "jit" | "registration-token";

export const registrationModes: readonly RegistrationMode[] = ["jit", "registration-token"];

export const registrationMode: Rule = {
  allowed: '"jit" or "registration-token" (GitHub Enterprise Server < 3.10)',
  test: (v) => registrationModes.includes(v as RegistrationMode),
};

/** The API of github.com (GitHub Enterprise Server has its own, ending in /api/v3). */
export const GITHUB_COM_API_URL = "https://api.github.com";

/** GitHub runner names are at most 64 characters. */
export const RUNNER_NAME_MAX = 64;

/**
 * A runner name, which is also its server's hostname: 1 to 64 letters, digits or '-', starting
 * and ending with a letter or digit (GitHub would take '.' and '_', a hostname does not).
 */
export const runnerName = patternRule(
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?$/,
  "1 to 64 letters, digits or '-', starting and ending with a letter or digit (it is the hostname)",
);

export const label = patternRule(/^[^,\s]{1,256}$/, "1 to 256 characters without commas or spaces");

/** Labels GitHub's JIT API needs on every Linux runner; the seed system added them itself. */
export const defaultLabels = ["self-hosted", "linux"];

/** GitHub allows at most this many labels on a runner, the defaults included. */
export const MAX_LABELS = 100;

/** The labels sent to GitHub: the defaults first, then the configured ones, without duplicates. */
export function effectiveLabels(labels: string[]): string[] {
  return [...new Set([...defaultLabels, ...labels])];
}

/** Checks a label list: each label valid, at most MAX_LABELS with the defaults. */
export function labelsProblem(labels: unknown): string | undefined {
  if (!Array.isArray(labels)) return `must be a list of strings, got ${JSON.stringify(labels)}`;
  const bad = labels.find((l) => !label.test(l));
  if (bad !== undefined) return `each label must be ${label.allowed}, got ${JSON.stringify(bad)}`;
  if (effectiveLabels(labels as string[]).length > MAX_LABELS) {
    return `at most ${MAX_LABELS} labels are allowed on GitHub, including ${defaultLabels.join(" and ")}; got ${labels.length}`;
  }
  return undefined;
}

const ORG = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9_.-]{1,100}$/;

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

/** True when the runners belong to a repository (`owner/repo`), not an organisation. */
export function isRepositoryPath(path: string): boolean {
  return path.includes("/");
}

/** The API prefix of a runner owner: `orgs/my-org` or `repos/owner/repo`. */
export function ownerPrefix(path: string): string {
  return isRepositoryPath(path) ? `repos/${path}` : `orgs/${path}`;
}

/** The web URL `config.sh --url` expects, from the API URL (api.github.com or GHES /api/v3). */
export function gitHubWebUrl(apiUrl: string, path: string): string {
  const base = apiUrl.replace(/\/$/, "");
  const web = base === GITHUB_COM_API_URL ? "https://github.com" : base.replace(/\/api\/v3$/, "");
  return `${web}/${path}`;
}
