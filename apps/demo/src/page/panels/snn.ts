import * as Plot from "@observablehq/plot";
import type { SnnView } from "../../data/views/snn.js";
import { chart, colours, NEUTRAL, seedSpreadMarks } from "../charts.js";
import { h, meanStd, num, table } from "../dom.js";

export function snnPanel(view: SnnView, width: number): HTMLElement {
  const layers = view.rasters.map((r) => r.layer);
  const spikes = view.rasters.flatMap((r) =>
    r.spikes.flatMap((steps, neuron) => steps.map((t) => ({ layer: r.layer, neuron, t }))),
  );
  const maxNeurons = Math.max(...view.rasters.map((r) => r.neurons));
  const raster = chart(
    {
      id: "snn-raster",
      title: "Spike raster of one sample",
      subtitle: `${view.sample}; ${view.model}.`,
      xLabel: "time step",
      yLabel: "neuron (index)",
      legend: { domain: layers, range: colours(layers) },
      options: {
        height: Math.min(640, 60 + layers.length * Math.max(100, maxNeurons * 5)),
        fy: { label: "layer", domain: layers },
        x: {
          domain: [-0.5, view.timeSteps - 0.5],
          ticks: Array.from({ length: view.timeSteps }, (_, i) => i),
          tickFormat: "d",
        },
        y: { reverse: true, ticks: 5, tickFormat: "d" },
        facet: { marginRight: 90 },
        marks: [
          Plot.tickX(spikes, { fy: "layer", x: "t", y: "neuron", stroke: "layer", strokeWidth: 3 }),
          Plot.frame({ stroke: "#ccc" }),
        ],
      },
    },
    width,
  );
  const traceNames = view.membrane.map((m) => `${m.layer} #${m.neuron}`);
  const traces = view.membrane.flatMap((m, i) => m.v.map((v, t) => ({ name: traceNames[i], t, v })));
  const membrane = chart(
    {
      id: "snn-membrane",
      title: "Membrane potential of a few neurons",
      subtitle: `Potential after charging at each step (a neuron fires and resets when it reaches the threshold ${view.threshold}).`,
      xLabel: "time step",
      yLabel: "membrane potential (threshold units)",
      legend: { domain: traceNames, range: colours(traceNames) },
      legendNote: "dashed line = firing threshold",
      options: {
        height: 280,
        x: { ticks: Array.from({ length: view.timeSteps }, (_, i) => i), tickFormat: "d" },
        y: { grid: true },
        marks: [
          Plot.ruleY([view.threshold], { stroke: NEUTRAL, strokeDasharray: "4,3" }),
          Plot.lineY(traces, { x: "t", y: "v", stroke: "name", strokeWidth: 2, marker: "circle" }),
        ],
      },
    },
    width,
  );
  const armLabels = view.arms.map((a) => a.label);
  const seedDots = view.arms.flatMap((a) =>
    a.perSeed.map((s) => ({ y: a.label, colour: a.label, seed: s.seed, v: 100 * s.test.value })),
  );
  const summary = view.arms.map((a) => ({
    y: a.label,
    colour: a.label,
    mean: 100 * a.test.mean.value,
    std: 100 * a.test.std.value,
  }));
  const arms = chart(
    {
      id: "snn-arms",
      title: "Test accuracy per CADE arm",
      subtitle: "One dot per seed; bar = mean, whisker = ± 1 standard deviation over seeds.",
      xLabel: "test accuracy (%)",
      yLabel: "arm",
      legend: { domain: armLabels, range: colours(armLabels) },
      options: {
        height: armLabels.length * 30 + 60,
        marginLeft: width < 600 ? 120 : 200,
        y: { domain: armLabels },
        x: { grid: true },
        marks: [...seedSpreadMarks(summary, seedDots)],
      },
    },
    width,
  );
  const tbl = table(
    `Test accuracy (%) per arm, from ${view.source.file}`,
    ["arm", "mean ± std", "per seed"],
    view.arms.map((a) => [
      a.label,
      meanStd(a.test, "snn-arm", { "data-arm": a.id }),
      h(
        "span",
        {},
        ...a.perSeed.flatMap((s, i) => [
          i > 0 ? ", " : "",
          `seed ${s.seed}: `,
          num(s.test, "snn-arm-seed", { "data-arm": a.id }),
        ]),
      ),
    ]),
    "snn-table",
  );
  return h(
    "div",
    { class: "panel-body" },
    h("p", {}, "Spikes in this sample: ", num(view.spikeCount, "snn-spike-count"), "."),
    h("div", { class: "charts" }, raster, membrane, arms),
    tbl,
  );
}
