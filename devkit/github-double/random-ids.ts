// Random secrets and identifiers, shaped like GitHub's so logs and assertions look familiar.
import { randomBytes, randomInt } from "node:crypto";

const alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const upperAlphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function randomString(alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** A token with GitHub's prefix for its kind: `ghp_` personal, `ghs_` installation. */
export function prefixedToken(prefix: "ghp_" | "ghs_"): string {
  return prefix + randomString(alphanumeric, 36);
}

/** A runner registration or remove token: 29 upper-case letters and digits. */
export function runnerToken(): string {
  return randomString(upperAlphanumeric, 29);
}

/** The credential a simulated runner agent authenticates with. */
export function agentSecret(): string {
  return randomBytes(24).toString("hex");
}

/** An `x-github-request-id` value, e.g. `C0DE:1A2B:3C4D5E:6F7A8B:65A1B2C3`. */
export function requestId(): string {
  const hex = (bytes: number) => randomBytes(bytes).toString("hex").toUpperCase();
  return [hex(2), hex(2), hex(3), hex(3), hex(4)].join(":");
}

/** A commit sha. */
export function randomSha(): string {
  return randomBytes(20).toString("hex");
}
