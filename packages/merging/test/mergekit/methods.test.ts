// mergekit's methods that x added (karcher, multislerp, arcee_fusion, ram, ramplus_tl) and the
// near-zero thresholds of sce and nearswap: hand-derived vectors and fast-check invariants.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  getMethod,
  listMethods,
  MergeMethodError,
  type ParamMap,
  resolveParams,
  tensorRng,
} from "../../src/index.js";
import { realisticModel } from "./realistic.js";

interface Run {
  readonly shape?: number[];
  readonly base?: ArrayLike<number>;
  readonly models: ArrayLike<number>[];
  readonly params?: Record<string, unknown>;
  readonly modelParams?: Record<string, unknown>[];
}

function merge(name: string, r: Run): Float32Array {
  const method = getMethod(name);
  const models = r.models.map((m) => Float32Array.from(m));
  const { params, modelParams } = resolveParams(
    method,
    r.params ?? {},
    r.modelParams ?? models.map(() => ({})),
  );
  return method.mergeTensor({
    name: "w",
    shape: r.shape ?? [models[0].length],
    base: r.base === undefined ? undefined : Float32Array.from(r.base),
    models,
    modelParams: modelParams as ParamMap[],
    params,
    rng: tensorRng(0, "w"),
  });
}

function close(actual: ArrayLike<number>, expected: readonly number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) {
    expect(
      Math.abs(actual[k] - expected[k]),
      `index ${k}: ${actual[k]} vs ${expected[k]}`,
    ).toBeLessThanOrEqual(tol);
  }
}

const vec = (len: number) =>
  fc.array(fc.float({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }), {
    minLength: len,
    maxLength: len,
  });

describe("registry metadata (what `x merge` lists)", () => {
  it("has every method of mergekit's registry with mergekit's parameter names and defaults", () => {
    const names = listMethods().map((m) => m.name);
    for (const n of [
      "linear",
      "slerp",
      "nuslerp",
      "multislerp",
      "karcher",
      "passthrough",
      "model_stock",
      "arcee_fusion",
      "task_arithmetic",
      "ties",
      "dare_ties",
      "dare_linear",
      "breadcrumbs",
      "breadcrumbs_ties",
      "della",
      "della_linear",
      "sce",
      "ram",
      "ramplus_tl",
      "nearswap",
    ]) {
      expect(names).toContain(n);
    }
    const defaults = (m: string) =>
      Object.fromEntries(getMethod(m).params.map((p) => [p.name, [p.scope, p.default]]));
    expect(defaults("karcher")).toEqual({ max_iter: ["global", 10], tol: ["global", 1e-5] });
    expect(defaults("multislerp")).toEqual({
      weight: ["model", 1],
      normalize_weights: ["global", true],
      eps: ["global", 1e-8],
    });
    expect(defaults("arcee_fusion")).toEqual({});
    expect(defaults("ram")).toEqual({ epsilon: ["global", 1e-5] });
    expect(defaults("ramplus_tl")).toEqual({
      r: ["global", 0.1],
      alpha: ["global", 0.2],
      epsilon: ["global", 1e-5],
    });
    for (const m of ["karcher", "multislerp", "arcee_fusion", "ram", "ramplus_tl"]) {
      for (const p of getMethod(m).params) expect(p.description.length).toBeGreaterThan(10);
    }
    expect(getMethod("karcher").base).toBe("optional");
    expect(getMethod("multislerp").base).toBe("optional");
    expect(getMethod("arcee_fusion").base).toBe("required");
    expect(getMethod("arcee_fusion").maxModels).toBe(1);
  });
});

describe("ram / ramplus_tl", () => {
  const base = [0, 0, 0, 0];
  const models = [
    [0.1, 0, 0.2, 1e-6],
    [0.3, 0.5, 0, 0],
  ];
  it("adds unique changes, averages shared ones, ignores |δ| ≤ epsilon", () => {
    // pos 0 shared → 0.2; pos 1 only model 2 → 0.5; pos 2 only model 1 → 0.2; pos 3 below ε → 0.
    close(merge("ram", { base, models }), [0.2, 0.5, 0.2, 0], 1e-7);
    // ε above 0.2 leaves pos 2 out and pos 0 unique to model 2.
    close(merge("ram", { base, models, params: { epsilon: 0.25 } }), [0.3, 0.5, 0, 0], 1e-7);
  });

  it("RAM+ scales unique entries by 1 + r·clip(shared/unique, 0, α) per model", () => {
    // Both models: 1 shared and 1 unique entry → ρ = 1 → λ = 1 + 0.1·min(1, 0.2) = 1.02.
    close(merge("ramplus_tl", { base, models }), [0.2, 0.51, 0.204, 0], 1e-7);
    close(merge("ramplus_tl", { base, models, params: { r: 0.5, alpha: 2 } }), [0.2, 0.75, 0.3, 0], 1e-7);
  });

  it("RAM+: a model without unique entries gets ρ = shared/ε, clipped to α", () => {
    const out = merge("ramplus_tl", {
      base: [0, 0, 0],
      models: [
        [1, 1, 0],
        [1, 3, 2],
      ],
      params: { r: 1, alpha: 0.5 },
    });
    // model 1: shared 2, unique 0 (no unique entry to scale); model 2: shared 2, unique 1 → ρ = 2 → λ = 1.5.
    close(out, [1, 2, 3], 1e-6);
  });

  it("one model: the base plus the changes above epsilon; invariant under model order", () => {
    fc.assert(
      fc.property(vec(12), vec(12), vec(12), fc.constantFrom(0, 1e-5, 0.3), (b, m1, m2, eps) => {
        const one = merge("ram", { base: b, models: [m1], params: { epsilon: eps } });
        close(
          one,
          b.map((bk, k) => {
            const d = Math.fround(m1[k]) - Math.fround(bk);
            return Math.fround(Math.abs(d) > eps ? Math.fround(bk) + d : Math.fround(bk));
          }),
          0,
        );
        for (const name of ["ram", "ramplus_tl"]) {
          const ab = merge(name, { base: b, models: [m1, m2], params: { epsilon: eps } });
          const ba = merge(name, { base: b, models: [m2, m1], params: { epsilon: eps } });
          close(ab, Array.from(ba), 1e-6);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("karcher", () => {
  it("two orthogonal points: the geodesic midpoint times the mean norm", () => {
    const h = Math.SQRT1_2;
    close(
      merge("karcher", {
        models: [
          [1, 0],
          [0, 1],
        ],
      }),
      [h, h],
      1e-6,
    );
    close(
      merge("karcher", {
        models: [
          [1, 0],
          [0, 3],
        ],
      }),
      [2 * h, 2 * h],
      1e-6,
    );
  });

  it("points on a great circle: the mean angle (not the normalized Euclidean mean)", () => {
    const deg = Math.PI / 180;
    const pts = [0, 30, 90].map((a) => [Math.cos(a * deg), Math.sin(a * deg), 0]);
    // Karcher mean of angles within a half circle = their arithmetic mean, 40°.
    close(
      merge("karcher", { models: pts, params: { tol: 1e-9, max_iter: 50 } }),
      [Math.cos(40 * deg), Math.sin(40 * deg), 0],
      1e-6,
    );
    // max_iter 0 stops at the start point, the normalized Euclidean mean (≈ 38.8°).
    const start = merge("karcher", { models: pts, params: { max_iter: 0 } });
    const angle = Math.atan2(start[1], start[0]) / deg;
    expect(angle).toBeCloseTo(Math.atan2(1.5, 1 + Math.cos(30 * deg)) / deg, 5);
  });

  it("a zero point is left out of the direction but counts in the mean norm; a given base joins the mean", () => {
    const h = Math.SQRT1_2;
    close(
      merge("karcher", {
        models: [
          [2, 0],
          [0, 2],
          [0, 0],
        ],
      }),
      [(4 / 3) * h, (4 / 3) * h],
      1e-6,
    );
    close(
      merge("karcher", {
        base: [0, 0],
        models: [
          [2, 0],
          [0, 2],
        ],
      }),
      [(4 / 3) * h, (4 / 3) * h],
      1e-6,
    );
    close(
      merge("karcher", {
        models: [
          [0, 0],
          [0, 0],
        ],
      }),
      [0, 0],
      0,
    );
    expect(() =>
      merge("karcher", {
        models: [
          [1, 0],
          [0, 1],
        ],
        params: { max_iter: 2.5 },
      }),
    ).toThrow(MergeMethodError);
  });

  it("near-parallel points (angles ≈ 7e-5 rad): the mean of the small offsets, whatever the scale", () => {
    // Found by the property below: with the angle from arccos(u·û), scaling these inputs by 1.416 moved the
    // mean's small component by 67 % (the float32-rounded cosine cannot resolve such angles).
    const c = [0, 0, 0, 1.5, 0, 0, 0, 0];
    const b = [0, 0, -1e-4, 1.5, 0, 0, 0, 0].map(Math.fround);
    for (const s of [1, 1.4163150200536418, 3]) {
      const out = merge("karcher", {
        models: [c, b, c].map((p) => p.map((v) => v * s)),
        params: { max_iter: 100, tol: 1e-9 },
      });
      // On the sphere, the mean of three nearly parallel points is their Euclidean mean to second order.
      expect(Math.abs(out[2] / s - b[2] / 3)).toBeLessThan(1e-8);
      expect(out[3] / s).toBeCloseTo(1.5, 6);
    }
  });

  it("invariants: identical points, positive scaling, order, norm = mean norm", () => {
    // The mean is unique (and the iteration converges) for points within an open half-sphere; there the
    // result cannot depend on the order of the inputs. Near-antipodal points are ill-posed (in mergekit too).
    const converged = { max_iter: 100, tol: 1e-9 };
    fc.assert(
      fc.property(
        vec(8),
        vec(8),
        vec(8),
        vec(8),
        fc.double({ min: 0.5, max: 4, noNaN: true }),
        (center, da, db, dc, s) => {
          const a = center.map((v, k) => v + 0.3 * da[k]);
          const pts = [a, center.map((v, k) => v + 0.3 * db[k]), center.map((v, k) => v + 0.3 * dc[k])].map(
            (p) => p.map((v) => Math.fround(v)),
          );
          const norms = pts.map((p) => Math.hypot(...p));
          fc.pre(norms.every((n) => n > 1e-2));
          const cos = (p: number[], q: number[]) =>
            p.reduce((x, v, k) => x + v * q[k], 0) / Math.hypot(...p) / Math.hypot(...q);
          fc.pre(cos(pts[0], pts[1]) > 0.2 && cos(pts[0], pts[2]) > 0.2 && cos(pts[1], pts[2]) > 0.2);
          const out = merge("karcher", { models: pts, params: converged });
          const meanNorm = norms.reduce((x, y) => x + y, 0) / 3;
          expect(Math.hypot(...out)).toBeCloseTo(meanNorm, 4);
          close(
            merge("karcher", { models: [pts[2], pts[0], pts[1]], params: converged }),
            Array.from(out),
            1e-5 * (1 + meanNorm),
          );
          const scaled = merge("karcher", { models: pts.map((p) => p.map((v) => v * s)), params: converged });
          close(
            scaled,
            Array.from(out, (v) => v * s),
            1e-5 * (1 + s * meanNorm),
          );
          close(merge("karcher", { models: [a, a, a] }), pts[0], 1e-5 * (1 + norms[0]));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("multislerp", () => {
  it("the normalized weighted mean of the unit vectors, scaled by the weighted mean norm", () => {
    const h = Math.SQRT1_2;
    close(
      merge("multislerp", {
        models: [
          [1, 0],
          [0, 1],
        ],
      }),
      [h, h],
      1e-7,
    );
    // norms 2 and 4, weights 0.25 / 0.75: direction (0.25, 0.75)/‖·‖, length 0.25·2 + 0.75·4 = 3.5.
    const len = Math.hypot(0.25, 0.75);
    close(
      merge("multislerp", {
        models: [
          [2, 0],
          [0, 4],
        ],
        modelParams: [{ weight: 0.25 }, { weight: 0.75 }],
      }),
      [(0.25 / len) * 3.5, (0.75 / len) * 3.5],
      1e-6,
    );
    // With a base: the same on the task vectors, plus the base.
    close(
      merge("multislerp", {
        base: [1, 1],
        models: [
          [2, 1],
          [1, 2],
        ],
      }),
      [1 + h, 1 + h],
      1e-7,
    );
  });

  it("antipodal inputs: two fall back to the linear mix, more are an error; one input is returned", () => {
    close(
      merge("multislerp", {
        models: [
          [1, 0],
          [-1, 0],
        ],
      }),
      [0, 0],
      1e-7,
    );
    expect(() =>
      merge("multislerp", {
        models: [
          [1, 0],
          [-1, 0],
          [1, 0],
          [-1, 0],
        ],
      }),
    ).toThrow(/antipodal/);
    close(merge("multislerp", { base: [5, 5], models: [[1, 2]] }), [1, 2], 0);
    expect(() =>
      merge("multislerp", {
        models: [
          [1, 0],
          [0, 1],
        ],
        modelParams: [{ weight: 1 }, { weight: -1 }],
      }),
    ).toThrow(/sum to 0/);
  });

  it("invariants: identical task vectors, weight scaling, model order", () => {
    fc.assert(
      fc.property(vec(6), vec(6), vec(6), fc.double({ min: 0.1, max: 3, noNaN: true }), (b, x, y, s) => {
        fc.pre(Math.hypot(...x) > 1e-2 && Math.hypot(...y) > 1e-2);
        const same = merge("multislerp", { base: b, models: [x, x] });
        close(
          same,
          x.map((v) => Math.fround(v)),
          1e-5 * (1 + Math.hypot(...x) + Math.hypot(...b)),
        );
        const w = [{ weight: 0.3 }, { weight: 0.9 }];
        const out = merge("multislerp", { base: b, models: [x, y], modelParams: w });
        const scaled = merge("multislerp", {
          base: b,
          models: [x, y],
          modelParams: w.map((m) => ({ weight: m.weight * s })),
        });
        close(scaled, Array.from(out), 1e-5);
        const swapped = merge("multislerp", { base: b, models: [y, x], modelParams: [w[1], w[0]] });
        close(swapped, Array.from(out), 1e-5);
      }),
      { numRuns: 80 },
    );
  });
});

describe("arcee_fusion", () => {
  it("1-D: keeps the changes whose |δ|·KL reaches median + 1.5·IQR", () => {
    const base = new Array(8).fill(0);
    const other = [1, 2, 3, 4, 5, 6, 7, 100].map((v) => v * 1e-3);
    // Importances ∝ |δ| (one KL for the vector): Q1 = 2, median = 4, Q3 = 6 (indices 1, 3, 5 of 7)
    // → threshold 4 + 1.5·4 = 10 → only the last change survives.
    close(merge("arcee_fusion", { base, models: [other] }), [0, 0, 0, 0, 0, 0, 0, Math.fround(0.1)], 0);
  });

  it("2-D: one KL per row; the quantiles span the whole tensor; an unchanged tensor stays the base", () => {
    const base = new Array(16).fill(0);
    const other = [...[1, 2, 3, 4, 5, 7, 8, 100].map((v) => v * 1e-3), ...new Array(8).fill(0)];
    // Importances: row 0 = KL₀·|δ|, row 1 = 0 (no change). Sorted, 8 zeros come first: Q1 (index 3)
    // = median (index 7) = 0, Q3 (index 11) = 4e-3·KL₀ → threshold 6e-3·KL₀ → 7e-3, 8e-3, 0.1 kept.
    const out = merge("arcee_fusion", { shape: [2, 8], base, models: [other] });
    close(out, [0, 0, 0, 0, 0, 7e-3, 8e-3, 0.1, ...new Array(8).fill(0)].map(Math.fround), 0);
    close(merge("arcee_fusion", { shape: [2, 8], base: other, models: [other] }), other.map(Math.fround), 0);
  });

  it("every entry is the base's or the other model's", () => {
    fc.assert(
      fc.property(vec(24), vec(24), (b, o) => {
        const out = merge("arcee_fusion", { shape: [4, 6], base: b, models: [o] });
        out.forEach((v, k) => {
          expect([Math.fround(b[k]), Math.fround(o[k])]).toContain(v);
        });
      }),
      { numRuns: 100 },
    );
  });
});

describe("sce near-zero thresholds (mergekit)", () => {
  it("weights are uniform when Σ mean(δ²) < 1e-6 (full fine-tunes)", () => {
    // mean squares 2.5e-8 and 1.85e-7 → uniform ½, ½. pos 0: (½·2e-4 + ½·6e-4)/1 = 4e-4
    // (normalized weights would give 5.52e-4); pos 1: vote 0 → + → only model 2 → 1e-4.
    close(
      merge("sce", {
        base: [0, 0],
        models: [
          [2e-4, 1e-4],
          [6e-4, -1e-4],
        ],
      }),
      [4e-4, 1e-4],
      1e-10,
    );
  });

  it("the kept-weight divisor is floored at 1e-6", () => {
    // w ∝ [(1 + 1e-12)/2, 2e-12] → w₂ ≈ 4e-12; pos 1 is kept by model 2 only: 2e-6·w₂ / 1e-6 ≈ 8e-12.
    close(
      merge("sce", {
        base: [0, 0],
        models: [
          [1, -1e-6],
          [0, 2e-6],
        ],
      }),
      [1, 8e-12],
      1e-12,
    );
  });

  it("on realistic full fine-tunes most of the merged change depends on the uniform-weight rule", () => {
    const [t] = realisticModel({ seed: 7, dtype: "F32", rms: [1e-4, 3e-4, 6e-4] });
    const got = merge("sce", { shape: t.shape, base: t.base, models: t.models });
    // The rule before the alignment: weights ∝ mean(δ²) normalized, divisor 0 → 1.
    const deltas = t.models.map((m) => Float64Array.from(m, (v, k) => v - t.base[k]));
    const ms = deltas.map((dl) => dl.reduce((s, v) => s + v * v, 0) / dl.length);
    const sum = ms.reduce((a, b) => a + b, 0);
    expect(sum).toBeLessThan(1e-6);
    let differ = 0;
    let changed = 0;
    for (let k = 0; k < t.base.length; k++) {
      const vote = deltas.reduce((s, dl) => s + dl[k], 0) >= 0 ? 1 : -1;
      let mixed = 0;
      let div = 0;
      deltas.forEach((dl, i) => {
        if (Math.sign(dl[k]) === vote) {
          mixed += (dl[k] * ms[i]) / sum;
          div += ms[i] / sum;
        }
      });
      const old = mixed / (div === 0 ? 1 : div);
      const now = got[k] - t.base[k];
      if (old === 0 && now === 0) continue;
      changed++;
      if (Math.abs(now - old) > 0.01 * Math.max(Math.abs(now), Math.abs(old))) differ++;
    }
    // Every entry where more than one model agrees changes by more than 1 %: here 68 % of the merged change.
    expect(differ / changed).toBeGreaterThan(0.5);
  });
});

describe("nearswap distance floor (mergekit)", () => {
  it("floors |θ₀ − θ₁| at 1e-6, so a small t moves near-identical values only t / 1e-6 of the way", () => {
    // t = 1e-7: w = 0.1, 0.05, 0.1 → [5e-8, 1e-7, 0]; before the floor the first entry swapped to 1e-7·…
    close(
      merge("nearswap", { base: [0, 0, 0], models: [[5e-7, 2e-6, 0]], params: { t: 1e-7 } }),
      [5e-8, 1e-7, 0],
      1e-14,
    );
    // t ≥ 1e-6 is unaffected by the floor: w = min(1, t/|d|).
    close(
      merge("nearswap", { base: [0, 0], models: [[5e-7, 4e-6]], params: { t: 2e-6 } }),
      [5e-7, 2e-6],
      1e-13,
    );
    expect(() => merge("nearswap", { base: [0], models: [[1]], params: { t: 0 } })).toThrow(MergeMethodError);
  });
});
