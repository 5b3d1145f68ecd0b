import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { windowsFromSample } from "../../src/pcb/fast/windows.js";

/** The window by its definition, from the sorted sample (the straightforward form). */
function sortedWindow(values: Float32Array, k: number, total: number, width: number) {
  const sorted = values.slice().sort();
  const m = sorted.length;
  const p = Math.min(1, Math.max(0, (k + 0.5) / total));
  const c = Math.floor(p * m);
  const d = Math.ceil(width * (Math.sqrt(m * p * (1 - p)) + 0.7));
  const a = c - d < 0 ? Number.NEGATIVE_INFINITY : sorted[c - d]!;
  const b = c + d >= m ? Number.POSITIVE_INFINITY : sorted[c + d]!;
  let inside = 0;
  let above = 0;
  for (const v of sorted) {
    if (v >= a) {
      above++;
      if (v <= b) inside++;
    }
  }
  return { a, b, share: inside / m, above: above / m };
}

describe("pcb fast path sample windows", () => {
  it("equal the sorted sample's order statistics and shares (ties, several ranks at once)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -40, max: 40 }), { minLength: 1, maxLength: 400 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.constantFrom(0, 0.5, 2, 6),
        (ints, qs, total, width) => {
          // Few distinct values: heavy ties, as in BF16 task vectors.
          const values = Float32Array.from(ints, (x) => x / 8);
          const ks = qs.map((q) => Math.min(total - 1, Math.floor(q * total)));
          const got = windowsFromSample(values, ks, total, width);
          ks.forEach((k, i) => {
            expect(got[i]).toEqual(sortedWindow(values, k, total, width));
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("handles a large sample through the radix selection", () => {
    const values = new Float32Array(70_000);
    let x = 7;
    for (let j = 0; j < values.length; j++) {
      x = (x * 1103515245 + 12345) >>> 0;
      values[j] = ((x >>> 8) % 5000) * 1e-6;
    }
    const ks = [990, 99_000];
    const got = windowsFromSample(values, ks, 100_000, 6);
    ks.forEach((k, i) => {
      expect(got[i]).toEqual(sortedWindow(values, k, 100_000, 6));
    });
    const v0 = values.slice();
    windowsFromSample(values, ks, 100_000, 6);
    expect(values).toEqual(v0); // the sample is left as it was
  });
});
