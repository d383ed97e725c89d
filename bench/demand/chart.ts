// The demand bench's picture: runners, busy runners and queued jobs over the trace, one panel per
// mode, drawn by Vega-Lite and rendered to SVG by Vega (no browser, no canvas).
import type { Sample } from "./sampler";

export async function traceChart(modes: { mode: string; samples: Sample[] }[]): Promise<string> {
  const vega = await import("vega");
  const vl = await import("vega-lite");
  const values = modes.flatMap(({ mode, samples }) =>
    samples.flatMap((s) => [
      { mode, t: Math.round(s.t), series: "runners", n: s.runners },
      { mode, t: Math.round(s.t), series: "busy runners", n: s.busy },
      { mode, t: Math.round(s.t), series: "queued jobs", n: s.queued },
    ]),
  );
  const spec = vl.compile({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { values },
    facet: { row: { field: "mode", type: "nominal", title: null } },
    spec: {
      width: 720,
      height: 180,
      mark: { type: "line", interpolate: "step-after", strokeWidth: 1.5 },
      encoding: {
        x: { field: "t", type: "quantitative", title: "seconds since the first burst" },
        y: { field: "n", type: "quantitative", title: "count" },
        color: {
          field: "series",
          type: "nominal",
          title: null,
          scale: { range: ["#1f77b4", "#2ca02c", "#d62728"] },
        },
      },
    },
    config: { background: "white" },
  } as never).spec;
  return new vega.View(vega.parse(spec), { renderer: "none" }).toSVG();
}
