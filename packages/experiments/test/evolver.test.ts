import { coefficientMerge, mergeFunction } from "@x/merging/evolve";
import { Rng } from "@x/tensor-core";
import { backboneSize, DEFAULT_ARCH, evaluateTasks, unflattenBackbone } from "@x/zoo";
import { describe, expect, it } from "vitest";
import { applyDomain, downUp, flipShift, gaussianBlur, invert, rotate } from "../src/evolver/domains.js";
import { pairedCi, t975 } from "../src/evolver/experiment.js";
import { Evaluator, genomeSize } from "../src/evolver/setup.js";

const img = (seed: number): Float32Array => new Rng(seed).fillUniform(new Float32Array(784)) as Float32Array;

describe("Evolver experiment domains", () => {
  it("invert twice and flip twice are the identity; rotate(0) is the identity", () => {
    const a = img(1);
    const b = new Float32Array(784);
    const c = new Float32Array(784);
    const rng = new Rng(0);
    invert(a, b, rng);
    invert(b, c, rng);
    for (let i = 0; i < 784; i++) expect(c[i]).toBeCloseTo(a[i], 6);
    flipShift(0, 0)(a, b, rng);
    flipShift(0, 0)(b, c, rng);
    expect(c).toEqual(a);
    rotate(0)(a, b, rng);
    for (let i = 0; i < 784; i++) expect(b[i]).toBeCloseTo(a[i], 6);
  });
  it("blur preserves a constant image; down-up is idempotent; inputs are never modified", () => {
    const k = new Float32Array(784).fill(0.3);
    const out = new Float32Array(784);
    gaussianBlur(1)(k, out, new Rng(0));
    for (const v of out) expect(v).toBeCloseTo(0.3, 6);
    const a = img(2);
    const copy = a.slice();
    const once = applyDomain(a, 1, downUp, "s");
    const twice = applyDomain(once, 1, downUp, "s");
    expect(twice).toEqual(once);
    expect(a).toEqual(copy);
  });
});

describe("merge adapters", () => {
  const base = new Float32Array([0, 0, 0, 0]);
  const xs = [new Float32Array([1, 2, 3, 4]), new Float32Array([3, 2, 1, 0])];
  const layout = [{ name: "w", shape: [4], offset: 0, size: 4 }];
  it("mean, TA and coefficient-weighted variants", () => {
    const out = new Float32Array(4);
    mergeFunction("mean", layout, base, { lambda: 1 })(xs, out);
    expect(Array.from(out)).toEqual([2, 2, 2, 2]);
    mergeFunction("ta", layout, base, { lambda: 0.5 })(xs, out);
    expect(Array.from(out)).toEqual([2, 2, 2, 2]);
    coefficientMerge("mean", layout, base, { lambda: 1 })(xs, [3, 1], out);
    expect(Array.from(out)).toEqual([1.5, 2, 2.5, 3]);
  });
  it("DARE masks are fixed: the same population always merges to the same weights", () => {
    const r = new Rng(3);
    const big = [0, 1, 2].map(() => r.fillNormal(new Float32Array(1000)) as Float32Array);
    const b0 = new Float32Array(1000);
    const m = mergeFunction("dare", [{ name: "w", shape: [1000], offset: 0, size: 1000 }], b0, {
      lambda: 1,
      dareDrop: 0.9,
      maskSeed: "x",
    });
    const o1 = new Float32Array(1000);
    const o2 = new Float32Array(1000);
    m(big, o1);
    m(big, o2);
    expect(o2).toEqual(o1);
    // about 10 % of each task vector survives, rescaled by 1 / (1 - p)
    const kept = big[0].filter((_, k) => o1[k] !== 0).length;
    expect(kept).toBeGreaterThan(150);
    expect(kept).toBeLessThan(400);
  });
});

describe("paired statistics", () => {
  it("t quantiles and a worked paired CI", () => {
    expect(t975(9)).toBe(2.262);
    const s = pairedCi([3, 4, 5], [1, 1, 1]);
    // d = 2, 3, 4: mean 3, sd 1, half-width 4.303 / sqrt 3
    expect(s.mean).toBe(3);
    expect(s.hi - s.mean).toBeCloseTo(4.303 / Math.sqrt(3), 12);
    expect(s.wins).toBe(3);
  });
});

describe("Evaluator", () => {
  it("agrees with the zoo's evaluateTasks on the same genome", async () => {
    const r = new Rng(4);
    const g = r.fillNormal(new Float32Array(genomeSize(DEFAULT_ARCH)), 0, 0.05) as Float32Array;
    const set = {
      images: r.fillUniform(new Float32Array(200 * 784)) as Float32Array,
      labels: new Uint8Array(200).map(() => r.int(10)),
      count: 200,
    };
    const ev = await Evaluator.create(DEFAULT_ARCH, [set]);
    const mine = ev.accuracy(g)[0];
    ev.dispose();
    const b = backboneSize(DEFAULT_ARCH);
    const head = {
      weight: { shape: [10, 128], data: g.subarray(b, b + 1280) },
      bias: { shape: [10], data: g.subarray(b + 1280, b + 1290) },
    };
    const [zoo] = await evaluateTasks(DEFAULT_ARCH, unflattenBackbone(DEFAULT_ARCH, g.subarray(0, b)), [
      { head, data: set },
    ]);
    expect(mine).toBeCloseTo(zoo, 2); // equal up to argmax ties from summation order
  });
});
