import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ImageSet } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import type { TfBackendName } from "@x/tensor-core/tfjs";
import { loadModel, saveModel } from "../checkpoint/safetensors.js";
import { SnnCheckpointError, SnnConfigError } from "../errors.js";
import { initModel, replaceHead, type SnnModel } from "../genome/layout.js";
import { describeSpec } from "../model/describe.js";
import { ARCHITECTURE_KEYS, NEURON_KEYS } from "../model/options.js";
import type { ModelSpec } from "../model/spec.js";
import { asIs, type OptionName } from "../options.js";
import type { AugmentOptions } from "../train/augment.js";
import { type TrainProgress, trainModel } from "../train/train.js";

/** How one population member is fine-tuned (CADE varies these across members). */
export interface MemberRecipe {
  readonly lr: number;
  readonly augment: AugmentOptions;
  readonly seed: number;
}

/**
 * N recipes from CADE's grid: label smoothing {0, 0.1}, mixup α {0, 0.1}, random erasing {0, 0.25}, lr {0.05, 0.1}
 * in a 2^(4−1) fractional factorial (lr level = parity of the other three), cycled when N > 8, each with its own seed.
 */
export function memberRecipes(n: number, seed: number): MemberRecipe[] {
  const out: MemberRecipe[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 8;
    const ls = c & 1;
    const mix = (c >> 1) & 1;
    const er = (c >> 2) & 1;
    out.push({
      lr: (ls ^ mix ^ er) === 1 ? 0.1 : 0.05,
      augment: { labelSmoothing: ls ? 0.1 : 0, mixupAlpha: mix ? 0.1 : 0, erasing: er ? 0.25 : 0 },
      seed: seed * 1000 + i,
    });
  }
  return out;
}

export interface PopulationOptions {
  /** Target model spec (its `classes` is the target's). */
  readonly spec: ModelSpec;
  /** Pretrained source model (transfer learning: its head is replaced); null trains every member from scratch. */
  readonly source: SnnModel | null;
  readonly train: ImageSet;
  readonly val?: ImageSet;
  readonly size: number;
  readonly epochs: number;
  readonly batchSize?: number;
  readonly seed: number;
  readonly recipes?: readonly MemberRecipe[];
  readonly backend?: TfBackendName | "auto";
  /** Members are saved here as `member-<i>.safetensors`; each member's training state lives in `member-<i>/`. */
  readonly dir?: string;
  readonly resume?: boolean;
  readonly onProgress?: (member: number, e: TrainProgress) => void;
}

/**
 * Builds a population: each member starts from the source model with a fresh head (or from a fresh random
 * initialisation) and is fine-tuned with its own recipe (SGD, Nesterov momentum 0.9, weight decay 5e-4, cosine lr).
 * With `dir` + `resume`, finished members are loaded and an interrupted one continues where it stopped.
 */
export async function buildPopulation(o: PopulationOptions): Promise<SnnModel[]> {
  const recipes = o.recipes ?? memberRecipes(o.size, o.seed);
  if (recipes.length < o.size)
    throw new SnnConfigError(`${o.size} members need ${o.size} recipes, got ${recipes.length}`);
  const out: SnnModel[] = [];
  for (let i = 0; i < o.size; i++) {
    const file = o.dir ? join(o.dir, `member-${i}.safetensors`) : null;
    if (file && o.resume && existsSync(file)) {
      out.push(await loadModel(file));
      continue;
    }
    const r = recipes[i];
    const rng = new Rng(r.seed);
    const init = o.source ? replaceHead(o.source, o.spec.classes, rng) : initModel(o.spec, rng);
    const res = await trainModel({
      model: init,
      train: o.train,
      val: o.val,
      epochs: o.epochs,
      batchSize: o.batchSize,
      optimizer: { kind: "sgd", lr: r.lr, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
      schedule: "cosine",
      augment: r.augment,
      seed: r.seed,
      backend: o.backend,
      checkpointDir: o.dir ? join(o.dir, `member-${i}`) : undefined,
      resume: o.resume,
      onProgress: o.onProgress ? (e) => o.onProgress!(i, e) : undefined,
    });
    if (file) await saveModel(res.model, file, { recipe: JSON.stringify(r) });
    out.push(res.model);
  }
  return out;
}

/** SHA-256 (hex) over the genomes' float32 bytes, in order: equal genomes, equal checksum. */
export function genomesChecksum(genomes: readonly Float32Array[]): string {
  const h = createHash("sha256");
  for (const g of genomes) h.update(new Uint8Array(g.buffer, g.byteOffset, g.byteLength));
  return h.digest("hex");
}

/**
 * A population from checkpoint files: their common spec and the genomes in file order. A file of another model
 * than the first is an SnnCheckpointError naming both models.
 */
export async function loadPopulation(
  files: readonly string[],
): Promise<{ spec: ModelSpec; genomes: Float32Array[] }> {
  if (files.length === 0) throw new SnnConfigError("a population needs at least one checkpoint file");
  const models: SnnModel[] = [];
  for (const f of files) models.push(await loadModel(f));
  const spec = models[0]!.spec;
  models.forEach((m, i) => {
    if (JSON.stringify(m.spec) !== JSON.stringify(spec))
      throw new SnnCheckpointError(
        files[i]!,
        `a different model than ${files[0]} (${describeSpec(m.spec)} vs ${describeSpec(spec)})`,
      );
  });
  return { spec, genomes: models.map((m) => m.genome) };
}

/** Where a CADE run's initial population comes from: checkpoint files, or built (see {@link cadePopulation}). */
export interface CadePopulationOptions {
  /** The population's checkpoint files (at least 4: DE/rand/1 needs them). */
  readonly population?: readonly string[];
  /** A built population's pretrained source model file (transfer learning: each member gets a new head). */
  readonly source?: string;
  /** The model of a population built without `source`, for the data's class count. */
  readonly modelSpec: (classes: number) => ModelSpec;
  readonly size: number;
  readonly memberEpochs: number;
  readonly batchSize: number;
  readonly backend: TfBackendName | "auto";
  readonly seed: number;
  /** Where built members are kept; with `resume`, finished ones are loaded and an interrupted one continues. */
  readonly dir?: string;
  readonly resume?: boolean;
  /**
   * Whether a setting was given explicitly (not a default): with `population`, one that builds a population
   * (source, size, memberEpochs, batchSize, backend) or defines the model ({@link ARCHITECTURE_KEYS},
   * {@link NEURON_KEYS}) is refused, with `source` one that defines the model.
   */
  readonly given?: (key: string) => boolean;
  readonly onProgress?: (member: number, e: TrainProgress) => void;
}

/** A CADE run's initial population and its origin (recorded in the run's settings: a resume must match it). */
export interface CadePopulation {
  readonly spec: ModelSpec;
  readonly genomes: Float32Array[];
  readonly origin: Record<string, unknown>;
}

const BUILD_KEYS = ["source", "size", "memberEpochs", "batchSize", "backend"];

/**
 * The initial population of a CADE run over `train` (`classes` classes): the `population` files, or `size`
 * members built from `source` (else from `modelSpec`). Contradicting settings, fewer than 4 files or files of
 * another class count are {@link SnnConfigError}s (`name` says how messages name the options).
 */
export async function cadePopulation(
  o: CadePopulationOptions,
  train: ImageSet,
  classes: number,
  name: OptionName = asIs,
): Promise<CadePopulation> {
  const given = o.given ?? (() => false);
  const typedModel = [...ARCHITECTURE_KEYS, ...NEURON_KEYS].find(given);
  if (o.population) {
    const typed = BUILD_KEYS.find(given) ?? typedModel;
    if (typed)
      throw new SnnConfigError(`${name(typed)} builds a population; ${name("population")} gives one`);
    if (o.population.length < 4)
      throw new SnnConfigError(
        `CADE's DE/rand/1 needs at least 4 members, ${name("population")} gives ${o.population.length}`,
      );
    const { spec, genomes } = await loadPopulation(o.population);
    if (spec.classes !== classes)
      throw new SnnConfigError(
        `the population has ${spec.classes} classes, ${name("data")}/${name("classes")} give ${classes}`,
      );
    return {
      spec,
      genomes,
      origin: { files: o.population.map((f) => resolve(f)), sha256: genomesChecksum(genomes) },
    };
  }
  let source: SnnModel | null = null;
  if (o.source) {
    if (typedModel)
      throw new SnnConfigError(
        `${name(typedModel)} cannot change the model of ${name("source")} (its file defines it)`,
      );
    source = await loadModel(o.source);
  }
  const spec = source ? { ...source.spec, classes } : o.modelSpec(classes);
  const members = await buildPopulation({
    spec,
    source,
    train,
    size: o.size,
    epochs: o.memberEpochs,
    batchSize: o.batchSize,
    seed: o.seed,
    backend: o.backend,
    dir: o.dir,
    resume: o.resume === true,
    onProgress: o.onProgress,
  });
  return {
    spec,
    genomes: members.map((m) => m.genome),
    origin: {
      source: o.source ? resolve(o.source) : null,
      sourceSha256: source ? genomesChecksum([source.genome]) : null,
      size: o.size,
      memberEpochs: o.memberEpochs,
      batchSize: o.batchSize,
      backend: o.backend,
    },
  };
}
