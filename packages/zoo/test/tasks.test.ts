import { IMAGE_SIZE, loadMnist } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyTransform, buildZooData, TASKS } from "../src/tasks.js";

describe("zoo data", () => {
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
