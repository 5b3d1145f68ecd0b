import * as Plot from "@observablehq/plot";
import { cosineValue } from "@x/evolution/schedules";
import type { CadeSchedule } from "../../data/tour-schema.js";
import type { EvolutionView } from "../../data/views/evolution.js";
import { chart, colours, NEUTRAL, OKABE_ITO } from "../charts.js";
import { h, note, num, table } from "../dom.js";

/**
 * The schedule's deterministic part at generation g (generation 0 runs at v0), computed with
 * @x/evolution's cosine formula, and the bounds its S3 jitter U(low, v0) adds.
 */
export function scheduleCurve(
  s: CadeSchedule,
  v0: number,
): { g: number; value: number; lo: number; hi: number }[] {
  const out = [];
  for (let g = 0; g < s.generations; g++) {
    const base =
      g === 0
        ? v0
        : cosineValue({ high: v0, low: s.low, halfPeriod: s.halfPeriod, plusOne: s.strategy !== "S5" }, g);
    const jitter = s.strategy === "S3" && g > 0;
    out.push({
      g,
      value: base,
      lo: jitter ? base + Math.min(s.low, v0) : base,
      hi: jitter ? base + Math.max(s.low, v0) : base,
    });
  }
  return out;
}

export function evolutionPanel(view: EvolutionView, width: number, fitnessIsFraction = true): HTMLElement {
  const scale = (v: number) => (fitnessIsFraction ? 100 * v : v);
  const unit = fitnessIsFraction ? " (%)" : "";

  const labels = view.curves.map((c) => c.label);
  const best = view.curves.flatMap((c) =>
    c.points.map((p) => ({ arm: c.label, evaluations: p.evaluations, v: scale(p.best) })),
  );
  const mean = view.curves.flatMap((c) =>
    c.points
      .filter((p) => p.mean !== undefined)
      .map((p) => ({ arm: c.label, evaluations: p.evaluations, v: scale(p.mean!) })),
  );
  const seedsNote = [...new Set(view.curves.map((c) => c.seeds))].join(" / ");
  const fitness = chart(
    {
      id: "evolution-fitness",
      title: `Fitness against evaluations: ${view.fitnessLabel}`,
      subtitle: `Best so far (solid)${view.meanRecorded ? " and population mean (dashed)" : ""}, averaged over ${seedsNote} seeds per arm.`,
      caption: view.meanRecorded
        ? undefined
        : `The population's mean fitness is not recorded in ${view.source.file}; only the best so far is shown.`,
      xLabel: "fitness evaluations (count)",
      yLabel: `${view.fitnessLabel}${unit}`,
      legend: { domain: labels, range: colours(labels) },
      legendNote: view.meanRecorded ? "solid = best so far, dashed = population mean" : "solid = best so far",
      options: {
        height: 320,
        y: { grid: true },
        marks: [
          Plot.lineY(best, { x: "evaluations", y: "v", stroke: "arm", strokeWidth: 2 }),
          Plot.lineY(mean, {
            x: "evaluations",
            y: "v",
            stroke: "arm",
            strokeDasharray: "5,4",
            strokeWidth: 1.5,
          }),
        ],
      },
    },
    width,
  );

  // The CADE F / CR schedule from the cosine-annealing formula.
  const s = view.schedule.schedule;
  const fCurve = scheduleCurve(s, s.f0).map((d) => ({ ...d, param: "F" }));
  const crCurve = scheduleCurve(s, s.cr0).map((d) => ({ ...d, param: "CR" }));
  const rec = s.recorded;
  const recorded = rec
    ? [
        ...rec.generation.map((g, i) => ({ g, value: rec.f[i], param: "F (drawn by the run)" })),
        ...rec.generation.map((g, i) => ({ g, value: rec.cr[i], param: "CR (drawn by the run)" })),
      ]
    : [];
  const domain = ["F", "CR", ...(rec ? ["F (drawn by the run)", "CR (drawn by the run)"] : [])];
  const p = view.schedule.params;
  const schedule = chart(
    {
      id: "evolution-cade-schedule",
      title: `CADE ${s.strategy} schedule of F and CR`,
      subtitle: `value(g) = Fmin + (v0 − Fmin)(1 + cos(π g / ${s.halfPeriod})) / 2${s.strategy === "S3" ? " + U(Fmin, v0) (band)" : ""}; generation 0 runs at v0.`,
      caption: view.schedule.fromRun
        ? `Parameters of the run in ${view.source.file}.`
        : "No CADE run in these results: the curve shows CADE's published configuration (F0 = CR0 = 1e-5, Fmin = 1e-6, half-period 40, 99 generations), computed from the formula.",
      xLabel: "generation",
      yLabel: "F, CR (dimensionless)",
      legend: {
        domain,
        range: [OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[4], OKABE_ITO[3]].slice(0, domain.length),
      },
      legendNote: `CR dashed${s.strategy === "S3" ? "; band = range of the uniform jitter" : ""}`,
      options: {
        height: 280,
        marginLeft: 64,
        y: { grid: true, tickFormat: ".1e" },
        marks: [
          Plot.areaY([...fCurve, ...crCurve], {
            x: "g",
            y1: "lo",
            y2: "hi",
            fill: "param",
            fillOpacity: 0.12,
          }),
          Plot.lineY(fCurve, { x: "g", y: "value", stroke: "param", strokeWidth: 2 }),
          Plot.lineY(crCurve, {
            x: "g",
            y: "value",
            stroke: "param",
            strokeWidth: 2,
            strokeDasharray: "6,3",
          }),
          Plot.dot(recorded, { x: "g", y: "value", fill: "param", r: 2.5 }),
        ],
      },
    },
    width,
  );
  const scheduleTable = table(
    `Schedule parameters${view.schedule.fromRun ? ` (from ${view.source.file})` : " (CADE's published configuration)"}`,
    ["parameter", "value"],
    [
      ["F0", num(p.f0, "cade-f0")],
      ["CR0", num(p.cr0, "cade-cr0")],
      ["Fmin", num(p.low, "cade-low")],
      ["half-period (generations)", num(p.halfPeriod, "cade-half-period")],
      ["generations", num(p.generations, "cade-generations")],
    ],
    "cade-table",
  );

  // Evolver against random search.
  let versus: HTMLElement;
  if (view.versus.length === 0) {
    versus = note(
      `${view.source.file} has no run of random search to compare Evolver with.`,
      "note",
      "evolution-versus-missing",
    );
  } else {
    const splits = [...new Set(view.versus.map((r) => r.split))];
    const rows = view.versus.map((r) => ({
      label: r.label,
      split: r.split,
      diff: 100 * r.diff.value,
      lo: r.lo ? 100 * r.lo.value : undefined,
      hi: r.hi ? 100 * r.hi.value : undefined,
    }));
    const withCi = rows.filter((r) => r.lo !== undefined);
    const vsChart = chart(
      {
        id: "evolution-versus-random",
        title: "Evolver against random search at equal budget",
        subtitle: view.versusNote,
        xLabel: "Evolver − random search (percentage points)",
        yLabel: "merge method",
        legend: { domain: splits, range: colours(splits) },
        legendNote: withCi.length ? "whisker = 95 % confidence interval" : undefined,
        options: {
          height: [...new Set(rows.map((r) => r.label))].length * splits.length * 16 + 70,
          marginLeft: 150,
          fy: {},
          y: { axis: null, domain: splits },
          x: { grid: true },
          facet: { marginLeft: 150 },
          marks: [
            Plot.ruleX([0], { stroke: NEUTRAL }),
            Plot.ruleY(withCi, {
              fy: "label",
              y: "split",
              x1: "lo",
              x2: "hi",
              stroke: "split",
              strokeWidth: 2,
            }),
            Plot.dot(rows, { fy: "label", y: "split", x: "diff", fill: "split", r: 4 }),
          ],
        },
      },
      width,
    );
    const vsTable = table(
      `Evolver minus random search (percentage points), from ${view.source.file}`,
      ["merge", "split", "mean difference", "95 % CI low", "95 % CI high", "seeds", "Evolver ahead"],
      view.versus.map((r, i) => [
        r.label,
        r.split,
        num(r.diff, "versus-diff", { "data-row": i }),
        r.lo ? num(r.lo, "versus-lo", { "data-row": i }) : "–",
        r.hi ? num(r.hi, "versus-hi", { "data-row": i }) : "–",
        num(r.n, "versus-n", { "data-row": i }),
        r.wins ? num(r.wins, "versus-wins", { "data-row": i }) : "–",
      ]),
      "versus-table",
    );
    versus = h("div", {}, vsChart, vsTable);
  }
  return h(
    "div",
    { class: "panel-body" },
    h("div", { class: "charts" }, fitness, h("div", {}, schedule, scheduleTable), versus),
  );
}
