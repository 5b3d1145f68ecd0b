import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  countNaN,
  createSelectScratch,
  quantileByIndex,
  quantileLinear,
  Rng,
  SelectionError,
  selectKth,
  selectKths,
  truncIndex,
} from "../src/index.js";
import { radixSelect } from "../src/select.js";

// Values that stress the key mapping: ties, both zeros, infinities, subnormals, extremes, NaN.
const special = [0, -0, 1, -1, 0.5, -0.5, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38, 2, -2];

const f32Value = fc.oneof(
  { weight: 3, arbitrary: fc.float({ noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom(...special) },
  { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }) },
);
const f64Value = fc.oneof(
  { weight: 3, arbitrary: fc.double({ noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom(...special, 5e-324, -5e-324, 1.7976931348623157e308) },
  { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }) },
);

function sortedCopy<T extends Float32Array | Float64Array>(a: T): T {
  return a.slice().sort() as T;
}

describe("selectKth", () => {
  // Arrays of up to SMALL_SELECT elements take the sorted-copy path in selectKth; radixSelect
  // exercises the O(D) path on the same small inputs.
  const scratch = createSelectScratch();

  it("equals sorted[k] for every k on Float32 arrays (ties, ±0, negatives, tiny arrays)", () => {
    fc.assert(
      fc.property(fc.array(f32Value, { minLength: 1, maxLength: 60 }), (xs) => {
        const a = Float32Array.from(xs);
        const before = a.slice();
        const s = sortedCopy(a);
        const all = Array.from(a, (_, k) => k);
        expect(radixSelect(a, all, scratch).every((v, k) => Object.is(v, s[k]))).toBe(true);
        expect(radixSelect(a, [0])[0]).toBe(s[0]);
        for (let k = 0; k < a.length; k++) expect(Object.is(selectKth(a, k), s[k])).toBe(true);
        expect(a).toEqual(before);
      }),
      { numRuns: 400 },
    );
  });

  it("equals sorted[k] for every k on Float64 arrays", () => {
    fc.assert(
      fc.property(fc.array(f64Value, { minLength: 1, maxLength: 60 }), (xs) => {
        const a = Float64Array.from(xs);
        const s = sortedCopy(a);
        const all = Array.from(a, (_, k) => k);
        expect(radixSelect(a, all, scratch).every((v, k) => Object.is(v, s[k]))).toBe(true);
        for (let k = 0; k < a.length; k++) expect(Object.is(selectKth(a, k), s[k])).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it("ranks NaN (any sign or payload) last, like TypedArray sort", () => {
    const a = new Float32Array([3, Number.NaN, -1, 0, Number.NaN, -0]);
    // A negative quiet NaN with a payload, written through the bit pattern.
    new Uint32Array(a.buffer)[4] = 0xffc00123;
    const s = sortedCopy(a);
    for (let k = 0; k < a.length; k++) {
      expect(Object.is(selectKth(a, k), s[k])).toBe(true);
      expect(Object.is(radixSelect(a, [k])[0], s[k])).toBe(true);
    }
    expect(selectKth(a, 4)).toBeNaN();
    expect(countNaN(a)).toBe(2);

    const b = new Float64Array([2, Number.NaN, -5, Infinity]);
    const bw = new Uint32Array(b.buffer);
    bw[2 * 1 + 1] = 0xfff80000; // negative NaN in Float64
    bw[2 * 1] = 7;
    expect([0, 1, 2, 3].map((k) => selectKth(b, k))).toEqual([-5, 2, Infinity, Number.NaN]);
    expect(radixSelect(b, [0, 1, 2, 3])).toEqual([-5, 2, Infinity, Number.NaN]);
  });

  it("works on subarray views (rows of an n x D layout) without touching neighbours", () => {
    const rng = new Rng(5);
    const n = 3;
    const d = 101;
    const buf = new Float32Array(n * d);
    for (let i = 0; i < buf.length; i++) buf[i] = rng.normal();
    const copy = buf.slice();
    for (let r = 0; r < n; r++) {
      const row = buf.subarray(r * d, (r + 1) * d);
      const s = sortedCopy(row);
      for (const k of [0, 1, 50, 99, 100]) {
        expect(selectKth(row, k)).toBe(s[k]);
        expect(radixSelect(row, [k])[0]).toBe(s[k]);
      }
    }
    expect(buf).toEqual(copy);
    const f64 = new Float64Array(20).map((_, i) => (i * 7919) % 13);
    const view = f64.subarray(5, 15);
    expect(selectKth(view, 3)).toBe(sortedCopy(view)[3]);
    expect(radixSelect(view, [3, 9])).toEqual([sortedCopy(view)[3], sortedCopy(view)[9]]);
  });

  it("is exact on a large array with many ties and a reused scratch buffer", () => {
    const rng = new Rng(11);
    const d = 200_003;
    const a = new Float32Array(d);
    for (let i = 0; i < d; i++) a[i] = i % 3 === 0 ? Math.round(rng.normal() * 4) / 4 : rng.normal() * 1e-3;
    const s = sortedCopy(a);
    // A dirty, oversized scratch buffer must not leak into the result.
    const scratch = new Uint32Array(createSelectScratch().length + 10).fill(12345);
    for (const k of [0, 1, 17, Math.floor(d / 2), d - 2, d - 1, 123_456]) {
      expect(selectKth(a, k, scratch)).toBe(s[k]);
    }
    const b = Float64Array.from(a, (x) => x * Math.PI);
    const sb = sortedCopy(b);
    for (const k of [0, 999, Math.floor(d / 3), d - 1]) expect(selectKth(b, k, scratch)).toBe(sb[k]);
  });

  it("selectKths answers several ranks in one call, in the requested order", () => {
    fc.assert(
      fc.property(
        fc.array(f32Value, { minLength: 1, maxLength: 80 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        (xs, raw) => {
          const a = Float32Array.from(xs);
          const ks = raw.map((r) => r % a.length);
          const s = sortedCopy(a);
          expect(selectKths(a, ks).every((v, i) => Object.is(v, s[ks[i]]))).toBe(true);
          expect(radixSelect(a, ks, scratch).every((v, i) => Object.is(v, s[ks[i]]))).toBe(true);
          const b = Float64Array.from(xs);
          const sb = sortedCopy(b);
          expect(selectKths(b, ks).every((v, i) => Object.is(v, sb[ks[i]]))).toBe(true);
          expect(radixSelect(b, ks, scratch).every((v, i) => Object.is(v, sb[ks[i]]))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("rejects bad ranks, empty input and short scratch with SelectionError", () => {
    const a = new Float32Array([1, 2, 3]);
    expect(() => selectKth(a, 3)).toThrow(SelectionError);
    expect(() => selectKth(a, -1)).toThrow(/out of range/);
    expect(() => selectKth(a, 1.5)).toThrow(SelectionError);
    expect(() => selectKth(new Float32Array(0), 0)).toThrow(/empty/);
    expect(() => radixSelect(a, [0], new Uint32Array(10))).toThrow(/scratch/);
    expect(() => selectKth([1, 2] as unknown as Float32Array, 0)).toThrow(SelectionError);
  });
});

describe("quantile helpers", () => {
  it("truncIndex reproduces the PCB reference index arithmetic (int(D * f + offset) in IEEE double)", () => {
    // Upper clamp index trunc(D(1-q) - 1) and lower trunc(D q) for q = 0.01.
    const cases: [number, number, number][] = [
      [10, 1, 0],
      [100, 1, 1],
      [101, 2, 1],
      [1000, 10, 10],
      [12345, 124, 123],
    ];
    for (const [d, top, bottom] of cases) {
      const hi = truncIndex(d, 1 - 0.01, -1);
      const lo = truncIndex(d, 0.01);
      expect(d - 1 - hi).toBe(top);
      expect(lo).toBe(bottom);
    }
    // 10 * (1 - 0.7) = 3.0000000000000004 -> 3; kept count D - 1 - trunc(D(1-r)).
    expect(truncIndex(10, 1 - 0.7)).toBe(3);
    expect(100 - 1 - truncIndex(100, 1 - 0.1)).toBe(9);
    expect(1000 - 1 - truncIndex(1000, 1 - 0.1)).toBe(99);
    expect(truncIndex(10, 2)).toBe(9);
    expect(() => truncIndex(0, 0.5)).toThrow(SelectionError);
  });

  it("quantileByIndex equals the sort-based reference", () => {
    fc.assert(
      fc.property(
        fc.array(f32Value, { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (xs, f) => {
          const a = Float32Array.from(xs);
          const s = sortedCopy(a);
          const idx = Math.min(a.length - 1, Math.trunc(a.length * f));
          expect(Object.is(quantileByIndex(a, f), s[idx])).toBe(true);
        },
      ),
    );
  });

  it("quantileLinear matches NumPy's default linear interpolation", () => {
    const a = new Float64Array([7, 1, 3, 5]);
    expect(quantileLinear(a, 0)).toBe(1);
    expect(quantileLinear(a, 1)).toBe(7);
    expect(quantileLinear(a, 0.5)).toBe(4);
    expect(quantileLinear(a, 0.25)).toBeCloseTo(2.5, 12);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (xs, q) => {
          const a = Float64Array.from(xs);
          const s = sortedCopy(a);
          const pos = q * (a.length - 1);
          const lo = Math.floor(pos);
          const ref = lo + 1 < a.length ? s[lo] + (s[lo + 1] - s[lo]) * (pos - lo) : s[lo];
          expect(quantileLinear(a, q)).toBe(ref);
        },
      ),
    );
    expect(() => quantileLinear(a, 1.5)).toThrow(SelectionError);
  });
});
