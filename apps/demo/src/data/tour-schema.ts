/**
 * The data contract between the tour (`x demo`, which runs short real computations) and the demo page.
 *
 * The tour writes one JSON file, {@link TOUR_FILE}, that parses with {@link TourResultSchema}; the page
 * reads it next to the committed `bench/results/*.json`. Every section is either `status: "ok"` with
 * its data, or `status: "not-run"` with the reason (the page then says "not run yet" and why).
 *
 * Units: accuracies are fractions in [0, 1] (the page shows percent); impedances are per unit on the
 * feeder's base; errors named `…Pct` are percent; meter classes are percent (maximum error = 3σ).
 *
 * This module depends on valibot only (no Node or DOM APIs), so the producer can import it to check
 * its output with {@link parseTourResult} before writing.
 */
import * as v from "valibot";
import { DemoDataError, formatIssuePath } from "./errors.js";

/** File name of the tour's results inside a data folder. */
export const TOUR_FILE = "tour.json";
export const TOUR_FORMAT = "x-demo-tour";
export const TOUR_VERSION = 1;

const finite = v.pipe(v.number(), v.finite());
const fraction = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const positiveCount = v.pipe(v.number(), v.integer(), v.minValue(1));
const nonNegative = v.pipe(v.number(), v.finite(), v.minValue(0));
const name = v.pipe(v.string(), v.minLength(1));

export const MachineSchema = v.object({
  cpu: v.string(),
  cores: positiveCount,
  node: v.string(),
  loadAverageAtStart: v.tuple([finite, finite, finite]),
});

/** A section the tour did not run (package missing, option turned off, ...). */
export const NotRunSchema = v.object({ status: v.literal("not-run"), reason: name });

// ---------------------------------------------------------------------------------------------- merging

/** One method at one seed: the hyperparameters selected on validation and the per-task test accuracy. */
export const MergeSeedResultSchema = v.object({
  seed: v.pipe(v.number(), v.integer()),
  /** Selected hyperparameters (λ, PCB ratio, density, ...), as the method names them. */
  params: v.record(v.string(), v.union([v.number(), v.string(), v.boolean(), v.null()])),
  /** Test accuracy per task, in the order of `tasks`. */
  testAccuracy: v.array(fraction),
  /** Validation accuracy per task at the selected point, when recorded. */
  valAccuracy: v.optional(v.array(fraction)),
});

export const MergeMethodSchema = v.object({
  /** Registry name (`task_arithmetic`, `ties`, `pcb`, ...) or a reference row (`expert`, `joint`, `pretrained`). */
  id: name,
  label: name,
  /** `reference` rows (individual experts, joint training, the pretrained model) are bounds, not merges. */
  role: v.picklist(["merge", "reference"]),
  perSeed: v.pipe(v.array(MergeSeedResultSchema), v.minLength(1)),
});

/** Average test accuracy when merging only the first `numTasks` tasks (one point per seed). */
export const TaskCountPointSchema = v.object({
  numTasks: positiveCount,
  seed: v.pipe(v.number(), v.integer()),
  tasks: v.array(name),
  avgTestAccuracy: fraction,
});

export const MergingTourSchema = v.object({
  status: v.literal("ok"),
  tasks: v.pipe(v.array(name), v.minLength(1)),
  seeds: v.pipe(v.array(v.pipe(v.number(), v.integer())), v.minLength(1)),
  /** How hyperparameters were chosen, in one sentence (e.g. "grid on validation, reported on test"). */
  selection: name,
  methods: v.pipe(v.array(MergeMethodSchema), v.minLength(1)),
  taskCountCurve: v.array(v.object({ method: name, points: v.array(TaskCountPointSchema) })),
});

// -------------------------------------------------------------------------------------------- evolution

/** Fitness against evaluations: one entry per generation (after its evaluations). */
export const FitnessCurveSchema = v.object({
  evaluations: v.array(count),
  best: v.array(finite),
  /** Mean fitness of the population; absent for random search (no population). */
  mean: v.optional(v.array(finite)),
});

export const EvolutionRunSchema = v.object({
  id: name,
  label: name,
  algorithm: v.picklist(["evolver", "random-search", "de", "cade"]),
  seed: v.pipe(v.number(), v.integer()),
  curve: FitnessCurveSchema,
  /** Final scores of the selected individual, when evaluated beyond the fitness set. */
  final: v.optional(v.object({ dev: v.optional(finite), test: v.optional(finite) })),
});

/**
 * The CADE F / CR schedule: value(e) = low + (v0 − low)(1 + cos(π e / halfPeriod)) / 2, generation 0 at v0;
 * S3 adds U(low, v0) each generation, S5 drops the "+ 1". `recorded` holds the values a run drew.
 */
export const CadeScheduleSchema = v.object({
  strategy: v.picklist(["S2", "S3", "S5"]),
  f0: finite,
  cr0: finite,
  low: finite,
  halfPeriod: v.pipe(v.number(), v.finite(), v.gtValue(0)),
  generations: positiveCount,
  recorded: v.optional(v.object({ generation: v.array(count), f: v.array(finite), cr: v.array(finite) })),
});

export const EvolutionTourSchema = v.object({
  status: v.literal("ok"),
  /** What the fitness is (e.g. "dev accuracy") and its unit (e.g. "fraction"). */
  fitness: v.object({ label: name, unit: name }),
  runs: v.pipe(v.array(EvolutionRunSchema), v.minLength(1)),
  schedule: v.optional(CadeScheduleSchema),
});

// -------------------------------------------------------------------------------------------------- SNN

/** Spikes of one layer for one input sample: `spikes[neuron]` lists the time steps at which it fired. */
export const SpikeRasterSchema = v.object({
  layer: name,
  neurons: positiveCount,
  timeSteps: positiveCount,
  spikes: v.array(v.array(count)),
});

/** Membrane potential of one neuron at each time step (after charging, before reset). */
export const MembraneTraceSchema = v.object({ layer: name, neuron: count, v: v.array(finite) });

export const SnnArmSchema = v.object({
  /** e.g. "cade-s3", "plain-de", "best-initial". */
  id: name,
  label: name,
  perSeed: v.pipe(
    v.array(
      v.object({
        seed: v.pipe(v.number(), v.integer()),
        testAccuracy: fraction,
        valAccuracy: v.optional(fraction),
      }),
    ),
    v.minLength(1),
  ),
});

export const SnnTourSchema = v.object({
  status: v.literal("ok"),
  model: v.object({ description: name, timeSteps: positiveCount, threshold: finite }),
  sample: v.object({ dataset: name, index: count, label: count, predicted: count }),
  rasters: v.pipe(v.array(SpikeRasterSchema), v.minLength(1)),
  membrane: v.array(MembraneTraceSchema),
  arms: v.array(SnnArmSchema),
});

// ------------------------------------------------------------------------------------------------- grid

const EdgeFields = { from: name, to: name, rPu: finite, xPu: finite };
/** A branch of the true feeder; `missed` = the identification did not recover it. */
export const TrueEdgeSchema = v.object({ ...EdgeFields, missed: v.boolean() });
/** A branch of the identified tree; `wrong` = not a branch of the true feeder. */
export const IdentifiedEdgeSchema = v.object({ ...EdgeFields, wrong: v.boolean() });

/** Impedance error of one correctly identified branch. */
export const BranchErrorSchema = v.object({
  from: name,
  to: name,
  rTruePu: finite,
  rEstPu: finite,
  xTruePu: finite,
  xEstPu: finite,
  rErrorPct: nonNegative,
  xErrorPct: nonNegative,
});

/** One identification in a sweep over meter noise or number of samples. */
export const GridSweepPointSchema = v.object({
  feeder: name,
  vClassPct: nonNegative,
  pqClassPct: nonNegative,
  samples: positiveCount,
  seed: v.pipe(v.number(), v.integer()),
  edgeAccuracy: fraction,
  exactTree: v.boolean(),
  medianApeRPct: nonNegative,
  medianApeXPct: nonNegative,
});

export const GridTourSchema = v.object({
  status: v.literal("ok"),
  feeder: v.object({ id: name, name: name, root: name, buses: v.pipe(v.array(name), v.minLength(2)) }),
  conditions: v.object({
    samples: positiveCount,
    resolutionMin: v.pipe(v.number(), v.finite(), v.gtValue(0)),
    vClassPct: nonNegative,
    pqClassPct: nonNegative,
    seed: v.pipe(v.number(), v.integer()),
    estimator: v.picklist(["lad", "ls"]),
  }),
  trueTree: v.array(TrueEdgeSchema),
  identifiedTree: v.array(IdentifiedEdgeSchema),
  metrics: v.object({
    edgeAccuracy: fraction,
    exactTree: v.boolean(),
    medianApeRPct: nonNegative,
    medianApeXPct: nonNegative,
  }),
  branchErrors: v.array(BranchErrorSchema),
  noiseSweep: v.array(GridSweepPointSchema),
  samplesSweep: v.array(GridSweepPointSchema),
});

// ------------------------------------------------------------------------------------------------- root

export const TourResultSchema = v.object({
  format: v.literal(TOUR_FORMAT),
  version: v.literal(TOUR_VERSION),
  /** ISO 8601 time the tour started. */
  createdAt: name,
  /** The command that produced the file, e.g. "x demo --seeds 1,2,3". */
  command: name,
  machine: MachineSchema,
  seconds: nonNegative,
  merging: v.variant("status", [MergingTourSchema, NotRunSchema]),
  evolution: v.variant("status", [EvolutionTourSchema, NotRunSchema]),
  snn: v.variant("status", [SnnTourSchema, NotRunSchema]),
  grid: v.variant("status", [GridTourSchema, NotRunSchema]),
});

export type TourResult = v.InferOutput<typeof TourResultSchema>;
export type NotRun = v.InferOutput<typeof NotRunSchema>;
export type MergingTour = v.InferOutput<typeof MergingTourSchema>;
export type MergeMethodResult = v.InferOutput<typeof MergeMethodSchema>;
export type TaskCountPoint = v.InferOutput<typeof TaskCountPointSchema>;
export type EvolutionTour = v.InferOutput<typeof EvolutionTourSchema>;
export type EvolutionRun = v.InferOutput<typeof EvolutionRunSchema>;
export type FitnessCurve = v.InferOutput<typeof FitnessCurveSchema>;
export type CadeSchedule = v.InferOutput<typeof CadeScheduleSchema>;
export type SnnTour = v.InferOutput<typeof SnnTourSchema>;
export type SpikeRaster = v.InferOutput<typeof SpikeRasterSchema>;
export type MembraneTrace = v.InferOutput<typeof MembraneTraceSchema>;
export type SnnArm = v.InferOutput<typeof SnnArmSchema>;
export type GridTour = v.InferOutput<typeof GridTourSchema>;
export type TrueEdge = v.InferOutput<typeof TrueEdgeSchema>;
export type IdentifiedEdge = v.InferOutput<typeof IdentifiedEdgeSchema>;
export type BranchError = v.InferOutput<typeof BranchErrorSchema>;
export type GridSweepPoint = v.InferOutput<typeof GridSweepPointSchema>;

/**
 * Checks a parsed JSON value against the contract, including what a schema cannot say (array lengths
 * that must match, bus names that must exist, trees that must span the feeder). Throws
 * {@link DemoDataError} naming the file and the key.
 */
export function parseTourResult(json: unknown, file = TOUR_FILE): TourResult {
  const parsed = v.safeParse(TourResultSchema, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw new DemoDataError(file, formatIssuePath(issue.path), issue.message);
  }
  const tour = parsed.output;
  const fail = (key: string, what: string): never => {
    throw new DemoDataError(file, key, what);
  };
  if (tour.merging.status === "ok") checkMerging(tour.merging, fail);
  if (tour.evolution.status === "ok") checkEvolution(tour.evolution, fail);
  if (tour.snn.status === "ok") checkSnn(tour.snn, fail);
  if (tour.grid.status === "ok") checkGrid(tour.grid, fail);
  return tour;
}

type Fail = (key: string, what: string) => never;

function checkMerging(m: MergingTour, fail: Fail): void {
  m.methods.forEach((method, i) => {
    method.perSeed.forEach((s, j) => {
      const key = `merging.methods[${i}].perSeed[${j}]`;
      if (s.testAccuracy.length !== m.tasks.length)
        fail(`${key}.testAccuracy`, `has ${s.testAccuracy.length} values for ${m.tasks.length} tasks`);
      if (s.valAccuracy && s.valAccuracy.length !== m.tasks.length)
        fail(`${key}.valAccuracy`, `has ${s.valAccuracy.length} values for ${m.tasks.length} tasks`);
    });
  });
  m.taskCountCurve.forEach((c, i) => {
    c.points.forEach((p, j) => {
      if (p.tasks.length !== p.numTasks)
        fail(
          `merging.taskCountCurve[${i}].points[${j}].tasks`,
          `lists ${p.tasks.length} tasks, numTasks is ${p.numTasks}`,
        );
    });
  });
}

function checkEvolution(e: EvolutionTour, fail: Fail): void {
  e.runs.forEach((r, i) => {
    const n = r.curve.evaluations.length;
    if (r.curve.best.length !== n)
      fail(`evolution.runs[${i}].curve.best`, `has ${r.curve.best.length} values for ${n} evaluation counts`);
    if (r.curve.mean && r.curve.mean.length !== n)
      fail(`evolution.runs[${i}].curve.mean`, `has ${r.curve.mean.length} values for ${n} evaluation counts`);
    for (let k = 1; k < n; k++)
      if (r.curve.evaluations[k] < r.curve.evaluations[k - 1])
        fail(
          `evolution.runs[${i}].curve.evaluations[${k}]`,
          "decreases; evaluation counts must not decrease",
        );
  });
  const rec = e.schedule?.recorded;
  if (rec && (rec.f.length !== rec.generation.length || rec.cr.length !== rec.generation.length))
    fail("evolution.schedule.recorded", "generation, f and cr must have the same length");
}

function checkSnn(s: SnnTour, fail: Fail): void {
  s.rasters.forEach((r, i) => {
    if (r.spikes.length !== r.neurons)
      fail(`snn.rasters[${i}].spikes`, `has ${r.spikes.length} rows for ${r.neurons} neurons`);
    r.spikes.forEach((steps, n) => {
      for (const t of steps)
        if (t >= r.timeSteps)
          fail(`snn.rasters[${i}].spikes[${n}]`, `has step ${t}, beyond timeSteps ${r.timeSteps}`);
    });
  });
  s.membrane.forEach((m, i) => {
    if (m.v.length !== s.model.timeSteps)
      fail(`snn.membrane[${i}].v`, `has ${m.v.length} values for ${s.model.timeSteps} time steps`);
  });
}

function checkGrid(g: GridTour, fail: Fail): void {
  const buses = new Set(g.feeder.buses);
  if (buses.size !== g.feeder.buses.length) fail("grid.feeder.buses", "repeats a bus name");
  if (!buses.has(g.feeder.root)) fail("grid.feeder.root", `bus "${g.feeder.root}" is not in feeder.buses`);
  const checkTree = (edges: readonly { from: string; to: string }[], key: string) => {
    if (edges.length !== buses.size - 1)
      fail(key, `has ${edges.length} branches; a tree on ${buses.size} buses has ${buses.size - 1}`);
    const parentOf = new Map<string, string>();
    edges.forEach((e, i) => {
      for (const end of [e.from, e.to])
        if (!buses.has(end)) fail(`${key}[${i}]`, `bus "${end}" is not in feeder.buses`);
      if (parentOf.has(e.to))
        fail(`${key}[${i}]`, `bus "${e.to}" has two parents ("${parentOf.get(e.to)}", "${e.from}")`);
      if (e.to === g.feeder.root) fail(`${key}[${i}]`, `the root bus "${e.to}" cannot have a parent`);
      parentOf.set(e.to, e.from);
    });
    // Every bus must reach the root by following parents (no cycles, no second component).
    for (const bus of buses) {
      let b = bus;
      for (let steps = 0; b !== g.feeder.root; steps++) {
        const p = parentOf.get(b);
        if (p === undefined || steps > buses.size)
          fail(key, `bus "${bus}" does not reach the root "${g.feeder.root}"`);
        b = p as string;
      }
    }
  };
  checkTree(g.trueTree, "grid.trueTree");
  checkTree(g.identifiedTree, "grid.identifiedTree");
}
