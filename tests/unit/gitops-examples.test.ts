// The GitOps examples (examples/gitops/): the workflows pass actionlint (with shellcheck on their
// `run:` scripts) and keep the properties the README promises; the example stack config is valid
// for the program. actionlint is built from its Go module by scripts/actionlint.sh, once.
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseFleetConfig } from "../../config/fleet-config";

import { load as loadYaml } from "js-yaml";

const root = path.resolve(__dirname, "../..");
const dir = path.join(root, "examples/gitops");
const names = ["preview.yml", "up.yml", "reconcile.yml"] as const;
type Name = (typeof names)[number];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Yaml = any;
const read = (file: string) => fs.readFileSync(path.join(dir, file), "utf8");
const workflows = Object.fromEntries(names.map((n) => [n, loadYaml(read(n)) as Yaml])) as Record<
  Name,
  Yaml
>;
const jobsOf = (n: Name): [string, Yaml][] => Object.entries(workflows[n].jobs);
const stepsOf = (n: Name): Yaml[] => jobsOf(n).flatMap(([, job]) => job.steps as Yaml[]);

/** Inputs of pulumi/actions v7 (its action.yml); actionlint 1.7.12 only knows them up to v6. */
const PULUMI_ACTION_INPUTS = new Set(
  (
    "command stack-name pulumi-version pulumi-version-file work-dir comment-on-pr " +
    "comment-on-pr-number comment-on-summary github-token cloud-url secrets-provider parallel " +
    "message config-map expect-no-changes diff replace exclude exclude-dependents target " +
    "target-dependents policyPacks policyPackConfigs refresh upsert remove edit-pr-comment color " +
    "exclude-protected plan suppress-outputs suppress-progress always-include-summary " +
    "continue-on-error log-verbosity log-flow debug"
  ).split(" "),
);

interface LintError {
  message: string;
  filepath: string;
  line: number;
  kind: string;
}

describe("GitOps examples", function () {
  let actionlint = "";
  const lint = (files: string[], args: string[] = []) =>
    spawnSync(actionlint, [...args, ...files], { cwd: root, encoding: "utf8" });
  const lintJson = (file: string): LintError[] => {
    const r = lint([file], ["-format", "{{json .}}"]);
    assert.equal(r.stderr, "");
    return JSON.parse(r.stdout) as LintError[];
  };

  before(function () {
    // Builds it on the first run (about a minute cold, from the Go module proxy), then cached.
    actionlint = execFileSync("bash", [path.join(root, "scripts/actionlint.sh")], {
      env: { ...process.env, ACTIONLINT_BUILD_ONLY: "1" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
    assert.match(execFileSync(actionlint, ["-version"], { encoding: "utf8" }), /^v1\.7\.12\n/);
    // Without shellcheck, actionlint silently skips the `run:` scripts.
    assert.equal(spawnSync("shellcheck", ["--version"]).status, 0, "shellcheck is not on PATH");
  });

  describe("actionlint", function () {
    it("passes all three workflows, with no output", function () {
      const r = lint(names.map((n) => path.join(dir, n)));
      assert.equal(r.stdout + r.stderr, "");
      assert.equal(r.status, 0);
    });

    describe("fails a broken copy", function () {
      let tmp = "";
      before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-lint-"))));
      after(() => fs.rmSync(tmp, { recursive: true, force: true }));
      const broken = (name: Name, from: string, to: string) => {
        const text = read(name);
        assert.ok(text.includes(from), `${name} has no ${from}`);
        const file = path.join(tmp, name);
        fs.writeFileSync(file, text.replace(from, to));
        return file;
      };

      it("on an undefined context property", function () {
        const file = broken("up.yml", "runs-on: ubuntu-latest", "runs-on: ${{ matrix.os }}");
        assert.notEqual(lint([file]).status, 0);
        const errors = lintJson(file);
        assert.equal(errors.length, 1, JSON.stringify(errors));
        assert.equal(errors[0].kind, "expression");
        assert.match(errors[0].message, /property "os" is not defined/);
      });

      it("on a shellcheck finding in a run: script", function () {
        const file = broken("reconcile.yml", '--stack "$PULUMI_STACK"', "--stack $PULUMI_STACK");
        const errors = lintJson(file);
        assert.equal(errors.length, 1, JSON.stringify(errors));
        assert.equal(errors[0].kind, "shellcheck");
        assert.match(errors[0].message, /SC2086/);
      });

      it("on an action input that does not exist", function () {
        const file = broken(
          "preview.yml",
          "uses: actions/setup-node@v6",
          "uses: actions/setup-node@v6\n        with: { node-versoin: 24 }",
        );
        const errors = lintJson(file);
        assert.ok(errors.some((e) => /input "node-versoin" is not defined/.test(e.message)));
      });
    });
  });

  describe("structure", function () {
    for (const n of names) {
      describe(n, function () {
        const wf = () => workflows[n];

        it("starts with a comment saying what it does and what to set", function () {
          const header = read(n)
            .split("\n")
            .filter((l) => l.startsWith("#"))
            .join("\n");
          assert.match(header, /^# runner-fleet GitOps: /);
          for (const word of [
            "PULUMI_CONFIG_PASSPHRASE",
            "OPENSTACK_CLOUDS_YAML",
            "GITHUB_TOKEN",
          ]) {
            assert.ok(header.includes(word), `the header does not mention ${word}`);
          }
          assert.match(header, /never this workflow's own GITHUB_TOKEN/);
          assert.match(header, /GitHub-hosted/);
        });

        it("has minimal top-level permissions", function () {
          const expected: Record<string, string> =
            n === "preview.yml"
              ? { contents: "read", "pull-requests": "write" }
              : { contents: "read" };
          assert.deepEqual(wf().permissions, expected);
          for (const [, job] of jobsOf(n)) assert.equal(job.permissions, undefined);
        });

        it("has a concurrency group per stack", function () {
          const c = wf().concurrency;
          assert.match(c.group, /^runner-fleet-.*\$\{\{ vars\.PULUMI_STACK \|\| 'prod' \}\}/);
          if (n === "preview.yml") {
            assert.match(c.group, /github\.event\.pull_request\.number/);
            assert.equal(c["cancel-in-progress"], true);
          } else {
            assert.equal(c.group, "runner-fleet-${{ vars.PULUMI_STACK || 'prod' }}");
            assert.equal(c["cancel-in-progress"], false);
          }
        });

        it("runs every job on a GitHub-hosted runner, with a timeout", function () {
          for (const [id, job] of jobsOf(n)) {
            assert.equal(job["runs-on"], "ubuntu-latest", id);
            assert.ok(
              Number.isInteger(job["timeout-minutes"]) && job["timeout-minutes"] <= 120,
              `${id}: timeout-minutes`,
            );
          }
        });

        it("pins actions to major versions, with known pulumi/actions inputs", function () {
          for (const step of stepsOf(n).filter((s) => s.uses)) {
            assert.match(step.uses, /^[\w-]+\/[\w-]+@v\d+$/);
            if (step.uses.startsWith("pulumi/actions@")) {
              for (const key of Object.keys(step.with ?? {})) {
                assert.ok(PULUMI_ACTION_INPUTS.has(key), `unknown pulumi/actions input ${key}`);
              }
            }
          }
          const uses = stepsOf(n).map((s) => s.uses as string | undefined);
          assert.ok(uses.includes("actions/checkout@v6"));
          assert.ok(uses.includes("pulumi/actions@v7"));
          const node = stepsOf(n).find((s) => s.uses?.startsWith("actions/setup-node@"));
          assert.equal(node.with["node-version"], 24);
        });

        it("runs npm ci, then logs in to the state backend", function () {
          const runs = stepsOf(n).map((s) => (s.run ?? "") as string);
          const npm = runs.findIndex((r) => r.startsWith("npm ci"));
          const login = runs.findIndex((r) => r === "pulumi login");
          assert.ok(npm >= 0 && login > npm);
          const env = stepsOf(n)[login].env;
          assert.equal(
            env.PULUMI_BACKEND_URL,
            "${{ vars.PULUMI_BACKEND_URL || secrets.PULUMI_BACKEND_URL }}",
          );
          assert.equal(env.PULUMI_ACCESS_TOKEN, "${{ secrets.PULUMI_ACCESS_TOKEN }}");
        });

        it("takes secrets from the secret store, only in the steps that need them", function () {
          const text = read(n);
          for (const leak of [
            /gh[pousr]_[A-Za-z0-9]{10,}/,
            /github_pat_/,
            /-----BEGIN/,
            /AKIA[0-9A-Z]{12}/,
          ]) {
            assert.doesNotMatch(text, leak);
          }
          assert.doesNotMatch(text, /secure:/);
          // Not in the workflow's or a job's env, so npm ci's install scripts never see one.
          assert.doesNotMatch(JSON.stringify(wf().env ?? {}), /secrets\./);
          for (const [, job] of jobsOf(n))
            assert.doesNotMatch(JSON.stringify(job.env), /secrets\./);
          for (const step of stepsOf(n)) {
            for (const [key, value] of Object.entries((step.env ?? {}) as Record<string, string>)) {
              if (/TOKEN|PASSPHRASE|PRIVATE_KEY|SECRET|PASSWORD|CLOUDS_YAML/.test(key)) {
                assert.match(value, /^\$\{\{ secrets\.[A-Z0-9_]+ \}\}$/, key);
              }
            }
          }
          // GitHub refuses secret names starting with GITHUB_; the workflow's own token is not
          // the fleet's, since it cannot manage self-hosted runners.
          assert.doesNotMatch(text, /secrets\.GITHUB_/);
          assert.doesNotMatch(text, /github\.token/);
        });

        it("hands the program its credentials under the names it reads", function () {
          const pulumiStep = stepsOf(n).find(
            (s) => (s.run ?? "").startsWith("pulumi up") || s.with?.command === "preview",
          );
          assert.deepEqual(pulumiStep.env, {
            PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
            GITHUB_TOKEN: "${{ secrets.RUNNER_FLEET_GITHUB_TOKEN }}",
            GITHUB_APP_ID: "${{ vars.RUNNER_FLEET_GITHUB_APP_ID }}",
            GITHUB_APP_INSTALLATION_ID: "${{ vars.RUNNER_FLEET_GITHUB_APP_INSTALLATION_ID }}",
            GITHUB_APP_PRIVATE_KEY: "${{ secrets.RUNNER_FLEET_GITHUB_APP_PRIVATE_KEY }}",
          });
          const clouds = stepsOf(n).find((s) => s.env?.OPENSTACK_CLOUDS_YAML);
          assert.equal(clouds.env.OPENSTACK_CLOUDS_YAML, "${{ secrets.OPENSTACK_CLOUDS_YAML }}");
          assert.match(clouds.run, /~\/\.config\/openstack\/clouds\.yaml/);
          assert.match(clouds.run, /umask 077/);
          for (const [, job] of jobsOf(n)) {
            assert.equal(job.env.OS_CLOUD, "${{ vars.OS_CLOUD || 'openstack' }}");
            assert.equal(job.env.PULUMI_STACK, "${{ vars.PULUMI_STACK || 'prod' }}");
          }
        });
      });
    }

    const paths = (n: Name, event: string) => workflows[n].on[event].paths as string[];

    it("preview: on pull requests touching config or program, comments the plan", function () {
      const wf = workflows["preview.yml"];
      assert.deepEqual(Object.keys(wf.on), ["pull_request"]);
      for (const p of [
        "Pulumi.*.yaml",
        "Pulumi.yaml",
        "*.ts",
        "components/**",
        "package-lock.json",
      ]) {
        assert.ok(paths("preview.yml", "pull_request").includes(p), p);
      }
      // Forks get no secrets; same-repository branches only.
      assert.equal(
        wf.jobs.preview.if,
        "github.event.pull_request.head.repo.full_name == github.repository",
      );
      const step = stepsOf("preview.yml").find((s) => s.with?.command === "preview");
      assert.deepEqual(
        { ...step.with, "pulumi-version": undefined },
        {
          command: "preview",
          "stack-name": "${{ env.PULUMI_STACK }}",
          "pulumi-version": undefined,
          diff: true,
          "comment-on-pr": true,
          "edit-pr-comment": true,
        },
      );
    });

    it("up: on pushes to main (same paths) and by hand, pulumi up --yes --refresh", function () {
      const wf = workflows["up.yml"];
      assert.deepEqual(Object.keys(wf.on).sort(), ["push", "workflow_dispatch"]);
      assert.deepEqual(wf.on.push.branches, ["main"]);
      assert.deepEqual(paths("up.yml", "push"), paths("preview.yml", "pull_request"));
      assert.equal(wf.jobs.up.if, "github.ref == 'refs/heads/main'");
    });

    it("reconcile: on a schedule and by hand, the same pulumi up --yes --refresh", function () {
      const wf = workflows["reconcile.yml"];
      assert.deepEqual(Object.keys(wf.on).sort(), ["schedule", "workflow_dispatch"]);
      assert.deepEqual(wf.on.schedule, [{ cron: "*/10 * * * *" }]);
      assert.equal(wf.jobs.reconcile.if, "github.ref == 'refs/heads/main'");
      // The same steps as up.yml: the loop and the deployment do exactly the same thing.
      assert.deepEqual(stepsOf("reconcile.yml"), stepsOf("up.yml"));
      const up = stepsOf("reconcile.yml").find((s) => (s.run ?? "").startsWith("pulumi up"));
      assert.equal(up.run, 'pulumi up --yes --refresh --non-interactive --stack "$PULUMI_STACK"');
    });
  });

  describe("README and example stack config", function () {
    const readme = read("README.md");

    it("the README names every secret and variable the workflows use", function () {
      const used = new Set(
        names.flatMap((n) =>
          [...read(n).matchAll(/\b(?:secrets|vars)\.([A-Z0-9_]+)/g)].map((m) => m[1]),
        ),
      );
      assert.ok(used.size >= 10);
      for (const name of used) assert.ok(readme.includes(`\`${name}\``), `README lacks ${name}`);
      assert.match(readme, /pulumi config set --stack prod quantity 5/);
    });

    const stackFile = loadYaml(read("Pulumi.prod.yaml")) as { config: Record<string, unknown> };
    const declared = (loadYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as Yaml)
      .config as Record<string, { secret?: boolean }>;

    it("Pulumi.prod.yaml uses only declared keys, and holds no secret", function () {
      assert.doesNotMatch(read("Pulumi.prod.yaml"), /^\s*[^#\s].*secure:/m);
      for (const key of Object.keys(stackFile.config)) {
        assert.ok(key in declared, `${key} is not declared in Pulumi.yaml`);
        assert.notEqual(declared[key].secret, true, `${key} is a secret`);
      }
    });

    it("Pulumi.prod.yaml is a valid fleet config", function () {
      // As the Pulumi SDK hands them to the program: structured values as JSON, scalars as text.
      const values = new Map(
        Object.entries(stackFile.config).map(([k, v]) => [
          k.replace(/^runner-fleet:/, ""),
          typeof v === "object" ? JSON.stringify(v) : String(v),
        ]),
      );
      const config = parseFleetConfig((k) => values.get(k), "prod");
      assert.equal(config.namePrefix, "rf-prod");
      assert.deepEqual(config.pools[0].sizing, { quantity: 3 });
      assert.deepEqual(config.pools[0].labels, ["openstack", "x64"]);
      assert.equal(config.metrics.enabled, false);
    });
  });
});
