// The double's `encoded_jit_config`: opaque to API clients, as GitHub's is, but readable by the
// simulated runner agent: base64 of JSON telling it where the double is and how to authenticate.
import { ownerPath } from "./owner";
import type { Runner } from "./runners";

/** What a simulated runner agent needs to reach the double as its runner. */
export interface JitConfig {
  runnerId: number;
  name: string;
  /** The double's base URL. */
  url: string;
  /** The runner's owner as an API prefix: `repos/owner/repo` or `orgs/org`. */
  ownerPath: string;
  /** The agent's credential for `/_runner/...` (`Authorization: Bearer <secret>`). */
  secret: string;
  workFolder: string;
  labels: string[];
}

export function jitConfigFor(runner: Runner, baseUrl: string, workFolder: string): JitConfig {
  return {
    runnerId: runner.id,
    name: runner.name,
    url: baseUrl,
    ownerPath: ownerPath(runner.owner),
    secret: runner.secret,
    workFolder,
    labels: runner.labels.map((label) => label.name),
  };
}

export function encodeJitConfig(config: JitConfig): string {
  return Buffer.from(JSON.stringify(config)).toString("base64");
}

export function decodeJitConfig(encoded: string): JitConfig {
  return JSON.parse(Buffer.from(encoded, "base64").toString("utf8")) as JitConfig;
}
