// GitHub registrations on the real engine: `up` of three registrations against the GitHub double,
// `refresh` after one runner's job finished (it leaves the state), `destroy` (none left), and the
// JIT configs as secrets: never in plaintext in the state.
import * as assert from "node:assert/strict";
import { RunnerRegistration } from "../../dynamic-providers/runner-registration";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { createTestStack, stateFileText, TestStack } from "../../devkit/pulumi/test-stack";

describe("GitHub registrations on the real engine", function () {
  let gh: GitHubDouble;
  let test: TestStack;
  const names = ["rf-e2e-a", "rf-e2e-b", "rf-e2e-c"];

  before(async function () {
    gh = await startGitHubDouble();
    test = await createTestStack("registrations", async () => {
      const runners = names.map(
        (name) =>
          new RunnerRegistration(name, {
            apiUrl: gh.url,
            path: "acme/widgets",
            name,
            labels: ["e2e"],
          }),
      );
      return { ids: runners.map((r) => r.runnerId), jit: runners[0].encodedJitConfig };
    });
    // The provider reads its token from the stack config, as a secret.
    await test.stack.setConfig("runner-fleet:githubToken", { value: gh.adminToken, secret: true });
  });

  after(async function () {
    await gh?.close();
    test?.cleanup();
  });

  it("registers three runners, with the JIT configs as secrets", async function () {
    const result = await test.stack.up();
    assert.equal(result.summary.result, "succeeded");
    assert.deepEqual(
      gh.control
        .runners()
        .map((r) => r.name)
        .sort(),
      names,
    );
    assert.equal(result.outputs.jit.secret, true);
    const jit = result.outputs.jit.value as string;
    const state = stateFileText(test.stateDir);
    assert.ok(!state.includes(jit), "the JIT config is not in the state in plaintext");
    assert.ok(!state.includes(gh.adminToken), "the token is not in the state in plaintext");
  });

  it("keeps a reference to the provider in the state, not its code", async function () {
    const resources = (await test.stack.exportStack()).deployment.resources as {
      type: string;
      inputs?: { __provider?: string };
    }[];
    const providers = resources
      .filter((r) => r.type === "pulumi-nodejs:dynamic/github:RunnerRegistration")
      .map((r) => r.inputs?.__provider ?? "");
    assert.equal(providers.length, 3);
    assert.equal(new Set(providers).size, 1, "one provider string for every registration");
    // By value the registration provider serialized to about 35 KB; by reference, with the loader
    // in each method, 3.8 KB; with the loader in call-by-address.ts, 2.5 KB.
    assert.ok(providers[0].length < 3000, `__provider is ${providers[0].length} characters`);
    assert.match(providers[0], /@runner-fleet\/dynamic-providers\/call-by-address\.ts/);
  });

  it("drops a runner whose job finished on refresh", async function () {
    gh.control.startJob("rf-e2e-b");
    gh.control.finishJob("rf-e2e-b", { exitCode: 0 });
    gh.control.setOnline("rf-e2e-a");
    await test.stack.refresh();
    const resources = (await test.stack.exportStack()).deployment.resources as {
      type: string;
      outputs?: { name?: string; status?: string };
    }[];
    const registrations = resources.filter(
      (r) => r.type === "pulumi-nodejs:dynamic/github:RunnerRegistration",
    );
    assert.deepEqual(registrations.map((r) => r.outputs?.name).sort(), ["rf-e2e-a", "rf-e2e-c"]);
    assert.equal(
      registrations.find((r) => r.outputs?.name === "rf-e2e-a")?.outputs?.status,
      "online",
    );
  });

  it("unregisters every runner on destroy", async function () {
    const result = await test.stack.destroy();
    assert.equal(result.summary.result, "succeeded");
    assert.equal(gh.control.runners().length, 0);
  });
});
