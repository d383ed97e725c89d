import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";

describe("GitHub double: command line", function () {
  let dir: string;
  let child: ChildProcess | undefined;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "github-double-"));
  });

  afterEach(async function () {
    if (child && child.exitCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts the double and writes its URL and admin token to the state file", async function () {
    const stateFile = join(dir, "state.json");
    const tarball = join(dir, "runner.tar.gz");
    writeFileSync(tarball, "tarball bytes");
    child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(__dirname, "..", "..", "devkit", "github-double", "main.ts"),
        "--port",
        "0",
        "--state-file",
        stateFile,
        "--runner-tarball",
        tarball,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const deadline = Date.now() + 20_000;
    while (!existsSync(stateFile)) {
      assert.ok(Date.now() < deadline, "the state file was not written within 20 s");
      assert.equal(child.exitCode, null, "the double exited");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { url, adminToken } = JSON.parse(readFileSync(stateFile, "utf8")) as {
      url: string;
      adminToken: string;
    };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/orgs/acme/actions/runners/downloads`, {
      headers: { authorization: `token ${adminToken}` },
    });
    assert.equal(res.status, 200);
    const [download] = (await res.json()) as { download_url: string }[];
    assert.equal(await (await fetch(download.download_url)).text(), "tarball bytes");

    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = await exited;
    assert.equal(code, 0);
  });

  it("fails without a state file, with its usage", async function () {
    child = spawn(
      process.execPath,
      ["--import", "tsx", join(__dirname, "..", "..", "devkit", "github-double", "main.ts")],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, "exit");
    assert.equal(code, 2);
    assert.match(stderr, /usage: main\.ts --port N --state-file FILE/);
  });
});
