import * as assert from "node:assert/strict";
import { startGitHubDouble, type GitHubDouble } from "../../devkit/github-double/index";
import { call, callControl } from "./test-helpers";

describe("GitHub double: control API over HTTP", function () {
  let double: GitHubDouble;

  beforeEach(async function () {
    double = await startGitHubDouble();
  });

  afterEach(async function () {
    await double.close();
  });

  const control = (method: string, args?: unknown[]) => callControl(double, method, args);

  it("drives runners and jobs like the in-process control API", async function () {
    const group = await control("addRunnerGroup", ["acme", "fleet"]);
    assert.equal(group.status, 200);
    const jit = await call(double, "POST", "/orgs/acme/actions/runners/generate-jitconfig", {
      token: double.adminToken,
      body: { name: "r1", runner_group_id: group.body.id, labels: ["self-hosted"] },
    });
    assert.equal(jit.status, 201);

    assert.equal((await control("setOnline", ["r1"])).body.status, "online");
    const job = await control("dispatchJob", [{ repo: "acme/widgets" }]);
    assert.equal(job.body.status, "queued");
    const started = await control("startJob", [jit.body.runner.id, job.body.id]);
    assert.equal(started.body.runner_group_name, "fleet");
    const [snapshot] = (await control("runners")).body;
    assert.deepEqual(
      [snapshot.name, snapshot.busy, snapshot.owner_path, snapshot.job_id],
      ["r1", true, "orgs/acme", job.body.id],
    );
    const finished = await control("finishJob", ["r1", { conclusion: "success" }]);
    assert.equal(finished.body.conclusion, "success");
    assert.deepEqual((await control("runners")).body, []);
  });

  it("steers faults and counts requests", async function () {
    assert.equal((await control("fault", [{ status: 503 }])).status, 204);
    const faulted = await call(double, "GET", "/orgs/acme/actions/runners", {
      token: double.adminToken,
    });
    assert.equal(faulted.status, 503);
    const counts = await control("requestCounts");
    assert.deepEqual(counts.body, { total: 1, byRoute: { "GET /orgs/{org}/actions/runners": 1 } });
  });

  it("rejects an unknown method with 404", async function () {
    const res = await control("selfDestruct");
    assert.equal(res.status, 404);
    assert.equal(res.body.message, 'No control method "selfDestruct": use POST /_control/<method>');
  });

  it("rejects an unknown runner with 404, and arguments that are no array with 400", async function () {
    const unknown = await control("setOnline", ["ghost"]);
    assert.deepEqual(unknown, { status: 404, body: { message: 'No runner "ghost"' } });
    const res = await fetch(`${double.url}/_control/setOnline`, {
      method: "POST",
      body: '{"a":1}',
    });
    assert.equal(res.status, 400);
    assert.equal(
      ((await res.json()) as { message: string }).message,
      "The body must be a JSON array of arguments",
    );
  });

  it("rejects a job for a repository name that is not owner/repo with 422", async function () {
    const res = await control("dispatchJob", [{ repo: "just-a-name" }]);
    assert.deepEqual(res, {
      status: 422,
      body: { message: '"just-a-name" is not an owner/repo name' },
    });
  });
});
