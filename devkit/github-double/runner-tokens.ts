// Registration and remove tokens: issued by the REST API for one owner, redeemed by simulated
// runner agents, refused once an hour of the double's clock has passed.
import { hourMs } from "./clock";
import { HttpError } from "./http-errors";
import type { Owner } from "./owner";
import { runnerToken } from "./random-ids";
import type { Clock } from "./types";

export type RunnerTokenKind = "registration" | "remove";

export class RunnerTokens {
  private readonly tokens = new Map<
    string,
    { kind: RunnerTokenKind; owner: Owner; expiresAt: number }
  >();

  constructor(private readonly clock: Clock) {}

  /** A new token, as `POST .../actions/runners/registration-token` (or `remove-token`) returns it. */
  issue(kind: RunnerTokenKind, owner: Owner): { token: string; expires_at: string } {
    const token = runnerToken();
    const expiresAt = this.clock.now() + hourMs;
    this.tokens.set(token, { kind, owner, expiresAt });
    return { token, expires_at: new Date(expiresAt).toISOString() };
  }

  /** The owner a token was issued for; 401 when it is unknown, of the other kind, or expired. */
  redeem(kind: RunnerTokenKind, token: unknown): Owner {
    const entry = typeof token === "string" ? this.tokens.get(token) : undefined;
    if (!entry || entry.kind !== kind) throw new HttpError(401, `Invalid ${kind} token`);
    if (this.clock.now() >= entry.expiresAt)
      throw new HttpError(401, `The ${kind} token has expired`);
    return entry.owner;
  }
}
