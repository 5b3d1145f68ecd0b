// TIES as the PCB repository computes it, against a sort-based transcription.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getMethod, tiesPcbMerge } from "../../src/index.js";
import { flatTasks, runMethod, toyModel } from "./helpers.js";

function naiveTiesPcb(tasks: Float32Array[], K: number): Float32Array {
  const d = tasks[0].length;
  const kf = K > 1 ? K / 100 : K;
  const k = d - Math.trunc(d * kf);
  const trimmed = tasks.map((t) => {
    const kth = Float32Array.from(t, Math.abs).sort()[k - 1]; // torch.kthvalue is 1-based
    return t.map((v) => (Math.abs(v) >= kth ? v : 0));
  });
  const sign = new Array<number>(d);
  for (let c = 0; c < d; c++) {
    let s = 0;
    for (const t of trimmed) s = Math.fround(s + t[c]);
    sign[c] = Math.sign(s);
  }
  const majority = Math.sign(sign.reduce((a, b) => a + b, 0));
  const out = new Float32Array(d);
  for (let c = 0; c < d; c++) {
    const s = sign[c] === 0 ? majority : sign[c];
    let sum = 0;
    let cnt = 0;
    for (const t of trimmed) {
      const keep = s > 0 ? t[c] > 0 : t[c] < 0;
      if (keep) {
        sum = Math.fround(sum + t[c]);
        cnt++;
      }
    }
    out[c] = sum / Math.max(cnt, 1);
  }
  return out;
}

describe("ties variant 'pcb'", () => {
  it("matches the sort-based transcription (ties and zeros included)", () => {
    const v = fc.oneof(
      fc.integer({ min: -4, max: 4 }).map((x) => x / 2),
      fc.float({ min: -1, max: 1, noNaN: true }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 120 }),
        fc.constantFrom(0.05, 0.2, 0.5, 20),
        fc.integer(),
        (n, d, K, seed) => {
          const tasks = Array.from({ length: n }, (_, i) =>
            Float32Array.from(fc.sample(v, { numRuns: d, seed: seed + i })),
          );
          expect(tiesPcbMerge(tasks, { topK: K })).toEqual(naiveTiesPcb(tasks, K));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("keeps ⌊D·K⌋ + 1 entries per task (the reference's off-by-one)", () => {
    const t = Float32Array.from({ length: 100 }, (_, k) => (k + 1) * (k % 2 ? -1 : 1));
    const out = tiesPcbMerge([t], { topK: 0.2 });
    expect(out.filter((x) => x !== 0).length).toBe(21);
  });

  it("zero-sum columns take the majority sign; a zero majority keeps negatives", () => {
    // Column 0 sums to 0; the other columns are positive → majority +, so column 0 averages positives.
    const a = Float32Array.from([1, 2, 2]);
    const b = Float32Array.from([-1, 1, 1]);
    expect(Array.from(tiesPcbMerge([a, b], { topK: 0.99 }))).toEqual([1, 1.5, 1.5]);
    // All columns sum to 0 → majority 0 → the reference's where(s > 0, τ > 0, τ < 0) keeps negatives.
    const c = Float32Array.from([1, -2]);
    const e = Float32Array.from([-1, 2]);
    expect(Array.from(tiesPcbMerge([c, e], { topK: 0.99 }))).toEqual([-1, -2]);
  });

  it("runs whole-model through the registry and equals the flat function", () => {
    const model = toyModel(5, 3, { b: [9], a: [4, 6] });
    const out = runMethod(getMethod("ties"), model, {
      params: { variant: "pcb", lambda: 0.8 },
      modelParams: [0, 1, 2].map(() => ({ density: 0.2 })),
    });
    const tau = tiesPcbMerge(flatTasks(model), { topK: 0.2 });
    const sorted = [...model].sort((x, y) => (x.name < y.name ? -1 : 1));
    let off = 0;
    for (const t of sorted) {
      expect(out.get(t.name)).toEqual(t.base.map((b, k) => b + Math.fround(0.8 * tau[off + k])));
      off += t.base.length;
    }
    expect(() => runMethod(getMethod("ties"), model, { params: { variant: "pcb" } })).toThrow(/density/);
  });
});
