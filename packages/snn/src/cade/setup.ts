import { resolve } from "node:path";
import { type ImageSet, selectClasses, subset } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import { isBuiltinDataset, loadClassPool, loadImageFile, splitPerClass } from "../data/splits.js";
import { SnnConfigError } from "../errors.js";
import { asIs, type OptionName } from "../options.js";
import type { CadeArm } from "./arms.js";
import type { FitnessSetRef } from "./evaluator.js";

/** The F / CR schedules of {@link CadeArm} by name. */
export const CADE_ARMS = ["cade", "constant", "cade-mean", "jitter", "linear"] as const;

/** An arm by name and its settings; a setting the arm does not take is refused. */
export interface CadeArmOptions {
  readonly arm: (typeof CADE_ARMS)[number];
  readonly f0: number;
  /** Default: f0. */
  readonly cr0?: number;
  /** Not for constant. */
  readonly fMin?: number;
  /** Not for constant and linear. */
  readonly halfPeriod?: number;
  /** cade and constant only. */
  readonly jRand?: boolean;
}

/**
 * The arm of `o`. A setting the named arm has no use for is an error ({@link SnnConfigError}; `name` says how the
 * message names the options) rather than silently ignored.
 */
export function cadeArmOf(o: CadeArmOptions, name: OptionName = asIs): CadeArm {
  const cr0 = o.cr0 ?? o.f0;
  const refuse = (key: string) => {
    throw new SnnConfigError(`${name(key)} does not apply to ${name("arm")} ${o.arm}`);
  };
  if (o.jRand !== undefined && o.arm !== "cade" && o.arm !== "constant") refuse("jRand");
  if (o.fMin !== undefined && o.arm === "constant") refuse("fMin");
  if (o.halfPeriod !== undefined && (o.arm === "constant" || o.arm === "linear")) refuse("halfPeriod");
  const shape = { f0: o.f0, cr0, fMin: o.fMin, halfPeriod: o.halfPeriod };
  switch (o.arm) {
    case "constant":
      return { kind: "constant", f: o.f0, cr: cr0, jRand: o.jRand === true };
    case "cade":
      return { kind: "cade", ...shape, jRand: o.jRand === true };
    case "linear":
      return { kind: "linear", f0: o.f0, cr0, fMin: o.fMin };
    default:
      return { kind: o.arm, ...shape };
  }
}

/** Where a CADE run's images come from. */
export interface CadeDataOptions {
  /** mnist, fashion-mnist, or a safetensors data file. */
  readonly data: string;
  readonly classes?: readonly number[];
  /** Validation images per class held out of the training split (ignored with `valData`). */
  readonly valPerClass: number;
  readonly trainPerClass?: number;
  /** A validation data file instead of the held-out images. */
  readonly valData?: string;
  /** Images of the fitness set: a seeded sample of the training images. */
  readonly fitnessSize: number;
  readonly seed: number;
  /** Score the test split of a built-in data set (default true). */
  readonly test?: boolean;
  /** A test data file. */
  readonly testData?: string;
}

/** The image sets of a CADE run. */
export interface CadeData {
  /** Class count (`classes`' length, else the highest label + 1). */
  readonly classes: number;
  readonly train: ImageSet;
  readonly val: ImageSet;
  /** Where the fitness images are (for workers: data, split, classes and indices). */
  readonly fitnessRef: FitnessSetRef;
  readonly fitnessSet: ImageSet;
  readonly test: ImageSet | null;
}

/**
 * The data of a CADE run: the training split of `data` with validation held out per class (or `valData`), the
 * fitness set sampled from the rest with the seed, and the test set (`testData`, else a built-in data set's
 * test split unless `test` is false). An empty validation set or a fitness set larger than the training images
 * is a {@link SnnConfigError}.
 */
export async function loadCadeData(o: CadeDataOptions, name: OptionName = asIs): Promise<CadeData> {
  const builtin = isBuiltinDataset(o.data);
  const pool = await loadClassPool(o.data, "train", o.classes, name);
  const split = splitPerClass(pool.set, {
    valPerClass: o.valData ? 0 : o.valPerClass,
    trainPerClass: o.trainPerClass,
    seed: o.seed,
  });
  const train = subset(pool.set, split.train);
  const withClasses = (s: ImageSet) => (o.classes ? selectClasses(s, o.classes) : s);
  const val = o.valData ? withClasses(await loadImageFile(o.valData)) : subset(pool.set, split.val);
  if (val.count === 0)
    throw new SnnConfigError(`the validation set is empty (${name("valPerClass")} or ${name("valData")})`);
  if (o.fitnessSize > train.count)
    throw new SnnConfigError(
      `${name("fitnessSize")} ${o.fitnessSize} exceeds the ${train.count} training images`,
    );
  const picked = new Rng(`fitness-${o.seed}`).sampleWithoutReplacement(train.count, o.fitnessSize);
  const fitnessRef: FitnessSetRef = {
    data: builtin ? o.data : resolve(o.data),
    split: "train",
    classes: o.classes ?? null,
    indices: Array.from(picked, (k) => split.train[k]!),
  };
  const fitnessSet = subset(pool.set, fitnessRef.indices!);
  let test: ImageSet | null = null;
  if (o.testData) test = withClasses(await loadImageFile(o.testData));
  else if (o.test !== false && builtin) test = (await loadClassPool(o.data, "test", o.classes, name)).set;
  return { classes: pool.classes, train, val, fitnessRef, fitnessSet, test };
}
