// mergekit's generalized task arithmetic family against a straightforward, sort-based
// implementation of mergekit's semantics, plus worked vectors and invariants.

import type { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getMethod, type MergeMethod, MergeMethodError, tensorRng } from "../../src/index.js";
import { expectAllClose, runMethod, type ToyTensor, toyModel } from "./helpers.js";

type Kind = "none" | "magnitude" | "random" | "outliers" | "della";

/** Stable argsort of |x| (ascending), ties by index. */
const argsortAbs = (x: number[]) =>
  x
    .map((v, i) => [Math.abs(v), i] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map(([, i]) => i);

function naiveSparsify(
  delta: number[],
  shape: number[],
  kind: Kind,
  p: { density: number; gamma: number; epsilon: number },
  rescale: false | "l1" | "inverse",
  rng: Rng,
  injected?: Uint8Array,
): number[] {
  const d = delta.length;
  if (kind === "none" || p.density >= 1) return delta;
  let mask = new Array<number>(d).fill(0);
  let probs: number[] | undefined;
  if (kind === "magnitude") {
    const k = Math.trunc(p.density * d);
    if (k <= 0) throw new Error("k > 0");
    // Descending stable order: larger |x| first, ties by lower index.
    const order = delta.map((v, i) => [Math.abs(v), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [, i] of order.slice(0, k)) mask[i] = 1;
  } else if (kind === "outliers") {
    const target = Math.trunc(p.density * d);
    let nTop = Math.trunc(p.gamma * d);
    let nBot = d - target - nTop;
    if (nBot < 0) {
      nTop += nBot;
      nBot = 0;
    }
    const order = argsortAbs(delta);
    // Python: indices[n_bot:-n_top]
    const stop = -nTop < 0 ? d - nTop : Math.min(-nTop, d);
    for (const i of order.slice(nBot, Math.max(nBot, stop))) mask[i] = 1;
  } else if (kind === "random") {
    mask = injected ? Array.from(injected) : delta.map(() => (rng.nextU32() < p.density * 2 ** 32 ? 1 : 0));
  } else {
    const rows = shape.length >= 2 ? shape[0] : 1;
    const cols = d / rows;
    probs = new Array<number>(d);
    for (let r = 0; r < rows; r++) {
      const row = delta.slice(r * cols, (r + 1) * cols);
      argsortAbs(row).forEach((c, rank) => {
        const norm = cols > 1 ? rank / (cols - 1) : 0.5;
        probs![r * cols + c] = Math.fround(p.density - p.epsilon + norm * 2 * p.epsilon);
      });
    }
    mask = injected ? Array.from(injected) : probs.map((q) => (rng.nextU32() < q * 2 ** 32 ? 1 : 0));
  }
  const masked = delta.map((v, i) => v * mask[i]);
  if (!rescale) return masked;
  if (rescale === "inverse") return masked.map((v, i) => v / (probs ? probs[i] : p.density));
  const before = delta.reduce((s, v) => s + Math.abs(Math.fround(v)), 0);
  const after = masked.reduce((s, v) => s + Math.abs(v), 0);
  if (before < 1e-7 || after < 1e-7) return masked;
  return masked.map((v) => v * (before / after));
}

interface NaiveCfg {
  kind: Kind;
  consensus: boolean;
  normalize: boolean;
  rescale: false | "l1" | "inverse";
  lambda: number;
}

function naiveGta(
  t: ToyTensor,
  cfg: NaiveCfg,
  mp: { weight: number; density: number; gamma: number; epsilon: number }[],
  rng: Rng,
  masks?: Uint8Array[],
): Float32Array {
  const d = t.base.length;
  const deltas = t.models.map((m, i) =>
    naiveSparsify(
      Array.from(m, (v, k) => Math.fround(v - t.base[k])),
      t.shape,
      cfg.kind,
      mp[i],
      cfg.rescale,
      rng,
      masks?.[i],
    ).map((v) => Math.fround(v)),
  );
  const out = new Float32Array(d);
  for (let k = 0; k < d; k++) {
    const wd = deltas.map((dl, i) => mp[i].weight * dl[k]);
    let mixed: number;
    let divisor: number;
    if (cfg.consensus) {
      const elected = wd.reduce((s, v) => s + v, 0) >= 0 ? 1 : -1;
      const keep = wd.map((v) => Math.sign(v) === elected);
      mixed = wd.reduce((s, v, i) => s + (keep[i] ? v : 0), 0);
      divisor = mp.reduce((s, p, i) => s + (keep[i] ? p.weight : 0), 0);
      if (divisor === 0) divisor = 1;
    } else {
      mixed = wd.reduce((s, v) => s + v, 0);
      divisor = mp.reduce((s, p) => s + p.weight, 0);
      if (Math.abs(divisor) < 1e-8) divisor = 1;
    }
    if (cfg.normalize) mixed /= divisor;
    out[k] = t.base[k] + cfg.lambda * mixed;
  }
  return out;
}

const METHODS: Record<string, { kind: Kind; consensus: boolean; normalize: boolean; rescale: boolean }> = {
  task_arithmetic: { kind: "none", consensus: false, normalize: false, rescale: false },
  ties: { kind: "magnitude", consensus: true, normalize: true, rescale: false },
  dare_linear: { kind: "random", consensus: false, normalize: false, rescale: true },
  dare_ties: { kind: "random", consensus: true, normalize: false, rescale: true },
  breadcrumbs: { kind: "outliers", consensus: false, normalize: false, rescale: false },
  breadcrumbs_ties: { kind: "outliers", consensus: true, normalize: false, rescale: false },
  della: { kind: "della", consensus: true, normalize: true, rescale: true },
  della_linear: { kind: "della", consensus: false, normalize: false, rescale: true },
};

describe("generalized task arithmetic vs the straightforward mergekit semantics", () => {
  for (const [name, def] of Object.entries(METHODS)) {
    it(`${name}: matches the dense reference (defaults and toggled options)`, () => {
      const method = getMethod(name);
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 1000 }),
          fc.integer({ min: 1, max: 4 }),
          fc.constantFrom<number[]>([24], [6, 5], [3, 4, 2], [1], [7, 1]),
          fc.boolean(),
          fc.constantFrom("l1", "inverse"),
          fc.constantFrom(0.3, 0.5, 0.8),
          (seed, n, shape, toggle, rescaleMode, density) => {
            const model = toyModel(seed, n, { t: shape });
            const t = model[0];
            const d = t.base.length;
            const epsilon = Math.min(0.1, density / 2, (1 - density) / 2);
            const mp = Array.from({ length: n }, (_, i) => ({
              weight: 0.5 + 0.4 * i,
              density,
              gamma: 0.1,
              epsilon,
            }));
            const kindNeedsK = def.kind === "magnitude" && Math.trunc(density * d) === 0;
            fc.pre(!kindNeedsK);
            const normalize = toggle ? !def.normalize : def.normalize;
            const rescale = toggle ? !def.rescale : def.rescale;
            const params = { normalize, rescale, rescale_mode: rescaleMode, lambda: 1.25 };
            const modelParams = mp.map(({ weight, density, gamma, epsilon }) => {
              const o: Record<string, number> = { weight, density };
              if (def.kind === "outliers") o.gamma = gamma;
              if (def.kind === "della") o.epsilon = epsilon;
              return o;
            });
            const got = runMethod(method, model, { params, modelParams, seed }).get("t")!;
            const want = naiveGta(
              t,
              {
                kind: def.kind,
                consensus: def.consensus,
                normalize,
                rescale: rescale && (rescaleMode as "l1" | "inverse"),
                lambda: 1.25,
              },
              mp,
              tensorRng(seed, "t"),
            );
            expectAllClose(got, want, 2e-6, name);
          },
        ),
        { numRuns: 60 },
      );
    });
  }
});

describe("worked vectors", () => {
  const tensor = (base: number[], ...models: number[][]): ToyTensor[] => [
    {
      name: "w",
      shape: [base.length],
      base: Float32Array.from(base),
      models: models.map((m) => Float32Array.from(m)),
    },
  ];

  it("ties (mergekit): sign ties go to +, zeros never vote, normalize by agreeing weights", () => {
    const model = tensor([0, 0, 0, 0], [1, -2, 0.5, 0], [-1, 1, 0.5, 3]);
    // Σ = [0, −1, 1, 3] → elected [+, −, +, +]; kept [1 | −2 | 0.5, 0.5 | 3].
    expect(Array.from(runMethod(getMethod("ties"), model).get("w")!)).toEqual([1, -2, 0.5, 3]);
  });

  it("ties (mergekit): k = ⌊density·numel⌋ and the k > 0 assertion", () => {
    const model = tensor([0, 0, 0, 0, 0], [5, -4, 3, -2, 1]);
    const out = runMethod(getMethod("ties"), model, { modelParams: [{ density: 0.5 }] }).get("w")!;
    expect(Array.from(out)).toEqual([5, -4, 0, 0, 0]);
    expect(() => runMethod(getMethod("ties"), model, { modelParams: [{ density: 0.1 }] })).toThrow(
      /keeps no entry/,
    );
    expect(() => runMethod(getMethod("ties"), model, { modelParams: [{ density: 0.1 }] })).toThrow(
      MergeMethodError,
    );
  });

  it("dare: injected masks with L1 (mergekit) and 1/p (paper) rescaling", () => {
    const model = tensor([0, 0, 0, 0], [1, 2, 3, 4]);
    const aux = () => ({ masks: [Uint8Array.from([1, 0, 0, 1])] });
    const l1 = runMethod(getMethod("dare_linear"), model, { modelParams: [{ density: 0.5 }], aux }).get("w")!;
    expect(Array.from(l1)).toEqual([2, 0, 0, 8]); // ‖δ‖₁ = 10, ‖mask⊙δ‖₁ = 5
    const inv = runMethod(getMethod("dare_linear"), model, {
      modelParams: [{ density: 0.5 }],
      params: { rescale_mode: "inverse" },
      aux,
    }).get("w")!;
    expect(Array.from(inv)).toEqual([2, 0, 0, 8]); // δ / 0.5 where kept
    const none = runMethod(getMethod("dare_linear"), model, {
      modelParams: [{ density: 0.5 }],
      params: { rescale: false },
      aux,
    });
    expect(Array.from(none.get("w")!)).toEqual([1, 0, 0, 4]);
  });

  it("dare: seeded masks keep about `density` of the entries and are reproducible", () => {
    const d = 20000;
    const model = tensor(
      new Array(d).fill(0),
      Array.from({ length: d }, (_, k) => 1 + (k % 3)),
    );
    const run = (seed: number) =>
      runMethod(getMethod("dare_linear"), model, {
        modelParams: [{ density: 0.3 }],
        params: { rescale: false },
        seed,
      }).get("w")!;
    const a = run(7);
    const kept = a.filter((v) => v !== 0).length / d;
    expect(Math.abs(kept - 0.3)).toBeLessThan(0.02);
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);
  });

  it("breadcrumbs: drops the top ⌊γ·numel⌋ and the smallest; mergekit's empty slice when n_top = 0", () => {
    const delta = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const model = tensor(new Array(10).fill(0), delta);
    const out = runMethod(getMethod("breadcrumbs"), model, {
      modelParams: [{ density: 0.5, gamma: 0.1 }],
    }).get("w")!;
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 5, 6, 7, 8, 9, 0]);
    const quirk = runMethod(getMethod("breadcrumbs"), model, {
      modelParams: [{ density: 0.5, gamma: 0.01 }],
    }).get("w")!;
    expect(Array.from(quirk)).toEqual(new Array(10).fill(0));
  });

  it("della: keep probabilities run from density − ε to density + ε by magnitude rank", () => {
    // Injected all-ones mask with 1/p rescaling exposes the probabilities: out = δ / p.
    const delta = [5, 1, 4, 2, 3];
    const model = tensor([0, 0, 0, 0, 0], delta);
    const out = runMethod(getMethod("della_linear"), model, {
      modelParams: [{ density: 0.5, epsilon: 0.1 }],
      params: { rescale_mode: "inverse" },
      aux: () => ({ masks: [new Uint8Array(5).fill(1)] }),
    }).get("w")!;
    const p = [0.6, 0.4, 0.55, 0.45, 0.5];
    expectAllClose(
      out,
      delta.map((v, i) => v / p[i]),
      1e-6,
      "della",
    );
    expect(() =>
      runMethod(getMethod("della"), model, { modelParams: [{ density: 0.1, epsilon: 0.15 }] }),
    ).toThrow(/epsilon/);
  });

  it("task_arithmetic with one model and λ = 1 returns that model", () => {
    const [t] = toyModel(5, 1, { w: [40] });
    // Equal up to float32 rounding of θ₀ + (θ₁ − θ₀).
    expectAllClose(runMethod(getMethod("task_arithmetic"), [t]).get("w")!, t.models[0], 1e-7, "ta");
  });
});

describe("invariants", () => {
  const identical = (seed: number, n: number): ToyTensor[] => {
    const [t] = toyModel(seed, 1, { w: [8, 9] });
    return [{ ...t, models: Array.from({ length: n }, () => t.models[0]) }];
  };
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ["ties", {}, {}],
    ["ties", {}, { density: 0.4 }],
    ["della", {}, { density: 1 }],
    ["breadcrumbs_ties", { normalize: true }, { density: 1 }],
    ["task_arithmetic", { normalize: true }, {}],
  ];
  for (const [name, params, mp] of cases) {
    it(`${name} ${JSON.stringify({ ...params, ...mp })}: n identical models give that model`, () => {
      for (const n of [1, 3]) {
        const model = identical(n + 10, n);
        const got = runMethod(getMethod(name), model, {
          params,
          modelParams: model[0].models.map(() => mp),
        }).get("w")!;
        if (name === "ties" && mp.density === 0.4) {
          // Only the top 40 % of |δ| survive trimming; the rest reverts to the base.
          const t = model[0];
          const near = (a: number, b: number) => Math.abs(a - b) <= 1e-7 * (1 + Math.abs(b));
          const kept = got.filter((v, k) => v !== t.base[k]).length;
          expect(kept).toBe(Math.trunc(0.4 * t.base.length));
          expect(Array.from(got).every((v, k) => v === t.base[k] || near(v, t.models[0][k]))).toBe(true);
        } else expectAllClose(got, model[0].models[0], 1e-6, name);
      }
    });
  }

  for (const name of ["task_arithmetic", "ties", "breadcrumbs", "breadcrumbs_ties"]) {
    it(`${name}: permuting the models (with their parameters) changes nothing`, () => {
      const model = toyModel(21, 3, { w: [12, 10] });
      const mp = [
        { weight: 0.3, density: 0.5 },
        { weight: 0.5, density: 0.7 },
        { weight: 0.9, density: 0.4 },
      ];
      const a = runMethod(getMethod(name), model, { modelParams: mp }).get("w")!;
      const perm = [2, 0, 1];
      const permuted = [{ ...model[0], models: perm.map((i) => model[0].models[i]) }];
      const b = runMethod(getMethod(name), permuted, { modelParams: perm.map((i) => mp[i]) }).get("w")!;
      expectAllClose(b, a, 1e-6, name);
    });
  }

  it("inputs are never modified", () => {
    const model = toyModel(31, 3, { w: [30] });
    const copy = model.map((t) => ({ base: t.base.slice(), models: t.models.map((m) => m.slice()) }));
    for (const name of Object.keys(METHODS)) {
      runMethod(getMethod(name) as MergeMethod, model, {
        modelParams: [0, 1, 2].map(() => ({ density: 0.5 })),
      });
    }
    expect(model[0].base).toEqual(copy[0].base);
    model[0].models.forEach((m, i) => {
      expect(m).toEqual(copy[0].models[i]);
    });
  });

  it("checks tensor sizes and names the tensor", () => {
    const model = toyModel(1, 2, { "layer.w": [4] });
    const bad = [{ ...model[0], models: [model[0].models[0], new Float32Array(3)] }];
    expect(() => runMethod(getMethod("ties"), bad)).toThrow(/layer\.w.*model 1 has 3 elements/);
  });
});
