// The bench's results are committed and quoted in the README: they must never carry a secret.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spread } from "../../bench/pairs";
import { describeCommand } from "../../bench/proc-memory";

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
