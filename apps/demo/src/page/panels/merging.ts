import * as Plot from "@observablehq/plot";
import type { MergingView } from "../../data/views/merging.js";
import { chart, colours, NEUTRAL, OKABE_ITO, seedSpreadMarks } from "../charts.js";
import { h, meanStd, note, num, table } from "../dom.js";

/** Shown in the per-task chart by default (the table lists every method). */
const MAIN = ["averaging", "task_arithmetic", "ties", "pcb", "pcb_es", "regmean"];
const PCB = new Set(["pcb", "pcb_es"]);

export function mergingPanel(view: MergingView, width: number): HTMLElement {
  const merges = view.methods.filter((m) => m.role === "merge");
  const shown = merges.filter((m) => MAIN.includes(m.id));
  const chosen = shown.length > 0 ? shown : merges.slice(0, 6);
  const expert = view.methods.find((m) => m.id === "expert");
  const pct = (v: number) => 100 * v;

  // Per-task accuracy per method: horizontal bars (mean over seeds) with ± 1 std, expert as a tick.
  const labels = chosen.map((m) => m.label);
  const legendDomain = [...labels, ...(expert ? [expert.label] : [])];
  const legendRange = [...colours(labels), ...(expert ? ["#000000"] : [])];
  const bars = chosen.flatMap((m) =>
    m.perTask.map((t, i) => ({
      task: view.tasks[i],
      method: m.label,
      mean: pct(t.mean.value),
      std: pct(t.std.value),
    })),
  );
  const experts = expert
    ? expert.perTask.map((t, i) => ({ task: view.tasks[i], mean: pct(t.mean.value), method: expert.label }))
    : [];
  const perTask = chart(
    {
      id: "merging-per-task",
      title: "Test accuracy per task and method",
      subtitle: `Mean over ${view.seeds.length} zoo seeds (${view.seeds.join(", ")}); bars end at the mean, whiskers span ± 1 standard deviation; black tick = the task's own expert.`,
      xLabel: "test accuracy (%)",
      yLabel: "task",
      legend: { domain: legendDomain, range: legendRange },
      options: {
        height: view.tasks.length * (chosen.length * 11 + 16) + 40,
        marginLeft: 10,
        fy: { domain: view.tasks },
        y: { axis: null, domain: labels },
        x: { domain: [0, 100], grid: true },
        facet: { marginLeft: 120 },
        marks: [
          Plot.barX(bars, { fy: "task", y: "method", x: "mean", fill: "method" }),
          Plot.ruleY(bars, {
            fy: "task",
            y: "method",
            x1: (d) => d.mean - d.std,
            x2: (d) => d.mean + d.std,
            stroke: NEUTRAL,
          }),
          Plot.tickX(experts, { fy: "task", x: "mean", stroke: "method", strokeWidth: 2 }),
          Plot.ruleX([0]),
        ],
      },
    },
    width,
  );

  // Average accuracy against the number of merged tasks.
  const curveLabels = view.curve.map((c) => c.label);
  const curveRows = view.curve.flatMap((c) =>
    c.points.map((p) => ({
      method: c.label,
      n: p.numTasks,
      mean: pct(p.avg.mean.value),
      std: pct(p.avg.std.value),
    })),
  );
  const byTasks =
    view.curve.length > 0
      ? chart(
          {
            id: "merging-task-count",
            title: "Average test accuracy against the number of merged tasks",
            subtitle:
              "Each point merges the first k tasks of a seeded task order; line = mean over seeds, band = ± 1 standard deviation.",
            xLabel: "merged tasks (count)",
            yLabel: "average test accuracy (%)",
            legend: { domain: curveLabels, range: colours(curveLabels) },
            options: {
              height: 300,
              x: { ticks: view.curve[0].points.map((p) => p.numTasks), tickFormat: "d" },
              y: { grid: true },
              marks: [
                Plot.areaY(curveRows, {
                  x: "n",
                  y1: (d) => d.mean - d.std,
                  y2: (d) => d.mean + d.std,
                  fill: "method",
                  fillOpacity: 0.12,
                }),
                Plot.lineY(curveRows, { x: "n", y: "mean", stroke: "method", strokeWidth: 2 }),
                Plot.dot(curveRows, { x: "n", y: "mean", fill: "method", r: 3 }),
              ],
            },
          },
          width,
        )
      : note(
          `${view.source.file} did not record accuracy against the number of merged tasks.`,
          "note",
          "merging-task-count-missing",
        );

  // PCB against the baselines: every seed's average, with the mean and ± 1 std.
  const groupOf = (id: string, role: string) =>
    PCB.has(id) ? "PCB-Merging" : role === "reference" ? "reference (not a merge)" : "baseline merge";
  const groups = ["PCB-Merging", "baseline merge", "reference (not a merge)"];
  const ordered = [...view.methods].sort((a, b) => b.avg.mean.value - a.avg.mean.value);
  const seedDots = ordered.flatMap((m) =>
    m.perSeedAvg.map((s) => ({
      y: m.label,
      colour: groupOf(m.id, m.role),
      seed: s.seed,
      v: pct(s.avg.value),
    })),
  );
  const summary = ordered.map((m) => ({
    y: m.label,
    colour: groupOf(m.id, m.role),
    mean: pct(m.avg.mean.value),
    std: pct(m.avg.std.value),
  }));
  const spread = chart(
    {
      id: "merging-seed-spread",
      title: "PCB-Merging against the baselines, seed by seed",
      subtitle:
        "Average test accuracy over all tasks: one dot per zoo seed, bar = mean, whisker = ± 1 standard deviation over seeds.",
      xLabel: "average test accuracy (%)",
      yLabel: "method",
      legend: { domain: groups, range: [OKABE_ITO[3], OKABE_ITO[0], NEUTRAL] },
      options: {
        height: ordered.length * (width < 600 ? 34 : 26) + 50,
        marginLeft: width < 600 ? 120 : 240,
        y: { domain: ordered.map((m) => m.label) },
        x: { grid: true },
        marks: [
          Plot.axisY({ label: "method", labelAnchor: "top", lineWidth: width < 600 ? 10 : 30, tickSize: 0 }),
          ...seedSpreadMarks(summary, seedDots),
        ],
      },
    },
    width,
  );

  const rows = view.methods.map((m) => [
    m.label,
    ...m.perTask.map((t, i) => meanStd(t, "merging-task", { "data-method": m.id, "data-task": i })),
    meanStd(m.avg, "merging-avg", { "data-method": m.id }),
    paramsCell(m),
  ]);
  const tbl = table(
    `Test accuracy (%) per task, mean ± std over ${view.seeds.length} seeds, from ${view.source.file}; hyperparameters selected on validation, per seed`,
    ["method", ...view.tasks, "average", "selected hyperparameters (per seed)"],
    rows,
    "merging-table",
  );
  return h("div", { class: "panel-body" }, h("div", { class: "charts" }, perTask, byTasks, spread), tbl);
}

function paramsCell(m: MergingView["methods"][number]): HTMLElement {
  const seeds = m.params.filter((p) => p.params.length > 0);
  if (seeds.length === 0) return h("span", { class: "muted" }, "–");
  const list = h(
    "ul",
    { class: "params" },
    ...seeds.map((s) =>
      h(
        "li",
        {},
        `seed ${s.seed}: `,
        ...s.params.flatMap((p, i) => [
          i > 0 ? ", " : "",
          `${p.name} `,
          ...p.values.flatMap((v, k) => [
            k > 0 ? " " : "",
            typeof v === "string" ? v : num(v, "merging-param", { "data-method": m.id }),
          ]),
        ]),
      ),
    ),
  );
  return h("details", {}, h("summary", {}, `${seeds.length} seeds`), list);
}
