// The bench's command line: which sections, at which sizes (see bench/README.md).
import { parseArgs } from "node:util";

export type Section = "up" | "steady" | "parallel" | "memory" | "pairs";
export const SECTIONS: Section[] = ["up", "steady", "parallel", "memory", "pairs"];

export interface Options {
  sizes: number[];
  steady: number;
  preview: number;
  parallelN: number;
  /** `undefined` is the engine's default. */
  parallelValues: (number | undefined)[];
  only: Section[];
  /** Per engine operation; default max(240, 12 × N) seconds. */
  opTimeoutSeconds?: number;
  /** Keep the figures of sections not run now from the previous results/latest.json. */
  merge: boolean;
  /** Run the parallelism trials on the fleet only (no baseline beside them). */
  parallelFleetOnly: boolean;
  quick: boolean;
  /** The pairs section (bench/pairs.ts): runners per operation and per preview, and repeats. */
  pairsSize: number;
  pairsPreview: number;
  repeats: number;
  /** Which programs the pairs' operations run: the fleet and the same-spec baseline always. */
  pairsBare: boolean;
  /** Add this run's pairs repeats to those of the same size in the last latest.json. */
  pairsAdd: boolean;
}

export function options(): Options {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string" },
      steady: { type: "string" },
      preview: { type: "string" },
      "parallel-n": { type: "string" },
      "parallel-values": { type: "string" },
      only: { type: "string" },
      "op-timeout": { type: "string" },
      "parallel-fleet-only": { type: "boolean", default: false },
      merge: { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
      "pairs-size": { type: "string" },
      "pairs-preview": { type: "string" },
      repeats: { type: "string" },
      "pairs-no-bare": { type: "boolean", default: false },
      "pairs-add": { type: "boolean", default: false },
    },
  });
  const quick = values.quick ?? false;
  const ints = (s: string) =>
    s
      .split(",")
      .filter(Boolean)
      .map((x) => {
        const n = Number(x);
        if (!Number.isInteger(n) || n < 0) throw new Error(`not a count: ${x}`);
        return n;
      });
  const only = (values.only ? values.only.split(",") : SECTIONS) as Section[];
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}`);
  return {
    sizes: ints(values.sizes ?? (quick ? "5" : "10,50,100")),
    steady: Number(values.steady ?? (quick ? 10 : 200)),
    preview: Number(values.preview ?? (quick ? 50 : 500)),
    parallelN: Number(values["parallel-n"] ?? (quick ? 10 : 50)),
    parallelValues: (values["parallel-values"] ?? (quick ? "default,32" : "default,32,64"))
      .split(",")
      .map((v) => (v === "default" ? undefined : ints(v)[0])),
    only,
    opTimeoutSeconds: values["op-timeout"] ? Number(values["op-timeout"]) : undefined,
    parallelFleetOnly: values["parallel-fleet-only"] ?? false,
    merge: values.merge ?? false,
    quick,
    pairsSize: ints(values["pairs-size"] ?? (quick ? "3" : "100"))[0],
    pairsPreview: ints(values["pairs-preview"] ?? (quick ? "10" : "500"))[0],
    repeats: Math.max(1, ints(values.repeats ?? (quick ? "1" : "5"))[0]),
    pairsBare: !values["pairs-no-bare"],
    pairsAdd: values["pairs-add"] ?? false,
  };
}
