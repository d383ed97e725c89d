// State in the wild loads each dynamic provider by the address it recorded (module file and
// export name, dynamic-providers/state-addresses.ts): each must still load a provider class.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { stateAddresses } from "../../dynamic-providers/state-addresses";

const folder = path.resolve(__dirname, "..", "..", "dynamic-providers");

/**
 * The methods each provider had when it was released: a serialized provider in old state calls
 * them by name (provider-by-reference.ts), so each must still be there.
 */
const releasedMethods: Record<keyof typeof stateAddresses, string[]> = {
  registration: ["configure", "check", "diff", "create", "read", "update", "delete"],
  teardown: ["configure", "diff", "create", "update", "delete"],
  sshHostKey: ["check", "diff", "create", "read", "delete"],
  lostServerSweep: ["diff", "create", "update", "delete"],
};

describe("dynamic providers' state addresses", function () {
  for (const [what, { module, exportName }] of Object.entries(stateAddresses)) {
    it(`${what}: ${module}.ts exports the provider class ${exportName}`, async function () {
      const loaded = (await import(path.join(folder, `${module}.ts`))) as Record<string, unknown>;
      const Provider = loaded[exportName] as (new () => Record<string, unknown>) | undefined;
      assert.equal(typeof Provider, "function");
      const provider = new (Provider as new () => Record<string, unknown>)();
      for (const method of releasedMethods[what as keyof typeof stateAddresses]) {
        assert.equal(typeof provider[method], "function", method);
      }
    });
  }

  it("call-by-address.ts, which the serialized providers load by path, calls an implementation", async function () {
    const loader = (await import(path.join(folder, "call-by-address.ts"))) as {
      callByAddress: (m: string, e: string, method: string, args: unknown[]) => unknown;
    };
    const { module, exportName } = stateAddresses.sshHostKey;
    const checked = (await loader.callByAddress(module, exportName, "check", [
      {},
      { comment: "two\nlines" },
    ])) as {
      failures: unknown[];
    };
    assert.ok(checked.failures.length > 0, "a comment of two lines fails the check");
  });

  it("the addresses are those released state holds (none may change)", function () {
    assert.deepEqual(
      Object.values(stateAddresses).map((a) => `${a.module}#${a.exportName}`),
      [
        "github-runner#GitHubRunnerProvider",
        "runner-guard#RunnerGuardProvider",
        "ssh-host-key#SshHostKeyProvider",
        "lost-server-sweep#LostServerSweepProvider",
      ],
    );
  });
});
