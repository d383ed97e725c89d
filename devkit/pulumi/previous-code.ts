// "Deploy a stack with the code of commit X, continue with HEAD": the kit for upgrade tests.
//
// Why a whole old checkout, and not only the old program: the state records each dynamic
// provider by address (dynamic-providers/provider-by-reference.ts, state-addresses.ts): its
// serialized provider requires `<folder of @runner-fleet/dynamic-providers>/<module>.ts`, which
// the dynamic provider process resolves from its working directory, the stack's work folder,
// through that folder's `node_modules` link. So what a deployment runs is decided by two things:
// the program (and the @pulumi/pulumi) the Automation API process loads, and where the work
// folder's `node_modules` points. To deploy as a released version did, both must be that
// version's: the old tree with its own node_modules, the old program in a process whose files
// all live in that tree, and the work folder linking the old node_modules. To continue with
// HEAD, the link is pointed at this repository's node_modules and HEAD's program runs inline,
// exactly as for a stack of `createTestStack` — which is what a user's upgrade does: the same
// state, then `refresh`/`up`/`destroy` from the new checkout.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ConfigMap, PulumiFn } from "@pulumi/pulumi/automation";
import type { UpChildResult, UpChildSettings } from "./up-child";
import { createTestStack, linkNodeModules, TestStack } from "./test-stack";
import { repoRoot } from "./toolchain";

/**
 * Bumped when the layout or the install of a cached checkout changes, so that a changed kit
 * never reuses what an older one left.
 */
const CACHE_LAYOUT = "v1";
/** Written into a cached checkout after everything else: only a folder that has it is reused. */
const COMPLETE_MARKER = ".previous-code-complete";
/** The name under which the child script is copied into the old checkout. */
const CHILD_FILE = ".previous-code-child.ts";

/** Where checkouts are cached: `<RUNNER_FLEET_CACHE>/previous-code/<layout>/`. */
export function previousCodeCacheDir(): string {
  const cache = process.env.RUNNER_FLEET_CACHE || "/var/cache/runner-fleet";
  return path.join(cache, "previous-code", CACHE_LAYOUT);
}

/** A tree of an older commit with its npm dependencies installed, outside the repository. */
export interface PreviousCheckout {
  /** The full commit id. */
  commit: string;
  /** The folder of the tree (its package.json, node_modules, program). */
  root: string;
  /** True when a complete cached checkout was reused. */
  reused: boolean;
  /** Seconds spent materialising and installing it (or finding it). */
  seconds: number;
}

type Log = (line: string) => void;
const defaultLog: Log = (line) => console.log(`      [previous-code] ${line}`);

/**
 * The tree of `commit` with its dependencies installed (`npm ci`, from the npm cache when it
 * can), in a folder of its own under `previousCodeCacheDir()` keyed by the commit and Node's ABI
 * (native addons are built for one). It is built in a temporary sibling and renamed into place
 * once complete, its marker written last, so an interrupted build is never reused and two test
 * processes building at once cannot mix their files; a complete one is reused as it is.
 */
export async function previousCheckout(
  commit: string,
  opts: { repo?: string; log?: Log } = {},
): Promise<PreviousCheckout> {
  const repo = opts.repo ?? repoRoot;
  const log = opts.log ?? defaultLog;
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  const full = (
    await run("git", ["-C", repo, "rev-parse", "--verify", "--quiet", `${commit}^{commit}`], {
      what: `looking up ${commit}`,
    }).catch(() => {
      throw new Error(
        `the commit ${commit} is not in ${repo}: a shallow clone? (\`git fetch --unshallow\`)`,
      );
    })
  ).trim();
  const root = path.join(previousCodeCacheDir(), `${full}-node${process.versions.modules}`);
  if (fs.existsSync(path.join(root, COMPLETE_MARKER))) {
    return { commit: full, root, reused: true, seconds: seconds() };
  }
  const partial = `${root}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  try {
    log(`materialising ${full.slice(0, 12)} in ${root}`);
    await run(
      "bash",
      [
        "-c",
        'set -o pipefail; git -C "$1" archive --format=tar "$2" | tar -x -C "$3"',
        "-",
        repo,
        full,
        partial,
      ],
      { what: `git archive of ${full}` },
    );
    log("npm ci --prefer-offline (the old tree's own dependencies)");
    await run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], {
      cwd: partial,
      what: `npm ci in the tree of ${full}`,
    });
    fs.writeFileSync(
      path.join(partial, COMPLETE_MARKER),
      `${JSON.stringify({ commit: full, node: process.version, layout: CACHE_LAYOUT, at: new Date().toISOString() })}\n`,
    );
    try {
      fs.renameSync(partial, root);
    } catch {
      // Another process finished the same checkout first: use its. A folder without the marker
      // was not completed by this kit (made by hand, or by an older layout): set aside for ours.
      if (!fs.existsSync(path.join(root, COMPLETE_MARKER))) {
        const stale = `${root}.stale-${process.pid}`;
        fs.renameSync(root, stale);
        fs.rmSync(stale, { recursive: true, force: true });
        fs.renameSync(partial, root);
      }
    }
  } finally {
    fs.rmSync(partial, { recursive: true, force: true });
  }
  log(`${full.slice(0, 12)} installed in ${seconds().toFixed(1)}s`);
  return { commit: full, root, reused: false, seconds: seconds() };
}

/** What a stack deployed with previous code is made of. */
export interface PreviousCodeStackOptions {
  /** The commit (or anything `git rev-parse` names) whose code deploys first. */
  commit: string;
  projectName: string;
  /** HEAD's program, which every operation after the old code's `up` runs inline. */
  program: PulumiFn;
  /** The stack config, set before the old code's `up`. */
  config: ConfigMap;
  /** Environment of the engine and both programs, as for `createTestStack`. */
  env?: Record<string, string>;
  /** The old code's program module, relative to its tree; default `program.ts`. */
  programModule?: string;
  /** The export of that module that is the program; default `fleetProgram`. */
  programExport?: string;
  /** The repository holding the commit; default this one. */
  repo?: string;
  /** Where progress and the old code's engine output go; default the test log. */
  log?: Log;
  /** How long the old code's `up` may take before its process group is killed; default 15 min. */
  upTimeoutMs?: number;
}

/**
 * A test stack that the code of an older commit deploys first, then this checkout continues:
 *
 * ```ts
 * const previous = await PreviousCodeStack.create({ commit, projectName, program, config, env });
 * await previous.upWithPreviousCode(); // the old tree's program, providers and node_modules
 * const test = previous.test; // from here on HEAD's: refresh, up, destroy as usual
 * ```
 *
 * `test` exists from `create` on, so a test's `after` can always destroy what an `up` made, and
 * whatever `upWithPreviousCode` ends with, the stack runs HEAD's code afterwards.
 */
export class PreviousCodeStack {
  private constructor(
    /** The stack; its program is HEAD's, run inline; cleanup as for `createTestStack`. */
    readonly test: TestStack,
    readonly checkout: PreviousCheckout,
    private readonly opts: PreviousCodeStackOptions,
  ) {}

  /**
   * Materialises the old tree (cached, see `previousCheckout`), creates the stack with its work
   * folder linking the old tree's node_modules, and sets the config.
   */
  static async create(opts: PreviousCodeStackOptions): Promise<PreviousCodeStack> {
    const checkout = await previousCheckout(opts.commit, { repo: opts.repo, log: opts.log });
    const test = await createTestStack(opts.projectName, opts.program, opts.env ?? {}, {
      nodeModules: path.join(checkout.root, "node_modules"),
    });
    try {
      await test.stack.setAllConfig(opts.config);
    } catch (err) {
      test.cleanup();
      throw err;
    }
    return new PreviousCodeStack(test, checkout, opts);
  }

  /**
   * `up` with the old tree's program in a child process that loads only the old tree's files:
   * the kit's child script is copied into the tree and run by the tree's tsx from the tree's
   * folder, so `@pulumi/pulumi` and the program come from there, and the dynamic providers from
   * the old node_modules the work folder links. Its output streams to the log; a failure throws
   * with the tail of its stderr. Then, succeeded or not, the work folder links this repository's
   * node_modules again (`useHead`).
   */
  async upWithPreviousCode(): Promise<UpChildResult> {
    const { root } = this.checkout;
    const log = this.opts.log ?? defaultLog;
    this.usePrevious();
    try {
      const child = path.join(root, CHILD_FILE);
      const copying = `${child}.${process.pid}.tmp`;
      fs.copyFileSync(path.join(__dirname, "up-child.ts"), copying);
      fs.renameSync(copying, child);

      const base = path.dirname(this.test.stateDir);
      const settingsFile = path.join(base, "previous-code-settings.json");
      const resultFile = path.join(base, "previous-code-result.json");
      fs.rmSync(resultFile, { force: true });
      const envVars = this.previousEnv(this.test.stack.workspace.envVars);
      const settings: UpChildSettings = {
        projectName: this.opts.projectName,
        stackName: this.test.stack.name,
        workDir: this.test.workDir,
        backendUrl: this.test.backendUrl,
        envVars,
        programModule: path.join(root, this.opts.programModule ?? "program.ts"),
        programExport: this.opts.programExport ?? "fleetProgram",
        resultFile,
      };
      fs.writeFileSync(settingsFile, JSON.stringify(settings), { mode: 0o600 });
      log(`up with the code of ${this.checkout.commit.slice(0, 12)} (${root})`);
      await runLogged(path.join(root, "node_modules", ".bin", "tsx"), [child, settingsFile], {
        cwd: root,
        env: { ...process.env, ...envVars },
        log,
        timeoutMs: this.opts.upTimeoutMs ?? 15 * 60_000,
        what: `up with the code of ${this.checkout.commit}`,
      });
      return JSON.parse(fs.readFileSync(resultFile, "utf8")) as UpChildResult;
    } finally {
      this.useHead();
    }
  }

  /** Links the work folder to the old tree's node_modules: its dynamic providers run. */
  usePrevious(): void {
    linkNodeModules(this.test.workDir, path.join(this.checkout.root, "node_modules"));
  }

  /** Links the work folder to this repository's node_modules: HEAD's dynamic providers run. */
  useHead(): void {
    linkNodeModules(this.test.workDir, path.join(repoRoot, "node_modules"));
  }

  /**
   * The stack's environment with the old tree's `@pulumi/pulumi` on PATH instead of this
   * repository's (the engine finds the dynamic provider plugin there; see toolchainEnv) and this
   * Node first, so the old tree's tsx runs on the Node the kit runs on.
   */
  private previousEnv(env: Record<string, string>): Record<string, string> {
    const headSdk = path.join(repoRoot, "node_modules", "@pulumi", "pulumi");
    const oldSdk = path.join(this.checkout.root, "node_modules", "@pulumi", "pulumi");
    const entries = (env.PATH ?? process.env.PATH ?? "")
      .split(":")
      .map((entry) => (entry === headSdk ? oldSdk : entry));
    return { ...env, PATH: [path.dirname(process.execPath), ...entries].join(":") };
  }
}

/** Runs a command to its end; its stdout, or an error naming `what` with its output's tail. */
function run(
  command: string,
  args: string[],
  opts: { cwd?: string; what: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(out).toString());
      const output = `${Buffer.concat(err).toString()}${Buffer.concat(out).toString()}`;
      reject(new Error(`${opts.what} failed (${signal ?? `exit ${code}`}):\n${tail(output, 40)}`));
    });
  });
}

/**
 * Runs a command in a process group of its own, every line of its output to `log`; on a failure
 * or after `timeoutMs` (then the group, which holds the engine and its plugins, is killed), an
 * error naming `what` with the tail of its stderr.
 */
function runLogged(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; log: Log; timeoutMs: number; what: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const stderr: string[] = [];
    const flushes: (() => void)[] = [];
    const lines = (stream: NodeJS.ReadableStream, sink?: string[]) => {
      let pending = "";
      const emit = (line: string) => {
        opts.log(line);
        sink?.push(line);
      };
      stream.on("data", (b: Buffer) => {
        const parts = (pending + b.toString()).split("\n");
        pending = parts.pop() ?? "";
        parts.forEach(emit);
      });
      flushes.push(() => {
        if (pending) emit(pending);
        pending = "";
      });
    };
    lines(child.stdout);
    lines(child.stderr, stderr);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    }, opts.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      for (const flush of flushes) flush();
      if (code === 0) return resolve();
      const why = timedOut
        ? `timed out after ${opts.timeoutMs / 1000}s`
        : (signal ?? `exit ${code}`);
      reject(
        new Error(`${opts.what} failed (${why}); its stderr ends:\n${tail(stderr.join("\n"), 40)}`),
      );
    });
  });
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
