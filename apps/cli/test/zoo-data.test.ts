import { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IMAGE_SIZE, loadFashion, loadMnist } from "../src/zoo/data.js";
import { applyTransform, buildZooData, TASKS } from "../src/zoo/tasks.js";

describe("zoo data", () => {
  it("reads all 10,000 MNIST digits with the documented per-class counts", () => {
    const m = loadMnist();
    expect(m.count).toBe(10000);
    const counts = new Array(10).fill(0);
    for (const l of m.labels) counts[l]++;
    expect(counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of m.images) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBe(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi).toBeGreaterThan(0.9);
  });

  it("reads Fashion-MNIST past the package's broken 8-per-class accessors, scaled to [0, 1]", () => {
    const f = loadFashion(50);
    expect(f.count).toBe(500);
    for (let c = 0; c < 10; c++) expect(f.labels.filter((l) => l === c).length).toBe(50);
    // Image 20 of a class is distinct from image 0 (the broken accessor repeats the first 8).
    const a = f.images.subarray(0, IMAGE_SIZE);
    const b = f.images.subarray(20 * IMAGE_SIZE, 21 * IMAGE_SIZE);
    expect(a.some((v, i) => v !== b[i])).toBe(true);
    expect(Math.max(...f.images.subarray(0, 50 * IMAGE_SIZE))).toBeLessThanOrEqual(1);
  });

  it("reads every Fashion-MNIST class in full, skipping the two empty class-0 samples", () => {
    const f = loadFashion(7000);
    expect(f.count).toBe(70_000);
    for (let c = 0; c < 10; c++) expect(f.labels.filter((l) => l === c).length).toBe(7000);
    // No image is blank: the empty entries of the package's class-0 file were skipped, not zero-filled.
    for (let k = 0; k < f.count; k += 997) {
      expect(f.images.subarray(k * IMAGE_SIZE, (k + 1) * IMAGE_SIZE).some((v) => v > 0)).toBe(true);
    }
    expect(() => loadFashion(7001)).toThrow(/has 7000 non-empty samples, 7001 requested/);
  });

  it("builds 8 tasks whose splits are disjoint within and across tasks and reproducible per seed", () => {
    const sizes = { train: 60, val: 20, test: 30, pretrainPerSource: 40 };
    const a = buildZooData(8, sizes, 7);
    const b = buildZooData(8, sizes, 7);
    const c = buildZooData(8, sizes, 8);
    expect(a.tasks.map((t) => t.spec.name)).toEqual(TASKS.map((t) => t.name));
    for (let k = 0; k < 8; k++) {
      expect(a.tasks[k]!.train.images).toEqual(b.tasks[k]!.train.images);
      expect(a.tasks[k]!.test.labels).toEqual(b.tasks[k]!.test.labels);
    }
    expect(a.tasks[0]!.train.images).not.toEqual(c.tasks[0]!.train.images);
    // Untransformed tasks of one source: no image appears twice anywhere (identity copies of source images).
    const seen = new Set<string>();
    for (const t of a.tasks.filter((x) => x.spec.transform === "identity")) {
      for (const set of [t.train, t.val, t.test]) {
        for (let i = 0; i < set.count; i++) {
          const key = `${t.spec.source}:${hashImage(set.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE))}`;
          expect(seen.has(key)).toBe(false);
          seen.add(key);
        }
      }
    }
    for (const t of a.tasks) {
      expect(t.train.count).toBe(60);
      expect(t.val.count).toBe(20);
      expect(t.test.count).toBe(30);
      expect(Math.max(...t.train.labels)).toBeLessThan(t.spec.numClasses);
    }
    expect(a.pretrain.count).toBe(80);
    expect(new Set(a.pretrain.labels).size).toBeGreaterThan(10);
  });

  it("rejects configurations that need more MNIST images than exist", () => {
    expect(() => buildZooData(8, { train: 3000, val: 10, test: 10, pretrainPerSource: 10 }, 1)).toThrow(
      /MNIST has 10000/,
    );
    expect(() => buildZooData(9, { train: 1, val: 1, test: 1, pretrainPerSource: 1 }, 1)).toThrow(/1\.\.8/);
  });

  it("transforms: rotate90 four times is the identity, invert is an involution, permute preserves the pixel multiset", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const rng = new Rng(seed);
        const x = rng.fillUniform(new Float32Array(IMAGE_SIZE)) as Float32Array;
        let y = x;
        for (let r = 0; r < 4; r++) {
          const z = new Float32Array(IMAGE_SIZE);
          applyTransform("rotate90", y, z, rng);
          y = z;
        }
        expect(y).toEqual(x);
        const inv = new Float32Array(IMAGE_SIZE);
        const back = new Float32Array(IMAGE_SIZE);
        applyTransform("invert", x, inv, rng);
        applyTransform("invert", inv, back, rng);
        for (let i = 0; i < IMAGE_SIZE; i++) expect(back[i]).toBeCloseTo(x[i]!, 6);
        const perm = new Rng(seed + 1).permutation(IMAGE_SIZE);
        const p = new Float32Array(IMAGE_SIZE);
        applyTransform("permute", x, p, rng, perm);
        expect([...p].sort()).toEqual([...x].sort());
      }),
      { numRuns: 20 },
    );
  });

  it("rotate90 moves the top-left pixel to the top-right corner (clockwise)", () => {
    const x = new Float32Array(IMAGE_SIZE);
    x[0] = 1;
    const y = new Float32Array(IMAGE_SIZE);
    applyTransform("rotate90", x, y, new Rng(1));
    expect(y[27]).toBe(1);
    expect(y.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it("noise stays in [0, 1] and changes the image", () => {
    const m = loadMnist();
    const x = m.images.subarray(0, IMAGE_SIZE);
    const y = new Float32Array(IMAGE_SIZE);
    applyTransform("noise", x, y, new Rng(3));
    expect(Math.min(...y)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...y)).toBeLessThanOrEqual(1);
    expect(y.some((v, i) => Math.abs(v - x[i]!) > 0.1)).toBe(true);
  });
});

function hashImage(a: Float32Array): string {
  let h = 2166136261;
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (const v of u) h = Math.imul(h ^ v, 16777619);
  return (h >>> 0).toString(16);
}
