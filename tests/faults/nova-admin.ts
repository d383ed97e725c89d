// What the fault suite does to Nova as the cloud's admin: reset a server's state (a hypervisor
// failure, as an operator sees it) and delete servers by id (the cleanup of a server Pulumi lost
// track of). Plain REST, like devkit/local-cloud/openstack-api.ts.
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";

export class NovaAdmin {
  private constructor(private readonly api: OpenStackApi) {}

  static async login(): Promise<NovaAdmin> {
    return new NovaAdmin(await OpenStackApi.login({ admin: true }));
  }

  /** The public compute endpoint of the catalog, e.g. `http://127.0.0.1:8774/v2.1`. */
  get computeUrl(): string {
    return this.api.endpoint("compute");
  }

  private call(method: string, path: string, body?: unknown): Promise<Response> {
    return this.api.request(method, "compute", path, body);
  }

  /** `os-resetState`: Nova accepts `error` or `active`. */
  async resetState(serverId: string, state: "error" | "active"): Promise<void> {
    const res = await this.call("POST", `/servers/${serverId}/action`, {
      "os-resetState": { state },
    });
    if (res.status !== 202) throw new Error(`reset-state ${serverId}: HTTP ${res.status}`);
  }

  /** Deletes a server (as the recovery of an interrupted `up` does with a server it lost). */
  async deleteServer(serverId: string): Promise<void> {
    const res = await this.call("DELETE", `/servers/${serverId}`);
    if (res.status !== 204 && res.status !== 404) {
      throw new Error(`delete server ${serverId}: HTTP ${res.status}`);
    }
  }

  /** Status of a server, or undefined once it is gone. */
  async status(serverId: string): Promise<string | undefined> {
    const res = await this.call("GET", `/servers/${serverId}`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`GET server ${serverId}: HTTP ${res.status}`);
    return ((await res.json()) as { server: { status: string } }).server.status;
  }
}
