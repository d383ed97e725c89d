// GitHub App JWTs: RS256, signed with the app's private key, `iss` the app id, `exp` in the future
// but at most 10 minutes ahead, `iat` not in the future. The messages are GitHub's, which
// @octokit/auth-app recognises to correct for clock skew (from the response's `date` header).
import { createPublicKey, verify } from "node:crypto";
import { docsRoot, HttpError } from "./http-errors";
import type { AppCredential } from "./types";

const maxLifetimeSeconds = 10 * 60;

function refuse(message: string): HttpError {
  return new HttpError(401, message, docsRoot);
}

const undecodable = () => refuse("A JSON web token could not be decoded");

function decodePart(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // Not JSON: refused below like any other undecodable token.
  }
  throw undecodable();
}

/**
 * Checks a JWT against the configured apps and returns the app id it was issued by; 401 with
 * GitHub's message otherwise. A JWT of an unknown app counts as undecodable (no key to check).
 */
export function verifyAppJwt(jwt: string, apps: AppCredential[], nowMs: number): string {
  const parts = jwt.split(".");
  if (parts.length !== 3) throw undecodable();
  const [headerPart, payloadPart, signaturePart] = parts;
  if (decodePart(headerPart).alg !== "RS256") throw undecodable();
  const claims = decodePart(payloadPart);
  const app = apps.find((a) => String(a.appId) === String(claims.iss));
  if (!app) throw undecodable();
  const signed = verify(
    "sha256",
    Buffer.from(`${headerPart}.${payloadPart}`),
    createPublicKey(app.publicKeyPem),
    Buffer.from(signaturePart, "base64url"),
  );
  if (!signed) throw undecodable();

  const now = Math.floor(nowMs / 1000);
  const { exp, iat } = claims;
  if (typeof iat !== "number" || iat > now) {
    throw refuse(
      "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
    );
  }
  if (typeof exp !== "number" || exp <= now) {
    throw refuse(
      "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    );
  }
  if (exp > now + maxLifetimeSeconds) {
    throw refuse("'Expiration time' claim ('exp') is too far in the future");
  }
  return String(app.appId);
}
