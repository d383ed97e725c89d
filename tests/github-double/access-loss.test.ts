import * as assert from "node:assert/strict";
import { startGitHubDouble, type GitHubDouble } from "../../devkit/github-double/index";
import { appJwt, call, callControl, rsaKeys, TestClock, type RawResponse } from "./test-helpers";

const adminToken = "ghp_admin_for_tests";
const fineGrainedToken = "ghp_fine_grained_for_tests";
const readToken = "ghp_read_for_tests";
const app = { appId: 4242, installationId: 77 };
const otherApp = { appId: 4343, installationId: 88 };
const widgets = "/repos/acme/widgets";
const gadgets = "/repos/acme/gadgets";

const badCredentials = {
  message: "Bad credentials",
  documentation_url: "https://docs.github.com/rest",
  status: "401",
};

const notFound = (documentation_url: string) => ({
  message: "Not Found",
  documentation_url,
  status: "404",
});

const runnerDocs = "https://docs.github.com/rest/actions/self-hosted-runners";
const appDocs = "https://docs.github.com/rest/apps/apps";

describe("GitHub double: credentials losing access", function () {
  const keys = rsaKeys();
  let clock: TestClock;
  let double: GitHubDouble;

  beforeEach(async function () {
    clock = new TestClock();
    const publicKeyPem = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
    double = await startGitHubDouble({
      clock,
      tokens: [
        { token: adminToken, access: "admin" },
        { token: fineGrainedToken, access: "admin" },
        { token: readToken, access: "read" },
      ],
      apps: [
        { ...app, publicKeyPem },
        { ...otherApp, publicKeyPem },
      ],
    });
  });

  afterEach(async function () {
    await double.close();
  });

  /** A request as a GitHub App, with a fresh JWT of `appId`. */
  const asApp = (method: string, path: string, appId = app.appId) =>
    call(double, method, path, {
      authorization: `Bearer ${appJwt(keys.privateKey, appId, Math.floor(clock.now() / 1000))}`,
    });

  const exchange = (installation = app) =>
    asApp(
      "POST",
      `/app/installations/${installation.installationId}/access_tokens`,
      installation.appId,
    );

  const installationToken = async (installation = app): Promise<string> => {
    const res = await exchange(installation);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.token;
  };

  const get = (path: string, token: string) => call(double, "GET", path, { token });

  const listRunners = (scope: string, token: string) => get(`${scope}/actions/runners`, token);

  /** The status of each response, to compare many at once. */
  const statuses = (responses: Pick<RawResponse, "status">[]) => responses.map((r) => r.status);

  describe("revokeToken", function () {
    it("refuses a revoked personal access token with 401 Bad credentials everywhere", async function () {
      assert.equal((await listRunners("/orgs/acme", fineGrainedToken)).status, 200);

      double.control.revokeToken(fineGrainedToken);

      const job = double.control.dispatchJob({ repo: "acme/widgets" });
      for (const path of [
        "/orgs/acme/actions/runners",
        `${widgets}/actions/runners`,
        `${widgets}/actions/jobs/${job.id}`,
      ]) {
        const res = await get(path, fineGrainedToken);
        assert.equal(res.status, 401, path);
        assert.deepEqual(res.body, badCredentials, path);
      }
      assert.equal((await listRunners("/orgs/acme", adminToken)).status, 200, "another token");
    });

    it("refuses a revoked installation token, while another of the same installation works", async function () {
      const revoked = await installationToken();
      const kept = await installationToken();
      assert.equal((await listRunners("/orgs/acme", revoked)).status, 200);

      double.control.revokeToken(revoked);

      const res = await listRunners("/orgs/acme", revoked);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, badCredentials);
      assert.equal((await listRunners("/orgs/acme", kept)).status, 200);
      assert.equal((await exchange()).status, 201, "the installation still issues tokens");
    });

    it("refuses to revoke a token the double never accepted", function () {
      assert.throws(() => double.control.revokeToken("ghp_never_issued"), {
        status: 404,
        message: 'No token "ghp_never_issued"',
      });
    });
  });

  describe("uninstallApp", function () {
    it("answers the installation's token exchange and lookups with 404, its tokens with 401", async function () {
      const issued = await installationToken();
      const orgLookup = await asApp("GET", "/orgs/acme/installation");
      assert.equal(orgLookup.status, 200);
      assert.deepEqual(
        {
          id: orgLookup.body.id,
          app_id: orgLookup.body.app_id,
          account: orgLookup.body.account.login,
          target_type: orgLookup.body.target_type,
          repository_selection: orgLookup.body.repository_selection,
          access_tokens_url: orgLookup.body.access_tokens_url,
        },
        {
          id: app.installationId,
          app_id: app.appId,
          account: "acme",
          target_type: "Organization",
          repository_selection: "all",
          access_tokens_url: `${double.url}/app/installations/77/access_tokens`,
        },
      );
      assert.equal((await asApp("GET", `${widgets}/installation`)).body.id, app.installationId);
      assert.equal((await listRunners("/orgs/acme", issued)).status, 200);

      double.control.uninstallApp(app.installationId);

      const refusedExchange = await exchange();
      assert.equal(refusedExchange.status, 404);
      assert.deepEqual(
        refusedExchange.body,
        notFound(`${appDocs}#create-an-installation-access-token-for-an-app`),
      );
      const orgGone = await asApp("GET", "/orgs/acme/installation");
      assert.equal(orgGone.status, 404);
      assert.deepEqual(
        orgGone.body,
        notFound(`${appDocs}#get-an-organization-installation-for-the-authenticated-app`),
      );
      const repoGone = await asApp("GET", `${widgets}/installation`);
      assert.equal(repoGone.status, 404);
      assert.deepEqual(
        repoGone.body,
        notFound(`${appDocs}#get-a-repository-installation-for-the-authenticated-app`),
      );
      const tokenGone = await listRunners("/orgs/acme", issued);
      assert.equal(tokenGone.status, 401);
      assert.deepEqual(tokenGone.body, badCredentials);
    });

    it("leaves another app's installation and personal access tokens working", async function () {
      double.control.uninstallApp(app.installationId);

      const other = await asApp("GET", "/orgs/acme/installation", otherApp.appId);
      assert.equal(other.status, 200);
      assert.equal(other.body.id, otherApp.installationId);
      const token = await installationToken(otherApp);
      assert.equal((await listRunners("/orgs/acme", token)).status, 200);
      assert.equal((await listRunners("/orgs/acme", adminToken)).status, 200);
    });

    it("refuses an installation no app has", function () {
      assert.throws(() => double.control.uninstallApp(99), {
        status: 404,
        message: "No installation 99",
      });
    });
  });

  describe("dropRepositoryAccess", function () {
    let runnerId: number;
    let jobId: number;

    beforeEach(async function () {
      for (const [scope, name] of [
        [widgets, "widgets-1"],
        [gadgets, "gadgets-1"],
        ["/orgs/acme", "org-1"],
      ]) {
        const res = await call(double, "POST", `${scope}/actions/runners/generate-jitconfig`, {
          token: adminToken,
          body: { name, runner_group_id: 1, labels: ["self-hosted"] },
        });
        assert.equal(res.status, 201);
        if (name === "widgets-1") runnerId = res.body.runner.id;
      }
      jobId = double.control.dispatchJob({ repo: "acme/widgets" }).id;
    });

    /** Every request of the dropped repository the tests expect 404 for, with its docs link. */
    const widgetsRequests = (): [string, string, string][] => [
      ["GET", `${widgets}/actions/runners`, "list-self-hosted-runners-for-a-repository"],
      [
        "GET",
        `${widgets}/actions/runners/${runnerId}`,
        "get-a-self-hosted-runner-for-a-repository",
      ],
      [
        "DELETE",
        `${widgets}/actions/runners/${runnerId}`,
        "delete-a-self-hosted-runner-from-a-repository",
      ],
      [
        "POST",
        `${widgets}/actions/runners/registration-token`,
        "create-a-registration-token-for-a-repository",
      ],
    ];

    const expectHidden = async (token: string) => {
      for (const [method, path, anchor] of widgetsRequests()) {
        const res = await call(double, method, path, { token });
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.deepEqual(res.body, notFound(`${runnerDocs}#${anchor}`), `${method} ${path}`);
      }
      const job = await get(`${widgets}/actions/jobs/${jobId}`, token);
      assert.equal(job.status, 404);
      assert.equal(job.body.message, "Not Found");
      const otherCase = await listRunners("/repos/ACME/Widgets", token);
      assert.equal(otherCase.status, 404, "owner and repository names compare without case");
      assert.equal(
        double.control.runners().filter((r) => r.id === runnerId).length,
        1,
        "the hidden runner was not deleted",
      );
    };

    /** What stays visible to a token that lost only acme/widgets. */
    const expectOthersVisible = async (token: string) => {
      const gadgetRunners = await listRunners(gadgets, token);
      assert.equal(gadgetRunners.status, 200);
      assert.deepEqual(
        gadgetRunners.body.runners.map((r: { name: string }) => r.name),
        ["gadgets-1"],
      );
      const orgRunners = await listRunners("/orgs/acme", token);
      assert.equal(orgRunners.status, 200);
      assert.deepEqual(
        orgRunners.body.runners.map((r: { name: string }) => r.name),
        ["org-1"],
      );
    };

    it("hides a repository from one personal access token, and from no other", async function () {
      const before = [
        await listRunners(widgets, fineGrainedToken),
        await get(`${widgets}/actions/runners/${runnerId}`, fineGrainedToken),
        await get(`${widgets}/actions/jobs/${jobId}`, fineGrainedToken),
      ];
      assert.deepEqual(statuses(before), [200, 200, 200]);

      double.control.dropRepositoryAccess({ token: fineGrainedToken, repo: "acme/widgets" });

      await expectHidden(fineGrainedToken);
      await expectOthersVisible(fineGrainedToken);
      const unaffected = await listRunners(widgets, adminToken);
      assert.equal(unaffected.status, 200);
      assert.deepEqual(
        unaffected.body.runners.map((r: { id: number }) => r.id),
        [runnerId],
      );
    });

    it("answers 404, not 403, to a read-only token on a hidden repository", async function () {
      assert.equal((await listRunners(widgets, readToken)).status, 403);

      double.control.dropRepositoryAccess({ token: readToken, repo: "acme/widgets" });

      const res = await listRunners(widgets, readToken);
      assert.equal(res.status, 404);
      assert.equal(res.body.message, "Not Found");
    });

    it("hides a repository from one installation token, not from the installation", async function () {
      const narrowed = await installationToken();
      const kept = await installationToken();
      assert.equal((await listRunners(widgets, narrowed)).status, 200);

      double.control.dropRepositoryAccess({ token: narrowed, repo: "acme/widgets" });

      await expectHidden(narrowed);
      await expectOthersVisible(narrowed);
      assert.equal((await listRunners(widgets, kept)).status, 200);
      assert.equal((await asApp("GET", `${widgets}/installation`)).status, 200);
    });

    it("hides a repository from every token of an installation whose selection drops it", async function () {
      const issuedBefore = await installationToken();
      assert.equal((await listRunners(widgets, issuedBefore)).status, 200);
      const otherAppToken = await installationToken(otherApp);

      double.control.dropRepositoryAccess({
        installationId: app.installationId,
        repo: "acme/widgets",
      });

      const exchanged = await exchange();
      assert.equal(exchanged.status, 201);
      assert.equal(exchanged.body.repository_selection, "selected");
      for (const token of [issuedBefore, exchanged.body.token as string]) {
        await expectHidden(token);
        await expectOthersVisible(token);
      }
      const repoLookup = await asApp("GET", `${widgets}/installation`);
      assert.equal(repoLookup.status, 404);
      assert.equal(repoLookup.body.message, "Not Found");
      assert.equal((await asApp("GET", `${gadgets}/installation`)).status, 200);
      const orgLookup = await asApp("GET", "/orgs/acme/installation");
      assert.equal(orgLookup.status, 200);
      assert.equal(orgLookup.body.repository_selection, "selected");
      assert.equal((await listRunners(widgets, otherAppToken)).status, 200, "another app");
    });

    it("refuses an unknown token or installation, a bad repository name, and naming both or neither", function () {
      assert.throws(
        () => double.control.dropRepositoryAccess({ token: "ghp_nope", repo: "acme/widgets" }),
        { status: 404, message: 'No token "ghp_nope"' },
      );
      assert.throws(
        () => double.control.dropRepositoryAccess({ installationId: 99, repo: "acme/widgets" }),
        { status: 404, message: "No installation 99" },
      );
      assert.throws(
        () => double.control.dropRepositoryAccess({ token: adminToken, repo: "widgets" }),
        { status: 422, message: '"widgets" is not an owner/repo name' },
      );
      const message = "Name either a token or an installationId, not both or neither";
      const both = { token: adminToken, installationId: app.installationId, repo: "acme/widgets" };
      assert.throws(() => double.control.dropRepositoryAccess(both), { status: 422, message });
      const neither = { repo: "acme/widgets" } as Parameters<
        GitHubDouble["control"]["dropRepositoryAccess"]
      >[0];
      assert.throws(() => double.control.dropRepositoryAccess(neither), { status: 422, message });
    });
  });

  describe("over HTTP", function () {
    it("switches each loss through POST /_control/<method>", async function () {
      const issued = await installationToken();
      const before = [
        await listRunners(widgets, adminToken),
        await listRunners(widgets, fineGrainedToken),
        await listRunners("/orgs/acme", issued),
      ];
      assert.deepEqual(statuses(before), [200, 200, 200]);

      const answers = [
        await callControl(double, "revokeToken", [adminToken]),
        await callControl(double, "dropRepositoryAccess", [
          { token: fineGrainedToken, repo: "acme/widgets" },
        ]),
        await callControl(double, "uninstallApp", [app.installationId]),
      ];
      assert.deepEqual(statuses(answers), [204, 204, 204]);

      assert.equal((await listRunners(widgets, adminToken)).status, 401);
      assert.equal((await listRunners(widgets, fineGrainedToken)).status, 404);
      assert.equal((await listRunners(gadgets, fineGrainedToken)).status, 200);
      assert.equal((await listRunners("/orgs/acme", issued)).status, 401);
      assert.equal((await exchange()).status, 404);
    });

    it("answers an unknown token or installation with 404 and its message", async function () {
      assert.deepEqual(await callControl(double, "revokeToken", ["ghp_nope"]), {
        status: 404,
        body: { message: 'No token "ghp_nope"' },
      });
      assert.deepEqual(await callControl(double, "uninstallApp", ["77"]), {
        status: 404,
        body: { message: 'No installation "77"' },
      });
    });
  });
});
