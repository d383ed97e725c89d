// Proof that the real Pulumi engine drives the real OpenStack provider plugin against the local
// OpenStack: `up` creates a server, a keypair and a security group with a rule as the tenant user;
// the OpenStack API shows them (the server ACTIVE); `destroy` leaves nothing behind.
import * as assert from "node:assert/strict";
import * as openstack from "@pulumi/openstack";
import { cloudEnv, tenantOsEnv } from "../../devkit/local-cloud/cloud-env";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import { createTestStack, TestStack } from "../../devkit/pulumi/test-stack";

describe("real engine on the local OpenStack", function () {
  const suffix = Date.now().toString(36);
  let env: Record<string, string>;
  let test: TestStack;
  let api: OpenStackApi;

  before(async function () {
    env = cloudEnv();
    api = await OpenStackApi.login();
    test = await createTestStack(
      "engine-proof",
      async () => {
        const group = new openstack.networking.SecGroup("proof-sg", {
          name: `proof-sg-${suffix}`,
          description: "engine proof",
        });
        new openstack.networking.SecGroupRule("proof-ssh", {
          securityGroupId: group.id,
          direction: "ingress",
          ethertype: "IPv4",
          protocol: "tcp",
          portRangeMin: 22,
          portRangeMax: 22,
          remoteIpPrefix: "10.0.0.0/8",
          description: "ssh from the manager",
        });
        const key = new openstack.compute.Keypair("proof-key", { name: `proof-key-${suffix}` });
        const server = new openstack.compute.Instance("proof-vm", {
          name: `proof-vm-${suffix}`,
          imageId: env.RUNNER_FLEET_IMAGE_ID,
          flavorName: env.RUNNER_FLEET_FLAVOR,
          keyPair: key.name,
          securityGroups: [group.name],
          networks: [{ uuid: env.RUNNER_FLEET_NETWORK_ID }],
          configDrive: true,
          metadata: { purpose: "engine-proof" },
        });
        return { serverId: server.id, serverStatus: server.powerState, privateKey: key.privateKey };
      },
      tenantOsEnv(),
    );
  });

  after(function () {
    test?.cleanup();
  });

  it("creates a server, a keypair and a security group with a rule", async function () {
    const result = await test.stack.up();
    assert.equal(result.summary.result, "succeeded");
    const serverId = result.outputs.serverId.value as string;
    assert.equal(
      result.outputs.privateKey.secret,
      true,
      "the keypair's private key is a secret output",
    );

    const server = (await api.servers()).find((s) => s.id === serverId);
    assert.ok(server, `server ${serverId} is listed by Nova`);
    assert.equal(server.status, "ACTIVE");
    assert.equal(server.key_name, `proof-key-${suffix}`);
    assert.equal(server.metadata.purpose, "engine-proof");
    assert.ok((await api.keypairs()).some((k) => k.name === `proof-key-${suffix}`));
    const group = (await api.securityGroups()).find((g) => g.name === `proof-sg-${suffix}`);
    assert.ok(group, "the security group exists");
    // Neutron adds two default egress rules to every group; ours is the third.
    assert.equal(group.security_group_rules.length, 3);
  });

  it("destroys everything it created", async function () {
    const result = await test.stack.destroy();
    assert.equal(result.summary.result, "succeeded");
    assert.equal((await api.servers()).filter((s) => s.name === `proof-vm-${suffix}`).length, 0);
    assert.equal((await api.keypairs()).filter((k) => k.name === `proof-key-${suffix}`).length, 0);
    assert.equal(
      (await api.securityGroups()).filter((g) => g.name === `proof-sg-${suffix}`).length,
      0,
    );
  });
});
