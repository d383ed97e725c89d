// The registered self-hosted runners of every owner, with GitHub's label ids and types.
import { HttpError, notFound } from "./http-errors";
import { ownerKey, ownerPath, type Owner } from "./owner";
import { agentSecret } from "./random-ids";
import type { RunnerJson, RunnerLabelJson, RunnerRef, RunnerSnapshot } from "./types";

export interface Runner {
  id: number;
  name: string;
  owner: Owner;
  status: "online" | "offline";
  busy: boolean;
  ephemeral: boolean;
  labels: RunnerLabelJson[];
  groupId: number;
  /** What the runner's agent authenticates with (inside its JIT config). */
  secret: string;
  jobId: number | null;
}

export interface NewRunner {
  owner: Owner;
  name: string;
  labels: string[];
  groupId: number;
  ephemeral: boolean;
}

// The labels GitHub applies itself are read-only; everything else a runner declares is custom.
const systemLabels = new Set(["self-hosted", "linux", "windows", "macos", "x64", "arm", "arm64"]);

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export class RunnerRegistry {
  private readonly runners = new Map<number, Runner>();
  // A label name has one id per owner, shared by all its runners, as on GitHub.
  private readonly labelIds = new Map<string, number>();
  private nextId = 1;
  private nextLabelId = 1;

  /** Registers a runner, offline and idle; 409 when its owner already has one of that name. */
  add(spec: NewRunner): Runner {
    if (this.list(spec.owner).some((r) => sameName(r.name, spec.name))) {
      throw new HttpError(
        409,
        `Already exists - A runner with the name ${spec.name} already exists.`,
      );
    }
    const runner: Runner = {
      id: this.nextId++,
      name: spec.name,
      owner: spec.owner,
      status: "offline",
      busy: false,
      ephemeral: spec.ephemeral,
      labels: spec.labels.map((name) => this.label(spec.owner, name)),
      groupId: spec.groupId,
      secret: agentSecret(),
      jobId: null,
    };
    this.runners.set(runner.id, runner);
    return runner;
  }

  /** The owner's runners, oldest first (GitHub's listing order). */
  list(owner: Owner): Runner[] {
    return this.all().filter((r) => ownerKey(r.owner) === ownerKey(owner));
  }

  all(): Runner[] {
    return [...this.runners.values()];
  }

  get(owner: Owner, id: number): Runner | undefined {
    const runner = this.runners.get(id);
    return runner && ownerKey(runner.owner) === ownerKey(owner) ? runner : undefined;
  }

  has(runner: Runner): boolean {
    return this.runners.get(runner.id) === runner;
  }

  bySecret(secret: string): Runner | undefined {
    return this.all().find((r) => r.secret === secret);
  }

  /** A runner for the control API, by id or unique name; 404 or 409 (ambiguous name) otherwise. */
  find(ref: RunnerRef): Runner {
    const found =
      typeof ref === "number"
        ? this.all().filter((r) => r.id === ref)
        : this.all().filter((r) => sameName(r.name, ref));
    if (found.length === 0) throw new HttpError(404, `No runner ${JSON.stringify(ref)}`);
    if (found.length > 1) {
      throw new HttpError(
        409,
        `Runner name ${JSON.stringify(ref)} is used by several owners; use the id`,
      );
    }
    return found[0];
  }

  /** Deregisters a runner; 422 with GitHub's message while it runs a job. */
  remove(runner: Runner): void {
    if (!this.has(runner)) throw notFound();
    if (runner.busy) {
      throw new HttpError(422, `Bad request - Runner "${runner.name}" is still running a job"`);
    }
    this.runners.delete(runner.id);
  }

  private label(owner: Owner, name: string): RunnerLabelJson {
    const key = `${ownerKey(owner)}\n${name.toLowerCase()}`;
    let id = this.labelIds.get(key);
    if (id === undefined) {
      id = this.nextLabelId++;
      this.labelIds.set(key, id);
    }
    return { id, name, type: systemLabels.has(name.toLowerCase()) ? "read-only" : "custom" };
  }
}

/** A runner as GitHub's REST API shows it. */
export function runnerJson(runner: Runner): RunnerJson {
  return {
    id: runner.id,
    name: runner.name,
    os: "linux",
    status: runner.status,
    busy: runner.busy,
    ephemeral: runner.ephemeral,
    runner_group_id: runner.groupId,
    labels: runner.labels.map((label) => ({ ...label })),
  };
}

/** A runner as the control API shows it. */
export function runnerSnapshot(runner: Runner): RunnerSnapshot {
  return { ...runnerJson(runner), owner_path: ownerPath(runner.owner), job_id: runner.jobId };
}
