// A second project of the local cloud with a small instance quota, for the quota tests: the
// tenant user is a member, with a network of its own. The tests run beside the sandbox and other
// suites in the main project, so its quota is never lowered; this project's is.
import { cloudEnv } from "./cloud-env";
import { OpenStackApi } from "./openstack-api";

export interface QuotaTenant {
  project: string;
  projectId: string;
  /** The tenant user's OS_* variables, scoped to this project. */
  osEnv: Record<string, string>;
  network: string;
  /** The tenant user's session in this project. */
  api: OpenStackApi;
  /** Sets the project's instance quota (the admin's call). */
  setInstances(instances: number): Promise<void>;
}

/** Finds or makes the project `name`, its membership and its network (`cidr`). Idempotent. */
export async function quotaTenant(name: string, cidr: string): Promise<QuotaTenant> {
  const env = cloudEnv();
  const admin = await OpenStackApi.login({ admin: true });
  const identity = admin.endpoint("identity");
  const v3 = identity.endsWith("/v3") ? "" : "/v3";
  const found = await admin.get<{ projects: { id: string }[] }>(
    "identity",
    `${v3}/projects?name=${encodeURIComponent(name)}`,
  );
  let projectId = found.projects[0]?.id;
  if (!projectId) {
    const res = await admin.checked("identity", "POST", `${v3}/projects`, {
      body: { project: { name, domain_id: "default" } },
    });
    projectId = ((await res.json()) as { project: { id: string } }).project.id;
  }
  const { users } = await admin.get<{ users: { id: string }[] }>(
    "identity",
    `${v3}/users?name=${encodeURIComponent(env.OS_USERNAME)}`,
  );
  const { roles } = await admin.get<{ roles: { id: string }[] }>(
    "identity",
    `${v3}/roles?name=member`,
  );
  await admin.checked(
    "identity",
    "PUT",
    `${v3}/projects/${projectId}/users/${users[0].id}/roles/${roles[0].id}`,
  );
  const api = await OpenStackApi.login({ project: name });
  const networkName = `${name}-net`;
  const { networks } = await api.get<{ networks: { id: string }[] }>(
    "network",
    `/v2.0/networks?name=${encodeURIComponent(networkName)}`,
  );
  if (networks.length === 0) {
    const res = await api.checked("network", "POST", "/v2.0/networks", {
      body: { network: { name: networkName } },
    });
    const { network } = (await res.json()) as { network: { id: string } };
    await api.checked("network", "POST", "/v2.0/subnets", {
      body: { subnet: { network_id: network.id, ip_version: 4, cidr, name: `${name}-subnet` } },
    });
  }
  const osEnv = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("OS_")));
  // Both, so an OS_PROJECT_ID of the main project left in the environment cannot win.
  osEnv.OS_PROJECT_NAME = name;
  osEnv.OS_PROJECT_ID = projectId;
  return {
    project: name,
    projectId,
    osEnv,
    network: networkName,
    api,
    setInstances: async (instances) => {
      await admin.checked("compute", "PUT", `/os-quota-sets/${projectId}`, {
        body: { quota_set: { instances } },
      });
    },
  };
}
