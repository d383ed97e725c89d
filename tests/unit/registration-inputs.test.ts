import * as assert from "node:assert/strict";
import { resolveCredentials } from "../../dynamic-providers/github/client";
import { checkRegistrationInputs } from "../../dynamic-providers/github/registration-inputs";
import { settingDefaults } from "../../rules/settings";

describe("GitHub runner registration inputs", function () {
  const valid = { path: "acme/widgets", name: "fleet-0a1b2c3d4e5f", labels: ["gpu"] };

  it("applies the documented defaults", function () {
    const { inputs, failures } = checkRegistrationInputs(valid);
    assert.deepEqual(failures, []);
    assert.equal(inputs.apiUrl, settingDefaults.githubApiUrl);
    assert.equal(inputs.runnerGroup, "Default");
    assert.equal(inputs.mode, "jit");
    assert.equal(inputs.busyWaitSeconds, 600);
    assert.equal(inputs.flushBusy, false);
  });

  it("accepts organisations and repositories", function () {
    for (const path of ["acme", "acme-corp", "acme/widgets", "a/b.c_d-e"]) {
      assert.deepEqual(checkRegistrationInputs({ ...valid, path }).failures, [], path);
    }
  });

  const rejections: [string, Record<string, unknown>, string, RegExp][] = [
    [
      "a path with three parts",
      { path: "a/b/c" },
      "path",
      /`path` must be an organisation .* got "a\/b\/c"/,
    ],
    ["an empty path", { path: "" }, "path", /got ""/],
    ["a repo named '..'", { path: "acme/.." }, "path", /got "acme\/\.\."/],
    ["a name over 64 characters", { name: "r".repeat(65) }, "name", /1 to 64 letters/],
    ["a name with a space", { name: "my runner" }, "name", /got "my runner"/],
    // The name is also the server's hostname (rules/github.ts): no '.' or '_', no trailing '-'.
    ["a name with an underscore", { name: "my_runner" }, "name", /it is the hostname/],
    [
      "a bootGraceSeconds under a minute",
      { bootGraceSeconds: 59 },
      "bootGraceSeconds",
      /60 to 86400, got 59/,
    ],
    ["a label with a comma", { labels: ["a,b"] }, "labels", /without commas .* got "a,b"/],
    [
      "labels that are not a list",
      { labels: "gpu" },
      "labels",
      /must be a list of strings, got "gpu"/,
    ],
    [
      "101 labels with the defaults",
      { labels: Array.from({ length: 99 }, (_, i) => `l${i}`) },
      "labels",
      /at most 100 labels/,
    ],
    [
      "an unknown mode",
      { mode: "pat" },
      "mode",
      /must be "jit" or "registration-token" .*got "pat"/,
    ],
    [
      "a negative busy wait",
      { busyWaitSeconds: -1 },
      "busyWaitSeconds",
      /integer from 0 to 86400, got -1/,
    ],
    [
      "a non-URL API",
      { apiUrl: "api.github.com" },
      "apiUrl",
      /http\(s\) URL, got "api.github.com"/,
    ],
    ["a non-boolean flushBusy", { flushBusy: "yes" }, "flushBusy", /true or false, got "yes"/],
  ];
  for (const [what, change, property, message] of rejections) {
    it(`rejects ${what}`, function () {
      const { failures } = checkRegistrationInputs({ ...valid, ...change });
      assert.equal(failures.length, 1, JSON.stringify(failures));
      assert.equal(failures[0].property, property);
      assert.match(failures[0].reason, message);
    });
  }
});

describe("GitHub credentials", function () {
  const none = () => undefined;

  it("prefers the stack config secret to the environment", function () {
    const creds = resolveCredentials(
      (k) => (k === "runner-fleet:githubToken" ? "from-config" : undefined),
      { GITHUB_TOKEN: "from-env" },
    );
    assert.deepEqual(creds, { kind: "token", token: "from-config" });
  });

  it("reads a GitHub App from the environment", function () {
    const creds = resolveCredentials(none, {
      GITHUB_APP_ID: "12",
      GITHUB_APP_INSTALLATION_ID: "34",
      GITHUB_APP_PRIVATE_KEY: "pem",
    });
    assert.deepEqual(creds, { kind: "app", appId: "12", installationId: "34", privateKey: "pem" });
  });

  it("fails without credentials, naming the settings and no value", function () {
    assert.throws(
      () => resolveCredentials(none, { GITHUB_APP_ID: "12" }),
      /GitHub credentials are missing: set the secret `runner-fleet:githubToken`/,
    );
  });
});
