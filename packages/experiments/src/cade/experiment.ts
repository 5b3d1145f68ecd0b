import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type ImageSet, subset } from "@x/datasets";
import {
  accuracyPercent,
  averageGenomes,
  buildPopulation,
  CADE_DEFAULTS,
  type CadeArm,
  type CadeResult,
  FASHION_TRAIN_PER_CLASS,
  greedySoup,
  indicesByClass,
  initModel,
  loadBuiltinSplit,
  loadModel,
  logitEnsembleAccuracy,
  type ModelSpec,
  populationDiversity,
  runCade,
  SnnModel,
  saveModel,
  sewMlp,
  trainModel,
} from "@x/snn";
import { Rng } from "@x/tensor-core";
import { type ExperimentHooks, writeResultFiles } from "../results.js";

/** The experiment's scale (chosen so the full run fits ~90 minutes on a shared 2-core machine). */
export interface CadeScale {
  readonly hidden: number;
  readonly blocks: number;
  readonly timeSteps: number;
  readonly populationSize: number;
  readonly generations: number;
  readonly trainPerClass: number;
  readonly valPerClass: number;
  readonly fitnessSetSize: number;
  readonly sourcePerClass: number;
  readonly pretrainEpochs: number;
  readonly memberEpochs: number;
  readonly batchSize: number;
  /** CADE's F0 = CR0 for the main comparison; Fmin = F0/10, half-period round(0.4·G). */
  readonly f0: number;
  /** Extra F0 values run with the CADE arm only (sensitivity). */
  readonly f0Sweep: readonly number[];
  readonly seeds: readonly number[];
  /** Seeds of the MNIST → Fashion-MNIST variant. */
  readonly variantSeeds: readonly number[];
  readonly variantTrainPerClass: number;
  readonly variantValPerClass: number;
  /** Inference engine of every fitness / val / test pass (the committed run used float64). */
  readonly engine: "float64" | "simd" | "auto";
}

export const DEFAULT_CADE_SCALE: CadeScale = {
  hidden: 64,
  blocks: 1,
  timeSteps: 4,
  populationSize: CADE_DEFAULTS.populationSize,
  generations: CADE_DEFAULTS.generations,
  trainPerClass: 400,
  valPerClass: CADE_DEFAULTS.valPerClass,
  fitnessSetSize: CADE_DEFAULTS.fitnessSetSize,
  sourcePerClass: 1000,
  pretrainEpochs: 2,
  memberEpochs: CADE_DEFAULTS.memberEpochs,
  batchSize: 64,
  f0: CADE_DEFAULTS.f0,
  f0Sweep: [1e-4, 1e-2],
  seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  variantSeeds: [1, 2, 3, 4, 5],
  variantTrainPerClass: 240,
  variantValPerClass: 100,
  engine: "float64",
};

/** Source classes (footwear and bag) and target classes (clothing) of Fashion-MNIST. */
export const SOURCE_CLASSES = [5, 7, 8, 9];
export const TARGET_CLASSES = [0, 1, 2, 3, 4, 6];

export interface MethodScore {
  readonly test: number;
  readonly val: number;
  readonly fitness: number | null;
}

export interface ArmOutcome extends MethodScore {
  readonly arm: string;
  readonly evaluations: number;
  readonly accepted: number;
  readonly curve: { evaluations: number; bestVal: number; bestFitness: number }[];
  readonly ms: number;
}

export interface SeedResult {
  readonly task: "fashion-split" | "mnist-to-fashion";
  readonly seed: number;
  readonly members: { fitness: number; val: number; test: number }[];
  readonly bestInitial: MethodScore & { index: number };
  readonly diversity: { l2: number; disagreement: number };
  readonly arms: ArmOutcome[];
  readonly baselines: Record<string, MethodScore>;
  readonly scratch: null | {
    members: { fitness: number; val: number; test: number }[];
    bestInitial: MethodScore;
    diversity: { l2: number; disagreement: number };
    cade: ArmOutcome;
  };
  readonly timings: Record<string, number>;
}

function pickPerClass(set: ImageSet, perClass: number, rng: Rng, skip = 0): number[] {
  const out: number[] = [];
  for (const [, idx] of indicesByClass(set)) {
    const perm = rng.permutation(idx.length);
    for (let k = skip; k < skip + perClass; k++) out.push(idx[perm[k]]);
  }
  return out;
}

/** Per-seed splits: disjoint train / val drawn from the train split, the full test split, a fitness subset of train. */
function splitTask(
  pool: ImageSet,
  test: ImageSet,
  trainPerClass: number,
  valPerClass: number,
  fitnessSize: number,
  seed: number,
) {
  const rng = new Rng(`split-${seed}`);
  const state = rng.state();
  const trainIdx = pickPerClass(pool, trainPerClass, Rng.fromState(state));
  const valIdx = pickPerClass(pool, valPerClass, Rng.fromState(state), trainPerClass);
  const train = subset(pool, trainIdx);
  const fitness = subset(
    train,
    Array.from(new Rng(`fitness-${seed}`).sampleWithoutReplacement(train.count, fitnessSize)),
  );
  return { train, val: subset(pool, valIdx), test, fitness };
}

type Log = (message: string) => void;

export interface TaskData {
  source: ImageSet;
  sourceClasses: number;
  train: ImageSet;
  val: ImageSet;
  test: ImageSet;
  fitness: ImageSet;
  classes: number;
}

function armList(s: CadeScale, main: boolean): { name: string; arm: CadeArm }[] {
  const f0 = s.f0;
  const arms: { name: string; arm: CadeArm }[] = [
    { name: "CADE (S3)", arm: { kind: "cade", f0, cr0: f0 } },
    { name: "constant F0/CR0", arm: { kind: "constant", f: f0, cr: f0 } },
  ];
  if (!main) return arms;
  arms.push(
    { name: "constant at S3 mean", arm: { kind: "cade-mean", f0, cr0: f0 } },
    { name: "jitter only", arm: { kind: "jitter", f0, cr0: f0 } },
    { name: "linear decay", arm: { kind: "linear", f0, cr0: f0 } },
    { name: "classic DE 0.5/0.9", arm: { kind: "constant", f: 0.5, cr: 0.9, jRand: true } },
    { name: "CADE (S3) + j_rand", arm: { kind: "cade", f0, cr0: f0, jRand: true } },
  );
  for (const f of s.f0Sweep) arms.push({ name: `CADE (S3) F0=${f}`, arm: { kind: "cade", f0: f, cr0: f } });
  return arms;
}

/** One DE arm on a population (fitness on the fitness set, selection on val); test accuracy (%) of its choice. */
export async function runDeArm(
  spec: ModelSpec,
  pop: Float32Array[],
  d: TaskData,
  s: CadeScale,
  arm: CadeArm,
  seed: string,
): Promise<{ r: CadeResult; test: number }> {
  const r = await runCade({
    spec,
    population: pop,
    fitnessSet: d.fitness,
    val: d.val,
    generations: s.generations,
    arm,
    seed,
  });
  return { r, test: accuracyPercent(spec, r.population[r.selected], d.test, s.engine) };
}

async function runArm(
  spec: ModelSpec,
  pop: Float32Array[],
  d: TaskData,
  s: CadeScale,
  name: string,
  arm: CadeArm,
  seed: number,
): Promise<ArmOutcome> {
  const t0 = performance.now();
  const { r, test } = await runDeArm(spec, pop, d, s, arm, `${seed}-${name}`);
  let accepted = 0;
  for (const h of r.history) accepted += h.accepted;
  return {
    arm: name,
    test,
    val: r.val[r.selected],
    fitness: r.fitness[r.selected],
    evaluations: r.evaluations,
    accepted,
    curve: r.curve.map((c) => ({
      evaluations: c.evaluations,
      bestVal: c.bestVal,
      bestFitness: c.bestFitness,
    })),
    ms: performance.now() - t0,
  };
}

export function memberScores(spec: ModelSpec, pop: Float32Array[], d: TaskData, e: CadeScale["engine"]) {
  return pop.map((g) => ({
    fitness: accuracyPercent(spec, g, d.fitness, e),
    val: accuracyPercent(spec, g, d.val, e),
    test: accuracyPercent(spec, g, d.test, e),
  }));
}

export function bestByVal(ms: { fitness: number; val: number; test: number }[]): number {
  let b = 0;
  for (let i = 1; i < ms.length; i++)
    if (ms[i].val > ms[b].val || (ms[i].val === ms[b].val && ms[i].fitness > ms[b].fitness)) b = i;
  return b;
}

/** Step 1 of a seed: the source model pretrained on the source classes (kept in `dir`, resumed from it). */
export async function pretrainSource(
  d: TaskData,
  s: CadeScale,
  seed: number,
  dir: string,
): Promise<SnnModel> {
  const base = { hidden: s.hidden, blocks: s.blocks, timeSteps: s.timeSteps };
  const srcFile = join(dir, "source.safetensors");
  let source: SnnModel;
  if (existsSync(srcFile)) source = await loadModel(srcFile);
  else {
    const r = await trainModel({
      model: initModel(sewMlp({ ...base, classes: d.sourceClasses }), new Rng(`source-${seed}`)),
      train: d.source,
      epochs: s.pretrainEpochs,
      batchSize: s.batchSize,
      optimizer: { kind: "sgd", lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
      seed: `source-${seed}`,
      backend: "wasm",
      checkpointDir: join(dir, "source"),
      resume: true,
    });
    source = r.model;
    await saveModel(source, srcFile);
  }
  return source;
}

/** Step 2 of a seed: the population, each member transfer-learned from `source` (kept in `dir`, resumed). */
export async function transferPopulation(
  spec: ModelSpec,
  source: SnnModel,
  d: TaskData,
  s: CadeScale,
  seed: number,
  dir: string,
): Promise<Float32Array[]> {
  return (
    await buildPopulation({
      spec,
      source,
      train: d.train,
      size: s.populationSize,
      epochs: s.memberEpochs,
      batchSize: s.batchSize,
      seed,
      backend: "wasm",
      dir: join(dir, "tl"),
      resume: true,
    })
  ).map((m) => m.genome);
}

async function runSeed(
  task: SeedResult["task"],
  d: TaskData,
  s: CadeScale,
  seed: number,
  workDir: string,
  log: Log,
): Promise<SeedResult> {
  const timings: Record<string, number> = {};
  const tick = (k: string, t0: number) => {
    timings[k] = (timings[k] ?? 0) + (performance.now() - t0);
  };
  const base = { hidden: s.hidden, blocks: s.blocks, timeSteps: s.timeSteps };
  const dir = join(workDir, `${task}-seed${seed}`);
  await mkdir(dir, { recursive: true });
  // 1. source pretraining
  let t0 = performance.now();
  const source = await pretrainSource(d, s, seed, dir);
  tick("pretrain", t0);
  const spec = sewMlp({ ...base, classes: d.classes });
  // 2. transfer-learned population
  t0 = performance.now();
  const tl = await transferPopulation(spec, source, d, s, seed, dir);
  tick("population", t0);
  log(`${task} seed ${seed}: population ready`);
  const members = memberScores(spec, tl, d, s.engine);
  const bi = bestByVal(members);
  const diversity = populationDiversity(spec, tl, d.val, s.engine);
  // 3. DE arms on the transfer-learned population
  t0 = performance.now();
  const arms: ArmOutcome[] = [];
  for (const { name, arm } of armList(s, task === "fashion-split")) {
    arms.push(await runArm(spec, tl, d, s, name, arm, seed));
    log(
      `${task} seed ${seed}: ${name} test ${arms.at(-1)!.test.toFixed(2)} (best initial ${members[bi].test.toFixed(2)})`,
    );
  }
  tick("de", t0);
  // 4. baselines
  t0 = performance.now();
  const baselines: Record<string, MethodScore> = {};
  const score = (g: Float32Array): MethodScore => ({
    test: accuracyPercent(spec, g, d.test, s.engine),
    val: accuracyPercent(spec, g, d.val, s.engine),
    fitness: accuracyPercent(spec, g, d.fitness, s.engine),
  });
  // continued surrogate-gradient fine-tuning of the best initial individual at CADE's forward-equivalents
  // (N + N·G fitness passes over the fitness set; one training sample = forward + backward = 3 forwards)
  const forwardBudget = (s.populationSize + s.populationSize * s.generations) * d.fitness.count;
  const ftEpochs = Math.max(1, Math.round(forwardBudget / 3 / d.train.count));
  const ft = await trainModel({
    model: new SnnModel(spec, tl[bi].slice()),
    train: d.train,
    val: d.val,
    keepBest: true,
    epochs: ftEpochs,
    batchSize: s.batchSize,
    optimizer: { kind: "sgd", lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
    schedule: "constant",
    seed: `ft-${seed}`,
    backend: "wasm",
  });
  // keepBest starts from the initial weights' slot: compare against the initial individual's validation score
  const ftGenome =
    ft.bestEpoch !== null && ft.history[ft.bestEpoch].valAccuracy! * 100 > members[bi].val
      ? ft.best.genome
      : tl[bi];
  baselines["continued fine-tuning"] = score(ftGenome);
  baselines["uniform weight average"] = score(averageGenomes(tl));
  baselines["greedy soup"] = score(greedySoup(spec, tl, d.val, s.engine).genome);
  baselines["logit ensemble"] = {
    test: logitEnsembleAccuracy(spec, tl, d.test, s.engine),
    val: logitEnsembleAccuracy(spec, tl, d.val, s.engine),
    fitness: logitEnsembleAccuracy(spec, tl, d.fitness, s.engine),
  };
  timings.ftEpochs = ftEpochs;
  tick("baselines", t0);
  // 5. from-scratch control population (main task only)
  let scratch: SeedResult["scratch"] = null;
  if (task === "fashion-split") {
    t0 = performance.now();
    const sc = (
      await buildPopulation({
        spec,
        source: null,
        train: d.train,
        size: s.populationSize,
        epochs: s.memberEpochs,
        batchSize: s.batchSize,
        seed: seed + 5000,
        backend: "wasm",
        dir: join(dir, "scratch"),
        resume: true,
      })
    ).map((m) => m.genome);
    tick("scratchPopulation", t0);
    const sm = memberScores(spec, sc, d, s.engine);
    const sb = bestByVal(sm);
    t0 = performance.now();
    const cade = await runArm(
      spec,
      sc,
      d,
      s,
      "CADE (S3) from scratch",
      { kind: "cade", f0: s.f0, cr0: s.f0 },
      seed,
    );
    tick("de", t0);
    scratch = {
      members: sm,
      bestInitial: { ...sm[sb] },
      diversity: populationDiversity(spec, sc, d.val, s.engine),
      cade,
    };
  }
  return {
    task,
    seed,
    members,
    bestInitial: { ...members[bi], index: bi },
    diversity,
    arms,
    baselines,
    scratch,
    timings,
  };
}

export interface CadeExperimentOptions {
  readonly scale?: Partial<CadeScale>;
  /** Per-seed results and population checkpoints (resumable); default `.cade-work` in the current directory. */
  readonly workDir?: string;
  /** Where cade.json / cade.md go (default bench/results); null writes nothing. */
  readonly outDir?: string | null;
  /** Run only seeds i with i % count === index (to split a run over processes); aggregation reads every seed's file. */
  readonly shard?: { index: number; count: number };
  /** Only run seeds (no aggregation). */
  readonly runOnly?: boolean;
  /** Run only this task's seeds (to add a process that works on one task). */
  readonly only?: SeedResult["task"];
  /** Work through the jobs last to first (a second process then meets the first one in the middle). */
  readonly reverse?: boolean;
  /** Wall time to report when the seeds ran elsewhere (sharded processes); default: this call's duration. */
  readonly wallSeconds?: number;
}

export async function loadTaskData(task: SeedResult["task"], s: CadeScale, seed: number): Promise<TaskData> {
  if (task === "fashion-split") {
    const pool = loadBuiltinSplit("fashion-mnist", "train", TARGET_CLASSES);
    const test = loadBuiltinSplit("fashion-mnist", "test", TARGET_CLASSES);
    const srcPool = loadBuiltinSplit("fashion-mnist", "train", SOURCE_CLASSES);
    const source = subset(srcPool, pickPerClass(srcPool, s.sourcePerClass, new Rng(`source-split-${seed}`)));
    return {
      source,
      sourceClasses: SOURCE_CLASSES.length,
      classes: TARGET_CLASSES.length,
      ...splitTask(pool, test, s.trainPerClass, s.valPerClass, s.fitnessSetSize, seed),
    };
  }
  const pool = loadBuiltinSplit("fashion-mnist", "train");
  const test = loadBuiltinSplit("fashion-mnist", "test");
  const source = loadBuiltinSplit("mnist", "train");
  return {
    source,
    sourceClasses: 10,
    classes: 10,
    ...splitTask(pool, test, s.variantTrainPerClass, s.variantValPerClass, s.fitnessSetSize, seed),
  };
}

export { FASHION_TRAIN_PER_CLASS };

/**
 * Runs (or resumes) every seed of both tasks; returns the per-seed results in seed order. Progress counts the
 * seeds this call covers (those already finished in `workDir` included).
 */
export async function runSeeds(o: CadeExperimentOptions, hooks: ExperimentHooks = {}): Promise<SeedResult[]> {
  const log: Log = hooks.log ?? (() => {});
  const s = { ...DEFAULT_CADE_SCALE, ...o.scale };
  const workDir = o.workDir ?? ".cade-work";
  await mkdir(workDir, { recursive: true });
  const jobs: { task: SeedResult["task"]; seed: number }[] = [
    ...s.seeds.map((seed) => ({ task: "fashion-split" as const, seed })),
    ...s.variantSeeds.map((seed) => ({ task: "mnist-to-fashion" as const, seed })),
  ];
  const out: SeedResult[] = [];
  const order = jobs.map((_, j) => j);
  if (o.reverse) order.reverse();
  const fileOf = (j: number) => join(workDir, `${jobs[j].task}-seed${jobs[j].seed}.json`);
  const mine = order.filter(
    (j) =>
      !(o.only && jobs[j].task !== o.only) &&
      (existsSync(fileOf(j)) || !o.shard || j % o.shard.count === o.shard.index),
  );
  let done = 0;
  hooks.progress?.("cade seeds", 0, mine.length);
  for (const j of mine) {
    const { task, seed } = jobs[j];
    const file = fileOf(j);
    if (existsSync(file)) out.push(JSON.parse(await readFile(file, "utf8")));
    else {
      const t0 = performance.now();
      log(`${task} seed ${seed}: start`);
      const r = await runSeed(task, await loadTaskData(task, s, seed), s, seed, workDir, log);
      writeResultFiles(workDir, `${task}-seed${seed}`, [[".json", JSON.stringify(r)]]);
      log(`${task} seed ${seed}: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      out.push(r);
    }
    hooks.progress?.("cade seeds", ++done, mine.length);
  }
  return out.sort(
    (a, b) =>
      jobs.findIndex((x) => x.task === a.task && x.seed === a.seed) -
      jobs.findIndex((x) => x.task === b.task && x.seed === b.seed),
  );
}
