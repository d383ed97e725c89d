// The README's configuration reference and Pulumi.yaml's declarations never drift apart.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { load as loadYaml } from "js-yaml";

const root = path.resolve(__dirname, "..", "..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
const project = loadYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
  config: Record<
    string,
    { type?: string; default?: unknown; secret?: boolean; description?: string }
  >;
};

/** Rows of the README's configuration table: key → [type, default]. */
function referenceRows(): Map<string, { type: string; default: string }> {
  const section = readme.split("## Configuration reference")[1]?.split("\n## ")[0] ?? "";
  const rows = new Map<string, { type: string; default: string }>();
  for (const line of section.split("\n")) {
    const m = /^\|\s*`([A-Za-z]+)`\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|/.exec(line);
    if (m) rows.set(m[1], { type: m[2].trim(), default: m[3].trim() });
  }
  return rows;
}

const declared = Object.fromEntries(
  Object.entries(project.config).map(([k, v]) => [k.replace(/^runner-fleet:/, ""), v]),
);

describe("README configuration reference", function () {
  it("lists exactly the keys Pulumi.yaml declares", function () {
    assert.deepEqual([...referenceRows().keys()].sort(), Object.keys(declared).sort());
  });

  it("gives every declared default, and marks the secrets", function () {
    for (const [key, row] of referenceRows()) {
      const decl = declared[key];
      if (decl.default !== undefined) {
        const shown = Array.isArray(decl.default)
          ? JSON.stringify(decl.default)
          : String(decl.default);
        assert.equal(row.default, `\`${shown}\``, `default of ${key}`);
      }
      assert.equal(row.type.startsWith("secret"), decl.secret === true, `secret-ness of ${key}`);
    }
  });

  it("documents every declared key in Pulumi.yaml with a description", function () {
    for (const [key, decl] of Object.entries(declared)) {
      assert.ok((decl.description ?? "").length > 10, `${key} has a description`);
    }
  });

  it("names the two set-up commands CI and users run", function () {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    assert.match(readme, /npm run sandbox/);
    assert.match(readme, /npm test/);
    assert.ok(pkg.scripts.sandbox, "package.json has the sandbox script");
    assert.match(fs.readFileSync(path.join(root, ".ci", "run"), "utf8"), /npm test/);
  });
});
