import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { load as loadYaml } from "js-yaml";
import { FleetConfig, fleetConfigWarnings, parseFleetConfig } from "../../config/fleet-config";

const minimal: Record<string, string> = {
  githubPath: "acme/widgets",
  flavor: "runner.small",
  network: "runners-net",
  image: "runner-base",
  sshSourceCidr: "10.0.0.0/8",
};

const parse = (values: Record<string, string>) => parseFleetConfig((k) => values[k], "dev");

describe("fleet config", function () {
  it("applies the documented defaults to a minimal stack", function () {
    const c = parse(minimal);
    assert.equal(c.namePrefix, "rf-dev");
    assert.deepEqual(c.pools, [
      { name: "default", flavor: "runner.small", labels: [], sizing: { quantity: 1 } },
    ]);
    assert.equal(c.namedPools, false);
    assert.deepEqual(c.image, { kind: "existing", ref: "runner-base" });
    assert.equal(c.githubApiUrl, "https://api.github.com");
    assert.equal(c.registrationMode, "jit");
    assert.equal(c.flushBusy, false);
    assert.equal(c.busyWaitSeconds, 600);
    assert.deepEqual(c.metrics, { enabled: true, logPath: "runner-fleet-metrics.log" });
  });

  it("applies exactly the defaults Pulumi.yaml declares (the CLI shows and applies those)", function () {
    const project = loadYaml(
      fs.readFileSync(path.resolve(__dirname, "..", "..", "Pulumi.yaml"), "utf8"),
    ) as { config: Record<string, { default?: unknown }> };
    const applied: Record<string, (c: FleetConfig) => unknown> = {
      githubApiUrl: (c) => c.githubApiUrl,
      registrationMode: (c) => c.registrationMode,
      runnerGroup: (c) => c.runnerGroup,
      labels: (c) => c.pools[0].labels,
      authorCheck: (c) => c.authorCheck,
      flushBusy: (c) => c.flushBusy,
      forceRelease: (c) => c.forceRelease,
      busyWaitSeconds: (c) => c.busyWaitSeconds,
      bootGraceSeconds: (c) => c.bootGraceSeconds,
      rolloutSurge: (c) => ("percent" in c.rolloutSurge ? `${c.rolloutSurge.percent}%` : "?"),
      rolloutWaitSeconds: (c) => c.rolloutWaitSeconds,
      metricsEnabled: (c) => c.metrics.enabled,
      metricsLogPath: (c) => c.metrics.logPath,
    };
    const declared = Object.entries(project.config)
      .filter(([, v]) => v.default !== undefined)
      .map(([k, v]) => [k.replace(/^runner-fleet:/, ""), v.default] as const);
    assert.deepEqual(declared.map(([k]) => k).sort(), Object.keys(applied).sort());
    const c = parse(minimal);
    for (const [key, value] of declared) assert.deepEqual(applied[key](c), value, key);
  });

  it("warns, and only warns, on SSH open to the world", function () {
    assert.deepEqual(fleetConfigWarnings(parse(minimal)), []);
    const open = parse({ ...minimal, sshSourceCidr: "0.0.0.0/0" });
    assert.match(fleetConfigWarnings(open).join("\n"), /`sshSourceCidr` is 0.0.0.0\/0/);
  });

  it("checks the userdata size at parse time, keeping room for the JIT config", function () {
    // About 32 KB of script fit once the fixed parts and the JIT config's reserve are in.
    assert.equal(
      parse({ ...minimal, preJobScript: "x".repeat(30_000) }).preJobScript?.length,
      30_000,
    );
    assert.throws(
      () => parse({ ...minimal, preJobScript: "x".repeat(45_000) }),
      /`preJobScript` \(45000 bytes\) make the runners' userdata \d+ characters .* shorten it by at least \d+ bytes/,
    );
  });

  it("reads a full stack", function () {
    const c = parse({
      ...minimal,
      githubPath: "acme",
      runnerGroup: "ci",
      labels: '["gpu","x64"]',
      quantity: "3",
      proxy:
        '{"http":"http://proxy:3128","https":"http://proxy:3128","noProxy":"10.0.0.0/8,.corp","aproxyAddress":"proxy:3128"}',
      dockerhubMirror: "https://mirror.example",
      sshDebugRelays: JSON.stringify([
        {
          host: "tmate.example",
          port: 10022,
          rsaFingerprint: `SHA256:${"a".repeat(43)}`,
          ed25519Fingerprint: `SHA256:${"b".repeat(43)}`,
        },
      ]),
      repoPolicyComplianceUrl: "http://policy:8080",
      repoPolicyComplianceToken: "secret",
      authorCheck: "true",
      flushBusy: "true",
    });
    assert.deepEqual(c.pools[0].labels, ["gpu", "x64"]);
    assert.deepEqual(c.pools[0].sizing, { quantity: 3 });
    assert.equal(c.proxy?.aproxyAddress, "proxy:3128");
    assert.equal(c.sshDebugRelays[0].port, 10022);
    assert.equal(c.authorCheck, true);
  });

  it("reads pools instead of quantity, flavor and labels", function () {
    const noFlavor = Object.fromEntries(Object.entries(minimal).filter(([k]) => k !== "flavor"));
    const c = parse({
      ...noFlavor,
      pools:
        '[{"name":"small","flavor":"m1.small","quantity":2},{"name":"gpu","flavor":"g1","labels":["gpu"]}]',
    });
    assert.equal(c.namedPools, true);
    assert.deepEqual(
      c.pools.map((p) => [p.name, p.flavor, "quantity" in p.sizing ? p.sizing.quantity : "?"]),
      [
        ["small", "m1.small", 2],
        ["gpu", "g1", 1],
      ],
    );
  });

  it("fails listing every problem with key, value and what is allowed", function () {
    assert.throws(
      () =>
        parse({ ...minimal, quantity: "-3", githubPath: "a/b/c", sshSourceCidr: "10.0.0.0/33" }),
      (err: Error) => {
        assert.match(err.message, /`quantity` must be an integer from 0 to 1000, got "-3"/);
        assert.match(err.message, /`githubPath` must be an organisation .* got "a\/b\/c"/);
        assert.match(err.message, /`sshSourceCidr` must be an IPv4 network .* got "10.0.0.0\/33"/);
        return true;
      },
    );
  });

  it("fails without the required keys", function () {
    assert.throws(
      () => parse({}),
      /`githubPath` is required[\s\S]*`network` is required[\s\S]*`image` is required/,
    );
  });

  it("rejects runner names over 64 characters", function () {
    assert.throws(
      () => parse({ ...minimal, namePrefix: "a".repeat(52) }),
      /runner names of 65 characters/,
    );
  });

  it("reads rolloutSurge as a count or a share, and bounds rolloutWaitSeconds by the boot grace", function () {
    assert.deepEqual(parse({ ...minimal, rolloutSurge: "2" }).rolloutSurge, { runners: 2 });
    assert.deepEqual(parse({ ...minimal, rolloutSurge: "0" }).rolloutSurge, { runners: 0 });
    assert.deepEqual(parse({ ...minimal, rolloutSurge: "50%" }).rolloutSurge, { percent: 50 });
    assert.equal(parse({ ...minimal, rolloutWaitSeconds: "120" }).rolloutWaitSeconds, 120);
    for (const bad of ["-1", "1001", "0%", "101%", "half"]) {
      assert.throws(
        () => parse({ ...minimal, rolloutSurge: bad }),
        new RegExp(`\`rolloutSurge\` must be a number of runners from 0 to 1000 .*got "${bad}"`),
      );
    }
    assert.throws(
      () => parse({ ...minimal, bootGraceSeconds: "300", rolloutWaitSeconds: "301" }),
      /`rolloutWaitSeconds` must be at most bootGraceSeconds \(300\), got "301"/,
    );
  });

  it("reads pools sized by demand: minIdle and maxRunners, and a fleet-wide ceiling", function () {
    assert.deepEqual(parse({ ...minimal, minIdle: "1", maxRunners: "10" }).pools[0].sizing, {
      minIdle: 1,
      maxRunners: 10,
    });
    assert.deepEqual(parse({ ...minimal, maxRunners: "4" }).pools[0].sizing, {
      minIdle: 0,
      maxRunners: 4,
    });
    const noFlavor = Object.fromEntries(Object.entries(minimal).filter(([k]) => k !== "flavor"));
    const c = parse({
      ...noFlavor,
      fleetMaxRunners: "12",
      pools: '[{"name":"a","flavor":"f","minIdle":2,"maxRunners":8},{"name":"b","flavor":"f"}]',
    });
    assert.deepEqual(
      c.pools.map((p) => p.sizing),
      [{ minIdle: 2, maxRunners: 8 }, { quantity: 1 }],
    );
    assert.equal(c.fleetMaxRunners, 12);
    assert.equal(parse(minimal).fleetMaxRunners, undefined);
    assert.throws(
      () => parse({ ...minimal, quantity: "2", minIdle: "1", maxRunners: "3" }),
      /`quantity` cannot be set together with `minIdle` and `maxRunners`/,
    );
    assert.throws(
      () => parse({ ...minimal, minIdle: "1" }),
      /`maxRunners` is required with `minIdle`: the pool's ceiling/,
    );
    assert.throws(
      () => parse({ ...minimal, minIdle: "5", maxRunners: "3" }),
      /`minIdle` must be at most maxRunners \(3\), got "5"/,
    );
    assert.throws(
      () => parse({ ...noFlavor, pools: '[{"name":"a","flavor":"f","maxRunners":-1}]' }),
      /`pools\[0\]\.maxRunners` must be an integer from 0 to 1000, got -1/,
    );
    assert.throws(
      () => parse({ ...minimal, quantity: "" }),
      /`quantity` must be an integer from 0 to 1000, got ""/,
    );
    assert.throws(
      () => parse({ ...minimal, fleetMaxRunners: "many" }),
      /`fleetMaxRunners` must be an integer from 0 to 1000, got "many"/,
    );
  });

  it("rejects quantity together with pools", function () {
    assert.throws(
      () => parse({ ...minimal, pools: '[{"name":"a","flavor":"f"}]' }),
      /`flavor` cannot be set together with `pools`/,
    );
  });
});
