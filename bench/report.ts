// The bench's output: one row per figure (fleet, baseline, ratio or target, met?), printed as a
// table, written as JSON (latest and a timestamped copy) and as a markdown table for the README.
import * as fs from "node:fs";
import * as path from "node:path";

export interface Row {
  /** Stable id, e.g. `up-50`. */
  id: string;
  figure: string;
  fleet: number | null;
  baseline: number | null;
  unit: string;
  /** fleet / baseline, when both are times of the same thing. */
  ratio?: number;
  /** E.g. `ratio ≤ 1.2`, `≤ 5 requests`; empty for an informative figure. */
  target: string;
  /** undefined: no target (information only); null: could not be measured. */
  met?: boolean | null;
  note?: string;
}

export interface Results {
  started: string;
  finished?: string;
  options: Record<string, unknown>;
  environment: Record<string, unknown>;
  rows: Row[];
  /** Everything measured, raw: per-operation times, engine step stats, request counts, memory. */
  details: Record<string, unknown>;
  leftovers?: Record<string, unknown>;
  errors: string[];
  /** When each section's figures were measured (rows merged from earlier runs keep theirs). */
  sections?: Record<string, { started: string; options: Record<string, unknown> }>;
}

/** The section a row or details key belongs to, from its id. */
export function sectionOf(id: string): string {
  if (/^(up|destroy|gh)-/.test(id)) return "up";
  if (/^steady-/.test(id)) return "steady";
  if (/^parallel-/.test(id)) return "parallel";
  if (/^preview-/.test(id)) return "memory";
  // The pairs' previews may come from a run of their own (`--pairs-size 0`).
  if (/^pairs-preview-/.test(id)) return "pairs-preview";
  if (/^pairs-/.test(id)) return "pairs";
  return "other";
}

/**
 * Adds to `results` the rows and details of `previous` whose sections this run did not measure,
 * so one table can hold figures of runs made separately (e.g. the long preview at N=500).
 */
export function mergeEarlier(results: Results, previous: Results, ran: Set<string>): void {
  const kept = new Set<string>();
  for (const r of previous.rows) {
    const section = sectionOf(r.id);
    if (ran.has(section) || results.rows.some((x) => x.id === r.id)) continue;
    results.rows.push(r);
    kept.add(section);
  }
  for (const [key, value] of Object.entries(previous.details)) {
    if (kept.has(sectionOf(key)) && !(key in results.details)) results.details[key] = value;
  }
  results.sections ??= {};
  for (const section of kept) {
    results.sections[section] = previous.sections?.[section] ?? {
      started: previous.started,
      options: previous.options,
    };
  }
  const order = ["pairs", "pairs-preview", "up", "steady", "parallel", "memory", "other"];
  results.rows.sort((a, b) => order.indexOf(sectionOf(a.id)) - order.indexOf(sectionOf(b.id)));
}

const fmt = (x: number | null | undefined, unit = ""): string => {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return `${x.toFixed(digits)}${unit ? ` ${unit}` : ""}`;
};

function cells(r: Row): string[] {
  const ratioTarget = [r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : "", r.target]
    .filter(Boolean)
    .join(" / ");
  const met = r.met === undefined ? "" : r.met === null ? "n/a" : r.met ? "yes" : "**no**";
  return [r.figure, fmt(r.fleet, r.unit), fmt(r.baseline, r.unit), ratioTarget || "—", met];
}

const HEAD = ["figure", "fleet", "baseline", "ratio / target", "met?"];

/** The table as plain text for the terminal. */
export function textTable(rows: Row[]): string {
  const body = rows.map((r) => cells(r).map((c) => c.replace(/\*\*/g, "")));
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join("  ");
  return [line(HEAD), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** The markdown the README quotes: the table, then the notes of the rows that have one. */
export function markdown(results: Results): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const lines = [
    `| ${HEAD.join(" | ")} |`,
    `| ${HEAD.map(() => "---").join(" | ")} |`,
    ...results.rows.map((r) => `| ${cells(r).map(esc).join(" | ")} |`),
  ];
  const notes = results.rows.filter((r) => r.note).map((r) => `- ${r.figure}: ${r.note}`);
  const env = results.environment;
  const when = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;
  const merged = Object.entries(results.sections ?? {}).filter(
    ([, v]) => v.started < results.started,
  );
  return [
    `Measured ${when(results.started)} by \`npm run bench\` ` +
      `(${String(env.cpus)} CPUs, load ${String(env.loadAverageStart)} at start; ` +
      `Pulumi CLI ${String(env.pulumiVersion)}, Node ${String(env.node)}; local OpenStack with ` +
      "Nova's fake driver; GitHub double)." +
      merged.map(([k, v]) => ` The ${k} figures are from the run of ${when(v.started)}.`).join(""),
    "",
    ...lines,
    ...(notes.length ? ["", ...notes] : []),
    ...(results.errors.length ? ["", "Errors:", ...results.errors.map((e) => `- ${e}`)] : []),
    "",
  ].join("\n");
}

/** Writes latest.json, a timestamped copy and latest.md under `dir`, formatted by prettier. */
export async function writeResults(dir: string, results: Results): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  let json = `${JSON.stringify(results, null, 2)}\n`;
  let md = markdown(results);
  try {
    // The repository's `prettier --check .` covers bench/results, so write what it accepts.
    const prettier = await import("prettier");
    json = await prettier.format(json, { parser: "json", printWidth: 100 });
    md = await prettier.format(md, { parser: "markdown", printWidth: 100 });
  } catch {
    // Unformatted output is still correct output.
  }
  const stamp = results.started.replace(/[:.]/g, "-");
  const files = [
    path.join(dir, "latest.json"),
    path.join(dir, `${stamp}.json`),
    path.join(dir, "latest.md"),
  ];
  fs.writeFileSync(files[0], json);
  fs.writeFileSync(files[1], json);
  fs.writeFileSync(files[2], md);
  return files;
}

const README_END = "<!-- /bench -->";

/**
 * Puts `md` between the README's markers `<!-- bench: <file> -->` and `<!-- /bench -->`, so
 * the README always shows the latest run. Returns false when the README has no such markers.
 */
export function quoteInReadme(readmePath: string, md: string, file = "latest.md"): boolean {
  const readme = fs.readFileSync(readmePath, "utf8");
  const marker = `<!-- bench: ${file} -->`;
  const start = readme.indexOf(marker);
  const end = readme.indexOf(README_END, start);
  if (start < 0 || end < start) return false;
  const before = readme.slice(0, start + marker.length);
  fs.writeFileSync(readmePath, `${before}\n\n${md.trim()}\n\n${readme.slice(end)}`);
  return true;
}
