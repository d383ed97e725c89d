// Runner groups. Every organisation has group 1, "Default"; tests add more. A repository's
// runners all belong to the default group, as on GitHub.
import { HttpError } from "./http-errors";
import { ownerKey, type Owner } from "./owner";
import type { RunnerGroupJson } from "./types";

export interface RunnerGroup {
  id: number;
  name: string;
}

export const defaultGroup: RunnerGroup = { id: 1, name: "Default" };

export class RunnerGroups {
  private readonly added = new Map<string, RunnerGroup[]>();
  // Group ids are unique across organisations, as on GitHub.
  private nextId = 2;

  list(owner: Owner): RunnerGroup[] {
    return [defaultGroup, ...(this.added.get(ownerKey(owner)) ?? [])];
  }

  get(owner: Owner, id: number): RunnerGroup | undefined {
    return this.list(owner).find((group) => group.id === id);
  }

  add(org: string, name: string): RunnerGroup {
    const owner: Owner = { kind: "org", org };
    if (this.list(owner).some((group) => group.name.toLowerCase() === name.toLowerCase())) {
      throw new HttpError(409, `A runner group named "${name}" already exists in ${org}`);
    }
    const group = { id: this.nextId++, name };
    this.added.set(ownerKey(owner), [...(this.added.get(ownerKey(owner)) ?? []), group]);
    return group;
  }
}

/** A group as `GET /orgs/{org}/actions/runner-groups` lists it. */
export function runnerGroupJson(org: string, group: RunnerGroup, baseUrl: string): RunnerGroupJson {
  return {
    id: group.id,
    name: group.name,
    visibility: "all",
    default: group.id === defaultGroup.id,
    runners_url: `${baseUrl}/orgs/${org}/actions/runner-groups/${group.id}/runners`,
    inherited: false,
    allows_public_repositories: false,
    restricted_to_workflows: false,
    selected_workflows: [],
    workflow_restrictions_read_only: false,
  };
}
