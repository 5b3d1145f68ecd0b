/**
 * The parts of the committed `bench/results/*.json` files that the page reads. Loose objects: the files
 * carry more than the page shows, and new keys must not break it; a missing or mistyped key the page
 * needs raises {@link DemoDataError} naming the file and the key.
 */
import * as v from "valibot";
import { DemoDataError, formatIssuePath } from "./errors.js";

const finite = v.pipe(v.number(), v.finite());
const StatSchema = v.looseObject({ mean: finite, std: finite, n: v.number() });
const MachineSchema = v.looseObject({ cpu: v.optional(v.string()), cores: v.optional(v.number()) });

/** `x bench merging` (merging-8task.json, merging-8task-sgd.json). */
export const MergingBenchSchema = v.looseObject({
  command: v.string(),
  startedAt: v.string(),
  machine: MachineSchema,
  seeds: v.array(v.number()),
  tasks: v.array(v.string()),
  summary: v.looseObject({
    rows: v.record(
      v.string(),
      v.looseObject({
        label: v.string(),
        perTask: v.array(StatSchema),
        avg: StatSchema,
        params: v.array(v.nullable(v.record(v.string(), v.unknown()))),
      }),
    ),
    curve: v.record(v.string(), v.record(v.string(), v.looseObject({ avg: StatSchema }))),
  }),
  perSeed: v.array(
    v.looseObject({
      seed: v.number(),
      rows: v.record(v.string(), v.looseObject({ test: v.array(finite), testAvg: finite })),
    }),
  ),
});

const ComparisonCellSchema = v.looseObject({
  mean: finite,
  lo: finite,
  hi: finite,
  n: v.number(),
  wins: v.number(),
});

/** `x bench evolver` (evolver.json, evolver-lambda-check.json). */
export const EvolverBenchSchema = v.looseObject({
  command: v.string(),
  startedAt: v.string(),
  machine: MachineSchema,
  options: v.looseObject({ f: finite, cr: finite, generations: v.number(), seeds: v.array(v.number()) }),
  seeds: v.array(
    v.looseObject({
      seed: v.number(),
      devCurves: v.record(v.string(), v.array(finite)),
    }),
  ),
  comparisons: v.array(
    v.looseObject({
      a: v.string(),
      b: v.string(),
      dev: ComparisonCellSchema,
      idTest: ComparisonCellSchema,
      oodTest: ComparisonCellSchema,
    }),
  ),
});

const ImpedanceMetricsSchema = v.looseObject({
  edgeAccuracy: finite,
  medianApeR: finite,
  medianApeX: finite,
});

/** `x bench grid` (grid.json). */
export const GridBenchSchema = v.looseObject({
  command: v.string(),
  started: v.string(),
  machine: MachineSchema,
  cells: v.array(
    v.looseObject({
      group: v.string(),
      feeder: v.string(),
      vClass: finite,
      pqClass: finite,
      samples: v.number(),
      seed: v.number(),
      exactTree: v.boolean(),
      lad: v.optional(ImpedanceMetricsSchema),
      ls: v.optional(ImpedanceMetricsSchema),
    }),
  ),
});

export type MergingBench = v.InferOutput<typeof MergingBenchSchema>;
export type EvolverBench = v.InferOutput<typeof EvolverBenchSchema>;
export type GridBench = v.InferOutput<typeof GridBenchSchema>;

/** The committed result files the page knows how to show, by the panel that shows them. */
export const BENCH_FILES = {
  merging: ["merging-8task.json", "merging-8task-sgd.json"],
  evolution: ["evolver.json", "evolver-lambda-check.json"],
  grid: ["grid.json"],
} as const;

export function parseBench<S extends v.GenericSchema>(
  schema: S,
  json: unknown,
  file: string,
): v.InferOutput<S> {
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw new DemoDataError(file, formatIssuePath(issue.path), issue.message);
  }
  return parsed.output;
}
