/** 28x28 grey-scale images stored contiguously; the layout every reader in this package returns. */

export const IMAGE_SIDE = 28;
export const IMAGE_SIZE = IMAGE_SIDE * IMAGE_SIDE;

/** A labelled image set: image i is `images[i*784 .. (i+1)*784)`, row-major 28x28, values in [0, 1]. */
export interface ImageSet {
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** A dataset that cannot be read, or a request it cannot satisfy; the message names the file or the request. */
export class DatasetError extends Error {
  override readonly name = "DatasetError";
}

/** A new set holding the images at `indices` (in that order), copied. */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const n = indices.length;
  const images = new Float32Array(n * IMAGE_SIZE);
  const labels = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= set.count) {
      throw new DatasetError(`subset: index ${i} is outside the set of ${set.count} images`);
    }
    images.set(set.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE), k * IMAGE_SIZE);
    labels[k] = set.labels[i]!;
  }
  return { images, labels, count: n };
}

/**
 * The images whose label is in `classes`, relabelled to their position in `classes` (so a 4-class
 * selection has labels 0..3), in their original order.
 */
export function selectClasses(set: ImageSet, classes: readonly number[]): ImageSet {
  const map = new Int16Array(256).fill(-1);
  classes.forEach((c, k) => {
    if (!Number.isInteger(c) || c < 0 || c > 255) throw new DatasetError(`selectClasses: bad class ${c}`);
    if (map[c] !== -1) throw new DatasetError(`selectClasses: class ${c} listed twice`);
    map[c] = k;
  });
  const picked: number[] = [];
  for (let i = 0; i < set.count; i++) if (map[set.labels[i]!] !== -1) picked.push(i);
  const out = subset(set, picked);
  for (let k = 0; k < out.count; k++) out.labels[k] = map[out.labels[k]!]!;
  return out;
}

/** How many images each label has (index = label). */
export function classCounts(set: ImageSet): number[] {
  const counts: number[] = [];
  for (let i = 0; i < set.count; i++) {
    const l = set.labels[i]!;
    while (counts.length <= l) counts.push(0);
    counts[l]!++;
  }
  return counts;
}
