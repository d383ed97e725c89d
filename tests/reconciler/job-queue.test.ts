import * as assert from "node:assert/strict";
import { JobQueue, QUEUED_KEPT_MS } from "../../reconciler/job-queue";

const delivery = (id: number, action: string, labels = ["self-hosted"]) => ({
  action,
  workflow_job: { id, status: action, labels },
});

describe("the job queue from workflow_job deliveries", function () {
  it("queues, starts and completes jobs; the snapshot holds the queued ones", function () {
    const q = new JobQueue();
    assert.equal(q.apply("d1", delivery(1, "queued", ["gpu"])), "applied");
    assert.equal(q.apply("d2", delivery(2, "queued")), "applied");
    assert.equal(q.apply("d3", delivery(1, "in_progress", ["gpu"])), "applied");
    assert.deepEqual(q.snapshot().queued, [{ labels: ["self-hosted"] }]);
    assert.equal(q.apply("d4", delivery(2, "completed")), "applied");
    assert.deepEqual(q.snapshot().queued, []);
  });

  it("counts a delivery once, and never takes a job back (deliveries come in any order)", function () {
    const q = new JobQueue();
    assert.equal(q.apply("d1", delivery(1, "queued")), "applied");
    assert.equal(q.apply("d1", delivery(9, "queued")), "duplicate");
    assert.equal(q.apply("d2", delivery(3, "completed")), "applied");
    assert.equal(q.apply("d3", delivery(3, "queued")), "stale");
    assert.equal(q.apply("d4", delivery(1, "waiting")), "stale");
    assert.deepEqual(q.snapshot().queued.length, 1);
  });

  it("heals from a listing of the queue: missed jobs queued, vanished ones gone", function () {
    const q = new JobQueue();
    q.apply("d1", delivery(1, "queued"));
    q.apply("d2", delivery(2, "queued"));
    q.resync([
      { id: 2, labels: ["self-hosted"] },
      { id: 5, labels: ["gpu"] },
    ]);
    assert.deepEqual(
      q.snapshot().queued.map((j) => j.labels),
      [["self-hosted"], ["gpu"]],
    );
    // A late delivery of the job the listing no longer had does not bring it back.
    assert.equal(q.apply("d3", delivery(1, "queued")), "stale");
  });

  it("forgets completed jobs after six hours", function () {
    let now = 0;
    const q = new JobQueue(() => now);
    q.apply("d1", delivery(1, "completed"));
    now = 6 * 3600_000 + 1;
    q.apply("d2", delivery(2, "queued"));
    // Forgotten: a (very) late delivery of job 1 counts again.
    assert.equal(q.apply("d3", delivery(1, "queued")), "applied");
  });

  it("stops counting a job queued for over a day (GitHub cancels it; its deliveries were lost)", function () {
    let now = 0;
    const q = new JobQueue(() => now);
    q.apply("d1", delivery(1, "queued"));
    now = 24 * 3600_000;
    q.apply("d2", delivery(2, "queued"));
    assert.equal(q.snapshot().queued.length, 2);
    now = QUEUED_KEPT_MS + 1;
    assert.deepEqual(q.snapshot().queued, [{ labels: ["self-hosted"] }]);
  });
});
