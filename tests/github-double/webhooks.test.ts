// The double's workflow_job deliveries: one per change of a job's status, signed as GitHub signs
// them (verified here by @octokit/webhooks), shaped as GitHub's schema, recorded with the answer.
import * as assert from "node:assert/strict";
import * as http from "node:http";
import { GitHubDouble, startGitHubDouble } from "../../devkit/github-double";
import { until } from "../support/until";

describe("GitHub double: workflow_job webhooks", function () {
  const secret = "the-webhook-secret";
  let gh: GitHubDouble;
  let receiver: http.Server;
  let received: { headers: http.IncomingHttpHeaders; body: string }[];
  let answer = 202;

  beforeEach(async function () {
    received = [];
    answer = 202;
    receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push({ headers: req.headers, body });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    gh = await startGitHubDouble();
    gh.control.setWebhook({
      url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`,
      secret,
    });
  });
  afterEach(async function () {
    await gh.close();
    receiver.close();
  });

  it("delivers queued, in_progress and completed, signed and named as GitHub does", async function () {
    const job = gh.control.dispatchJob({ repo: "acme/widgets", labels: ["self-hosted", "gpu"] });
    const res = await fetch(`${gh.url}/repos/acme/widgets/actions/runners/generate-jitconfig`, {
      method: "POST",
      headers: { authorization: `Bearer ${gh.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "r1", runner_group_id: 1, labels: ["self-hosted", "gpu"] }),
    });
    assert.equal(res.status, 201);
    gh.control.startJob("r1", job.id);
    gh.control.finishJob("r1", { exitCode: 0 });
    await until("3 deliveries", () => received.length === 3);
    // An ES module only: loaded as the receiver loads it (reconciler/webhook-receiver.ts).
    const { Webhooks } = await import("@octokit/webhooks");
    const verifier = new Webhooks({ secret });
    for (const d of received) {
      assert.equal(d.headers["x-github-event"], "workflow_job");
      assert.match(String(d.headers["x-github-delivery"]), /^[0-9a-f-]{36}$/);
      assert.ok(await verifier.verify(d.body, String(d.headers["x-hub-signature-256"])));
    }
    const payloads = received.map((d) => JSON.parse(d.body));
    assert.deepEqual(
      payloads.map((p) => [p.action, p.workflow_job.id, p.workflow_job.status]),
      [
        ["queued", job.id, "queued"],
        ["in_progress", job.id, "in_progress"],
        ["completed", job.id, "completed"],
      ],
    );
    assert.deepEqual(payloads[0].workflow_job.labels, ["self-hosted", "gpu"]);
    assert.equal(payloads[0].repository.full_name, "acme/widgets");
    assert.equal(payloads[2].workflow_job.conclusion, "success");
    assert.equal(payloads[2].workflow_job.runner_name, "r1");
    const ids = new Set(received.map((d) => d.headers["x-github-delivery"]));
    assert.equal(ids.size, 3, "each delivery has its own id");
  });

  it("records each delivery with the receiver's answer, and sends nothing once unset", async function () {
    answer = 500;
    const job = gh.control.dispatchJob({ repo: "acme/widgets" });
    await until("the delivery answered", () => gh.control.webhookDeliveries()[0]?.status === 500);
    gh.control.setWebhook(null);
    gh.control.cancelJob(job.id);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(received.length, 1);
    assert.deepEqual(
      gh.control.webhookDeliveries().map((d) => [d.action, d.jobId, d.status]),
      [["queued", job.id, 500]],
    );
  });
});
