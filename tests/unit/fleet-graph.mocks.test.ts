// The fleet's resource graph under Pulumi mocks: which resources each config makes, with which
// inputs. (Mocks never run dynamic providers' methods; the e2e suites do. They do serialize them,
// so a provider that cannot be serialized fails here.)
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { FleetConfig } from "../../config/fleet-config";
import type { FleetPlan } from "../../fleet/plan";
import type { RunnerModel } from "../../fleet/runner-spec";
// Components create no resources at import time, so they can be imported before setMocks runs.
import { declareFleet } from "../../program";
import { RunnerImage } from "../../components/runner-image";
import { RunnerSecurityGroup } from "../../components/runner-security-group";

interface Created {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const created: Created[] = [];

pulumi.runtime.setMocks(
  {
    newResource(args) {
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      const outputs: Record<string, unknown> = { ...args.inputs };
      if (args.type.endsWith("github:RunnerRegistration")) {
        outputs.runnerId = 4242;
        outputs.encodedJitConfig = "JIT-SECRET-BLOB";
        outputs.registrationToken = "";
        outputs.hostPrivateKey =
          "-----BEGIN OPENSSH PRIVATE KEY-----\nHOSTKEY\n-----END OPENSSH PRIVATE KEY-----";
        outputs.hostPublicKey = "ssh-ed25519 AAAAHOSTKEY runner";
        outputs.clientPrivateKey = "CLIENT-PRIVATE";
        outputs.clientPublicKey = "ssh-ed25519 AAAACLIENTKEY runner-fleet-metrics@runner";
      }
      if (args.type === "openstack:compute/keypair:Keypair") outputs.privateKey = "PRIVATE";
      if (args.type.endsWith("ssh:HostKey")) {
        outputs.privateKey =
          "-----BEGIN OPENSSH PRIVATE KEY-----\nLEGACYHOSTKEY\n-----END OPENSSH PRIVATE KEY-----";
        outputs.publicKey = "ssh-ed25519 AAAALEGACYHOSTKEY runner";
      }
      return { id: `${args.name}-id`, state: outputs };
    },
    call(args) {
      if (args.token === "openstack:images/getImage:getImage") return { id: "image-by-name-id" };
      return args.inputs;
    },
  },
  "runner-fleet",
  "test",
  true,
);

function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

const baseConfig: FleetConfig = {
  githubPath: "acme/widgets",
  githubApiUrl: "https://api.github.com",
  registrationMode: "jit",
  runnerGroup: "Default",
  namePrefix: "ci",
  pools: [{ name: "default", flavor: "runner.small", labels: ["gpu"], sizing: { quantity: 3 } }],
  namedPools: false,
  network: "runners-net",
  image: { kind: "existing", ref: "runner-base" },
  sshSourceCidr: "10.0.0.0/8",
  sshDebugRelays: [],
  authorCheck: false,
  flushBusy: false,
  forceRelease: [],
  busyWaitSeconds: 600,
  bootGraceSeconds: 1380,
  rolloutSurge: { percent: 25 },
  rolloutWaitSeconds: 600,
  metrics: { enabled: true, logPath: "m.log" },
};

/** `model` null: a runner whose model the outputs do not record (deployed before lean runners). */
function planOf(names: [string, string][], model: RunnerModel | null = "lean"): FleetPlan {
  return {
    runners: names.map(([name, pool]) => ({
      name,
      pool,
      createdAt: "2026-11-25T00:00:00Z",
      state: "new" as const,
      ...(model ? { model } : {}),
    })),
    dropped: [],
    orphans: [],
    handovers: [],
    rollouts: [],
  };
}

async function deployFleet(config: FleetConfig, plan: FleetPlan, token?: string) {
  created.length = 0;
  const fleet = declareFleet(config, plan, {
    imageId: "image-id",
    securityGroupName: "ci-runners",
    repoPolicyComplianceToken: token ? pulumi.secret(token) : undefined,
    stack: "organization/runner-fleet/unit",
  });
  await Promise.all(
    fleet.runners.map((r: { serverId: pulumi.Output<string> }) => promiseOf(r.serverId)),
  );
  // Let the guards and any apply-created resources register.
  await new Promise((r) => setTimeout(r, 50));
  return created.slice();
}

/** Mocks see secrets as wrapper objects `{<sig>: ..., value}`: the userdata is one. */
const userDataOf = (c: Created): string => {
  const v = c.inputs.userData as string | { value: string };
  return typeof v === "string" ? v : v.value;
};

const ofType = (list: Created[], type: string) => list.filter((c) => c.type === type);
const INSTANCE = "openstack:compute/instance:Instance";
const KEYPAIR = "openstack:compute/keypair:Keypair";
const HOST_KEY = "pulumi-nodejs:dynamic/ssh:HostKey";
const REGISTRATION = "pulumi-nodejs:dynamic/github:RunnerRegistration";
const GUARD = "pulumi-nodejs:dynamic/github:RunnerGuard";

describe("fleet resource graph (mocks)", function () {
  for (const n of [0, 1, 3]) {
    it(`makes ${n} lean runner(s) of four resources each for ${n} planned`, async function () {
      const names = Array.from({ length: n }, (_, i): [string, string] => [
        `ci-00000000000${i}`,
        "default",
      ]);
      const list = await deployFleet(baseConfig, planOf(names));
      const perRunner = list.filter((c) => c.name.startsWith("ci-0"));
      assert.equal(perRunner.length, 4 * n);
      assert.equal(ofType(list, "runner-fleet:openstack:RunnerServer").length, n);
      assert.equal(ofType(list, INSTANCE).length, n);
      assert.equal(ofType(list, REGISTRATION).length, n);
      assert.equal(ofType(list, GUARD).length, n);
      assert.equal(ofType(list, KEYPAIR).length, 0);
      assert.equal(ofType(list, HOST_KEY).length, 0);
    });
  }

  it("declares a runner deployed before lean runners as it was made: six resources, its keypair and host key", async function () {
    const list = await deployFleet(baseConfig, planOf([["ci-0a1b2c3d4e5f", "default"]], null));
    assert.equal(list.filter((c) => c.name.startsWith("ci-0")).length, 6);
    assert.deepEqual(
      ofType(list, KEYPAIR).map((c) => [c.name, c.inputs.name]),
      [["ci-0a1b2c3d4e5f-key", "ci-0a1b2c3d4e5f"]],
    );
    assert.deepEqual(
      ofType(list, HOST_KEY).map((c) => c.name),
      ["ci-0a1b2c3d4e5f-host-key"],
    );
    const server = ofType(list, INSTANCE)[0];
    assert.equal(server.inputs.keyPair, "ci-0a1b2c3d4e5f");
    assert.match(userDataOf(server), /LEGACYHOSTKEY/);
    assert.doesNotMatch(userDataOf(server), /authorized_keys/);
    const metrics = ofType(list, GUARD)[0].inputs.metrics as Record<string, unknown>;
    assert.equal(metrics.hostPublicKey, "ssh-ed25519 AAAALEGACYHOSTKEY runner");
  });

  it("gives each server its image, flavor, network, group, config drive and metadata, and no Nova keypair", async function () {
    const list = await deployFleet(baseConfig, planOf([["ci-0a1b2c3d4e5f", "default"]]));
    const server = ofType(list, INSTANCE)[0].inputs;
    assert.equal(server.name, "ci-0a1b2c3d4e5f");
    assert.equal(server.imageId, "image-id");
    assert.equal(server.flavorName, "runner.small");
    assert.deepEqual(server.networks, [{ name: "runners-net" }]);
    assert.equal(server.keyPair, undefined);
    assert.deepEqual(server.securityGroups, ["ci-runners"]);
    assert.equal(server.configDrive, true);
    assert.deepEqual(server.metadata, {
      "runner-fleet": "ci",
      "runner-fleet-stack": "organization/runner-fleet/unit",
      "runner-fleet-pool": "default",
      "github-runner-name": "ci-0a1b2c3d4e5f",
      "github-runner-id": "4242",
    });
    const registration = ofType(list, REGISTRATION)[0].inputs;
    assert.deepEqual(registration.labels, ["gpu"]);
    assert.equal(registration.path, "acme/widgets");
  });

  it("boots the runner from its JIT config, with the host key the metrics pull pins", async function () {
    const list = await deployFleet(baseConfig, planOf([["ci-0a1b2c3d4e5f", "default"]]));
    const userData = userDataOf(ofType(list, INSTANCE)[0]);
    assert.match(userData, /JIT-SECRET-BLOB/);
    assert.match(userData, /run\.sh/);
    assert.match(userData, /\nHOSTKEY\n/);
    // The key the metrics pull logs in with: its public line authorized, its private half only
    // with the pull.
    assert.match(userData, /authorized_keys <<'AUTHORIZED_KEY'\nssh-ed25519 AAAACLIENTKEY /);
    assert.doesNotMatch(userData, /CLIENT-PRIVATE/);
    const guard = ofType(list, GUARD)[0].inputs;
    const metrics = guard.metrics as Record<string, unknown>;
    assert.equal(metrics.hostPublicKey, "ssh-ed25519 AAAAHOSTKEY runner");
    assert.match(JSON.stringify(metrics.privateKey), /CLIENT-PRIVATE/);
    assert.equal(metrics.flavor, "default");
    assert.match(String(metrics.logPath), /^\/.*m\.log$/);
  });

  it("pulls no metrics when they are off", async function () {
    const config = { ...baseConfig, metrics: { enabled: false, logPath: "m.log" } };
    const list = await deployFleet(config, planOf([["ci-0a1b2c3d4e5f", "default"]]));
    const guard = ofType(list, GUARD)[0].inputs;
    assert.equal(guard.metrics, undefined);
  });

  it("gives each pool its flavor and labels", async function () {
    const config: FleetConfig = {
      ...baseConfig,
      namedPools: true,
      pools: [
        { name: "small", flavor: "m1.small", labels: [], sizing: { quantity: 1 } },
        { name: "gpu", flavor: "g1.large", labels: ["gpu"], sizing: { quantity: 1 } },
      ],
    };
    const list = await deployFleet(
      config,
      planOf([
        ["ci-small-000000000000", "small"],
        ["ci-gpu-000000000001", "gpu"],
      ]),
    );
    const flavors = ofType(list, INSTANCE).map((s) => [s.inputs.name, s.inputs.flavorName]);
    assert.deepEqual(flavors.sort(), [
      ["ci-gpu-000000000001", "g1.large"],
      ["ci-small-000000000000", "m1.small"],
    ]);
  });

  const options: [string, Partial<FleetConfig>, RegExp][] = [
    [
      "a proxy",
      { proxy: { http: "http://proxy.corp:3128", noProxy: "10.0.0.0/8" } },
      /proxy\.corp:3128/,
    ],
    ["aproxy", { proxy: { aproxyAddress: "proxy.corp:3128" } }, /aproxy/],
    ["a Docker Hub mirror", { dockerhubMirror: "https://mirror.corp" }, /mirror\.corp/],
    [
      "an SSH debug relay",
      {
        sshDebugRelays: [
          {
            host: "tmate.corp",
            port: 10022,
            rsaFingerprint: `SHA256:${"r".repeat(43)}`,
            ed25519Fingerprint: `SHA256:${"e".repeat(43)}`,
          },
        ],
      },
      /tmate\.corp/,
    ],
    ["the author check", { authorCheck: true }, /author_association/],
    ["a pre-job script", { preJobScript: "echo custom-pre-job-step" }, /custom-pre-job-step/],
  ];
  for (const [what, change, pattern] of options) {
    it(`puts ${what} into the userdata only when configured`, async function () {
      const on = await deployFleet(
        { ...baseConfig, ...change },
        planOf([["ci-0a1b2c3d4e5f", "default"]]),
      );
      assert.match(userDataOf(ofType(on, INSTANCE)[0]), pattern);
      const off = await deployFleet(baseConfig, planOf([["ci-0a1b2c3d4e5f", "default"]]));
      assert.doesNotMatch(userDataOf(ofType(off, INSTANCE)[0]), pattern);
    });
  }

  it("puts the repo-policy check into the userdata only with its URL and token", async function () {
    const config = { ...baseConfig, repoPolicyComplianceUrl: "http://policy.corp:8080" };
    const on = await deployFleet(config, planOf([["ci-0a1b2c3d4e5f", "default"]]), "POLICY-TOKEN");
    const userData = userDataOf(ofType(on, INSTANCE)[0]);
    assert.match(userData, /policy\.corp:8080/);
    assert.match(userData, /POLICY-TOKEN/);
    const off = await deployFleet(baseConfig, planOf([["ci-0a1b2c3d4e5f", "default"]]));
    assert.doesNotMatch(userDataOf(ofType(off, INSTANCE)[0]), /policy\.corp/);
  });

  it("makes the security group with four described rules, SSH only from the CIDR", async function () {
    created.length = 0;
    const group = new RunnerSecurityGroup("sg", {
      groupName: "ci-runners",
      sshSourceCidr: "10.1.0.0/16",
    });
    await promiseOf(group.groupId);
    await new Promise((r) => setTimeout(r, 50));
    const rules = ofType(created, "openstack:networking/secGroupRule:SecGroupRule").map(
      (r) => r.inputs,
    );
    assert.equal(rules.length, 4);
    assert.ok(rules.every((r) => typeof r.description === "string" && r.description.length > 0));
    const ssh = rules.find((r) => r.portRangeMin === 22);
    assert.equal(ssh?.remoteIpPrefix, "10.1.0.0/16");
    assert.equal(ssh?.direction, "ingress");
    assert.ok(rules.some((r) => r.direction === "egress" && r.portRangeMin === 10022));
    assert.equal(
      ofType(created, "openstack:networking/secGroup:SecGroup")[0].inputs.deleteDefaultRules,
      true,
    );
  });

  it("looks an image up by name, or takes an id as it is", async function () {
    const byName = new RunnerImage("img-name", { image: { kind: "existing", ref: "runner-base" } });
    assert.equal(await promiseOf(byName.imageId), "image-by-name-id");
    const id = "0b6c5d3e-1f2a-4b3c-8d4e-5f6a7b8c9d0e";
    const byId = new RunnerImage("img-id", { image: { kind: "existing", ref: id } });
    assert.equal(await promiseOf(byId.imageId), id);
  });
});
