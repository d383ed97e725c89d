// Pools sized by the job queue on the real engine, the local OpenStack and the GitHub double,
// from both signals: GitHub's signed `workflow_job` deliveries (verified, de-duplicated, kept by
// the receiver as a snapshot file the program reads), and for a repository its own queue; a
// repository's queue (read by the program from GitHub's runs and jobs) grows a pool to busy +
// queued + minIdle within maxRunners; an `up` that cannot read the queue keeps what demand built;
// a queue that drains shrinks the pool idle-first, never touching a busy runner. No simulated
// hosts: the runners stay offline within their boot grace, as booting ones, and the test
// drives jobs by hand.
import * as assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import type { UpResult } from "@pulumi/pulumi/automation";
import { testFleetConfig } from "../../devkit/local-cloud/cloud-env";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { OpenStackApi } from "../../devkit/local-cloud/openstack-api";
import type { TestStack } from "../../devkit/pulumi/test-stack";
import { timed } from "../../devkit/timing";
import { FLEET_METADATA_KEY } from "../../rules/server-metadata";
import { createFleetStack } from "../support/fleet-stack";
import { until } from "../support/until";
import { DEMAND_FILE_ENV, writeDemandFile } from "../../fleet/demand-snapshot";
import { JobQueue } from "../../reconciler/job-queue";
import {
  WRITE_LEDGER_ENV,
  WRITES_PER_HOUR_ENV,
  writesWithinHour,
} from "../../rules/github-write-budget";
import { MAX_DELIVERY_BYTES, webhookReceiver } from "../../reconciler/webhook-receiver";

describe("pools sized by the job queue", function () {
  const prefix = `rf-demand-${Date.now().toString(36)}`;
  let gh: GitHubDouble;
  let test: TestStack;
  let api: OpenStackApi;
  const jobs: number[] = [];

  const fleetRunners = () => gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`));
  const fleetServers = async () =>
    (await api.servers()).filter((s) => s.metadata[FLEET_METADATA_KEY] === prefix);
  const up = async (label: string): Promise<UpResult & { log: string }> => {
    const logs: string[] = [];
    const result = await timed(label, () => test.stack.up({ onOutput: (line) => logs.push(line) }));
    assert.equal(result.summary.result, "succeeded");
    return Object.assign(result, { log: logs.join("") });
  };

  before(async function () {
    api = await OpenStackApi.login();
    gh = await startGitHubDouble();
    test = await createFleetStack("demand");
    const config = testFleetConfig({
      prefix,
      gh,
      quantity: 0,
      label: "demand",
      extra: { busyWaitSeconds: "3", metricsEnabled: "false", minIdle: "1", maxRunners: "8" },
    });
    delete config["runner-fleet:quantity"];
    await test.stack.setAllConfig(config);
  });

  after(async function () {
    for (const r of fleetRunners()) if (r.busy) gh.control.finishJob(r.id, { exitCode: 0 });
    await test?.stack.destroy().catch(() => undefined);
    await gh?.close();
    test?.cleanup();
  });

  it("with 5 queued jobs and minIdle 1, a pool grows to 6; a job of other labels spawns nothing", async function () {
    for (let i = 0; i < 5; i++) {
      jobs.push(
        gh.control.dispatchJob({ repo: "acme/widgets", labels: ["self-hosted", "demand"] }).id,
      );
    }
    gh.control.dispatchJob({ repo: "acme/widgets", labels: ["self-hosted", "windows"] });
    const result = await up("demand: 5 queued, minIdle 1");
    assert.match(result.log, /pool default sized to 6: 0 busy \+ 5 queued \+ minIdle 1/);
    assert.match(result.log, /1 queued jobs match no pool's labels: they spawn nothing/);
    assert.equal(fleetRunners().length, 6);
    assert.equal((await fleetServers()).length, 6);
  });

  it("an up that cannot read the queue keeps what demand built", async function () {
    gh.control.fault({ route: "GET /repos/{owner}/{repo}/actions/runs", status: 502, count: 50 });
    try {
      const result = await up("demand: the queue unreadable");
      assert.match(result.log, /the job queue cannot be read/);
      assert.match(result.log, /pool default sized to 6: no demand snapshot: 0 busy \+ 6 kept/);
    } finally {
      gh.control.clearFaults();
    }
    assert.equal(fleetRunners().length, 6);
  });

  it("a queue that drains shrinks the pool idle-first, keeping the busy runner", async function () {
    // One runner takes a job; the other queued jobs are cancelled.
    const [busy] = fleetRunners();
    gh.control.startJob(busy.name, jobs[0]);
    for (const id of jobs.slice(1)) gh.control.cancelJob(id);
    const result = await up("demand: queue drained, 1 busy");
    assert.match(result.log, /pool default sized to 2: 1 busy \+ 0 queued \+ minIdle 1/);
    const left = fleetRunners();
    assert.equal(left.length, 2);
    assert.ok(
      left.some((r) => r.name === busy.name && r.busy),
      "the busy runner stays",
    );
    assert.equal((await fleetServers()).length, 2);
  });

  it("with GitHub's hourly write budget nearly spent, an up creates what fits and says how many wait", async function () {
    const ledger = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ledger-")), "writes");
    // 8 of 10 writes used in the last hour: room for 2 JIT configs.
    fs.writeFileSync(ledger, Array.from({ length: 8 }, () => `${Date.now() - 60_000}\n`).join(""));
    process.env[WRITE_LEDGER_ENV] = ledger;
    process.env[WRITES_PER_HOUR_ENV] = "10";
    try {
      for (let i = 0; i < 4; i++) {
        gh.control.dispatchJob({ repo: "acme/widgets", labels: ["self-hosted", "demand"] });
      }
      const result = await up("demand: 4 more wanted, room for 2 writes");
      assert.match(result.log, /pool default sized to 6: 1 busy \+ 4 queued \+ minIdle 1/);
      assert.match(
        result.log,
        /GitHub's write budget allows 2 of 4 new runners \(8 of 10 writes used in the last hour\); 2 wait/,
      );
      assert.equal(fleetRunners().length, 4);
      // The providers noted their writes: the 2 JIT configs.
      assert.equal(writesWithinHour(ledger, Date.now()).length, 10);
    } finally {
      delete process.env[WRITE_LEDGER_ENV];
      delete process.env[WRITES_PER_HOUR_ENV];
      fs.rmSync(path.dirname(ledger), { recursive: true, force: true });
    }
  });
});

describe("pools sized by GitHub's workflow_job webhooks", function () {
  const prefix = `rf-hooks-${Date.now().toString(36)}`;
  const secret = "webhook-secret-for-tests";
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "hooks-"));
  const snapshotFile = path.join(work, "demand.json");
  const savedFile = process.env[DEMAND_FILE_ENV];
  const queue = new JobQueue();
  let receiver: http.Server;
  let receiverUrl: string;
  let gh: GitHubDouble;
  let test: TestStack;
  const jobs: number[] = [];

  const fleetRunners = () => gh.control.runners().filter((r) => r.name.startsWith(`${prefix}-`));
  const post = (body: string, headers: Record<string, string>) =>
    fetch(receiverUrl, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    });
  const sign = (body: string, key = secret) =>
    `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
  const settle = async () => {
    await until("every delivery answered", () =>
      gh.control.webhookDeliveries().every((d) => d.status !== null || d.error !== null),
    );
  };

  before(async function () {
    receiver = http.createServer(
      webhookReceiver({
        secret,
        queue,
        onChange: () => writeDemandFile(snapshotFile, queue.snapshot()),
      }),
    );
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/`;
    writeDemandFile(snapshotFile, queue.snapshot());
    // The program runs in this process: it reads the snapshot file the receiver keeps.
    process.env[DEMAND_FILE_ENV] = snapshotFile;
    gh = await startGitHubDouble();
    gh.control.setWebhook({ url: receiverUrl, secret });
    test = await createFleetStack("hooks");
    const config = testFleetConfig({
      prefix,
      gh,
      quantity: 0,
      label: "hooks",
      extra: { githubPath: "acme", busyWaitSeconds: "3", metricsEnabled: "false", maxRunners: "5" },
    });
    delete config["runner-fleet:quantity"];
    await test.stack.setAllConfig(config);
  });

  after(async function () {
    await test?.stack.destroy().catch(() => undefined);
    await gh?.close();
    receiver?.close();
    test?.cleanup();
    if (savedFile === undefined) delete process.env[DEMAND_FILE_ENV];
    else process.env[DEMAND_FILE_ENV] = savedFile;
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("sizes an organisation's pool from the deliveries of 3 queued jobs", async function () {
    for (let i = 0; i < 3; i++) {
      jobs.push(
        gh.control.dispatchJob({ repo: "acme/widgets", labels: ["self-hosted", "hooks"] }).id,
      );
    }
    await settle();
    assert.deepEqual(
      gh.control.webhookDeliveries().map((d) => [d.action, d.status]),
      [
        ["queued", 202],
        ["queued", 202],
        ["queued", 202],
      ],
    );
    const result = await test.stack.up();
    assert.equal(result.summary.result, "succeeded");
    assert.match(result.stdout, /pool default sized to 3: 0 busy \+ 3 queued \+ minIdle 0/);
    assert.equal(fleetRunners().length, 3);
  });

  it("a bad signature, a replayed delivery id, malformed JSON and an unknown event change nothing", async function () {
    const before = fs.readFileSync(snapshotFile, "utf8");
    const forged = JSON.stringify({
      action: "queued",
      workflow_job: { id: 424242, status: "queued", labels: ["self-hosted", "hooks"] },
    });
    const headers = (body: string, extra: Record<string, string> = {}) => ({
      "x-github-event": "workflow_job",
      "x-github-delivery": `test-${Math.random()}`,
      "x-hub-signature-256": sign(body),
      ...extra,
    });
    const answers = [
      await post(
        forged,
        headers(forged, { "x-hub-signature-256": sign(forged, "not-the-secret") }),
      ),
      await post(forged, headers(forged, { "x-hub-signature-256": "" })),
      await post(
        forged,
        headers(forged, { "x-github-delivery": gh.control.webhookDeliveries()[0].id }),
      ),
      await post("{not json", headers("{not json")),
      await post(forged, headers(forged, { "x-github-event": "push" })),
      await post("x".repeat(MAX_DELIVERY_BYTES + 1), headers("x")),
    ].map((r) => r.status);
    assert.deepEqual(answers, [401, 401, 200, 400, 204, 413]);
    assert.equal(fs.readFileSync(snapshotFile, "utf8"), before, "the snapshot is as it was");
    const result = await test.stack.up();
    assert.match(result.stdout, /pool default sized to 3: 0 busy \+ 3 queued/);
    const changes: Record<string, number> = result.summary.resourceChanges ?? {};
    for (const op of ["create", "update", "delete", "replace"]) {
      assert.equal(changes[op] ?? 0, 0, `${op}: ${JSON.stringify(changes)}`);
    }
    assert.equal(fleetRunners().length, 3);
  });

  it("jobs that end shrink the pool as their completed deliveries arrive", async function () {
    for (const id of jobs.slice(1)) gh.control.cancelJob(id);
    await settle();
    assert.deepEqual(JSON.parse(fs.readFileSync(snapshotFile, "utf8")).queued.length, 1);
    const result = await test.stack.up();
    assert.match(result.stdout, /pool default sized to 1: 0 busy \+ 1 queued \+ minIdle 0/);
    assert.equal(fleetRunners().length, 1);
  });
});
