// The identity that marks a stack's servers in Nova (metadata `runner-fleet-stack`), so the
// lost-server sweep deletes only its own. `organization/project/stack` alone is not unique: every
// self-managed backend names its stacks `organization/<project>/<stack>`, so two backends with the
// same names in one OpenStack project would sweep each other's servers. The identity adds a random
// part made at the stack's first deployment and kept in its outputs, which the engine keeps even
// when that deployment fails (program.ts `recordPlan`), before any server exists.
//
// Stacks deployed before the identity existed marked their servers `organization/project/stack`
// (the legacy identity): it is still recognised while Nova has servers marked with it, and
// forgotten once they are all gone (runners are ephemeral, so that is soon).
import * as crypto from "node:crypto";

export interface StackIdentity {
  /** What this deployment's new servers are marked with. */
  identity: string;
  /** Every mark that makes a server this stack's: the identity, and the legacy one if in use. */
  recognised: string[];
}

/** What the last deployment's outputs say of the identity. */
export interface RecordedIdentity {
  stackIdentity?: string;
  legacyStackIdentity?: string;
  /** Whether the stack was deployed before (it has runners or servers recorded). */
  deployedBefore: boolean;
}

/**
 * The identity: the recorded one; a new one on a first deployment; a new one beside the legacy
 * one for a stack deployed before identities existed.
 */
export function stackIdentity(legacy: string, recorded: RecordedIdentity): StackIdentity {
  const identity = recorded.stackIdentity ?? `${legacy}#${crypto.randomBytes(8).toString("hex")}`;
  const legacyInUse = recorded.stackIdentity
    ? recorded.legacyStackIdentity
    : recorded.deployedBefore
      ? legacy
      : undefined;
  return { identity, recognised: legacyInUse ? [identity, legacyInUse] : [identity] };
}

/**
 * The legacy identity to keep recognising next time: while Nova still has servers marked with it,
 * or when Nova could not be searched (`marks` undefined).
 */
export function legacyStillInUse(
  identity: StackIdentity,
  marks: string[] | undefined,
): string | undefined {
  const legacy = identity.recognised.find((m) => m !== identity.identity);
  if (!legacy) return undefined;
  return marks === undefined || marks.includes(legacy) ? legacy : undefined;
}
