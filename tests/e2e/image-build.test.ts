// The runner image build, for real: a small ext4 base image that the test makes goes to Glance;
// RunnerImage bakes the runner tarball of the GitHub double's downloads list into it through
// @pulumi/command and uploads the result; Glance holds it with its architecture, and the runner
// is inside. A changed build replaces the image, new before old; destroy removes it.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { latestRunnerVersion } from "../../fleet/observation";
import { RunnerImage } from "../../components/runner-image";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { tenantOsEnv } from "../../devkit/local-cloud/cloud-env";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import { createTestStack, TestStack } from "../../devkit/pulumi/test-stack";
import { timed } from "../../devkit/timing";
import { createBaseImage } from "../support/glance-images";

/** A tarball laid out like GitHub's runner release: run.sh and config.sh at its root. */
function runnerTarball(dir: string, marker: string): Buffer {
  const src = path.join(dir, `runner-${marker}`);
  fs.mkdirSync(path.join(src, "bin"), { recursive: true });
  fs.writeFileSync(path.join(src, "run.sh"), `#!/bin/bash\necho runner ${marker}\n`, {
    mode: 0o755,
  });
  fs.writeFileSync(path.join(src, "config.sh"), "#!/bin/bash\n", { mode: 0o755 });
  fs.writeFileSync(path.join(src, "bin", "Runner.Listener"), "listener\n");
  const out = path.join(dir, `runner-${marker}.tar.gz`);
  execFileSync("tar", ["-czf", out, "-C", src, "."]);
  return fs.readFileSync(out);
}

describe("the runner image build on the real engine", function () {
  const suffix = Date.now().toString(36);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "image-build-"));
  let gh: GitHubDouble;
  let test: TestStack;
  let api: OpenStackApi;
  let baseImageId = "";
  let imageName = `rf-runner-${suffix}`;

  const glanceImage = async (id: string) => (await api.images()).find((i) => i.id === id);

  before(async function () {
    api = await OpenStackApi.login();
    baseImageId = createBaseImage(work, `rf-base-${suffix}`);
    gh = await startGitHubDouble({ runnerTarball: runnerTarball(work, "one") });
    test = await createTestStack(
      "image-build",
      async () => {
        const image = new RunnerImage("image", {
          image: {
            kind: "build",
            baseImage: baseImageId,
            runnerVersion: "latest",
            architecture: "x86_64",
            name: imageName,
          },
          github: { apiUrl: gh.url, path: "acme/widgets", token: pulumi.secret(gh.adminToken) },
          resolvedRunnerVersion: await latestRunnerVersion(gh.url, "acme/widgets", "x86_64", {
            kind: "token",
            token: gh.adminToken,
          }),
        });
        return { imageId: image.imageId };
      },
      tenantOsEnv(),
    );
  });

  after(async function () {
    await test?.stack.destroy().catch(() => undefined);
    if (baseImageId) {
      execFileSync("openstack", ["image", "delete", baseImageId], {
        env: { ...process.env, ...tenantOsEnv() },
      });
    }
    await gh?.close();
    test?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  let firstImage = "";

  it("bakes the runner into the base image and uploads it with its architecture", async function () {
    const result = await timed("image build", () => test.stack.up());
    firstImage = result.outputs.imageId.value as string;
    const image = await api.get<{
      status: string;
      architecture: string;
      "runner-fleet-runner-version": string;
    }>("image", `/v2/images/${firstImage}`);
    assert.equal(image.status, "active");
    assert.equal(image.architecture, "x86_64");
    // The runner is in the image, executable, at the place cloud-init starts it from.
    const qcow = path.join(work, "built.qcow2");
    execFileSync("openstack", ["image", "save", "--file", qcow, firstImage], {
      env: { ...process.env, ...tenantOsEnv() },
    });
    execFileSync("qemu-img", ["convert", "-O", "raw", qcow, path.join(work, "built.raw")]);
    const stat = execFileSync(
      "debugfs",
      ["-R", "stat /home/ubuntu/actions-runner/run.sh", path.join(work, "built.raw")],
      {
        stdio: ["ignore", "pipe", "ignore"],
      },
    ).toString();
    assert.match(stat, /Mode:\s+0755/);
    assert.match(stat, /User:\s+1000/);
    const runSh = execFileSync(
      "debugfs",
      ["-R", "cat /home/ubuntu/actions-runner/run.sh", path.join(work, "built.raw")],
      {
        stdio: ["ignore", "pipe", "ignore"],
      },
    ).toString();
    assert.match(runSh, /echo runner one/);
  });

  it("a changed build builds a new image before deleting the old one", async function () {
    imageName = `rf-runner-${suffix}-b`;
    const result = await timed("image rebuild", () => test.stack.up());
    const second = result.outputs.imageId.value as string;
    assert.notEqual(second, firstImage);
    assert.equal((await glanceImage(second))?.status, "active");
    assert.equal(await glanceImage(firstImage), undefined, "the old image is deleted after");
  });

  it("destroy deletes the built image", async function () {
    const before = (await test.stack.outputs()).imageId.value as string;
    await test.stack.destroy();
    assert.equal(await glanceImage(before), undefined);
  });
});
