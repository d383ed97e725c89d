// The bench's results are committed and quoted in the README: they must never carry a secret.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { addRepeats, MeasuredOp, spread } from "../../bench/pairs";
import { describeCommand } from "../../bench/proc-memory";
import { mergeEarlier, Results, Row } from "../../bench/report";

const resultsDir = path.resolve(__dirname, "..", "..", "bench", "results");
const secretShapes = [/gh[pousr]_[A-Za-z0-9]{20,}/, /PRIVATE KEY-----/, /"encoded_jit_config"/];

describe("bench results", () => {
  it("keeps only the subcommand of a `pulumi config` command line, whose arguments hold secrets", () => {
    const argv = ["/opt/bin/pulumi", "config", "set-all", "--stack", "test", "--secret"];
    argv.push("runner-fleet:githubToken=ghp_abcdefghijklmnopqrstuvwxyz0123456789");
    const shown = describeCommand(argv);
    assert.match(shown, /^\/opt\/bin\/pulumi config set-all /);
    assert.doesNotMatch(shown, /ghp_|githubToken/);
  });

  it("gives the median and range of repeats: the middle one, or the mean of the middle two", () => {
    assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3 });
    assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
    assert.deepEqual(spread([7]), { median: 7, min: 7, max: 7 });
  });

  it("merges the pairs' previews and operations measured in separate runs, each from its run", () => {
    const row = (id: string, fleet: number): Row => ({
      id,
      figure: id,
      fleet,
      baseline: 1,
      unit: "s",
      target: "",
    });
    const run = (started: string, rows: Row[], parts: string[]): Results => ({
      started,
      options: {},
      environment: {},
      rows,
      details: {},
      errors: [],
      sections: Object.fromEntries(parts.map((p) => [p, { started, options: {} }])),
    });
    const previews = run("2026-12-02T01:00", [row("pairs-preview-time-500", 9)], ["pairs-preview"]);
    const operations = run(
      "2026-12-02T02:00",
      [row("pairs-up-100", 7), row("pairs-checkpoint-100", 30)],
      ["pairs"],
    );
    mergeEarlier(operations, previews, new Set(["pairs"]));
    assert.deepEqual(
      operations.rows.map((r) => `${r.id}=${r.fleet}`),
      ["pairs-up-100=7", "pairs-checkpoint-100=30", "pairs-preview-time-500=9"],
    );
    assert.equal(operations.sections?.["pairs-preview"]?.started, "2026-12-02T01:00");
    // A later preview-only run replaces the previews and keeps the operations.
    const again = run("2026-12-02T03:00", [row("pairs-preview-time-500", 8)], ["pairs-preview"]);
    mergeEarlier(again, operations, new Set(["pairs-preview"]));
    assert.deepEqual(
      again.rows.map((r) => `${r.id}=${r.fleet}`),
      ["pairs-up-100=7", "pairs-checkpoint-100=30", "pairs-preview-time-500=8"],
    );
  });

  it("adds a run's repeats to an earlier run's, and keeps the bare program only when every repeat has it", () => {
    const op = (seconds: number) => ({ seconds }) as MeasuredOp;
    const repeats = (fleet: number[], spec: number[], bare: number[]) => {
      const of = (xs: number[]) => ({ up: xs.map(op), refresh: xs.map(op), destroy: xs.map(op) });
      return { fleet: of(fleet), spec: of(spec), baseline: of(bare) };
    };
    const both = addRepeats(repeats([10, 11], [8, 9], [9, 9]), repeats([12], [10], [9]));
    assert.deepEqual(
      both.fleet.up.map((o) => o.seconds),
      [10, 11, 12],
    );
    assert.deepEqual(
      both.spec.destroy.map((o) => o.seconds),
      [8, 9, 10],
    );
    assert.equal(both.baseline.up.length, 3);
    const noBare = addRepeats(repeats([10, 11], [8, 9], [9, 9]), repeats([12], [10], []));
    assert.deepEqual(noBare.baseline, { up: [], refresh: [], destroy: [] });
  });

  it("keeps other command lines, shortened", () => {
    const argv = ["/opt/bin/pulumi", "preview", "--stack", "test", "x".repeat(300)];
    const shown = describeCommand(argv);
    assert.ok(shown.startsWith("/opt/bin/pulumi preview --stack test x"));
    assert.equal(shown.length, 160);
  });

  it("holds no token, private key or JIT config in any committed result file", () => {
    const files = fs.readdirSync(resultsDir).filter((f) => /\.(json|md)$/.test(f));
    assert.ok(files.includes("latest.json"), "bench/results/latest.json is committed");
    for (const file of files) {
      const text = fs.readFileSync(path.join(resultsDir, file), "utf8");
      for (const shape of secretShapes) {
        assert.doesNotMatch(text, shape, `${file} matches ${shape}`);
      }
    }
  });
});
