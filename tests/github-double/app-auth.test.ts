import * as assert from "node:assert/strict";
import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { startGitHubDouble, type GitHubDouble } from "../../devkit/github-double/index";
import { appJwt, call, quietLog, rsaKeys, TestClock } from "./test-helpers";

const appId = 4242;
const installationId = 77;

describe("GitHub double: GitHub App authentication", function () {
  const keys = rsaKeys();
  let clock: TestClock;
  let double: GitHubDouble;
  const nowSeconds = () => Math.floor(clock.now() / 1000);
  const exchange = (jwt: string, installation = installationId) =>
    call(double, "POST", `/app/installations/${installation}/access_tokens`, {
      authorization: `Bearer ${jwt}`,
    });

  beforeEach(async function () {
    clock = new TestClock();
    double = await startGitHubDouble({
      clock,
      apps: [
        {
          appId,
          installationId,
          publicKeyPem: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
        },
      ],
    });
  });

  afterEach(async function () {
    await double.close();
  });

  it("exchanges a signed JWT for a one-hour installation token that manages runners", async function () {
    const res = await exchange(appJwt(keys.privateKey, appId, nowSeconds()));
    assert.equal(res.status, 201);
    assert.match(res.body.token, /^ghs_[A-Za-z0-9]{36}$/);
    assert.equal(res.body.expires_at, "2030-01-01T13:00:00Z");
    assert.equal(res.body.repository_selection, "all");
    const runners = await call(double, "GET", "/orgs/acme/actions/runners", {
      token: res.body.token,
    });
    assert.equal(runners.status, 200);
  });

  it("rejects an installation token once it has expired", async function () {
    const { token } = (await exchange(appJwt(keys.privateKey, appId, nowSeconds()))).body;
    clock.advance(60 * 60 * 1000);
    const res = await call(double, "GET", "/orgs/acme/actions/runners", { token });
    assert.equal(res.status, 401);
    assert.equal(res.body.message, "Bad credentials");
  });

  it("rejects a JWT signed with another key", async function () {
    const res = await exchange(appJwt(rsaKeys().privateKey, appId, nowSeconds()));
    assert.equal(res.status, 401);
    assert.equal(res.body.message, "A JSON web token could not be decoded");
  });

  it("rejects a JWT of another app, and a token that is no JWT", async function () {
    for (const jwt of [appJwt(keys.privateKey, 1, nowSeconds()), "ghp_notajwt"]) {
      const res = await exchange(jwt);
      assert.equal(res.status, 401);
      assert.equal(res.body.message, "A JSON web token could not be decoded");
    }
  });

  it("rejects an expired JWT", async function () {
    const jwt = appJwt(keys.privateKey, appId, nowSeconds());
    clock.advance(541_000);
    const res = await exchange(jwt);
    assert.equal(res.status, 401);
    assert.equal(
      res.body.message,
      "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    );
  });

  it("rejects a JWT that expires more than 10 minutes ahead", async function () {
    const res = await exchange(
      appJwt(keys.privateKey, appId, nowSeconds(), { exp: nowSeconds() + 601 }),
    );
    assert.equal(res.status, 401);
    assert.equal(res.body.message, "'Expiration time' claim ('exp') is too far in the future");
  });

  it("rejects a JWT issued in the future", async function () {
    const res = await exchange(
      appJwt(keys.privateKey, appId, nowSeconds(), { iat: nowSeconds() + 60 }),
    );
    assert.equal(res.status, 401);
    assert.match(res.body.message, /^'Issued at' claim \('iat'\) must be an Integer/);
  });

  it("rejects another app's installation with 404", async function () {
    const res = await exchange(appJwt(keys.privateKey, appId, nowSeconds()), installationId + 1);
    assert.equal(res.status, 404);
    assert.equal(res.body.message, "Not Found");
  });

  it("rejects a JWT on other endpoints with 401", async function () {
    const jwt = appJwt(keys.privateKey, appId, nowSeconds());
    const res = await call(double, "GET", "/orgs/acme/actions/runners", {
      authorization: `Bearer ${jwt}`,
    });
    assert.equal(res.status, 401);
    assert.equal(res.body.message, "Bad credentials");
  });

  describe("with @octokit/auth-app", function () {
    it("gets an installation token and uses it, correcting for clock skew from `date`", async function () {
      // The double's clock runs 20 minutes ahead of this process's, so auth-app's first JWT has
      // expired by the double's time; auth-app must read `date` and sign a fresh one.
      clock = new TestClock(Date.now() + 20 * 60 * 1000);
      await double.close();
      double = await startGitHubDouble({
        clock,
        apps: [
          {
            appId,
            installationId,
            publicKeyPem: keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
          },
        ],
      });
      const octokit = new Octokit({
        baseUrl: double.url,
        log: quietLog,
        authStrategy: createAppAuth,
        auth: {
          appId: String(appId),
          installationId: String(installationId),
          privateKey: keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        },
      });
      const res = await octokit.rest.actions.listSelfHostedRunnersForOrg({ org: "acme" });
      assert.equal(res.status, 200);
      const counts = double.control.requestCounts().byRoute;
      assert.equal(counts["POST /app/installations/{installation_id}/access_tokens"], 2);
    });
  });
});
