import * as Plot from "@observablehq/plot";
import { stratify, tree } from "d3-hierarchy";
import type { GridView, SweepRow, TreesView } from "../../data/views/grid.js";
import { chart, colours, MISSED, NEUTRAL, WRONG } from "../charts.js";
import { h, note, num, table } from "../dom.js";

const EDGE_KINDS = [
  "correct branch",
  "wrong branch (not in the true feeder)",
  "true branch the identification missed",
];
const EDGE_COLOURS = [NEUTRAL, WRONG, MISSED];

interface Placed {
  bus: string;
  x: number;
  depth: number;
}

/** Tidy-tree layout (d3-hierarchy) of a radial feeder given as parent → child branches. */
export function layoutTree(
  root: string,
  buses: readonly string[],
  edges: readonly { from: string; to: string }[],
): Map<string, Placed> {
  const parent = new Map(edges.map((e) => [e.to, e.from]));
  const h = stratify<string>()
    .id((b) => b)
    .parentId((b) => (b === root ? null : (parent.get(b) ?? null)))([...buses]);
  tree<string>().nodeSize([1, 1])(h);
  const out = new Map<string, Placed>();
  h.each((n) => out.set(n.id!, { bus: n.id!, x: n.x!, depth: n.depth }));
  return out;
}

function treeChart(
  id: string,
  title: string,
  trees: TreesView,
  which: "true" | "identified",
  width: number,
): HTMLElement {
  const edges =
    which === "true"
      ? trees.trueTree.map((e) => ({ ...e, kind: e.missed ? EDGE_KINDS[2] : EDGE_KINDS[0] }))
      : trees.identifiedTree.map((e) => ({ ...e, kind: e.wrong ? EDGE_KINDS[1] : EDGE_KINDS[0] }));
  const pos = layoutTree(trees.root, trees.buses, edges);
  const links = edges.map((e) => ({ ...e, a: pos.get(e.from)!, b: pos.get(e.to)! }));
  const nodes = [...pos.values()];
  const depth = Math.max(...nodes.map((n) => n.depth));
  return chart(
    {
      id,
      title,
      subtitle:
        which === "true"
          ? `${trees.feederName}, as built`
          : `identified from simulated smart-meter data: ${trees.conditions}`,
      xLabel: null,
      yLabel: "depth from the substation (branches)",
      legend: { domain: EDGE_KINDS, range: EDGE_COLOURS },
      options: {
        height: Math.max(260, 60 + depth * 34),
        marginLeft: 50,
        marginRight: 30,
        x: { axis: null },
        y: {
          reverse: true,
          ticks: Array.from({ length: depth + 1 }, (_, i) => i),
          tickFormat: "d",
          domain: [-0.4, depth + 0.4],
        },
        marks: [
          Plot.link(
            links.filter((d) => d.kind === EDGE_KINDS[0]),
            {
              x1: (d) => d.a.x,
              y1: (d) => d.a.depth,
              x2: (d) => d.b.x,
              y2: (d) => d.b.depth,
              stroke: "kind",
              strokeWidth: 1.5,
              title: (d) => `${d.from} → ${d.to}`,
            },
          ),
          Plot.link(
            links.filter((d) => d.kind !== EDGE_KINDS[0]),
            {
              x1: (d) => d.a.x,
              y1: (d) => d.a.depth,
              x2: (d) => d.b.x,
              y2: (d) => d.b.depth,
              stroke: "kind",
              strokeWidth: 3,
              strokeDasharray: "6,3",
              title: (d) => `${d.from} → ${d.to} (${d.kind})`,
            },
          ),
          Plot.dot(nodes, { x: "x", y: "depth", r: 3.5, fill: "white", stroke: NEUTRAL }),
          Plot.text(nodes, { x: "x", y: "depth", text: "bus", dy: -10, fontSize: 11 }),
        ],
      },
    },
    width,
  );
}

function sweepChart(
  id: string,
  title: string,
  rows: readonly SweepRow[],
  x: "noise" | "samples",
  estimator: string,
  width: number,
): HTMLElement {
  const feeders = [...new Set(rows.map((r) => r.feeder))];
  const points = rows.flatMap((r) => [
    {
      feeder: r.feeder,
      quantity: "resistance r",
      x: x === "noise" ? r.vClassPct : r.samples,
      y: r.rErrorPct.value,
      pq: r.pqClassPct,
    },
    {
      feeder: r.feeder,
      quantity: "reactance x",
      x: x === "noise" ? r.vClassPct : r.samples,
      y: r.xErrorPct.value,
      pq: r.pqClassPct,
    },
  ]);
  const samples = [...new Set(rows.map((r) => r.samples))].join(" / ");
  const classes = [...new Set(rows.map((r) => `${r.vClassPct} % / ${r.pqClassPct} %`))].join(", ");
  return chart(
    {
      id,
      title,
      subtitle:
        x === "noise"
          ? `Median ${estimator} error of r and x over the correctly identified branches (end to end: topology identified first), mean over seeds; T = ${samples} samples; meter classes v / pq: ${classes}.`
          : `Median ${estimator} error of r and x over the correctly identified branches (end to end: topology identified first), mean over seeds; meter classes v / pq: ${classes}.`,
      xLabel:
        x === "noise"
          ? "voltage meter class (% max error; pq class rises with it, see table)"
          : "samples T (15-min intervals, log scale)",
      yLabel: "median branch error (%, symlog scale)",
      legend: { domain: feeders, range: colours(feeders) },
      options: {
        height: 460,
        // Room between the facets, so the lower one's top tick label does not meet the upper one's bottom label.
        fy: { label: null, domain: ["resistance r", "reactance x"], padding: 0.25 },
        x: x === "samples" ? { type: "log", grid: true } : { grid: true },
        // Explicit ticks outside the data would be drawn outside the frame: keep those within it.
        y: {
          type: "symlog",
          grid: true,
          ticks: [0, 1, 10, 100].filter((t) => t <= Math.max(1, ...points.map((p) => p.y)) * 1.05),
          tickFormat: (t: number) => String(t),
        },
        facet: { marginRight: 100 },
        marks: [
          Plot.lineY(points, { fy: "quantity", x: "x", y: "y", stroke: "feeder", strokeWidth: 2 }),
          Plot.dot(points, { fy: "quantity", x: "x", y: "y", fill: "feeder", r: 3.5 }),
        ],
      },
    },
    width,
  );
}

function sweepTable(rows: readonly SweepRow[], caption: string, testid: string): HTMLElement {
  return table(
    caption,
    [
      "feeder",
      "v class %",
      "pq class %",
      "samples T",
      "seeds",
      "edge accuracy",
      "exact tree (seeds)",
      "median r error %",
      "median x error %",
    ],
    rows.map((r, i) => [
      r.feeder,
      String(r.vClassPct),
      String(r.pqClassPct),
      String(r.samples),
      String(r.seeds),
      num(r.edgeAccuracy, `${testid}-edge`, { "data-row": i }),
      h("span", {}, num(r.exact, `${testid}-exact`, { "data-row": i }), ` of ${r.seeds}`),
      num(r.rErrorPct, `${testid}-r`, { "data-row": i }),
      num(r.xErrorPct, `${testid}-x`, { "data-row": i }),
    ]),
    testid,
  );
}

export function gridPanel(view: GridView, width: number): HTMLElement {
  const parts: HTMLElement[] = [];
  if (view.trees) {
    const t = view.trees;
    const half = width >= 760 ? Math.floor((width - 24) / 2) : width;
    const wrong = t.identifiedTree.filter((e) => e.wrong);
    parts.push(
      h(
        "div",
        { class: "side-by-side" },
        treeChart("grid-true-tree", "True feeder", t, "true", half),
        treeChart("grid-identified-tree", "Identified feeder", t, "identified", half),
      ),
      h(
        "p",
        { "data-testid": "grid-tree-summary" },
        "Edge accuracy ",
        num(t.edgeAccuracy, "grid-edge-accuracy"),
        "; wrong branches: ",
        num(t.wrongEdges, "grid-wrong-count"),
        wrong.length ? ` (${wrong.map((e) => `${e.from}–${e.to}`).join(", ")})` : "",
        t.exactTree ? "; the exact tree was recovered." : "; not the exact tree.",
      ),
    );
  } else {
    parts.push(
      note(
        `Tree drawings need a run that kept its trees: run \`x demo\` for one identification on the 13-bus feeder. ${view.source.file} holds metrics only.`,
        "note",
        "grid-trees-missing",
      ),
    );
  }
  if (view.branchErrors && view.branchErrors.length > 0) {
    const be = view.branchErrors;
    const names = be.map((e) => `${e.from}–${e.to}`);
    const bars = be.flatMap((e, i) => [
      { branch: names[i], quantity: "r", err: e.rError.value },
      { branch: names[i], quantity: "x", err: e.xError.value },
    ]);
    parts.push(
      chart(
        {
          id: "grid-branch-errors",
          title: "Impedance error per branch",
          subtitle:
            "Relative error of the identified resistance r and reactance x of each correctly identified branch.",
          xLabel: "absolute relative error (%)",
          yLabel: "branch (from–to bus)",
          legend: { domain: ["r", "x"], range: colours(["r", "x"]) },
          options: {
            height: be.length * 30 + 60,
            marginLeft: 110,
            fy: { domain: names },
            y: { axis: null, domain: ["r", "x"] },
            x: { grid: true },
            facet: { marginLeft: 110 },
            marks: [
              Plot.barX(bars, { fy: "branch", y: "quantity", x: "err", fill: "quantity" }),
              Plot.ruleX([0]),
            ],
          },
        },
        width,
      ),
      table(
        `Identified impedances (per unit) and errors (%) per branch, from ${view.source.file}`,
        ["branch", "r true", "r identified", "r error %", "x true", "x identified", "x error %"],
        be.map((e, i) => [
          names[i],
          num(e.rTrue, "branch-r-true", { "data-row": i }),
          num(e.rEst, "branch-r-est", { "data-row": i }),
          num(e.rError, "branch-r-error", { "data-row": i }),
          num(e.xTrue, "branch-x-true", { "data-row": i }),
          num(e.xEst, "branch-x-est", { "data-row": i }),
          num(e.xError, "branch-x-error", { "data-row": i }),
        ]),
        "branch-table",
      ),
    );
  }
  if (view.noise.length > 0)
    parts.push(
      sweepChart(
        "grid-error-vs-noise",
        "Impedance error against meter noise",
        view.noise,
        "noise",
        view.estimator,
        width,
      ),
      sweepTable(
        view.noise,
        `Identification against meter noise, mean over seeds, from ${view.source.file}`,
        "noise-table",
      ),
    );
  if (view.samples.length > 0)
    parts.push(
      sweepChart(
        "grid-error-vs-samples",
        "Impedance error against the number of samples",
        view.samples,
        "samples",
        view.estimator,
        width,
      ),
      sweepTable(
        view.samples,
        `Identification against the number of samples, mean over seeds, from ${view.source.file}`,
        "samples-table",
      ),
    );
  return h("div", { class: "panel-body" }, ...parts);
}
