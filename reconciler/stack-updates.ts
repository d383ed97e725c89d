// One `up` of the fleet program on the stack, through the Automation API, on a checkout
// fast-forwarded to the branch's head just before (`syncCheckout`: the config merged last is the
// one deployed, never an older one): the same program a pipeline runs, with this host's demand
// snapshot and write ledger.
// A stack another `up` holds (the backend lock) is `locked`, never a failure; an abort cancels
// the `up` the way Ctrl-C does (the CLI lets operations in flight finish).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import * as yaml from "js-yaml";
import { ConcurrentUpdateError, ConfigMap, LocalWorkspace } from "@pulumi/pulumi/automation";
import type { PoolSummary } from "../fleet/pool-summary";
import type { UpKind, UpOutcome } from "./trigger-loop";

const run = promisify(execFile);

export interface UpResult {
  outcome: UpOutcome;
  seconds: number;
  /** The git commit whose config was deployed. */
  commit?: string;
  pools?: PoolSummary[];
  /** Why it failed, for the log (the CLI's last lines: Pulumi keeps secrets out of them). */
  error?: string;
}

export interface StackTarget {
  checkout: string;
  remote: string;
  branch: string;
  stack: string;
  program: () => Promise<Record<string, unknown>>;
}

/** Fast-forwards the checkout to `remote/branch`; refuses a checkout that has diverged. */
export async function syncCheckout(
  t: Pick<StackTarget, "checkout" | "remote" | "branch">,
): Promise<{ commit: string; changed: string[] }> {
  const git = async (...args: string[]) =>
    (await run("git", ["-C", t.checkout, ...args])).stdout.trim();
  const before = await git("rev-parse", "HEAD");
  await git("fetch", "--quiet", t.remote, t.branch);
  try {
    await git("merge", "--ff-only", "--quiet", "FETCH_HEAD");
  } catch (err) {
    throw new Error(
      `the checkout ${t.checkout} cannot be fast-forwarded to ${t.remote}/${t.branch} ` +
        `(local commits or changes?): ${(err as { stderr?: string }).stderr?.trim() ?? err}`,
    );
  }
  const commit = await git("rev-parse", "HEAD");
  const changed =
    commit === before ? [] : (await git("diff", "--name-only", before, commit)).split("\n");
  return { commit, changed: changed.filter((f) => f !== "") };
}

export async function runUp(
  target: StackTarget,
  kind: UpKind,
  opts: {
    /** The commit the checkout is at (synced by the caller: `syncCheckout`). */
    commit: string;
    signal?: AbortSignal;
    onOutput?: (text: string) => void;
    /** Runs before the `up` with the stack config of the commit it deploys. */
    beforeUp?: (config: ConfigMap) => Promise<void>;
  },
): Promise<UpResult> {
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  const commit = opts.commit;
  try {
    // The checkout's Pulumi.yaml and Pulumi.<stack>.yaml; the program is this install's.
    const stack = await LocalWorkspace.selectStack(
      {
        stackName: target.stack,
        projectName: projectName(target.checkout),
        program: target.program,
      },
      { workDir: target.checkout },
    );
    await opts.beforeUp?.(await stack.getAllConfig());
    const result = await stack.up({
      refresh: kind === "refresh",
      color: "never",
      signal: opts.signal,
      onOutput: opts.onOutput,
    });
    const pools = result.outputs.pools?.value as PoolSummary[] | undefined;
    return { outcome: "succeeded", seconds: seconds(), commit, pools };
  } catch (err) {
    if (err instanceof ConcurrentUpdateError) return { outcome: "locked", seconds: seconds() };
    const outcome = opts.signal?.aborted ? "cancelled" : "failed";
    return { outcome, seconds: seconds(), commit, error: lastLines((err as Error).message) };
  }
}

function projectName(checkout: string): string {
  const project = yaml.load(fs.readFileSync(path.join(checkout, "Pulumi.yaml"), "utf8")) as {
    name?: string;
  };
  if (!project?.name) throw new Error(`${checkout}/Pulumi.yaml names no project`);
  return project.name;
}

function lastLines(text: string, n = 12): string {
  return text.trim().split("\n").slice(-n).join("\n");
}
