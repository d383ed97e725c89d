import * as assert from "node:assert/strict";
import {
  matchJobsToPools,
  PoolCounts,
  PoolSizing,
  poolCounts,
  sizePools,
} from "../../fleet/demand";

const pools = [
  { name: "small", labels: ["linux-small"] },
  { name: "gpu", labels: ["GPU", "cuda"] },
  { name: "any", labels: ["linux-small", "gpu", "cuda"] },
];

describe("matching queued jobs to pools", function () {
  const cases: {
    what: string;
    jobs: string[][];
    perPool: Record<string, number>;
    unmatched: number;
  }[] = [
    {
      what: "a job counts for the first pool in config order that has all its labels",
      jobs: [["self-hosted", "linux-small"]],
      perPool: { small: 1, gpu: 0, any: 0 },
      unmatched: 0,
    },
    {
      what: "labels compare case-insensitively, GitHub's defaults included",
      jobs: [["Self-Hosted", "Linux", "gpu", "CUDA"]],
      perPool: { small: 0, gpu: 1, any: 0 },
      unmatched: 0,
    },
    {
      what: "a job several pools match counts once",
      jobs: [["gpu"], ["gpu"], ["linux-small", "gpu"]],
      perPool: { small: 0, gpu: 2, any: 1 },
      unmatched: 0,
    },
    {
      what: "a job no pool matches is unmatched and spawns nothing",
      jobs: [["windows"], ["self-hosted", "arm64"]],
      perPool: { small: 0, gpu: 0, any: 0 },
      unmatched: 2,
    },
    {
      what: "a job with only the default labels goes to the first pool",
      jobs: [["self-hosted"]],
      perPool: { small: 1, gpu: 0, any: 0 },
      unmatched: 0,
    },
  ];
  for (const c of cases) {
    it(c.what, function () {
      const got = matchJobsToPools(
        c.jobs.map((labels) => ({ labels })),
        pools,
      );
      assert.deepEqual(Object.fromEntries(got.perPool), c.perPool);
      assert.equal(got.unmatched, c.unmatched);
    });
  }
});

describe("sizing pools from demand", function () {
  const demand = (perPool: Record<string, number>) => ({
    perPool: new Map(Object.entries(perPool)),
    unmatched: 0,
  });
  const counts = (c: Record<string, PoolCounts>) => new Map(Object.entries(c));
  const cases: {
    what: string;
    sizing: Record<string, PoolSizing>;
    counts: Record<string, PoolCounts>;
    queued?: Record<string, number>;
    fleetMax?: number;
    sizes: Record<string, number>;
  }[] = [
    {
      what: "a fixed pool keeps its quantity, whatever the queue",
      sizing: { a: { quantity: 3 } },
      counts: { a: { busy: 5, notBusy: 0 } },
      queued: { a: 9 },
      sizes: { a: 3 },
    },
    {
      what: "busy + queued + minIdle",
      sizing: { a: { minIdle: 1, maxRunners: 10 } },
      counts: { a: { busy: 2, notBusy: 1 } },
      queued: { a: 5 },
      sizes: { a: 8 },
    },
    {
      what: "5 queued and minIdle 1 from nothing: 6",
      sizing: { a: { minIdle: 1, maxRunners: 10 } },
      counts: {},
      queued: { a: 5 },
      sizes: { a: 6 },
    },
    {
      what: "capped at maxRunners",
      sizing: { a: { minIdle: 2, maxRunners: 4 } },
      counts: { a: { busy: 1, notBusy: 0 } },
      queued: { a: 9 },
      sizes: { a: 4 },
    },
    {
      what: "minIdle 0 and an empty queue: only the busy ones",
      sizing: { a: { minIdle: 0, maxRunners: 4 } },
      counts: { a: { busy: 1, notBusy: 3 } },
      queued: {},
      sizes: { a: 1 },
    },
    {
      what: "busy above maxRunners: the size is the ceiling (the plan keeps busy runners anyway)",
      sizing: { a: { minIdle: 1, maxRunners: 2 } },
      counts: { a: { busy: 5, notBusy: 0 } },
      queued: { a: 1 },
      sizes: { a: 2 },
    },
    {
      what: "without a snapshot: what it has, and at least minIdle idle",
      sizing: { a: { minIdle: 2, maxRunners: 10 }, b: { minIdle: 1, maxRunners: 10 } },
      counts: { a: { busy: 1, notBusy: 5 }, b: { busy: 3, notBusy: 0 } },
      sizes: { a: 6, b: 4 },
    },
    {
      what: "fleetMaxRunners cuts from the last pool, never below its busy runners",
      sizing: {
        a: { minIdle: 1, maxRunners: 10 },
        b: { minIdle: 1, maxRunners: 10 },
        c: { quantity: 2 },
      },
      counts: { c: { busy: 1, notBusy: 1 } },
      queued: { a: 4, b: 4 },
      fleetMax: 7,
      sizes: { a: 5, b: 1, c: 1 },
    },
  ];
  for (const c of cases) {
    it(c.what, function () {
      const sized = sizePools(
        Object.entries(c.sizing).map(([name, sizing]) => ({ name, sizing })),
        counts(c.counts),
        c.queued ? demand(c.queued) : undefined,
        c.fleetMax,
      );
      assert.deepEqual(Object.fromEntries(sized.map((p) => [p.name, p.quantity])), c.sizes);
    });
  }

  it("says how a pool got its size", function () {
    const [sized] = sizePools(
      [{ name: "a", sizing: { minIdle: 1, maxRunners: 4 } }],
      counts({ a: { busy: 2, notBusy: 0 } }),
      demand({ a: 5 }),
    );
    assert.equal(sized.reason, "2 busy + 5 queued + minIdle 1, capped at maxRunners 4");
  });

  it("counts busy and live runners per pool as the plan classifies them", function () {
    const now = Date.parse("2026-12-01T12:00:00Z");
    const at = new Date(now - 60_000).toISOString();
    const got = poolCounts(
      [
        { name: "r1", pool: "a", createdAt: at },
        { name: "r2", pool: "a", createdAt: at },
        { name: "r3", pool: "a", createdAt: at },
      ],
      [
        { name: "r1", status: "online", busy: true },
        { name: "r2", status: "offline", busy: false },
      ],
      { now, bootGraceSeconds: 600, mode: "jit" },
    );
    // r3 is gone from GitHub: it counts for nothing.
    assert.deepEqual(Object.fromEntries(got), { a: { busy: 1, notBusy: 1 } });
  });
});
