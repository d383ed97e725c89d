// The stack identity that marks a stack's servers: unique per deployment history, kept once
// made, and the legacy `organization/project/stack` recognised only while servers carry it.
import * as assert from "node:assert/strict";
import { legacyStillInUse, stackIdentity } from "../../fleet/stack-identity";

const LEGACY = "organization/fleet/prod";

describe("the stack identity", function () {
  it("is made on a first deployment: the stack's name and a random part, unique", function () {
    const a = stackIdentity(LEGACY, { deployedBefore: false });
    const b = stackIdentity(LEGACY, { deployedBefore: false });
    assert.match(a.identity, /^organization\/fleet\/prod#[0-9a-f]{16}$/);
    assert.notEqual(a.identity, b.identity, "two backends with the same names differ");
    assert.deepEqual(a.recognised, [a.identity], "the legacy identity is not claimed");
  });

  it("is kept once recorded", function () {
    const id = `${LEGACY}#0123456789abcdef`;
    assert.deepEqual(stackIdentity(LEGACY, { stackIdentity: id, deployedBefore: true }), {
      identity: id,
      recognised: [id],
    });
  });

  it("recognises the legacy identity for a stack deployed before identities, until no server carries it", function () {
    const upgraded = stackIdentity(LEGACY, { deployedBefore: true });
    assert.deepEqual(upgraded.recognised, [upgraded.identity, LEGACY]);
    assert.equal(legacyStillInUse(upgraded, [LEGACY, upgraded.identity]), LEGACY);
    assert.equal(legacyStillInUse(upgraded, undefined), LEGACY, "not searched: kept");
    assert.equal(legacyStillInUse(upgraded, [upgraded.identity]), undefined, "all gone: forgotten");
    const next = stackIdentity(LEGACY, {
      stackIdentity: upgraded.identity,
      legacyStackIdentity: LEGACY,
      deployedBefore: true,
    });
    assert.deepEqual(next.recognised, [upgraded.identity, LEGACY]);
    const later = stackIdentity(LEGACY, { stackIdentity: upgraded.identity, deployedBefore: true });
    assert.deepEqual(later.recognised, [upgraded.identity]);
  });
});
