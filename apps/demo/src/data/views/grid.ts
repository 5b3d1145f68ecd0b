import type { GridBench } from "../bench-schema.js";
import { type Num, pointer } from "../num.js";
import type { GridSweepPoint, GridTour, IdentifiedEdge, TourResult, TrueEdge } from "../tour-schema.js";
import { benchSource, type SourceInfo, tourSource } from "./source.js";

/** One sweep setting (feeder × meter classes × samples), averaged over its seeds. */
export interface SweepRow {
  readonly feeder: string;
  readonly vClassPct: number;
  readonly pqClassPct: number;
  readonly samples: number;
  readonly seeds: number;
  readonly edgeAccuracy: Num;
  readonly exact: Num;
  readonly rErrorPct: Num;
  readonly xErrorPct: Num;
}

export interface BranchErrorView {
  readonly from: string;
  readonly to: string;
  readonly rTrue: Num;
  readonly rEst: Num;
  readonly xTrue: Num;
  readonly xEst: Num;
  readonly rError: Num;
  readonly xError: Num;
}

export interface TreesView {
  readonly feederName: string;
  readonly root: string;
  readonly buses: readonly string[];
  readonly trueTree: readonly TrueEdge[];
  readonly identifiedTree: readonly IdentifiedEdge[];
  readonly edgeAccuracy: Num;
  readonly wrongEdges: Num;
  readonly exactTree: boolean;
  readonly conditions: string;
}

export interface GridView {
  readonly source: SourceInfo;
  /** Impedance estimator behind the error columns. */
  readonly estimator: "LAD" | "LS";
  /** Drawings need a run that kept its trees: only the tour does. */
  readonly trees?: TreesView;
  readonly branchErrors?: readonly BranchErrorView[];
  readonly noise: readonly SweepRow[];
  readonly samples: readonly SweepRow[];
}

interface SweepInput {
  feeder: string;
  vClassPct: number;
  pqClassPct: number;
  samples: number;
  edgeAccuracy: number;
  exactTree: boolean;
  medianApeRPct: number;
  medianApeXPct: number;
  /** pointers to this cell's edge accuracy, exact flag, r error, x error */
  at: { edge: string; exact: string; r: string; x: string };
}

/** Groups cells by setting (same feeder, meter classes and samples) and averages over seeds. */
function sweepRows(file: string, cells: readonly SweepInput[]): SweepRow[] {
  const groups = new Map<string, SweepInput[]>();
  for (const c of cells) {
    const key = `${c.feeder}|${c.vClassPct}|${c.pqClassPct}|${c.samples}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(c);
  }
  const avg = (g: SweepInput[], f: (c: SweepInput) => number) => g.reduce((s, c) => s + f(c), 0) / g.length;
  return [...groups.values()].map((g) => ({
    feeder: g[0].feeder,
    vClassPct: g[0].vClassPct,
    pqClassPct: g[0].pqClassPct,
    samples: g[0].samples,
    seeds: g.length,
    edgeAccuracy: {
      value: avg(g, (c) => c.edgeAccuracy),
      format: "fix3",
      file,
      json: g.map((c) => c.at.edge).join(" "),
      agg: "mean",
    },
    exact: {
      value: g.filter((c) => c.exactTree).length,
      format: "int",
      file,
      json: g.map((c) => c.at.exact).join(" "),
      agg: "countTrue",
    },
    rErrorPct: {
      value: avg(g, (c) => c.medianApeRPct),
      format: "pct2",
      file,
      json: g.map((c) => c.at.r).join(" "),
      agg: "mean",
    },
    xErrorPct: {
      value: avg(g, (c) => c.medianApeXPct),
      format: "pct2",
      file,
      json: g.map((c) => c.at.x).join(" "),
      agg: "mean",
    },
  }));
}

export function gridFromBench(file: string, b: GridBench): GridView {
  const pick = (group: string): SweepInput[] =>
    b.cells.flatMap((c, i) =>
      c.group === group && c.lad
        ? [
            {
              feeder: c.feeder,
              vClassPct: c.vClass,
              pqClassPct: c.pqClass,
              samples: c.samples,
              edgeAccuracy: c.lad.edgeAccuracy,
              exactTree: c.exactTree,
              medianApeRPct: c.lad.medianApeR,
              medianApeXPct: c.lad.medianApeX,
              at: {
                edge: pointer("cells", i, "lad", "edgeAccuracy"),
                exact: pointer("cells", i, "exactTree"),
                r: pointer("cells", i, "lad", "medianApeR"),
                x: pointer("cells", i, "lad", "medianApeX"),
              },
            },
          ]
        : [],
    );
  return {
    source: benchSource(file, b, b.started),
    estimator: "LAD",
    noise: sweepRows(file, pick("noise")),
    samples: sweepRows(file, pick("samples")),
  };
}

export function gridFromTour(tour: TourResult & { grid: GridTour }, file: string): GridView {
  const g = tour.grid;
  const sweep = (key: "noiseSweep" | "samplesSweep", points: readonly GridSweepPoint[]): SweepInput[] =>
    points.map((p, i) => ({
      ...p,
      at: {
        edge: pointer("grid", key, i, "edgeAccuracy"),
        exact: pointer("grid", key, i, "exactTree"),
        r: pointer("grid", key, i, "medianApeRPct"),
        x: pointer("grid", key, i, "medianApeXPct"),
      },
    }));
  const c = g.conditions;
  const wrong = g.identifiedTree.filter((e) => e.wrong).length;
  return {
    source: tourSource(tour, file),
    estimator: c.estimator === "lad" ? "LAD" : "LS",
    trees: {
      feederName: g.feeder.name,
      root: g.feeder.root,
      buses: g.feeder.buses,
      trueTree: g.trueTree,
      identifiedTree: g.identifiedTree,
      edgeAccuracy: {
        value: g.metrics.edgeAccuracy,
        format: "fix3",
        file,
        json: pointer("grid", "metrics", "edgeAccuracy"),
      },
      wrongEdges: {
        value: wrong,
        format: "int",
        file,
        json: pointer("grid", "identifiedTree", "*", "wrong"),
        agg: "countTrue",
      },
      exactTree: g.metrics.exactTree,
      conditions: `${c.samples} samples of ${c.resolutionMin}-min means, meter classes v ${c.vClassPct} % / pq ${c.pqClassPct} %, seed ${c.seed}, ${c.estimator.toUpperCase()} impedances`,
    },
    branchErrors: g.branchErrors.map((e, i) => {
      const n = (key: string, format: Num["format"], value: number): Num => ({
        value,
        format,
        file,
        json: pointer("grid", "branchErrors", i, key),
      });
      return {
        from: e.from,
        to: e.to,
        rTrue: n("rTruePu", "sci2", e.rTruePu),
        rEst: n("rEstPu", "sci2", e.rEstPu),
        xTrue: n("xTruePu", "sci2", e.xTruePu),
        xEst: n("xEstPu", "sci2", e.xEstPu),
        rError: n("rErrorPct", "pct2", e.rErrorPct),
        xError: n("xErrorPct", "pct2", e.xErrorPct),
      };
    }),
    noise: sweepRows(file, sweep("noiseSweep", g.noiseSweep)),
    samples: sweepRows(file, sweep("samplesSweep", g.samplesSweep)),
  };
}
