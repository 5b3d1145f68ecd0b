import type { MergingBench } from "../bench-schema.js";
import { type Num, pointer } from "../num.js";
import { stat } from "../stats.js";
import type { MergingTour, TourResult } from "../tour-schema.js";
import { benchSource, type SourceInfo, tourSource } from "./source.js";

export interface MeanStd {
  readonly mean: Num;
  readonly std: Num;
}

/** One selected hyperparameter of one seed; arrays (per-task λ) become several numbers. */
export interface ParamView {
  readonly name: string;
  readonly values: readonly (Num | string)[];
}

export interface MergingMethodView {
  readonly id: string;
  readonly label: string;
  readonly role: "merge" | "reference";
  readonly perTask: readonly MeanStd[];
  readonly avg: MeanStd;
  readonly perSeedAvg: readonly { seed: number; avg: Num }[];
  readonly params: readonly { seed: number; params: readonly ParamView[] }[];
}

export interface MergingView {
  readonly source: SourceInfo;
  readonly tasks: readonly string[];
  readonly seeds: readonly number[];
  readonly methods: readonly MergingMethodView[];
  /** Average test accuracy against the number of merged tasks; empty when the run did not record it. */
  readonly curve: readonly {
    id: string;
    label: string;
    points: readonly { numTasks: number; avg: MeanStd }[];
  }[];
}

const REFERENCE_ROWS = new Set(["pretrained", "expert", "joint"]);

function paramViews(file: string, base: string[], params: Record<string, unknown> | null): ParamView[] {
  if (!params) return [];
  return Object.entries(params).map(([name, value]) => {
    const at = (...k: (string | number)[]) => pointer(...base, name, ...k);
    if (typeof value === "number")
      return { name, values: [{ value, format: "raw", file, json: at() } as Num] };
    if (Array.isArray(value))
      return {
        name,
        values: value.map((x, i) =>
          typeof x === "number" ? ({ value: x, format: "raw", file, json: at(i) } as Num) : String(x),
        ),
      };
    return { name, values: [String(value)] };
  });
}

export function mergingFromBench(file: string, b: MergingBench): MergingView {
  const methods: MergingMethodView[] = Object.entries(b.summary.rows).map(([id, row]) => {
    const ms = (s: { mean: number; std: number }, ...k: (string | number)[]): MeanStd => ({
      mean: { value: s.mean, format: "pct1", file, json: pointer("summary", "rows", id, ...k, "mean") },
      std: { value: s.std, format: "pct1", file, json: pointer("summary", "rows", id, ...k, "std") },
    });
    return {
      id,
      label: row.label,
      role: REFERENCE_ROWS.has(id) ? "reference" : "merge",
      perTask: row.perTask.map((s, t) => ms(s, "perTask", t)),
      avg: ms(row.avg, "avg"),
      perSeedAvg: b.perSeed
        .map((s, i) => ({ s, i }))
        .filter(({ s }) => s.rows[id] !== undefined)
        .map(({ s, i }) => ({
          seed: s.seed,
          avg: {
            value: s.rows[id].testAvg,
            format: "pct1",
            file,
            json: pointer("perSeed", i, "rows", id, "testAvg"),
          },
        })),
      params: row.params.map((p, i) => ({
        seed: b.seeds[i],
        params: paramViews(file, ["summary", "rows", id, "params", String(i)], p),
      })),
    };
  });
  const curve = Object.entries(b.summary.curve).map(([id, byN]) => ({
    id,
    label: b.summary.rows[id]?.label ?? id,
    points: Object.entries(byN)
      .map(([n, p]) => ({
        numTasks: Number(n),
        avg: {
          mean: {
            value: p.avg.mean,
            format: "pct1",
            file,
            json: pointer("summary", "curve", id, n, "avg", "mean"),
          },
          std: {
            value: p.avg.std,
            format: "pct1",
            file,
            json: pointer("summary", "curve", id, n, "avg", "std"),
          },
        } as MeanStd,
      }))
      .sort((a, c) => a.numTasks - c.numTasks),
  }));
  return { source: benchSource(file, b, b.startedAt), tasks: b.tasks, seeds: b.seeds, methods, curve };
}

export function mergingFromTour(tour: TourResult & { merging: MergingTour }, file: string): MergingView {
  const m = tour.merging;
  const meanStd = (values: number[], json: string): MeanStd => {
    const s = stat(values);
    return {
      mean: { value: s.mean, format: "pct1", file, json, agg: "mean" },
      std: { value: s.std, format: "pct1", file, json, agg: "std" },
    };
  };
  const methods: MergingMethodView[] = m.methods.map((method, mi) => {
    const seedAvgs = method.perSeed.map((s) => stat(s.testAccuracy).mean);
    return {
      id: method.id,
      label: method.label,
      role: method.role,
      perTask: m.tasks.map((_, t) =>
        meanStd(
          method.perSeed.map((s) => s.testAccuracy[t]),
          pointer("merging", "methods", mi, "perSeed", "*", "testAccuracy", t),
        ),
      ),
      // The mean over seeds of each seed's task average equals the mean over all (seed, task) values.
      avg: {
        mean: {
          value: stat(seedAvgs).mean,
          format: "pct1",
          file,
          json: pointer("merging", "methods", mi, "perSeed", "*", "testAccuracy", "*"),
          agg: "mean",
        },
        std: {
          value: stat(seedAvgs).std,
          format: "pct1",
          file,
          json: method.perSeed
            .map((_, si) => pointer("merging", "methods", mi, "perSeed", si, "testAccuracy"))
            .join(" "),
          agg: "stdOfMeans",
        },
      },
      perSeedAvg: method.perSeed.map((s, si) => ({
        seed: s.seed,
        avg: {
          value: seedAvgs[si],
          format: "pct1",
          file,
          json: pointer("merging", "methods", mi, "perSeed", si, "testAccuracy", "*"),
          agg: "mean",
        },
      })),
      params: method.perSeed.map((s, si) => ({
        seed: s.seed,
        params: paramViews(
          file,
          ["merging", "methods", String(mi), "perSeed", String(si), "params"],
          s.params,
        ),
      })),
    };
  });
  const curve = m.taskCountCurve.map((c, ci) => {
    const byN = new Map<number, number[]>();
    c.points.forEach((p, pi) => {
      if (!byN.has(p.numTasks)) byN.set(p.numTasks, []);
      byN.get(p.numTasks)!.push(pi);
    });
    return {
      id: c.method,
      label: m.methods.find((x) => x.id === c.method)?.label ?? c.method,
      points: [...byN.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([numTasks, idx]) => ({
          numTasks,
          avg: meanStd(
            idx.map((pi) => c.points[pi].avgTestAccuracy),
            idx
              .map((pi) => pointer("merging", "taskCountCurve", ci, "points", pi, "avgTestAccuracy"))
              .join(" "),
          ),
        })),
    };
  });
  return { source: tourSource(tour, file), tasks: m.tasks, seeds: m.seeds, methods, curve };
}
