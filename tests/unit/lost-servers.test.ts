// Which servers the lost-server sweep deletes, and when (pure); where OpenStack credentials come
// from.
import * as assert from "node:assert/strict";
import { planLostServers } from "../../fleet/lost-servers";
import type { FleetServer } from "../../dynamic-providers/openstack/nova-servers";
import { openStackCredentials } from "../../dynamic-providers/openstack/session";

const server = (id: string, runnerName: string, keyName: string | null = runnerName) =>
  ({ id, runnerName, keyName, stack: "o/p/s#1" }) satisfies FleetServer;

describe("lost servers", () => {
  const previous = (knownServerIds: string[], lostServerCandidates: string[] = []) => ({
    knownServerIds,
    lostServerCandidates,
  });

  it("keeps the servers the last deployment knew, and carries them over", () => {
    const plan = planLostServers([server("s1", "ci-a")], previous(["s1", "gone"]), new Set());
    assert.deepEqual(plan, { sweep: [], candidates: [], stillKnown: ["s1"] });
  });

  it("makes an unknown server a candidate first: the engine may still delete it itself", () => {
    const plan = planLostServers([server("s2", "ci-b")], previous([]), new Set());
    assert.deepEqual(plan.sweep, []);
    assert.deepEqual(
      plan.candidates.map((s) => s.id),
      ["s2"],
    );
  });

  it("sweeps a candidate still unknown one deployment later, with its keypair", () => {
    const plan = planLostServers([server("s2", "ci-b")], previous([], ["s2"]), new Set());
    assert.deepEqual(plan.sweep, [{ id: "s2", runnerName: "ci-b", keypair: "ci-b" }]);
    assert.deepEqual(plan.candidates, []);
  });

  it("keeps the keypair a known server of the same runner uses (an interrupted replacement)", () => {
    const plan = planLostServers(
      [server("s1", "ci-a"), server("s9", "ci-a")],
      previous(["s1"], ["s9"]),
      new Set(),
    );
    assert.deepEqual(plan.sweep, [{ id: "s9", runnerName: "ci-a" }]);
    assert.deepEqual(plan.stillKnown, ["s1"]);
  });

  it("leaves a candidate whose runner is busy for after its job", () => {
    const plan = planLostServers([server("s3", "ci-c")], previous([], ["s3"]), new Set(["ci-c"]));
    assert.deepEqual(plan.sweep, []);
    assert.deepEqual(
      plan.candidates.map((s) => s.id),
      ["s3"],
    );
  });

  it("deletes no keypair for a server booted without one", () => {
    const plan = planLostServers([server("s4", "ci-d", null)], previous([], ["s4"]), new Set());
    assert.deepEqual(plan.sweep, [{ id: "s4", runnerName: "ci-d" }]);
  });
});

describe("OpenStack credentials", () => {
  const none = () => undefined;

  it("reads a password login from OS_* variables, with Default domains", () => {
    const creds = openStackCredentials(
      {
        OS_AUTH_URL: "http://127.0.0.1:5000/v3/",
        OS_USERNAME: "fleet",
        OS_PASSWORD: "pw",
        OS_PROJECT_NAME: "runners",
        OS_REGION_NAME: "RegionOne",
      },
      none,
    );
    assert.ok(!("missing" in creds));
    assert.equal(creds.authUrl, "http://127.0.0.1:5000/v3");
    assert.equal(creds.region, "RegionOne");
    assert.equal(creds.endpointInterface, "public");
    assert.deepEqual(creds.identity, {
      kind: "password",
      user: { id: undefined, name: "fleet", domain: { id: undefined, name: "Default" } },
      password: "pw",
      project: { id: undefined, name: "runners", domain: { id: undefined, name: "Default" } },
    });
  });

  it("prefers an application credential, and adds /v3 to a bare Keystone URL", () => {
    const creds = openStackCredentials(
      {
        OS_AUTH_URL: "https://keystone.example:5000",
        OS_APPLICATION_CREDENTIAL_ID: "app-id",
        OS_APPLICATION_CREDENTIAL_SECRET: "app-secret",
        OS_INTERFACE: "internalURL",
      },
      none,
    );
    assert.ok(!("missing" in creds));
    assert.equal(creds.authUrl, "https://keystone.example:5000/v3");
    assert.equal(creds.endpointInterface, "internal");
    assert.deepEqual(creds.identity, {
      kind: "application-credential",
      id: "app-id",
      secret: "app-secret",
    });
  });

  it("reads OS_CLOUD's entry of clouds.yaml, which OS_* variables override", () => {
    const yaml = [
      "clouds:",
      "  ci:",
      "    region_name: RegionTwo",
      "    auth:",
      "      auth_url: http://keystone:5000/v3",
      "      username: fleet",
      "      password: from-file",
      "      project_name: runners",
      "      user_domain_name: Users",
      "      project_domain_id: default",
    ].join("\n");
    const creds = openStackCredentials(
      { OS_CLOUD: "ci", OS_CLIENT_CONFIG_FILE: "/etc/x/clouds.yaml", OS_PASSWORD: "from-env" },
      (file) => (file === "/etc/x/clouds.yaml" ? yaml : undefined),
    );
    assert.ok(!("missing" in creds));
    assert.equal(creds.region, "RegionTwo");
    assert.ok(creds.identity.kind === "password");
    assert.equal(creds.identity.password, "from-env");
    assert.deepEqual(creds.identity.user.domain, { id: undefined, name: "Users" });
    assert.deepEqual(creds.identity.project.domain, { id: "default", name: undefined });
  });

  it("says what is missing, without any secret", () => {
    assert.deepEqual(openStackCredentials({}, none), {
      missing: "neither OS_AUTH_URL nor OS_CLOUD is set",
    });
    assert.deepEqual(
      openStackCredentials({ OS_CLOUD: "nope", OS_CLIENT_CONFIG_FILE: "/c.yaml" }, none),
      {
        missing: "OS_CLOUD is set but no /c.yaml",
      },
    );
    const noPassword = openStackCredentials({ OS_AUTH_URL: "http://k/v3", OS_USERNAME: "u" }, none);
    assert.deepEqual(noPassword, {
      missing: "no OS_PASSWORD with OS_USERNAME, nor an application credential",
    });
  });
});
