// The pairs section: the fleet against both baselines, interleaved and repeated, so each ratio is
// a median of per-repeat ratios with its min–max rather than one run's luck.
//
// Each repeat runs, on each of the three stacks in turn (the order rotates every repeat, so no
// program always runs first on a fresh machine): `up` 0→N, `up --refresh` with nothing to change,
// `destroy` N→0. Then each repeat previews M runners of each program in a child process (peak
// RSS of the program and the providers). The same-spec baseline's userdata is as long as the
// fleet's: measured on the fleet's first server of the run, as Nova holds it.
import type { RequestCounts } from "../devkit/github-double/types";
import { OpenStackApi } from "../devkit/local-cloud/openstack-api";
import { describeCounts, fixedRequests } from "./github-counts";
import type { Row } from "./report";
import type { BenchStack, Kind, StepStats } from "./stacks";

/** What an operation measured, as the bench records it (bench/run.ts `OpRecord`). */
export interface MeasuredOp {
  seconds: number;
  changes?: Record<string, number>;
  github: RequestCounts;
  /** Engine steps per resource type and operation. */
  steps: StepStats[];
  checkpoint: {
    bytes: number;
    providerBytes: number;
    byType: Record<string, { count: number; bytes: number }>;
  };
}

/** What a preview measured (bench/run.ts `previewMemory`). */
export interface MeasuredPreview {
  seconds: number;
  programMiB: number;
  providersMiB: number;
}

/** The bench, as this section uses it. */
export interface PairsBench {
  fleet: BenchStack;
  baseline: BenchStack;
  createSpecBaseline(userDataBytes: number): Promise<BenchStack>;
  op(
    s: BenchStack,
    what: "up" | "refresh-up" | "destroy",
    n: number,
    label: string,
  ): Promise<MeasuredOp>;
  retrying<T>(s: BenchStack, what: string, measure: () => Promise<T>): Promise<T>;
  previewMemory(kind: Kind, n: number, extra: { userDataBytes: number }): Promise<MeasuredPreview>;
  row(r: Row): void;
  details: Record<string, unknown>;
  log(msg: string): void;
}

export interface PairsOptions {
  /**
   * Runners per `up`, `up --refresh` and `destroy`; 0 runs the previews only (after an `up` of
   * one fleet runner that tells the length of its userdata, and its destroy, not reported).
   */
  n: number;
  /** Runners per preview; 0 skips the previews. */
  previewN: number;
  repeats: number;
  /**
   * Whether the operations run the bare program too (fleet/bare beside each ratio); without it a
   * repeat at a large size takes about a third less time. The previews always run all three.
   */
  bare: boolean;
  /**
   * The repeats at the same N of an earlier run (`--pairs-add`), which this run's are added to,
   * so the repeats a size needs may be split across runs.
   */
  earlier?: EarlierRepeats;
}

/** What a run's pairs details hold for its operations (`details["pairs-<N>"]`). */
export interface EarlierRepeats {
  /** When the earliest of the runs they come from started. */
  started: string;
  ops: Ops;
}

type Ops = Record<Kind, Record<OpKind, MeasuredOp[]>>;

/**
 * The earlier run's repeats followed by this run's, program by program. The bare program's are
 * kept only when every repeat of both runs has them, so each of its ratios has its own pair.
 */
export function addRepeats(earlier: Ops, now: Ops): Ops {
  const kinds: Kind[] = ["fleet", "baseline", "spec"];
  const ops = Object.fromEntries(
    kinds.map((k) => [
      k,
      Object.fromEntries(
        (["up", "refresh", "destroy"] as OpKind[]).map((op) => [
          op,
          [...(earlier[k]?.[op] ?? []), ...now[k][op]],
        ]),
      ),
    ]),
  ) as Ops;
  if (ops.baseline.up.length !== ops.fleet.up.length) {
    ops.baseline = { up: [], refresh: [], destroy: [] };
  }
  return ops;
}

type OpKind = "up" | "refresh" | "destroy";

/** Targets of the lean-runner issue, each against the same-spec baseline. */
const TARGETS = { up: 1.2, destroy: 1.2, refresh: 1.1, preview: 1.5, memory: 1.3 };
/** Half of the 46 KiB a runner's checkpoint took before lean runners (bench of 2026-12-01). */
const CHECKPOINT_TARGET_KIB = 23;

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Median, min and max of a non-empty list. */
export function spread(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

const range = (v: number[], digits = 1, unit = "") => {
  const s = spread(v);
  return `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
};

/** The three programs in the order of repeat `r`: rotated, the fleet first in repeat 0. */
function order<T>(items: T[], r: number): T[] {
  const k = r % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Bytes of the userdata Nova holds for the first server whose name starts with `prefix`. */
async function userDataBytesOf(prefix: string): Promise<number> {
  const admin = await OpenStackApi.login({ admin: true });
  const server = (await admin.servers({ allTenants: true })).find((s) => s.name.startsWith(prefix));
  const encoded = server?.["OS-EXT-SRV-ATTR:user_data"];
  if (!encoded) throw new Error(`no userdata found for a server named ${prefix}*`);
  return Buffer.from(encoded, "base64").length;
}

export async function pairsSection(b: PairsBench, opts: PairsOptions): Promise<void> {
  if (opts.n === 0) {
    const userDataBytes = await b.retrying(b.fleet, "up 0→1 for the userdata length", async () => {
      await b.fleet.setQuantity(1);
      await b.op(b.fleet, "up", 1, "fleet up 0→1 (the userdata length; not reported)");
      const bytes = await userDataBytesOf(`${b.fleet.prefix}-`);
      await b.op(b.fleet, "destroy", 1, "fleet destroy 1→0");
      return bytes;
    });
    b.log(`the fleet's userdata is ${userDataBytes} bytes`);
    b.details[`pairs-preview-userdata`] = { userDataBytes };
    if (opts.previewN > 0) await previewRows(b, opts, userDataBytes);
    return;
  }
  const { n } = opts;
  const measured: Ops = {
    fleet: { up: [], refresh: [], destroy: [] },
    baseline: { up: [], refresh: [], destroy: [] },
    spec: { up: [], refresh: [], destroy: [] },
  };
  let spec: BenchStack | undefined;
  let userDataBytes = 0;
  // Added repeats go on with the earlier run's rotation.
  const first = opts.earlier?.ops.fleet.up.length ?? 0;
  for (let r = first; r < first + opts.repeats; r++) {
    const stacks = order(opts.bare ? [b.fleet, b.baseline, spec] : [b.fleet, spec], r);
    for (const maybe of stacks) {
      // Made after the fleet's first up, which tells the length of its userdata.
      const s = maybe ?? (spec = await b.createSpecBaseline(userDataBytes));
      await s.setQuantity(n);
      const tag = `${s.kind} #${r + 1}`;
      await b.retrying(s, `${tag} up/refresh/destroy of ${n}`, async () => {
        const up = await b.op(s, "up", n, `${tag} up 0→${n}`);
        if (s.kind === "fleet" && !userDataBytes) {
          userDataBytes = await userDataBytesOf(`${s.prefix}-`);
          b.log(`the fleet's userdata is ${userDataBytes} bytes`);
        }
        const refresh = await b.op(s, "refresh-up", n, `${tag} up --refresh at ${n}`);
        const destroy = await b.op(s, "destroy", n, `${tag} destroy ${n}→0`);
        measured[s.kind].up.push(up);
        measured[s.kind].refresh.push(refresh);
        measured[s.kind].destroy.push(destroy);
      });
    }
  }
  const ops = opts.earlier ? addRepeats(opts.earlier.ops, measured) : measured;
  b.details[`pairs-${n}`] = {
    userDataBytes,
    ops,
    ...(opts.earlier ? { started: opts.earlier.started, addedRepeats: opts.repeats } : {}),
  };
  const split = opts.earlier
    ? `; ${ops.fleet.up.length - opts.repeats} repeats from the run of ` +
      `${opts.earlier.started.slice(0, 16).replace("T", " ")} UTC, ${opts.repeats} from this one`
    : "";
  operationRows(b, { ...opts, repeats: ops.fleet.up.length }, ops, split);
  checkpointRows(b, opts, ops);
  if (opts.previewN > 0) await previewRows(b, opts, userDataBytes);
}

function operationRows(b: PairsBench, { n, repeats }: PairsOptions, ops: Ops, split: string): void {
  const figures: [OpKind, string, number][] = [
    ["up", `up 0→${n} runners`, TARGETS.up],
    ["refresh", `up --refresh with nothing to change, ${n} runners`, TARGETS.refresh],
    ["destroy", `destroy ${n}→0 runners`, TARGETS.destroy],
  ];
  for (const [op, figure, target] of figures) {
    const secs = (k: Kind) => ops[k][op].map((o) => o.seconds);
    const ratios = (k: Kind) => secs("fleet").map((f, i) => f / secs(k)[i]);
    const ratio = spread(ratios("spec")).median;
    const bare = secs("baseline").length
      ? `; the bare program (servers + keypairs) ${range(secs("baseline"), 1, " s")}, fleet/bare ` +
        `${range(ratios("baseline"), 2, "×")}`
      : "; the bare program not run in every repeat (--pairs-no-bare)";
    const changed = ops.fleet[op]
      .map((o) => Object.entries(o.changes ?? {}).filter(([k, v]) => k !== "same" && v > 0))
      .filter((c) => c.length > 0);
    b.row({
      id: `pairs-${op}-${n}`,
      figure: `${figure} (median of ${repeats} interleaved repeats)`,
      fleet: round(spread(secs("fleet")).median, 1),
      baseline: round(spread(secs("spec")).median, 1),
      unit: "s",
      ratio: round(ratio, 3),
      target: `≤ ${target}`,
      met: ratio <= target,
      note:
        `against the same-spec baseline; fleet ${range(secs("fleet"), 1, " s")}, same-spec ` +
        `${range(secs("spec"), 1, " s")}, ratio ${range(ratios("spec"), 2, "×")}${bare}${split}` +
        (op === "refresh" && changed.length
          ? `; the fleet's refresh changed ${JSON.stringify(changed[0])}`
          : ""),
    });
  }
}

function checkpointRows(b: PairsBench, { n }: PairsOptions, ops: Ops): void {
  const perRunnerKiB = (k: Kind) => ops[k].up.map((o) => o.checkpoint.bytes / n / 1024);
  const fleet = spread(perRunnerKiB("fleet")).median;
  const providerShare = spread(
    ops.fleet.up.map((o) => o.checkpoint.providerBytes / (o.checkpoint.bytes || 1)),
  ).median;
  b.row({
    id: `pairs-checkpoint-${n}`,
    figure: `checkpoint per runner after up 0→${n}`,
    fleet: round(fleet, 1),
    baseline: round(spread(perRunnerKiB("spec")).median, 1),
    unit: "KiB",
    target: `≤ ${CHECKPOINT_TARGET_KIB} KiB`,
    met: fleet <= CHECKPOINT_TARGET_KIB,
    note:
      `same-spec baseline beside it; ` +
      (ops.baseline.up.length
        ? `the bare program ${spread(perRunnerKiB("baseline")).median.toFixed(1)} KiB; `
        : "") +
      `${Math.round(100 * providerShare)}% of the fleet's is the dynamic providers' serialized loaders (\`__provider\`)`,
  });
  const perRunner = ops.fleet.up.map(
    (up, i) =>
      (up.github.total -
        fixedRequests(up.github) +
        ops.fleet.destroy[i].github.total -
        fixedRequests(ops.fleet.destroy[i].github)) /
      n,
  );
  // Per runner, by resource type: the types with one resource per runner, from the first repeat.
  const types = Object.entries(ops.fleet.up[0].checkpoint.byType)
    .filter(([, t]) => t.count === n)
    .map(([type, t]) => `${type.split(":").pop()} ${(t.bytes / n / 1024).toFixed(1)} KiB`);
  b.details[`pairs-checkpoint-by-type-${n}`] = ops.fleet.up[0].checkpoint.byType;
  b.row({
    id: `pairs-checkpoint-types-${n}`,
    figure: `checkpoint per runner by resource (N=${n})`,
    fleet: round(
      Object.values(ops.fleet.up[0].checkpoint.byType)
        .filter((t) => t.count === n)
        .reduce((a, t) => a + t.bytes, 0) /
        n /
        1024,
      1,
    ),
    baseline: null,
    unit: "KiB",
    target: "",
    note: `${types.join(", ")} (each resource's JSON in the checkpoint; the rest is the stack's own resources and outputs)`,
  });
  // What each of a runner's resources costs the `up` and the `destroy`: engine step times by type.
  const stepsOf = (list: MeasuredOp[], op: string) =>
    list[0].steps
      .filter((x) => x.op === op && x.count === n)
      .map(
        (x) =>
          `${x.type.split(":").pop()} ${x.meanSeconds.toFixed(2)} s (${x.minSeconds.toFixed(2)}–${x.maxSeconds.toFixed(2)})`,
      )
      .join(", ");
  b.row({
    id: `pairs-steps-${n}`,
    figure: `engine step time per runner resource, first repeat (N=${n})`,
    fleet: null,
    baseline: null,
    unit: "",
    target: "",
    note:
      `up, mean (min–max) per create: ${stepsOf(ops.fleet.up, "create")}; destroy, per delete: ` +
      `${stepsOf(ops.fleet.destroy, "delete")}; the same-spec servers: ` +
      `${stepsOf(ops.spec.up, "create")} and ${stepsOf(ops.spec.destroy, "delete")}`,
  });
  const requests = spread(perRunner).median;
  b.row({
    id: `pairs-gh-per-runner-${n}`,
    figure: `GitHub requests per runner over its life (N=${n}, fixed cost taken out)`,
    fleet: round(requests, 2),
    baseline: null,
    unit: "",
    target: "≤ 2",
    met: requests <= 2,
    note: `up: ${describeCounts(ops.fleet.up[0].github)}; destroy: ${describeCounts(ops.fleet.destroy[0].github)}`,
  });
}

async function previewRows(
  b: PairsBench,
  { previewN: n, repeats }: PairsOptions,
  userDataBytes: number,
): Promise<void> {
  const got: Record<Kind, MeasuredPreview[]> = { fleet: [], baseline: [], spec: [] };
  for (let r = 0; r < repeats; r++) {
    for (const kind of order<Kind>(["fleet", "baseline", "spec"], r)) {
      const m = await b.previewMemory(kind, n, { userDataBytes });
      b.log(
        `${kind} #${r + 1} preview of ${n}: ${m.seconds.toFixed(1)} s, program ` +
          `${m.programMiB.toFixed(0)} MiB + providers ${m.providersMiB.toFixed(0)} MiB`,
      );
      got[kind].push(m);
    }
  }
  b.details[`pairs-preview-${n}`] = got;
  const figures: [string, string, (m: MeasuredPreview) => number, string, number][] = [
    ["time", `preview of ${n} runners`, (m) => m.seconds, "s", TARGETS.preview],
    [
      "memory",
      `preview ${n}: program + providers peak RSS`,
      (m) => m.programMiB + m.providersMiB,
      "MiB",
      TARGETS.memory,
    ],
  ];
  for (const [id, figure, value, unit, target] of figures) {
    const of = (k: Kind) => got[k].map(value);
    const ratios = (k: Kind) => of("fleet").map((f, i) => f / of(k)[i]);
    const ratio = spread(ratios("spec")).median;
    b.row({
      id: `pairs-preview-${id}-${n}`,
      figure: `${figure} (median of ${repeats} interleaved repeats)`,
      fleet: round(spread(of("fleet")).median, 1),
      baseline: round(spread(of("spec")).median, 1),
      unit,
      ratio: round(ratio, 3),
      target: `≤ ${target}`,
      met: ratio <= target,
      note:
        `against the same-spec baseline; fleet ${range(of("fleet"), 1)}, same-spec ` +
        `${range(of("spec"), 1)}, ratio ${range(ratios("spec"), 2, "×")}; the bare program ` +
        `${range(of("baseline"), 1)}, fleet/bare ${range(ratios("baseline"), 2, "×")}` +
        (id === "memory"
          ? `; fleet program ${range(
              got.fleet.map((m) => m.programMiB),
              0,
            )} MiB, providers ` +
            `${range(
              got.fleet.map((m) => m.providersMiB),
              0,
            )} MiB`
          : ""),
    });
  }
}
