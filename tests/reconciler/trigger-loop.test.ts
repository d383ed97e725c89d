import * as assert from "node:assert/strict";
import { TriggerLoop, type UpKind, type UpOutcome } from "../../reconciler/trigger-loop";
import { sleep, until as untilSlow } from "../support/until";

const until = (what: string, fn: () => boolean, ms = 5000) => untilSlow(what, fn, ms, 10);

/** A loop whose `up`s take `upMs` and answer with the outcomes given, in turn (then succeed). */
function loop(opts: { upMs?: number; outcomes?: UpOutcome[]; paused?: () => boolean }) {
  const ups: { kind: UpKind; reasons: string[]; at: number }[] = [];
  let running = 0;
  let overlapped = false;
  const outcomes = [...(opts.outcomes ?? [])];
  const l = new TriggerLoop({
    debounceMs: 100,
    refreshMs: 3_600_000,
    lockRetryMs: 150,
    failureRetryMs: 150,
    pausePollMs: 50,
    paused: opts.paused ?? (() => false),
    log: () => {},
    run: async (kind, reasons) => {
      if (++running > 1) overlapped = true;
      ups.push({ kind, reasons, at: Date.now() });
      await sleep(opts.upMs ?? 50);
      running--;
      return outcomes.shift() ?? "succeeded";
    },
  });
  return { l, ups, overlapped: () => overlapped };
}

describe("the reconciler's trigger loop", function () {
  it("starts with a refresh, then makes one up of a burst of 20 triggers within the debounce window", async function () {
    const { l, ups } = loop({});
    l.start();
    await until("the first refresh", () => ups.length === 1 && !l.busy);
    assert.equal(ups[0].kind, "refresh");
    const first = Date.now();
    for (let i = 0; i < 20; i++) l.trigger(`job ${i} queued`);
    await until("the burst's up ended", () => ups.length === 2 && !l.busy);
    await sleep(300);
    assert.equal(ups.length, 2, "one up for the burst");
    assert.equal(ups[1].kind, "demand");
    assert.equal(ups[1].reasons.length, 20);
    assert.ok(ups[1].at - first >= 90, "it waited for the debounce window");
    await l.stop();
  });

  it("coalesces triggers during an up into one follow-up, never two ups at once", async function () {
    const { l, ups, overlapped } = loop({ upMs: 300 });
    l.trigger("a");
    await until("an up runs", () => l.busy);
    for (const r of ["b", "c", "d"]) {
      l.trigger(r);
      await sleep(50);
    }
    await until("the follow-up ran", () => ups.length === 2 && !l.busy);
    await sleep(300);
    assert.equal(ups.length, 2);
    assert.deepEqual(ups[1].reasons, ["b", "c", "d"]);
    assert.equal(overlapped(), false);
    await l.stop();
  });

  it("retries a locked stack shortly with what it was asked, and a failed up later", async function () {
    const { l, ups } = loop({ outcomes: ["locked", "locked", "failed"] });
    l.trigger("job 1 queued");
    await until("four ups", () => ups.length === 4 && !l.busy);
    assert.deepEqual(
      ups.map((u) => u.reasons),
      [["job 1 queued"], ["job 1 queued"], ["job 1 queued"], ["job 1 queued"]],
    );
    assert.ok(ups[1].at - ups[0].at >= 140, "waited the lock retry");
    await l.stop();
  });

  it("paused, runs nothing; resumed, runs what it was asked", async function () {
    let paused = true;
    const { l, ups } = loop({ paused: () => paused });
    l.trigger("job 1 queued");
    await sleep(400);
    assert.equal(ups.length, 0);
    paused = false;
    await until("the up after resuming", () => ups.length === 1);
    assert.deepEqual(ups[0].reasons, ["job 1 queued"]);
    await l.stop();
  });

  it("stop waits for the up in flight and starts no other", async function () {
    const { l, ups } = loop({ upMs: 300 });
    l.trigger("a");
    await until("an up runs", () => l.busy);
    l.trigger("b");
    await l.stop();
    assert.equal(l.busy, false);
    await sleep(300);
    assert.equal(ups.length, 1);
  });
});
