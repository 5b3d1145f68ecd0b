import { join } from "node:path";
import type { EvaluatorSpec, FitnessFunction } from "@x/evolution";
import { removeDeadTemporaries } from "@x/tensor-core";
import type { TfBackendName } from "@x/tensor-core/tfjs";
import { saveModel } from "../checkpoint/safetensors.js";
import { SnnConfigError } from "../errors.js";
import { SnnModel } from "../genome/layout.js";
import type { InferenceEngine } from "../infer/net.js";
import { type ModelSpecOptions, modelSpecOf } from "../model/options.js";
import { asIs, type OptionName } from "../options.js";
import type { TrainProgress } from "../train/train.js";
import { TRAIN_DEFAULTS } from "../train/train.js";
import type { CadeArm } from "./arms.js";
import { cadeEvaluatorSpec, concreteEngine, imageSetChecksum } from "./evaluator.js";
import { cadeDocument, cadeOutcome, rankInitialPopulation } from "./outcome.js";
import { cadePopulation } from "./population.js";
import { type CadeProgress, runCade } from "./run.js";
import { checkCadeRunSettings } from "./run-settings.js";
import { type CadeDataOptions, loadCadeData } from "./setup.js";

/** The metadata key of the selected model's run settings (JSON) in its safetensors header. */
export const CADE_METADATA_KEY = "x-snn-cade";

/**
 * The settings of one CADE run in the experiment behind the package's published CADE results (8 members
 * fine-tuned 2 epochs each, 200 validation images per class, a 400-image fitness set, 20 generations, F0 = CR0 =
 * 1e-3): `x snn cade`'s defaults, and the experiment's scale.
 */
export const CADE_DEFAULTS = {
  populationSize: 8,
  memberEpochs: 2,
  valPerClass: 200,
  fitnessSetSize: 400,
  generations: 20,
  f0: 1e-3,
} as const;

/** What {@link cadeCheckpoint} runs and where the selected model goes. */
export interface CadeCheckpointSettings extends CadeDataOptions {
  /** The selected model's file (safetensors, written atomically). */
  readonly out: string;
  /** The initial population's checkpoint files (at least 4); without them a population is built. */
  readonly population?: readonly string[];
  /** A built population's pretrained source model file (each member gets a new head). */
  readonly source?: string;
  /** The model of a population built without `source` (default: {@link sewMlp}'s). */
  readonly model?: ModelSpecOptions;
  /** Members to build (needed without `population`). */
  readonly size?: number;
  /** Fine-tuning epochs per built member (needed without `population`). */
  readonly memberEpochs?: number;
  /** Fine-tuning batch size (default {@link TRAIN_DEFAULTS}' 64). */
  readonly batchSize?: number;
  /** TensorFlow.js backend of the fine-tuning (default auto). */
  readonly backend?: TfBackendName | "auto";
  /**
   * Whether a setting was given explicitly (not a default), for the rules of {@link cadePopulation}: with
   * `population`, a setting that builds one or defines the model is refused; with `source`, one that defines the
   * model. Default: the settings (and the keys of `model`) that are defined.
   */
  readonly given?: (key: string) => boolean;
  readonly arm: CadeArm;
  readonly generations: number;
  /** Inference engine of every fitness, validation and test pass (default auto). */
  readonly engine?: InferenceEngine;
  /** The built population, the run's settings and the DE state are kept here (resumable). */
  readonly checkpointDir?: string;
  /**
   * Continue the run in `checkpointDir`: the result of an uninterrupted run. Settings that differ from the stored
   * ones are a {@link CadeSettingsError}.
   */
  readonly resume?: boolean;
}

/** A fitness computed elsewhere (e.g. queue workers running {@link cadeFitnessEvaluator}). */
export interface CadeRemoteFitness {
  readonly fitness: FitnessFunction;
  /** Children evaluated at once (the result does not depend on it). */
  readonly lookahead?: number;
  /** Counts the result document reports as its `queue` (`completed`: evaluations done remotely). */
  stats?(): Readonly<Record<string, number>>;
  /** Called once the DE run has ended, after a failure too. */
  close?(): Promise<void>;
}

export interface CadeCheckpointHooks {
  /** Fine-tuning of built population member `member` (0-based). */
  readonly onMemberProgress?: (member: number, e: TrainProgress) => void;
  /** After every DE generation. */
  readonly onProgress?: (e: CadeProgress) => void;
  /**
   * Connects a remote fitness for the evaluator the run needs (its options name the model, the fitness images
   * with their checksum and the engine); without it the fitness is computed here. Called once the population
   * is ready and ranked, before the first DE evaluation.
   */
  readonly connectFitness?: (evaluator: EvaluatorSpec) => Promise<CadeRemoteFitness>;
}

/** The result document of {@link cadeCheckpoint} (`x snn cade --json`; {@link formatCadeReport} prints it). */
export type CadeDocument = ReturnType<typeof cadeDocument>;

/**
 * A CADE run from data to the selected model in `out`: the data sets ({@link loadCadeData}), the initial
 * population ({@link cadePopulation}: files, or built from `source` or `model`), the run's settings recorded in
 * `checkpointDir` (checked on `resume`), the initial population ranked on validation, {@link runCade} (fitness
 * here or through `connectFitness`), the outcome, and the individual selected by validation written with its run
 * settings under {@link CADE_METADATA_KEY}. Returns the result document. Bad settings are
 * {@link SnnConfigError}s (`name` says how messages name the settings).
 */
export async function cadeCheckpoint(
  s: CadeCheckpointSettings,
  hooks: CadeCheckpointHooks = {},
  name: OptionName = asIs,
): Promise<CadeDocument> {
  if (s.checkpointDir) removeDeadTemporaries(join(s.checkpointDir, "population"));
  const sets = await loadCadeData(s, name);
  const { train, val, fitnessRef, fitnessSet, test, classes } = sets;
  const model = s.model ?? { model: "sew-mlp" };
  const defined = s as unknown as Record<string, unknown>;
  const given =
    s.given ??
    ((k: string) =>
      defined[k] !== undefined || (s.model as Record<string, unknown> | undefined)?.[k] !== undefined);
  if (!s.population && (s.size === undefined || s.memberEpochs === undefined))
    throw new SnnConfigError(`${name("size")} and ${name("memberEpochs")} build a population: give both`);
  const pop = await cadePopulation(
    {
      population: s.population,
      source: s.source,
      modelSpec: (c) => modelSpecOf(model, c, name),
      size: s.size ?? 0,
      memberEpochs: s.memberEpochs ?? 0,
      batchSize: s.batchSize ?? TRAIN_DEFAULTS.batchSize,
      backend: s.backend ?? "auto",
      seed: s.seed,
      dir: s.checkpointDir ? join(s.checkpointDir, "population") : undefined,
      resume: s.resume,
      given,
      onProgress: hooks.onMemberProgress,
    },
    train,
    classes,
    name,
  );
  const spec = pop.spec;
  const engine = concreteEngine(spec, s.engine);
  const evaluator = cadeEvaluatorSpec({ spec, fitnessSet: fitnessRef, set: fitnessSet, engine });
  if (s.checkpointDir) {
    await checkCadeRunSettings(
      s.checkpointDir,
      {
        spec,
        population: pop.origin,
        fitness: {
          ...fitnessRef,
          indices: undefined,
          size: s.fitnessSize,
          sha256: evaluator.options.checksum,
        },
        valSha256: imageSetChecksum(val),
        arm: s.arm,
        generations: s.generations,
        seed: s.seed,
        engine,
      },
      s.resume === true,
    );
  }

  const ranking = rankInitialPopulation(spec, pop.genomes, val, engine);
  const remote = hooks.connectFitness ? await hooks.connectFitness(evaluator) : null;
  let r: Awaited<ReturnType<typeof runCade>>;
  try {
    r = await runCade({
      spec,
      population: pop.genomes,
      fitnessSet: remote ? undefined : fitnessSet,
      fitness: remote?.fitness,
      lookahead: remote?.lookahead,
      val,
      generations: s.generations,
      arm: s.arm,
      seed: s.seed,
      engine,
      checkpointDir: s.checkpointDir ? join(s.checkpointDir, "de") : undefined,
      resume: s.resume,
      onProgress: hooks.onProgress,
    });
  } catch (e) {
    // the run's own error is the one to report, not a failure while closing
    await remote?.close?.().catch(() => {});
    throw e;
  }
  const queue = remote ? (remote.stats?.() ?? null) : null;
  await remote?.close?.();

  const outcome = cadeOutcome(spec, r, ranking, pop.genomes, test, engine);
  await saveModel(new SnnModel(spec, r.population[r.selected]!), s.out, {
    [CADE_METADATA_KEY]: JSON.stringify({
      arm: s.arm,
      generations: s.generations,
      seed: s.seed,
      selected: outcome.selected,
    }),
  });
  const run = {
    out: s.out,
    spec,
    arm: s.arm,
    generations: s.generations,
    seed: s.seed,
    engine,
    data: s.data,
  };
  return cadeDocument({ ...run, classes: s.classes ?? null }, sets, r, outcome, queue);
}
