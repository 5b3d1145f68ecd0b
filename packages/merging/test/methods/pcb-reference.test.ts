// PCB reference mode against a dense, sort-based implementation written straight from the steps of docs/pcb.md
// (same float32 rounding order, so results must be bit-identical), plus property tests for the
// index rules and quirks listed there.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getMethod, PcbError, type PcbInter, pcbMerge, pcbPrepare } from "../../src/index.js";
import { runMethod, toyModel } from "./helpers.js";

const f = Math.fround;
// torch.sign: (0 < x) − (x < 0), so sign(−0) = +0.
const sign = (x: number) => (x > 0 ? 1 : 0) - (x < 0 ? 1 : 0);

/** Straightforward PCB: full sorts, explicit MinMax/QClamp, no shortcuts. */
function naivePcb(
  tasks: Float32Array[],
  r: number,
  q: number,
  inter: PcbInter,
  lambdas?: number[],
): { tau: Float32Array; clamped: Float32Array[]; weights: Float32Array[] } {
  const n = tasks.length;
  const D = tasks[0].length;
  const sortedOf = (x: Float32Array) => Float32Array.from(x).sort();
  const qclamp = (x: Float32Array, a: number, b: number) => {
    const s = sortedOf(x);
    const lo = s[Math.trunc(D * a)];
    const hi = s[Math.trunc(D * (1 - b) - 1)];
    return x.map((v) => Math.min(Math.max(v, lo), hi));
  };
  const minmax = (x: Float32Array) => {
    let mn = Number.POSITIVE_INFINITY;
    let mx = Number.NEGATIVE_INFINITY;
    for (const v of x) {
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
    }
    const range = f(mx - mn);
    return x.map((v) => f(f(v - mn) / range));
  };
  const A = tasks.map((t) => qclamp(t.map(Math.abs), q, q));
  const clamped = tasks.map((t, i) => t.map((v, k) => sign(v) * A[i][k]));
  const Ahat = A.map(minmax);
  const S = tasks.map((t, i) => t.map((v, k) => sign(v) * Ahat[i][k]));
  const B = tasks.map((t, i) =>
    t.map((v, k) => {
      const intra = f(Math.exp(f(n * f(Ahat[i][k] * Ahat[i][k]))));
      let c: number;
      if (inter === "pairwise") {
        c = 0;
        for (let j = 0; j < n; j++) c = f(c + f(Math.tanh(f(S[i][k] * S[j][k]))));
      } else {
        let col = 0;
        for (let j = 0; j < n; j++) col = f(col + (inter === "canonical" ? tasks[j][k] : S[j][k]));
        c = f(Math.tanh(f(v * col)));
      }
      return f(intra * c);
    }),
  );
  const weights = B.map((b) => minmax(qclamp(b, 1 - r, 0)));
  const tau = new Float32Array(D);
  for (let k = 0; k < D; k++) {
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) {
      num = f(num + f(f(lambdas?.[i] ?? 1) * f(clamped[i][k] * weights[i][k])));
      den = f(den + weights[i][k]);
    }
    tau[k] = f(num / (den > 1e-12 || Number.isNaN(den) ? den : f(1e-12)));
  }
  return { tau, clamped, weights };
}

const taskMatrix = (values: fc.Arbitrary<number>, maxN = 4, maxD = 160) =>
  fc
    .record({ n: fc.integer({ min: 1, max: maxN }), d: fc.integer({ min: 1, max: maxD }) })
    .chain(({ n, d }) =>
      fc.array(fc.array(values, { minLength: d, maxLength: d }), { minLength: n, maxLength: n }),
    )
    .map((rows) => rows.map((r) => Float32Array.from(r)));

// Continuous values and a coarse grid (many ties and exact zeros).
const continuous = fc.float({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true });
const grid = fc.integer({ min: -6, max: 6 }).map((v) => v / 4);
const inters: PcbInter[] = ["canonical", "vision", "pairwise"];

describe("PCB reference vs the sort-based implementation", () => {
  for (const inter of inters) {
    it(`is bit-identical (${inter}), NaN behaviour included`, () => {
      fc.assert(
        fc.property(
          taskMatrix(fc.oneof(continuous, grid)),
          fc.constantFrom(0.05, 0.1, 0.2, 0.5, 0.7, 1),
          fc.constantFrom(0, 1e-4, 0.01, 0.1),
          (tasks, r, q) => {
            const lambdas = tasks.map((_, i) => 0.5 + i * 0.25);
            const want = naivePcb(tasks, r, q, inter, lambdas);
            const p = pcbPrepare(tasks, {
              ratio: r,
              clampQuantile: q,
              inter,
              nanGuard: "off",
              keepIntermediates: true,
            });
            expect(p.intermediates!.clamped).toEqual(want.clamped);
            expect(p.intermediates!.weights).toEqual(want.weights);
            expect(p.combine(lambdas)).toEqual(want.tau);
          },
        ),
        { numRuns: 150 },
      );
    });
  }
});

describe("PCB index rules and quirks (docs/pcb.md)", () => {
  const distinct = (d: number, seed: number) => {
    // |values| are distinct: a shuffled ramp with random signs.
    const v = new Float32Array(d);
    let s = seed;
    for (let k = 0; k < d; k++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      v[k] = (k + 1) * (s & 1 ? 1 : -1);
    }
    for (let k = d - 1; k > 0; k--) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const j = s % (k + 1);
      [v[k], v[j]] = [v[j], v[k]];
    }
    return v;
  };

  it("quirk 1: clamps ⌈qD⌉ or qD values at the top and ⌊qD⌋ at the bottom", () => {
    const cases: [number, number, number][] = [
      [10, 1, 0],
      [100, 1, 1],
      [101, 2, 1],
      [1000, 10, 10],
      [12345, 124, 123],
    ];
    for (const [d, top, bottom] of cases) {
      const t = distinct(d, d);
      const p = pcbPrepare([t], { clampQuantile: 0.01, nanGuard: "off", keepIntermediates: true });
      const c = p.intermediates!.clamped[0];
      let changedTop = 0;
      let changedBottom = 0;
      for (let k = 0; k < d; k++) {
        if (Math.abs(c[k]) < Math.abs(t[k])) changedTop++;
        if (Math.abs(c[k]) > Math.abs(t[k])) changedBottom++;
      }
      // The clamp bound itself is not changed, so "clamped" counts values strictly beyond it.
      expect([d, changedTop, changedBottom]).toEqual([d, top, bottom]);
    }
  });

  it("quirk 1 (property): ⌊D(1−q)−1⌋ / ⌊Dq⌋ index rules for any D and q", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.constantFrom(1e-4, 0.003, 0.01, 0.05, 0.2),
        (d, q) => {
          const t = distinct(d, d + 17);
          const p = pcbPrepare([t], { clampQuantile: q, nanGuard: "on", keepIntermediates: true });
          const c = p.intermediates!.clamped[0];
          let top = 0;
          let bottom = 0;
          for (let k = 0; k < d; k++) {
            if (Math.abs(c[k]) < Math.abs(t[k])) top++;
            if (Math.abs(c[k]) > Math.abs(t[k])) bottom++;
          }
          expect(top).toBe(d - 1 - Math.trunc(d * (1 - q) - 1));
          expect(bottom).toBe(Math.trunc(d * q));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("quirk 2: D − 1 − ⌊D(1−r)⌋ non-zero weights per row; ties with the threshold get 0", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 400 }), fc.constantFrom(0.05, 0.1, 0.3, 0.5, 0.9), (d, r) => {
        const t = distinct(d, d * 7 + 1);
        const p = pcbPrepare([t], { ratio: r, nanGuard: "on", keepIntermediates: true });
        const nonZero = p.intermediates!.weights[0].filter((w) => w > 0).length;
        const kept = d - 1 - Math.trunc(d * (1 - r));
        // With a single task B = exp(MinMax(A)²)·tanh(τ²) > 0 is monotone in |τ| but may tie after
        // float32 rounding; W > 0 exactly for scores strictly above the threshold.
        const b = p.intermediates!.scores[0];
        const thr = Float32Array.from(b).sort()[Math.trunc(d * (1 - r))];
        expect(nonZero).toBe(b.filter((x) => x > thr).length);
        expect(nonZero).toBeLessThanOrEqual(kept);
      }),
      { numRuns: 100 },
    );
    expect(
      pcbPrepare([distinct(100, 3)], {
        ratio: 0.1,
        keepIntermediates: true,
      }).intermediates!.weights[0].filter((w) => w > 0).length,
    ).toBe(9);
    expect(
      pcbPrepare([distinct(1000, 3)], {
        ratio: 0.1,
        keepIntermediates: true,
      }).intermediates!.weights[0].filter((w) => w > 0).length,
    ).toBe(99);
  });

  it("quirk 3: index arithmetic in IEEE double (10·(1−0.7) → 3)", () => {
    // 10 * (1 - 0.7) = 3.0000000000000004 → drop index 3 → 6 entries above it are weighted.
    const t = distinct(10, 5);
    const p = pcbPrepare([t], { ratio: 0.7, nanGuard: "on", keepIntermediates: true });
    const b = p.intermediates!.scores[0];
    const thr = Float32Array.from(b).sort()[3];
    expect(p.score.threshold[0]).toBe(thr);
    expect(p.intermediates!.weights[0].filter((w) => w > 0).length).toBe(6);
  });

  it("quirk 4: a constant row is NaN with nan_guard off, an error by default, finite with the guard", () => {
    const zero = new Float32Array(20);
    const other = distinct(20, 9).map((v) => v / 10);
    const off = pcbMerge([zero, other], { ratio: 0.3, nanGuard: "off" });
    expect(off.every((v) => Number.isNaN(v))).toBe(true);
    expect(() => pcbMerge([zero, other], { ratio: 0.3 })).toThrow(PcbError);
    expect(() => pcbMerge([zero, other], { ratio: 0.3 })).toThrow(/task 0/);
    const p = pcbPrepare([zero, other], { ratio: 0.3, nanGuard: "on", keepIntermediates: true });
    const on = p.combine();
    expect(on.every((v) => Number.isFinite(v))).toBe(true);
    // The guarded zero task gets W = 0, so every kept parameter takes the other task's clamped value.
    const { weights, clamped } = p.intermediates!;
    expect(weights[0].every((w) => w === 0)).toBe(true);
    for (let k = 0; k < on.length; k++) {
      expect(on[k]).toBeCloseTo(weights[1][k] > 0 ? clamped[1][k] : 0, 6);
    }
  });

  it("quirk 5: parameters kept by no task revert to the base (τ = 0); one keeper gets its full clamped value", () => {
    fc.assert(
      fc.property(taskMatrix(continuous, 4, 120), (tasks) => {
        const lambdas = tasks.map((_, i) => 1 + i);
        const p = pcbPrepare(tasks, { ratio: 0.2, nanGuard: "on", keepIntermediates: true });
        const tau = p.combine(lambdas);
        const { weights, clamped } = p.intermediates!;
        for (let k = 0; k < tau.length; k++) {
          const keepers = weights.map((w, i) => (w[k] > 0 ? i : -1)).filter((i) => i >= 0);
          if (keepers.length === 0) expect(tau[k]).toBe(0);
          const i = keepers[0];
          // ... as long as W exceeds the 1e-12 denominator guard (and T̃·W is a normal float32).
          if (
            keepers.length === 1 &&
            weights[i][k] > 1e-12 &&
            Math.abs(clamped[i][k] * weights[i][k]) > 1e-30
          ) {
            const want = lambdas[i] * clamped[i][k];
            expect(Math.abs(tau[k] - want)).toBeLessThanOrEqual(1e-6 * Math.abs(want));
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("per-task λ multiply the numerator only; W is invariant to λ", () => {
    const tasks = [
      Float32Array.from({ length: 50 }, (_, k) => Math.sin(k + 1)),
      Float32Array.from({ length: 50 }, (_, k) => Math.cos(3 * k)),
      Float32Array.from({ length: 50 }, (_, k) => Math.sin(k * k)),
    ];
    const p = pcbPrepare(tasks, { ratio: 0.3 });
    const one = p.combine([1, 1, 1]);
    const twice = p.combine([2, 2, 2]);
    for (let k = 0; k < one.length; k++) expect(twice[k]).toBeCloseTo(2 * one[k], 6);
    // prepare/combine equals the one-shot merge.
    expect(p.combine([0.8, 1.1, 1.3])).toEqual(pcbMerge(tasks, { ratio: 0.3, lambdas: [0.8, 1.1, 1.3] }));
  });

  it("task order does not matter (λ permuted with the tasks)", () => {
    // Dyadic values keep the canonical variant's float32 column sums exact, so its scores and W are
    // order-independent and only the final weighted sum is reordered. The vision and pairwise
    // variants sum normalized magnitudes / tanh values, whose float32 rounding depends on order: a
    // last-bit change can move an entry across the drop threshold, so for them almost all entries
    // (not necessarily every one) must agree.
    const dyadic = fc.integer({ min: -2048, max: 2048 }).map((v) => v / 1024);
    fc.assert(
      fc.property(taskMatrix(dyadic, 4, 80), (tasks) => {
        const lambdas = tasks.map((_, i) => 0.7 + 0.2 * i);
        const order = tasks.map((_, i) => i).reverse();
        for (const inter of inters) {
          const a = pcbMerge(tasks, { inter, nanGuard: "on", ratio: 0.3, lambdas });
          const b = pcbMerge(
            order.map((i) => tasks[i]),
            { inter, nanGuard: "on", ratio: 0.3, lambdas: order.map((i) => lambdas[i]) },
          );
          let differ = 0;
          for (let k = 0; k < a.length; k++)
            if (Math.abs(a[k] - b[k]) > 1e-6 * (1 + Math.abs(a[k]))) differ++;
          if (inter === "canonical") expect(differ).toBe(0);
          else expect(differ).toBeLessThanOrEqual(Math.max(2, Math.ceil(0.05 * a.length)));
        }
      }),
      { numRuns: 60 },
    );
  });

  it("n identical task vectors give their clamped values where kept and 0 elsewhere", () => {
    const t = Float32Array.from({ length: 200 }, (_, k) => Math.sin(k * 1.7) * (k % 7 === 0 ? 5 : 1));
    const p = pcbPrepare([t, t, t], { ratio: 0.1, keepIntermediates: true });
    const tau = p.combine();
    const { weights, clamped } = p.intermediates!;
    for (let k = 0; k < t.length; k++) {
      const want = weights[0][k] > 0 ? clamped[0][k] : 0;
      expect(Math.abs(tau[k] - want)).toBeLessThanOrEqual(1e-6 * Math.abs(want));
    }
  });
});

describe("float32 tanh shortcut used by the score kernel", () => {
  it("fround(tanh(y)) === y for every float32 |y| < 2^-12 (sampled, plus power-of-two edges)", () => {
    const buf = new Float32Array(1);
    const bits = new Uint32Array(buf.buffer);
    let checked = 0;
    let wrong = 0;
    for (let b = 1; ; b += 4099) {
      bits[0] = b;
      const y = buf[0];
      if (!(y < 2 ** -12)) break;
      if (Math.fround(Math.tanh(y)) !== y || Math.fround(Math.tanh(-y)) !== -y) wrong++;
      checked++;
    }
    expect(wrong).toBe(0);
    for (let e = -126; e < -12; e++) {
      const y = Math.fround(2 ** e * (1 - 2 ** -24));
      expect(Math.fround(Math.tanh(y))).toBe(y);
    }
    expect(checked).toBeGreaterThan(100_000);
  });
});

describe("pcb method through the registry", () => {
  const model = toyModel(11, 3, { "b.bias": [7], "a.weight": [6, 5], "c.norm": [4] });

  it("reference mode equals pcbMerge on the flattened model; θ = θ₀ + λ·τ", () => {
    const method = getMethod("pcb");
    const out = runMethod(method, model, {
      params: { ratio: 0.3, lambda: 1.5 },
      modelParams: [{ weight: 1 }, { weight: 0.5 }, { weight: 2 }],
    });
    const sorted = [...model].sort((a, b) => (a.name < b.name ? -1 : 1));
    const rows = model[0].models.map((_, i) => {
      const parts = sorted.flatMap((t) => Array.from(t.models[i], (v, k) => Math.fround(v - t.base[k])));
      return Float32Array.from(parts);
    });
    const tau = pcbMerge(rows, { ratio: 0.3, lambdas: [1, 0.5, 2] });
    let off = 0;
    for (const t of sorted) {
      const got = out.get(t.name)!;
      const want = t.base.map((b, k) => b + Math.fround(1.5 * tau[off + k]));
      expect(got).toEqual(want);
      off += t.base.length;
    }
  });

  it("per-tensor mode computes statistics per tensor (a different result), bit-identical to pcbMerge", () => {
    const method = getMethod("pcb");
    for (const inter of inters) {
      const params = { ratio: 0.3, mode: "per-tensor", inter, lambda: 0.9 };
      const modelParams = [{ weight: 1.1 }, { weight: 0.7 }, { weight: 1 }];
      const per = runMethod(method, model, { params, modelParams });
      const glob = runMethod(method, model, { params: { ratio: 0.3, inter } });
      for (const t of model) {
        const tasks = t.models.map((m) => m.map((v, k) => v - t.base[k]));
        const tau = pcbMerge(tasks, { ratio: 0.3, inter, lambdas: [1.1, 0.7, 1] });
        expect(per.get(t.name)).toEqual(t.base.map((b, k) => b + Math.fround(0.9 * tau[k])));
      }
      expect(per.get("a.weight")).not.toEqual(glob.get("a.weight"));
    }
  });

  it("rejects bad parameters with named errors", () => {
    const method = getMethod("pcb");
    expect(() => runMethod(method, model, { params: { ratio: 0 } })).toThrow(/ratio/);
    expect(() => runMethod(method, model, { params: { inter: "paper" } })).toThrow(/inter/);
    expect(() => runMethod(method, model, { params: { density: 0.5 } })).toThrow(/unknown parameter/);
  });
});
