import { createHash } from "node:crypto";
import { type ImageSet, subset } from "@x/datasets";
import type { EvaluatorSpec } from "@x/evolution";
import { loadData, type SplitName } from "../data/splits.js";
import { SnnConfigError, SnnDataError } from "../errors.js";
import { genomeLayout } from "../genome/layout.js";
import type { InferenceEngine } from "../infer/net.js";
import { simdAvailable } from "../infer/simd-mlp.js";
import { INPUT_SIZE, type ModelSpec, validateSpec } from "../model/spec.js";
import { accuracyPercent } from "./fitness.js";

/**
 * Where a CADE run's fitness set comes from, as plain JSON a worker on another machine can rebuild it from:
 * a data set (`mnist`, `fashion-mnist` or an absolute path to a safetensors file with `images` / `labels`), its
 * split, the classes kept (relabelled 0..k−1, null = all) and the images taken, by index (null = all).
 */
export interface FitnessSetRef {
  readonly data: string;
  readonly split: SplitName;
  readonly classes: readonly number[] | null;
  readonly indices: readonly number[] | null;
}

/** The options of `cadeFitnessEvaluator`: everything a worker needs to score a genome exactly as the run does. */
export interface CadeFitnessOptions {
  readonly spec: ModelSpec;
  readonly fitnessSet: FitnessSetRef;
  /** SHA-256 of the fitness set's images and labels: a worker with different data refuses to evaluate. */
  readonly checksum: string;
  /** A concrete engine ("auto" could pick differently on different machines). */
  readonly engine: "simd" | "float64";
}

/** SHA-256 (hex) over a set's image bytes (float32) and labels. */
export function imageSetChecksum(set: ImageSet): string {
  const images = set.images.subarray(0, set.count * INPUT_SIZE);
  return createHash("sha256")
    .update(new Uint8Array(images.buffer, images.byteOffset, images.byteLength))
    .update(set.labels.subarray(0, set.count))
    .digest("hex");
}

/** Loads the set a `FitnessSetRef` names. */
export async function loadFitnessSet(ref: FitnessSetRef): Promise<ImageSet> {
  const set = await loadData(ref.data, ref.split, ref.classes ?? undefined);
  if (!ref.indices) return set;
  for (const i of ref.indices) {
    if (!(Number.isInteger(i) && i >= 0 && i < set.count))
      throw new SnnDataError(
        `${ref.data} (${ref.split}): fitness image index ${i} is outside 0..${set.count - 1}`,
      );
  }
  return subset(set, ref.indices);
}

/** The engine "auto" resolves to for this spec on this machine. */
export function concreteEngine(spec: ModelSpec, engine: InferenceEngine = "auto"): "simd" | "float64" {
  if (engine !== "auto") return engine;
  return spec.kind === "sew-mlp" && simdAvailable() ? "simd" : "float64";
}

/** The module and export a worker loads the CADE fitness from. */
export const CADE_EVALUATOR_MODULE = "@x/snn";
export const CADE_EVALUATOR_EXPORT = "cadeFitnessEvaluator";

/**
 * The evaluator spec (`{ module, export, options }` of `@x/evolution`) of a CADE run's fitness: workers of
 * `@x/evolution/distributed` load `cadeFitnessEvaluator` from `@x/snn` with these options and score genomes
 * exactly as `runCade` does locally (accuracy in % on the same images with the same engine).
 */
export function cadeEvaluatorSpec(o: {
  spec: ModelSpec;
  fitnessSet: FitnessSetRef;
  /** The loaded set (its checksum goes into the options). */
  set: ImageSet;
  engine?: InferenceEngine;
}): EvaluatorSpec & { options: CadeFitnessOptions } {
  const options: CadeFitnessOptions = {
    spec: o.spec,
    fitnessSet: {
      data: o.fitnessSet.data,
      split: o.fitnessSet.split,
      classes: o.fitnessSet.classes ? [...o.fitnessSet.classes] : null,
      indices: o.fitnessSet.indices ? [...o.fitnessSet.indices] : null,
    },
    checksum: imageSetChecksum(o.set),
    engine: concreteEngine(o.spec, o.engine),
  };
  return { module: CADE_EVALUATOR_MODULE, export: CADE_EVALUATOR_EXPORT, options };
}

/**
 * Evaluator factory (for `loadEvaluator` / queue workers): loads the fitness set once, checks its checksum, and
 * returns the fitness `accuracyPercent(spec, genome, set, engine)`.
 */
export async function cadeFitnessEvaluator(
  options: unknown,
): Promise<{ fitness: (genome: Float32Array | Float64Array) => number }> {
  const o = options as CadeFitnessOptions;
  if (!o || typeof o !== "object" || !o.spec || !o.fitnessSet || typeof o.checksum !== "string")
    throw new SnnConfigError("cadeFitnessEvaluator needs options { spec, fitnessSet, checksum, engine }");
  if (o.engine !== "simd" && o.engine !== "float64")
    throw new SnnConfigError(
      `cadeFitnessEvaluator: engine must be "simd" or "float64", got ${JSON.stringify(o.engine)}`,
    );
  const spec = validateSpec(o.spec);
  const set = await loadFitnessSet(o.fitnessSet);
  const sum = imageSetChecksum(set);
  if (sum !== o.checksum) {
    throw new SnnDataError(
      `${o.fitnessSet.data}: the fitness set here (sha256 ${sum.slice(0, 12)}…) differs from the run's (${o.checksum.slice(0, 12)}…): install the same data on every machine`,
    );
  }
  const dim = genomeLayout(spec).length;
  return {
    fitness: (genome) => {
      if (genome.length !== dim)
        throw new SnnConfigError(`genome has ${genome.length} values, the ${spec.kind} model needs ${dim}`);
      const g = genome instanceof Float32Array ? genome : Float32Array.from(genome);
      return accuracyPercent(spec, g, set, o.engine);
    },
  };
}
