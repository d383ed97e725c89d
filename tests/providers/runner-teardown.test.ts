// The guard's create for a rollout's replacement (awaitOnline) against the GitHub double over real
// HTTP: it answers whether the runner came online in time, never fails on a slow or failing
// GitHub, shares one listing between waiters, and leaves no diff once the rollout is over.
import * as assert from "node:assert/strict";
import {
  RunnerTeardownInputs,
  RunnerTeardownProvider,
} from "../../dynamic-providers/runner-teardown";
import { RunnerRegistrationProvider } from "../../dynamic-providers/runner-registration";
import { checkRegistrationInputs } from "../../dynamic-providers/github/registration-inputs";
import { forgetListings } from "../../dynamic-providers/github/runner-listing";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";

const tokenConfig = (token: string) => ({
  config: {
    get: (k: string) => (k === "runner-fleet:githubToken" ? token : undefined),
    require: (k: string) => {
      if (k === "runner-fleet:githubToken") return token;
      throw new Error(`missing ${k}`);
    },
  },
});

describe("RunnerGuard provider: a replacement's wait for online", function () {
  this.timeout(60_000);
  before(() => (process.env.RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS = "0"));
  after(() => delete process.env.RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS);
  let gh: GitHubDouble;
  let guard: RunnerTeardownProvider;
  let seq = 0;

  /** A registered runner (offline until the test says) and its guard's inputs. */
  const replacement = async (seconds: number): Promise<RunnerTeardownInputs> => {
    const registration = new RunnerRegistrationProvider();
    await registration.configure(tokenConfig(gh.adminToken));
    const name = `rf-guard-${++seq}`;
    const { outs } = await registration.create(
      checkRegistrationInputs({ apiUrl: gh.url, path: "acme/widgets", name, labels: [] }).inputs,
    );
    return {
      apiUrl: gh.url,
      path: "acme/widgets",
      name,
      runnerId: outs.runnerId,
      serverId: "server-1",
      busyWaitSeconds: 0,
      flushBusy: false,
      awaitOnline: { seconds },
    };
  };

  beforeEach(async function () {
    gh = await startGitHubDouble();
    guard = new RunnerTeardownProvider();
    await guard.configure(tokenConfig(gh.adminToken));
    forgetListings();
  });
  afterEach(async () => gh.close());

  it("answers cameOnline true as soon as the runner is online, from shared listings", async function () {
    const [a, b] = [await replacement(30), await replacement(30)];
    gh.control.resetRequestCounts();
    setTimeout(() => {
      gh.control.setOnline(a.name);
      gh.control.setOnline(b.name);
    }, 2_000);
    const started = Date.now();
    const [outA, outB] = await Promise.all([guard.create(a), guard.create(b)]);
    assert.equal(outA.outs.cameOnline, true);
    assert.equal(outB.outs.cameOnline, true);
    assert.ok(Date.now() - started < 25_000, "it did not wait for the deadline");
    // Two waiters, one listing per poll: at most one list request per 3 s poll, plus one.
    const listRequests =
      gh.control.requestCounts().byRoute["GET /repos/{owner}/{repo}/actions/runners"] ?? 0;
    const polls = Math.ceil((Date.now() - started) / 3_000) + 1;
    assert.ok(listRequests <= polls, `${listRequests} list requests for ${polls} polls`);
  });

  it("answers cameOnline false at the deadline, also while GitHub fails, and never throws", async function () {
    const inputs = await replacement(4);
    gh.control.fault({
      route: "GET /repos/{owner}/{repo}/actions/runners",
      status: 502,
      count: 100,
    });
    const started = Date.now();
    const { outs } = await guard.create(inputs);
    assert.equal(outs.cameOnline, false);
    assert.ok(Date.now() - started >= 4_000);
  });

  it("is no change once the rollout is over: later deployments leave awaitOnline out", async function () {
    const inputs = await replacement(1);
    const { outs } = await guard.create(inputs);
    const later: RunnerTeardownInputs = { ...inputs };
    delete later.awaitOnline;
    const diff = await guard.diff(`${inputs.name}-guard`, outs, later);
    assert.deepEqual(diff, { changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("is no change when only the serialized provider differs (a stack deployed by earlier code)", async function () {
    const inputs: RunnerTeardownInputs = { ...(await replacement(1)) };
    delete inputs.awaitOnline;
    const olds = { ...inputs, __provider: "exports.handler = /* earlier loader */" };
    const news = { ...inputs, __provider: "exports.handler = /* this loader */" };
    assert.deepEqual(await guard.diff(`${inputs.name}-guard`, olds, news), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });
});
