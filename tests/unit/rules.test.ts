// The shared rules (rules/), at their edges, and above all where the copies they replace had
// drifted apart: the runner-name pattern, the URL pattern, the boot grace minimum, relay
// fingerprints, the proxy's upstream address and no_proxy list.
import * as assert from "node:assert/strict";
import {
  absolutePath,
  commaList,
  hasUrlCredentials,
  hostPort,
  httpUrl,
  ipv4Cidr,
  port,
  sshFingerprint,
  uuid,
} from "../../rules/formats";
import {
  effectiveLabels,
  gitHubWebUrl,
  label,
  labelsProblem,
  ownerPrefix,
  pathProblem,
  registrationMode,
  runnerName,
} from "../../rules/github";
import { bootGraceSeconds, busyWaitSeconds, settingDefaults } from "../../rules/settings";
import type { Rule } from "../../rules/rule";

function cases(rule: Rule, accepted: unknown[], rejected: unknown[]): void {
  for (const v of accepted) assert.ok(rule.test(v), `accepts ${JSON.stringify(v)}`);
  for (const v of rejected) assert.ok(!rule.test(v), `rejects ${JSON.stringify(v)}`);
}

describe("shared rules", function () {
  it("runner names: hostnames of 1 to 64 characters (the provider took '.', '_' and 65)", function () {
    cases(
      runnerName,
      ["a", "rf-prod-0a1b2c3d4e5f", "A9", "r".repeat(64)],
      ["", "-a", "a-", "a.b", "a_b", "a b", "r".repeat(65), 7, undefined],
    );
  });

  it("http(s) URLs: a host before any path, query or fragment (the provider took `https://h?x`... as a host)", function () {
    cases(
      httpUrl,
      ["https://api.github.com", "http://127.0.0.1:8080/api/v3", "https://h?x=1", "https://h#f"],
      ["api.github.com", "ftp://h", "https://", "https:///path", "https://h /x", "https://?q"],
    );
  });

  it("boot grace: at least a minute (the provider took 0), busy wait from 0", function () {
    cases(bootGraceSeconds, [60, 1380, 86_400], [59, 0, 86_401, 60.5, "60"]);
    cases(busyWaitSeconds, [0, 600, 86_400], [-1, 86_401]);
    assert.ok(bootGraceSeconds.test(settingDefaults.bootGraceSeconds));
    assert.ok(busyWaitSeconds.test(settingDefaults.busyWaitSeconds));
  });

  it("relay fingerprints: OpenSSH SHA256 (the userdata took any word)", function () {
    const b64 = "A".repeat(43);
    cases(
      sshFingerprint,
      [`SHA256:${b64}`, `SHA256:${b64}=`],
      ["SHA256:abc", `MD5:${b64}`, `SHA256:${b64} x`],
    );
  });

  it("the proxy's upstream: host of up to 253 characters and a port from 1 to 65535", function () {
    cases(
      hostPort,
      ["proxy.corp:3128", `${"h".repeat(253)}:1`, "10.0.0.1:65535"],
      ["proxy.corp", ":3128", "proxy.corp:0", "proxy.corp:65536", `${"h".repeat(254)}:1`],
    );
    cases(port, [1, 65535], [0, 65536, "22"]);
  });

  it("no_proxy: a non-empty list without spaces (config took the empty string)", function () {
    cases(commaList, ["localhost", "a,b,.corp"], ["", "a, b", "a\nb"]);
  });

  it("labels: 1 to 256 characters without commas or whitespace; at most 100 with the defaults", function () {
    cases(label, ["gpu", "x".repeat(256), "ünï"], ["", "a,b", "a b", "x".repeat(257)]);
    assert.equal(labelsProblem(Array.from({ length: 98 }, (_, i) => `l${i}`)), undefined);
    assert.match(labelsProblem(Array.from({ length: 99 }, (_, i) => `l${i}`)) ?? "", /at most 100/);
    assert.deepEqual(effectiveLabels(["linux", "gpu", "gpu"]), ["self-hosted", "linux", "gpu"]);
  });

  it("registration modes: one vocabulary (the userdata said `token`)", function () {
    cases(registrationMode, ["jit", "registration-token"], ["token", "JIT", ""]);
  });

  it("owners, their API prefix and the web URL config.sh wants", function () {
    assert.equal(pathProblem("acme"), undefined);
    assert.equal(pathProblem("acme/widgets"), undefined);
    assert.match(pathProblem("acme/..") ?? "", /got "acme\/\.\."/);
    assert.equal(ownerPrefix("acme"), "orgs/acme");
    assert.equal(ownerPrefix("acme/widgets"), "repos/acme/widgets");
    assert.equal(gitHubWebUrl("https://api.github.com/", "acme"), "https://github.com/acme");
    assert.equal(gitHubWebUrl("https://ghes.corp/api/v3", "a/b"), "https://ghes.corp/a/b");
  });

  it("ids, CIDRs and paths", function () {
    cases(
      uuid,
      ["0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f", "0A1B2C3D-0A1B-0A1B-0A1B-0A1B2C3D4E5F"],
      ["0a1b2c3d", "net-1"],
    );
    cases(
      ipv4Cidr,
      ["192.168.0.0/16", "0.0.0.0/0", "10.42.0.7/32", "10.0.0.0/8"],
      [
        "256.0.0.0/8",
        "10.0.0.0",
        "10.0.0.0/33",
        "10.0.0.1/8",
        "010.0.0.0/8",
        "10.00.0.0/16",
        "10.0.0.0/08",
      ],
    );
    assert.ok(hasUrlCredentials("https://u:p@h/x"));
    assert.ok(hasUrlCredentials("http://token@h"));
    assert.ok(!hasUrlCredentials("https://h/a@b"));
    assert.ok(!hasUrlCredentials("https://h?x=a@b"));
    cases(absolutePath, ["/home/ubuntu/metrics-exchange", "/"], ["relative", "/a b", "/a;b"]);
  });
});
