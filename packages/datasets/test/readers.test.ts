import { describe, expect, it } from "vitest";
import { classCounts, IMAGE_SIZE, loadFashion, loadMnist, selectClasses, subset } from "../src/index.js";

describe("MNIST and Fashion-MNIST readers", () => {
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

  it("subset copies the chosen images in order; selectClasses relabels by position", () => {
    const m = loadMnist();
    const s = subset(m, [5, 0, 5]);
    expect(s.count).toBe(3);
    expect(s.images.subarray(0, IMAGE_SIZE)).toEqual(m.images.subarray(5 * IMAGE_SIZE, 6 * IMAGE_SIZE));
    expect(s.images.subarray(2 * IMAGE_SIZE)).toEqual(s.images.subarray(0, IMAGE_SIZE));
    expect(() => subset(m, [10000])).toThrow(/outside the set of 10000/);
    const sel = selectClasses(m, [7, 1]);
    expect(classCounts(sel)).toEqual([1070, 1127]);
    expect(classCounts(m)).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    expect(() => selectClasses(m, [1, 1])).toThrow(/listed twice/);
  });
});
