// The registration provider's methods against the GitHub double over real HTTP: every success
// and error path of create, read and delete, retries under faults, and the API budget.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gitHubClient } from "../../dynamic-providers/github/client";
import {
  RunnerRegistrationProvider,
  RunnerRegistrationOutputs,
} from "../../dynamic-providers/runner-registration";
import { releaseRunner } from "../../dynamic-providers/github/release-runner";
import { checkRegistrationInputs } from "../../dynamic-providers/github/registration-inputs";
import { forgetListings } from "../../dynamic-providers/github/runner-listing";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { SimulatedRunnerAgent } from "../../devkit/github-double/runner-agent";

/** A provider configured as the engine would: the token from the stack config. */
async function providerWith(token: string): Promise<RunnerRegistrationProvider> {
  const provider = new RunnerRegistrationProvider();
  await provider.configure({
    config: {
      get: (k: string) => (k === "runner-fleet:githubToken" ? token : undefined),
      require: (k: string) => {
        if (k === "runner-fleet:githubToken") return token;
        throw new Error(`missing ${k}`);
      },
    },
  });
  return provider;
}

describe("RunnerRegistration provider against the GitHub double", function () {
  this.timeout(60_000);
  // No write pacing against the double: GitHub's pacing is tested by the fault suite's counts.
  before(() => (process.env.RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS = "0"));
  after(() => delete process.env.RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS);
  let gh: GitHubDouble;
  let provider: RunnerRegistrationProvider;
  let seq = 0;

  const inputs = (extra: Record<string, unknown> = {}) =>
    checkRegistrationInputs({
      apiUrl: gh.url,
      path: "acme/widgets",
      name: `rf-test-${++seq}`,
      labels: ["gpu"],
      busyWaitSeconds: 2,
      ...extra,
    }).inputs;

  beforeEach(async function () {
    gh = await startGitHubDouble();
    provider = await providerWith(gh.adminToken);
    forgetListings();
  });
  afterEach(async function () {
    await gh.close();
  });

  describe("create", function () {
    it("registers a JIT runner with the default labels and returns its config", async function () {
      const { id, outs } = await provider.create(inputs());
      const runner = gh.control.runners().find((r) => r.id === Number(id));
      assert.ok(runner, "the runner exists on GitHub");
      assert.equal(runner.status, "offline");
      assert.deepEqual(runner.labels.map((l) => l.name).sort(), ["gpu", "linux", "self-hosted"]);
      assert.equal(outs.runnerId, Number(id));
      assert.ok(outs.encodedJitConfig.length > 20);
      assert.equal(outs.registrationToken, "");
    });

    it("makes the runner's two SSH keys with it: distinct ed25519 pairs OpenSSH reads", async function () {
      const { outs } = await provider.create(inputs());
      const again = await provider.create(inputs());
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registration-keys-"));
      try {
        for (const [priv, pub] of [
          [outs.hostPrivateKey, outs.hostPublicKey],
          [outs.clientPrivateKey, outs.clientPublicKey],
        ]) {
          assert.match(String(pub), /^ssh-ed25519 [A-Za-z0-9+/]+=* \S+$/);
          const file = path.join(dir, "key");
          fs.writeFileSync(file, String(priv), { mode: 0o600 });
          // ssh-keygen -y derives the public key from the private one: the pair belongs together.
          const derived = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" });
          assert.equal(
            derived.split(" ").slice(0, 2).join(" "),
            String(pub).split(" ").slice(0, 2).join(" "),
          );
          fs.rmSync(file);
        }
        const keys = [outs.hostPublicKey, outs.clientPublicKey, again.outs.hostPublicKey];
        assert.equal(new Set(keys).size, 3, "a key per use and per runner");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("finds an organisation's runner group by name", async function () {
      const group = gh.control.addRunnerGroup("acme", "ci");
      const { outs } = await provider.create(inputs({ path: "acme", runnerGroup: "ci" }));
      assert.equal(outs.runnerGroupId, group.id);
    });

    it("fails for an unknown runner group, listing the groups", async function () {
      await assert.rejects(
        provider.create(inputs({ path: "acme", runnerGroup: "nope" })),
        /runner group "nope" does not exist in organisation acme; its groups are: "Default"/,
      );
    });

    it("issues a registration token in registration-token mode", async function () {
      const { id, outs } = await provider.create(inputs({ mode: "registration-token" }));
      assert.match(id, /^name:rf-test-/);
      assert.ok(outs.registrationToken.length > 10);
      assert.equal(outs.encodedJitConfig, "");
    });

    it("replaces an idle leftover of the same name (409), and refuses a busy one", async function () {
      const first = inputs();
      const left = await provider.create(first);
      const again = await provider.create(first);
      assert.notEqual(again.id, left.id);
      assert.equal(gh.control.runners().filter((r) => r.name === first.name).length, 1);
      gh.control.startJob(first.name);
      await assert.rejects(provider.create(first), /is taken by a busy runner/);
    });

    it("fails with 401 for a bad token without showing the token", async function () {
      const bad = await providerWith("ghp_wrongwrongwrong");
      await assert.rejects(bad.create(inputs()), (err: Error) => {
        assert.match(err.message, /HTTP 401.*Bad credentials/);
        assert.doesNotMatch(err.message, /wrongwrong/);
        return true;
      });
    });

    it("fails with 403 for a token without permission, after a single request", async function () {
      await gh.close();
      gh = await startGitHubDouble({ tokens: [{ token: "ghp_readonly_token_1", access: "read" }] });
      const readOnly = await providerWith("ghp_readonly_token_1");
      await assert.rejects(readOnly.create(inputs()), /HTTP 403/);
      assert.equal(gh.control.requestCounts().total, 1, "no retry loop on a 403");
    });

    it("retries a 5xx answer and succeeds", async function () {
      gh.control.fault({ count: 2, status: 502 });
      const { id } = await provider.create(inputs());
      assert.ok(Number(id) > 0);
      assert.equal(gh.control.requestCounts().total, 3);
    });

    it("waits out a secondary rate limit (retry-after), then succeeds", async function () {
      gh.control.secondaryRateLimit({ count: 1, retryAfterSeconds: 1, status: 429 });
      const started = Date.now();
      const { id } = await provider.create(inputs());
      assert.ok(Number(id) > 0);
      assert.ok(Date.now() - started >= 1000, "it honoured retry-after");
      assert.equal(gh.control.requestCounts().total, 2);
    });

    it("waits for the primary rate limit to reset, then succeeds", async function () {
      gh.control.setRateLimit({ remaining: 0, resetAt: Date.now() + 1500 });
      const { id } = await provider.create(inputs());
      assert.ok(Number(id) > 0);
      assert.ok(gh.control.requestCounts().total <= 3, "no retry storm while limited");
    });
  });

  describe("read", function () {
    async function created(extra: Record<string, unknown> = {}) {
      const { id, outs } = await provider.create(inputs(extra));
      forgetListings();
      return { id, outs: outs as RunnerRegistrationOutputs };
    }

    it("reports offline, online and busy", async function () {
      const { id, outs } = await created();
      assert.equal((await provider.read(id, outs)).props.status, "offline");
      gh.control.setOnline(outs.name);
      forgetListings();
      assert.equal((await provider.read(id, outs)).props.status, "online");
      gh.control.startJob(outs.name);
      forgetListings();
      assert.equal((await provider.read(id, outs)).props.status, "busy");
    });

    it("drops a runner whose job finished from the state", async function () {
      const { id, outs } = await created();
      gh.control.startJob(outs.name);
      gh.control.finishJob(outs.name, { exitCode: 0 });
      forgetListings();
      const result = await provider.read(id, outs);
      assert.equal(result.id, undefined);
    });

    it("keeps a token-mode runner that has not registered yet inside the boot grace", async function () {
      const { id, outs } = await created({ mode: "registration-token" });
      const result = await provider.read(id, outs);
      assert.equal(result.id, id);
      assert.equal(result.props.status, "booting");
      const late = await provider.read(id, {
        ...outs,
        createdAt: new Date(Date.now() - 3_600_000).toISOString(),
      });
      assert.equal(late.id, undefined);
    });

    it("refreshes 250 runners with at most ceil(250/100) + 3 requests", async function () {
      const made = await Promise.all(
        Array.from({ length: 250 }, (_, i) => created({ name: `rf-budget-${i}` })),
      );
      forgetListings();
      gh.control.resetRequestCounts();
      const results = await Promise.all(made.map(({ id, outs }) => provider.read(id, outs)));
      assert.equal(results.filter((r) => r.id !== undefined).length, 250);
      const counts = gh.control.requestCounts();
      assert.ok(counts.total <= Math.ceil(250 / 100) + 3, JSON.stringify(counts));
      assert.equal(counts.total, 3, "one listing of three pages");
    });
  });

  describe("delete", function () {
    it("removes an idle runner (204)", async function () {
      const { id, outs } = await provider.create(inputs());
      await provider.delete(id, outs);
      assert.equal(gh.control.runners().length, 0);
    });

    it("costs two requests over a runner's life: its JIT config and one DELETE", async function () {
      gh.control.resetRequestCounts();
      const { id, outs } = await provider.create(inputs());
      // The guard releases it first (same provider process), then the registration is deleted.
      const octokit = await gitHubClient(gh.url, { kind: "token", token: gh.adminToken });
      await releaseRunner(octokit, { ...outs, id });
      await provider.delete(id, outs);
      assert.equal(gh.control.requestCounts().total, 2, JSON.stringify(gh.control.requestCounts()));
    });

    it("treats a runner already gone (404) as deleted", async function () {
      const { id, outs } = await provider.create(inputs());
      gh.control.startJob(outs.name);
      gh.control.finishJob(outs.name, { exitCode: 0 });
      await provider.delete(id, outs);
    });

    it("fails, keeping a busy runner (422), after the bounded wait", async function () {
      const { id, outs } = await provider.create(inputs({ busyWaitSeconds: 2 }));
      gh.control.startJob(outs.name);
      const started = Date.now();
      await assert.rejects(
        provider.delete(id, outs),
        /still running a job after 2s \(busyWaitSeconds\); it was kept/,
      );
      assert.ok(Date.now() - started >= 2000);
      assert.equal(gh.control.runners().length, 1);
    });

    it("waits for a busy runner's job to end, then removes it", async function () {
      const { id, outs } = await provider.create(inputs({ busyWaitSeconds: 20 }));
      gh.control.startJob(outs.name);
      setTimeout(() => gh.control.finishJob(outs.name, { exitCode: 0 }), 1500);
      await provider.delete(id, outs);
      assert.equal(gh.control.runners().length, 0);
    });

    it("with flushBusy, once its server is gone, removes the runner as soon as GitHub sees it lost", async function () {
      const { id, outs } = await provider.create(inputs({ flushBusy: true, busyWaitSeconds: 30 }));
      // The runner's VM, played by the double's agent with the runner's JIT config.
      const agent = SimulatedRunnerAgent.fromJitConfig(outs.encodedJitConfig);
      await agent.goOnline();
      gh.control.dispatchJob({ repo: "acme/widgets", runnerName: outs.name });
      const job = await agent.nextJob(10_000);
      assert.ok(job);
      await agent.reportStarted(job.id);
      gh.control.setLostAfterSeconds(1);
      agent.stopRenewing(); // its server was deleted (with flushBusy, by the guard)
      await provider.delete(id, outs);
      assert.deepEqual(gh.control.runners(), [], "no registration outlives its server");
    });

    it("with flushBusy, keeps the registration when GitHub still holds the runner at the bound", async function () {
      const { id, outs } = await provider.create(inputs({ flushBusy: true, busyWaitSeconds: 2 }));
      gh.control.startJob(outs.name); // busy, by hand: the double never sees it lost
      await assert.rejects(
        provider.delete(id, outs),
        /still busy on GitHub 2s after its server was deleted \(flushBusy\); its registration was kept/,
      );
      assert.equal(gh.control.runners().length, 1);
    });
  });

  describe("diff", function () {
    it("replaces on a change of name, labels, group or path; updates otherwise", async function () {
      const base = inputs();
      const olds = { ...base } as unknown as RunnerRegistrationOutputs;
      for (const change of [
        { name: "other" },
        { labels: ["x"] },
        { runnerGroup: "ci" },
        { path: "acme/other" },
        { serverSpec: "a new image" },
      ]) {
        const d = await provider.diff("1", olds, { ...base, ...change });
        assert.deepEqual(d.replaces, Object.keys(change));
      }
      const d = await provider.diff("1", olds, { ...base, busyWaitSeconds: 60 });
      assert.deepEqual(d.replaces, []);
      assert.equal(d.changes, true);
    });

    it("is no change when only the serialized provider differs (a stack deployed by earlier code)", async function () {
      const base = inputs();
      const olds = { ...base, __provider: "exports.handler = /* earlier loader */" };
      const news = { ...base, __provider: "exports.handler = /* this loader */" };
      const d = await provider.diff("1", olds as unknown as RunnerRegistrationOutputs, news);
      assert.deepEqual(d, { changes: false, replaces: [], deleteBeforeReplace: false });
    });
  });
});
