// Child process of the memory benchmark: runs one `preview` of the fleet (or of the baseline) with
// N runners through the Automation API. The inline program runs in this process, so this
// process's peak RSS is the program's. Prints one JSON line prefixed with `BENCH_RESULT `.
//
// Input: BENCH_PREVIEW = {"kind": "fleet" | "baseline", "n": N, "prefix": "...",
//                         "gh": {"url": "...", "adminToken": "..."}} (the GitHub double's).
import { cloudEnv, tenantOsEnv } from "../devkit/local-cloud/cloud-env";
import { createTestStack } from "../devkit/pulumi/test-stack";
import { fleetProgram } from "../program";
import {
  baselineConfig,
  baselineProgram,
  fleetConfig,
  Kind,
  specBaselineConfig,
  specBaselineProgram,
} from "./stacks";

async function main(): Promise<void> {
  const input = JSON.parse(process.env.BENCH_PREVIEW ?? "{}") as {
    kind: Kind;
    n: number;
    /** The same-spec baseline's userdata length. */
    userDataBytes?: number;
    prefix: string;
    gh: { url: string; adminToken: string };
    /** Diagnostic only (it costs time and memory): measure the engine's event stream. */
    events?: boolean;
  };
  const env = cloudEnv();
  const programs = {
    fleet: () => fleetProgram,
    baseline: () => baselineProgram(input.prefix),
    spec: () => specBaselineProgram(input.prefix),
  };
  const configs = {
    fleet: () => fleetConfig(input.prefix, input.gh, input.n),
    baseline: () => baselineConfig(env, input.n),
    spec: () => specBaselineConfig(env, input.n, input.userDataBytes ?? 0),
  };
  const test = await createTestStack(`bench-mem-${input.kind}`, programs[input.kind](), {
    ...tenantOsEnv(),
    RUNNER_FLEET_GITHUB_WRITE_INTERVAL_MS: "0",
  });
  try {
    await test.stack.setAllConfig(configs[input.kind]());
    const rssBeforePreview = process.memoryUsage().rss;
    // Where the memory goes: the largest JS heap and off-heap (Buffers, gRPC) seen while it runs.
    const peak = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
    const sample = () => {
      const m = process.memoryUsage();
      for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], m[k]);
    };
    const sampler = setInterval(sample, 100);
    const t0 = performance.now();
    const events = { count: 0, bytes: 0, providerBytes: 0 };
    const onEvent = input.events
      ? (e: object) => {
          const text = JSON.stringify(e);
          events.count++;
          events.bytes += text.length;
          for (const m of text.matchAll(/"__provider":"((?:[^"\\]|\\.)*)"/g)) {
            events.providerBytes += m[1].length;
          }
        }
      : undefined;
    const result = await test.stack.preview({ onEvent }).finally(() => clearInterval(sampler));
    const seconds = (performance.now() - t0) / 1000;
    sample();
    const usage = process.resourceUsage();
    process.stdout.write(
      `BENCH_RESULT ${JSON.stringify({
        seconds,
        maxRssKiB: usage.maxRSS,
        rssBeforePreviewKiB: Math.round(rssBeforePreview / 1024),
        peakMiB: Object.fromEntries(
          Object.entries(peak).map(([k, v]) => [k, Math.round(v / 2 ** 20)]),
        ),
        changes: result.changeSummary,
        ...(input.events ? { events } : {}),
      })}\n`,
    );
  } finally {
    test.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`preview child failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
