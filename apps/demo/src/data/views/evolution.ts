import type { EvolverBench } from "../bench-schema.js";
import { type Num, pointer } from "../num.js";
import type { CadeSchedule, EvolutionTour, TourResult } from "../tour-schema.js";
import { benchSource, type SourceInfo, tourSource } from "./source.js";

/** Fitness against evaluations for one arm, averaged over the seeds that ran it. */
export interface FitnessCurveView {
  readonly label: string;
  readonly algorithm: string;
  readonly seeds: number;
  readonly points: readonly { evaluations: number; best: number; mean?: number }[];
}

/** Evolver minus random search at equal budget, one row per (pairing, split). */
export interface VersusRow {
  readonly label: string;
  readonly split: string;
  readonly diff: Num;
  /** 95 % confidence interval of the paired difference, when the file has one. */
  readonly lo?: Num;
  readonly hi?: Num;
  readonly n: Num;
  readonly wins?: Num;
}

export interface ScheduleView {
  readonly schedule: CadeSchedule;
  /** Numbers to show for the schedule's parameters (from the run, or the formula's defaults). */
  readonly params: { f0: Num; cr0: Num; low: Num; halfPeriod: Num; generations: Num };
  /** true: the parameters of a run in the file; false: CADE's published configuration, no run. */
  readonly fromRun: boolean;
}

export interface EvolutionView {
  readonly source: SourceInfo;
  readonly fitnessLabel: string;
  readonly curves: readonly FitnessCurveView[];
  /** Whether any curve carries the population's mean fitness. */
  readonly meanRecorded: boolean;
  readonly schedule: ScheduleView;
  readonly versus: readonly VersusRow[];
  readonly versusNote: string;
}

/**
 * CADE's own configuration with a true decay (F0 = CR0 = 1e-5 annealed towards Fmin = 1e-6 over a
 * half-period of 40 generations, 99 generations, strategy S3), shown when no CADE run is in the data.
 */
export const CADE_REFERENCE_SCHEDULE: CadeSchedule = {
  strategy: "S3",
  f0: 1e-5,
  cr0: 1e-5,
  low: 1e-6,
  halfPeriod: 40,
  generations: 99,
};

function scheduleView(schedule: CadeSchedule, file?: string): ScheduleView {
  const at = (key: keyof CadeSchedule, format: Num["format"]): Num =>
    file
      ? { value: schedule[key] as number, format, file, json: pointer("evolution", "schedule", key) }
      : { value: schedule[key] as number, format };
  return {
    schedule,
    fromRun: file !== undefined,
    params: {
      f0: at("f0", "sci2"),
      cr0: at("cr0", "sci2"),
      low: at("low", "sci2"),
      halfPeriod: at("halfPeriod", "raw"),
      generations: at("generations", "int"),
    },
  };
}

function averageCurves(curves: readonly (readonly number[])[]): number[] {
  const len = Math.min(...curves.map((c) => c.length));
  const out: number[] = [];
  for (let i = 0; i < len; i++) {
    let s = 0;
    for (const c of curves) s += c[i];
    out.push(s / curves.length);
  }
  return out;
}

const SPLITS = [
  ["dev", "dev (fitness set)"],
  ["idTest", "in-domain test"],
  ["oodTest", "out-of-domain test"],
] as const;

export function evolutionFromBench(file: string, b: EvolverBench): EvolutionView {
  const arms = new Map<string, number[][]>();
  for (const s of b.seeds)
    for (const [arm, curve] of Object.entries(s.devCurves)) {
      if (!arms.has(arm)) arms.set(arm, []);
      arms.get(arm)!.push(curve);
    }
  // Only the arms every seed ran (the optional F 0.1 / G 50 settings ran on 2 seeds of 12).
  const curves: FitnessCurveView[] = [...arms.entries()]
    .filter(([, c]) => c.length === b.seeds.length)
    .map(([label, c]) => ({
      label,
      algorithm: "evolver",
      seeds: c.length,
      points: averageCurves(c).map((best, i) => ({ evaluations: i + 1, best })),
    }));
  const versus: VersusRow[] = [];
  b.comparisons.forEach((c, ci) => {
    if (!/^random search \+ /i.test(c.b) || !/^evolver b \+ [a-z]+$/i.test(c.a)) return;
    for (const [split, splitLabel] of SPLITS) {
      const cell = c[split];
      const num = (key: "mean" | "lo" | "hi", format: Num["format"]): Num => ({
        value: cell[key],
        format,
        file,
        json: pointer("comparisons", ci, split, key),
      });
      versus.push({
        label: c.a.replace(/^evolver b \+ /i, ""),
        split: splitLabel,
        diff: num("mean", "pp2"),
        lo: num("lo", "pp2"),
        hi: num("hi", "pp2"),
        n: { value: cell.n, format: "int", file, json: pointer("comparisons", ci, split, "n") },
        wins: { value: cell.wins, format: "int", file, json: pointer("comparisons", ci, split, "wins") },
      });
    }
  });
  return {
    source: benchSource(file, b, b.startedAt),
    fitnessLabel: "best dev accuracy so far",
    curves,
    meanRecorded: false,
    schedule: scheduleView(CADE_REFERENCE_SCHEDULE),
    versus,
    versusNote:
      "Paired difference Evolver B + merge minus random coefficient search + the same merge at the same number of dev evaluations, mean over seeds with its 95 % confidence interval (t distribution); wins = seeds where Evolver is ahead.",
  };
}

export function evolutionFromTour(
  tour: TourResult & { evolution: EvolutionTour },
  file: string,
): EvolutionView {
  const e = tour.evolution;
  const groups = new Map<string, number[]>();
  e.runs.forEach((r, i) => {
    if (!groups.has(r.label)) groups.set(r.label, []);
    groups.get(r.label)!.push(i);
  });
  const curves: FitnessCurveView[] = [...groups.entries()].map(([label, idx]) => {
    const runs = idx.map((i) => e.runs[i]);
    const best = averageCurves(runs.map((r) => r.curve.best));
    const hasMean = runs.every((r) => r.curve.mean);
    const mean = hasMean ? averageCurves(runs.map((r) => r.curve.mean!)) : undefined;
    return {
      label,
      algorithm: runs[0].algorithm,
      seeds: runs.length,
      points: best.map((b, k) => ({ evaluations: runs[0].curve.evaluations[k], best: b, mean: mean?.[k] })),
    };
  });
  // Evolver against random search: paired by seed, final best fitness.
  const versus: VersusRow[] = [];
  const bySeed = (alg: string) =>
    new Map(
      e.runs
        .map((r, i) => [r, i] as const)
        .filter(([r]) => r.algorithm === alg)
        .map(([r, i]) => [r.seed, i]),
    );
  const evo = bySeed("evolver");
  const rnd = bySeed("random-search");
  const seeds = [...evo.keys()].filter((s) => rnd.has(s)).sort((a, b) => a - b);
  if (seeds.length > 0) {
    const last = (i: number) =>
      pointer("evolution", "runs", i, "curve", "best", e.runs[i].curve.best.length - 1);
    const a = seeds.map((s) => evo.get(s)!);
    const b = seeds.map((s) => rnd.get(s)!);
    const diffs = seeds.map((_, k) => e.runs[a[k]].curve.best.at(-1)! - e.runs[b[k]].curve.best.at(-1)!);
    versus.push({
      label: "Evolver − random search",
      split: e.fitness.label,
      diff: {
        value: diffs.reduce((s, d) => s + d, 0) / diffs.length,
        format: "pp2",
        file,
        json: [...a.map(last), ...b.map(last)].join(" "),
        agg: "meanOfDiffs",
      },
      n: { value: seeds.length, format: "int" },
    });
  }
  return {
    source: tourSource(tour, file),
    fitnessLabel: e.fitness.label,
    curves,
    meanRecorded: curves.some((c) => c.points.some((p) => p.mean !== undefined)),
    schedule: e.schedule ? scheduleView(e.schedule, file) : scheduleView(CADE_REFERENCE_SCHEDULE),
    versus,
    versusNote: "Final best fitness of Evolver minus random search, paired by seed, mean over seeds.",
  };
}
