/**
 * The zoo's 8 tasks: different label spaces and input domains built from MNIST and Fashion-MNIST. Every task
 * gets disjoint train / val / test images, and the tasks (and the pretraining set) of one source never share an
 * image, so no test image is seen in training by any expert, the joint model or the backbone.
 */

import { DatasetError, IMAGE_SIDE, IMAGE_SIZE, type ImageSet, loadFashion, loadMnist } from "@x/datasets";
import { Rng } from "@x/tensor-core";

/** The dataset a task draws its images from. */
export type SourceName = "mnist" | "fashion";
/** The input-domain change a task applies to its source images. */
export type TransformName = "identity" | "rotate90" | "invert" | "noise" | "permute";

export interface TaskSpec {
  readonly name: string;
  readonly source: SourceName;
  readonly transform: TransformName;
  readonly numClasses: number;
  readonly description: string;
  /** Maps the source class (0..9) to this task's label. */
  readonly label: (sourceClass: number) => number;
}

/** Fashion coarse groups: tops {T-shirt, pullover, coat, shirt}, trouser/dress, footwear, bag. */
const FASHION_COARSE = [0, 1, 0, 1, 0, 2, 0, 2, 3, 2];

export const TASKS: readonly TaskSpec[] = [
  {
    name: "mnist-digits",
    source: "mnist",
    transform: "identity",
    numClasses: 10,
    description: "MNIST digits 0-9",
    label: (c) => c,
  },
  {
    name: "fashion-classes",
    source: "fashion",
    transform: "identity",
    numClasses: 10,
    description: "Fashion-MNIST 10 classes",
    label: (c) => c,
  },
  {
    name: "mnist-rotated",
    source: "mnist",
    transform: "rotate90",
    numClasses: 10,
    description: "MNIST digits rotated 90 degrees",
    label: (c) => c,
  },
  {
    name: "fashion-inverted",
    source: "fashion",
    transform: "invert",
    numClasses: 10,
    description: "Fashion-MNIST with inverted intensities (1 - x)",
    label: (c) => c,
  },
  {
    name: "fashion-coarse",
    source: "fashion",
    transform: "identity",
    numClasses: 4,
    description: "Fashion-MNIST coarse groups (tops, trouser/dress, footwear, bag)",
    label: (c) => FASHION_COARSE[c]!,
  },
  {
    name: "mnist-parity",
    source: "mnist",
    transform: "identity",
    numClasses: 2,
    description: "MNIST digit parity (even / odd)",
    label: (c) => c % 2,
  },
  {
    name: "mnist-noisy",
    source: "mnist",
    transform: "noise",
    numClasses: 10,
    description: "MNIST digits with Gaussian pixel noise (sigma 0.5, clipped)",
    label: (c) => c,
  },
  {
    name: "mnist-permuted",
    source: "mnist",
    transform: "permute",
    numClasses: 10,
    description: "MNIST digits under a fixed pixel permutation",
    label: (c) => c,
  },
];

/** The pretraining objective: 20-way classification of clean images (10 digits, then 10 Fashion classes). */
export const PRETRAIN_CLASSES = 20;

export interface SplitSizes {
  readonly train: number;
  readonly val: number;
  readonly test: number;
  /** Pretraining images from each source. */
  readonly pretrainPerSource: number;
}

export interface TaskData {
  readonly spec: TaskSpec;
  readonly train: ImageSet;
  readonly val: ImageSet;
  readonly test: ImageSet;
}

export interface ZooData {
  readonly tasks: TaskData[];
  readonly pretrain: ImageSet;
}

/** The pixel permutation of "mnist-permuted" is part of the task definition, identical for every zoo seed. */
const PERMUTE_SEED = 0x5eed_0007;
const NOISE_STD = 0.5;

export function taskByName(name: string): TaskSpec {
  const t = TASKS.find((x) => x.name === name);
  if (!t) throw new DatasetError(`unknown task '${name}' (known: ${TASKS.map((x) => x.name).join(", ")})`);
  return t;
}

/** Builds the train/val/test splits of the first `numTasks` tasks plus the pretraining set, all seeded. */
export function buildZooData(numTasks: number, sizes: SplitSizes, seed: number): ZooData {
  if (!Number.isInteger(numTasks) || numTasks < 1 || numTasks > TASKS.length) {
    throw new DatasetError(`number of tasks must be 1..${TASKS.length}, got ${numTasks}`);
  }
  const specs = TASKS.slice(0, numTasks);
  const perTask = sizes.train + sizes.val + sizes.test;
  const need: Record<SourceName, number> = {
    mnist: sizes.pretrainPerSource,
    fashion: sizes.pretrainPerSource,
  };
  for (const s of specs) need[s.source] += perTask;

  const mnist = loadMnist();
  if (need.mnist > mnist.count) {
    throw new DatasetError(`MNIST has ${mnist.count} images, the configuration needs ${need.mnist}`);
  }
  // Loaded per class in file order; a little slack keeps the seeded draw from exhausting one class.
  const fashion = loadFashion(Math.min(7000, Math.ceil(need.fashion / 10) + 100));
  if (need.fashion > fashion.count) {
    throw new DatasetError(
      `Fashion-MNIST has ${fashion.count} images loaded, the configuration needs ${need.fashion}`,
    );
  }
  const rng = new Rng(`zoo-splits-${seed}`);
  const order: Record<SourceName, Uint32Array> = {
    mnist: rng.permutation(mnist.count),
    fashion: rng.permutation(fashion.count),
  };
  const cursor: Record<SourceName, number> = { mnist: 0, fashion: 0 };
  const sets: Record<SourceName, ImageSet> = { mnist, fashion };
  const take = (source: SourceName, n: number): Uint32Array => {
    const idx = order[source].subarray(cursor[source], cursor[source] + n);
    cursor[source] += n;
    return idx;
  };

  const tasks: TaskData[] = [];
  for (const spec of specs) {
    const noiseRng = new Rng(`zoo-noise-${seed}-${spec.name}`);
    const make = (n: number) => materialize(sets[spec.source], take(spec.source, n), spec, noiseRng);
    tasks.push({ spec, train: make(sizes.train), val: make(sizes.val), test: make(sizes.test) });
  }
  const pretrain = pretrainSet(
    mnist,
    take("mnist", sizes.pretrainPerSource),
    fashion,
    take("fashion", sizes.pretrainPerSource),
  );
  return { tasks, pretrain };
}

function pretrainSet(mnist: ImageSet, mi: Uint32Array, fashion: ImageSet, fi: Uint32Array): ImageSet {
  const count = mi.length + fi.length;
  const images = new Float32Array(count * IMAGE_SIZE);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const [set, idx, offset] of [
    [mnist, mi, 0],
    [fashion, fi, 10],
  ] as const) {
    for (let k = 0; k < idx.length; k++, at++) {
      const src = idx[k]!;
      images.set(set.images.subarray(src * IMAGE_SIZE, (src + 1) * IMAGE_SIZE), at * IMAGE_SIZE);
      labels[at] = set.labels[src]! + offset;
    }
  }
  return { images, labels, count };
}

let permutationCache: Uint32Array | undefined;
function pixelPermutation(): Uint32Array {
  permutationCache ??= new Rng(PERMUTE_SEED).permutation(IMAGE_SIZE);
  return permutationCache;
}

/** Copies the selected source images into a new set, applying the task's transform and label map. */
export function materialize(src: ImageSet, idx: Uint32Array, spec: TaskSpec, noiseRng: Rng): ImageSet {
  const n = idx.length;
  const images = new Float32Array(n * IMAGE_SIZE);
  const labels = new Uint8Array(n);
  const perm = spec.transform === "permute" ? pixelPermutation() : undefined;
  for (let k = 0; k < n; k++) {
    const s = idx[k]!;
    const from = src.images.subarray(s * IMAGE_SIZE, (s + 1) * IMAGE_SIZE);
    const to = images.subarray(k * IMAGE_SIZE, (k + 1) * IMAGE_SIZE);
    applyTransform(spec.transform, from, to, noiseRng, perm);
    labels[k] = spec.label(src.labels[s]!);
  }
  return { images, labels, count: n };
}

export function applyTransform(
  t: TransformName,
  from: Float32Array,
  to: Float32Array,
  rng: Rng,
  perm?: Uint32Array,
): void {
  switch (t) {
    case "identity":
      to.set(from);
      return;
    case "invert":
      for (let i = 0; i < IMAGE_SIZE; i++) to[i] = 1 - from[i]!;
      return;
    case "rotate90":
      // Clockwise: output (r, c) takes input (S-1-c, r).
      for (let r = 0; r < IMAGE_SIDE; r++) {
        for (let c = 0; c < IMAGE_SIDE; c++)
          to[r * IMAGE_SIDE + c] = from[(IMAGE_SIDE - 1 - c) * IMAGE_SIDE + r]!;
      }
      return;
    case "noise":
      for (let i = 0; i < IMAGE_SIZE; i++) {
        const v = from[i]! + rng.normal(0, NOISE_STD);
        to[i] = Math.min(Math.max(v, 0), 1);
      }
      return;
    case "permute":
      for (let i = 0; i < IMAGE_SIZE; i++) to[i] = from[perm![i]!]!;
      return;
  }
}
