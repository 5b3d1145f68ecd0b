import { evolve } from "@x/evolution";
import { fisherMerge } from "@x/merging";
import { coefficientMerge, MergeSetupError, mergeFunction, type SlotStats } from "@x/merging/evolve";
import { Rng } from "@x/tensor-core";
import { DEFAULT_ARCH, gramWithRidge } from "@x/zoo";
import { beforeAll, describe, expect, it } from "vitest";
import { expertStats } from "../../src/evolver/expert-stats.js";
import { preparedRegmean } from "../../src/evolver/prepared-regmean.js";
import { buildSetup, Evaluator, genomeLayout, genomeSize, type Setup } from "../../src/evolver/setup.js";
import * as former from "../helpers/former-merges.js";

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  let d = 0;
  for (let k = 0; k < a.length; k++) d = Math.max(d, Math.abs(a[k] - b[k]));
  return d;
};

describe("registry merges give the former own merges' numbers", () => {
  const dim = genomeSize(DEFAULT_ARCH);
  const layout = genomeLayout(DEFAULT_ARCH);
  const r = new Rng(7);
  const base = r.fillNormal(new Float32Array(dim)) as Float32Array;
  const xs = [0, 1, 2].map(() => {
    const g = r.fillNormal(new Float32Array(dim)) as Float32Array;
    for (let k = 0; k < dim; k++) g[k] = base[k] + 0.1 * g[k];
    return g;
  });
  const s = { lambda: 0.6, tiesTopK: 0.2, dareDrop: 0.9, pcbRatio: 0.1, maskSeed: "m" };
  for (const name of ["mean", "ta", "dare", "ties", "pcb"] as const) {
    it(`${name}: plain and with coefficients, equal up to float32 rounding`, () => {
      const a = new Float32Array(dim);
      const b = new Float32Array(dim);
      former.mergeFunction(name, base, s)(xs, a);
      mergeFunction(name, layout, base, s)(xs, b);
      // |values| ≲ 4: one or two float32 ulps
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
      const c = [0.5, 1.7, 0.8];
      former.coefficientMerge(name, base, s)(xs, c, a);
      coefficientMerge(name, layout, base, s)(xs, c, b);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    });
  }
  it("the genome layout covers the genome once, in the sorted order the whole-model methods flatten in", () => {
    let at = 0;
    for (const t of layout) {
      expect(t.offset).toBe(at);
      at += t.size;
    }
    expect(at).toBe(dim);
    const names = layout.map((t) => t.name);
    expect([...names].sort()).toEqual(names);
  });
});

describe("Fisher and RegMean on real (tiny) experts", () => {
  let setup: Setup;
  let stats: SlotStats[];
  let dev: Evaluator;
  let prepared: Awaited<ReturnType<typeof preparedRegmean>>;
  let regStats: SlotStats[];
  const arch = { input: 784, hidden: [24, 16] };
  const layout = genomeLayout(arch);
  beforeAll(async () => {
    // A narrow MLP keeps RegMean's 784×784 solves the only sizeable cost.
    setup = await buildSetup(
      3,
      { pretrain: 200, train: 80, dev: 30, test: 10, oodTest: 10, pretrainEpochs: 1, expertEpochs: 1 },
      () => {},
      arch,
    );
    setup = {
      ...setup,
      experts: setup.experts.slice(0, 3),
      trainPerDomain: setup.trainPerDomain.slice(0, 3),
    };
    stats = [];
    for (let i = 0; i < setup.experts.length; i++)
      stats.push(await expertStats(setup.arch, layout, setup.experts[i], setup.trainPerDomain[i], 50));
    dev = await Evaluator.create(setup.arch, [setup.dev]);
    // The RegMean tests leave fc1 (784 inputs) to averaging: its 784×784 solves would dominate the file's run
    // time, and fc2 / the head exercise the same code.
    regStats = stats.map((st) => ({
      ...st,
      gram: new Map([...st.gram!].filter(([k]) => k !== "backbone.fc1.weight")),
    }));
    prepared = await preparedRegmean(layout, regStats, 0.1);
  }, 180_000);

  it("statistics: non-negative Fisher over the whole genome; Gram matrices for each linear weight, symmetric", () => {
    for (const st of stats) {
      expect(st.fisher!.length).toBe(setup.dim);
      expect(st.fisher!.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
      expect([...st.gram!.keys()].sort()).toEqual(
        ["backbone.fc1.weight", "backbone.fc2.weight", "head.0.weight"].sort(),
      );
      const g = st.gram!.get("head.0.weight")!;
      for (let i = 0; i < 16; i++)
        for (let j = 0; j < 16; j++) expect(g[i * 16 + j]).toBeCloseTo(g[j * 16 + i], 5);
    }
    const head = layout.find((t) => t.name === "head.1.bias")!;
    expect(Math.max(...stats[0].fisher!.subarray(head.offset, head.offset + head.size))).toBeGreaterThan(0);
  });

  it("fisher through the registry equals the flat Fisher-weighted average of the genomes", () => {
    const out = new Float32Array(setup.dim);
    mergeFunction("fisher", layout, setup.base, { lambda: 1, stats })(setup.experts, out);
    const flat = fisherMerge(
      setup.experts,
      stats.map((s) => s.fisher!),
      { floor: 1e-10 },
    );
    expect(maxAbsDiff(out, flat)).toBe(0);
  });

  it("identical experts merge to themselves (fisher, regmean, prepared regmean)", async () => {
    const same = setup.experts.map(() => setup.experts[0]);
    const out = new Float32Array(setup.dim);
    for (const name of ["fisher", "regmean"] as const) {
      mergeFunction(name, layout, setup.base, { lambda: 1, stats: name === "fisher" ? stats : regStats })(
        same,
        out,
      );
      expect(maxAbsDiff(out, setup.experts[0])).toBeLessThan(1e-4);
    }
    prepared(same, [1, 1, 1], out);
    expect(maxAbsDiff(out, setup.experts[0])).toBeLessThan(1e-4);
  });

  it("the prepared RegMean operator equals the registry's RegMean merge", async () => {
    const a = new Float32Array(setup.dim);
    const b = new Float32Array(setup.dim);
    mergeFunction("regmean", layout, setup.base, { lambda: 1, stats: regStats, regmeanAlpha: 0.1 })(
      setup.experts,
      a,
    );
    prepared(setup.experts, [1, 1, 1], b);
    let scale = 0;
    for (const v of a) scale = Math.max(scale, Math.abs(v));
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4 * scale);
    expect(dev.accuracy(b)[0]).toBeCloseTo(dev.accuracy(a)[0], 1);
  });

  it("the former own merges and the registry merges score the same on dev", () => {
    const s = { lambda: 0.6, tiesTopK: 0.2, dareDrop: 0.9, pcbRatio: 0.1, maskSeed: "m" };
    const a = new Float32Array(setup.dim);
    const b = new Float32Array(setup.dim);
    for (const name of ["mean", "ta", "dare", "ties", "pcb"] as const) {
      former.mergeFunction(name, setup.base, s)(setup.experts, a);
      mergeFunction(name, layout, setup.base, s)(setup.experts, b);
      expect(dev.accuracy(b)[0]).toBe(dev.accuracy(a)[0]);
    }
  });

  it("Evolver mode B with fisher and regmean: the merged dev score never drops", async () => {
    for (const name of ["fisher", "regmean"] as const) {
      const merge = mergeFunction(name, layout, setup.base, {
        lambda: 1,
        stats: name === "fisher" ? stats : regStats,
        regmeanAlpha: 0.1,
      });
      const out = new Float32Array(setup.dim);
      await merge(setup.experts, out);
      const start = dev.accuracy(out)[0];
      const r = await evolve(setup.experts, {
        mode: "merge",
        merge,
        generations: 1,
        seed: `t-${name}`,
        score: (g) => dev.accuracy(g)[0],
      });
      expect(r.evaluations).toBe(1 + 3); // the initial merge + N·G children
      expect(r.outputScore).toBeGreaterThanOrEqual(start);
      expect(dev.accuracy(r.output)[0]).toBe(r.outputScore);
    }
  });

  it("missing statistics: a typed error naming the slot's model", () => {
    const out = new Float32Array(setup.dim);
    const names = ["a", "b", "c"].map((x) => `experts/${x}`);
    const partial = stats.map((s, i) => (i === 2 ? {} : s));
    expect(() =>
      mergeFunction("fisher", layout, setup.base, { lambda: 1, stats: partial, slotNames: names })(
        setup.experts,
        out,
      ),
    ).toThrow(new MergeSetupError("fisher merge: no Fisher diagonal for experts/c"));
    expect(() =>
      mergeFunction("regmean", layout, setup.base, { lambda: 1, stats: partial, slotNames: names })(
        setup.experts,
        out,
      ),
    ).toThrow(/regmean merge: no Gram matrices for experts\/c/);
  });
});

describe("Gram ridge", () => {
  it("adds a relative ridge to the diagonal only, without touching the input", () => {
    const g = new Float32Array([2, 1, 1, 0]);
    const r = gramWithRidge(g, 2);
    expect(Array.from(g)).toEqual([2, 1, 1, 0]);
    expect(r[1]).toBe(1);
    expect(r[2]).toBe(1);
    expect(r[0]).toBeCloseTo(2 + 1e-6, 6);
    expect(r[3]).toBeCloseTo(1e-6, 9);
  });
});
