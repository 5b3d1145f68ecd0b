import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import { EvolutionConfigError, evolve, referenceRandomProbability } from "../src/index.js";

// A toy "model": dev score = -||w - target||^2 with a hidden target; experts are noisy copies.
function setup(n: number, d: number, seed: number) {
  const rng = new Rng(seed);
  const target = rng.fillNormal(new Float32Array(d)) as Float32Array;
  const experts = Array.from({ length: n }, () => {
    const e = new Float32Array(d);
    for (let i = 0; i < d; i++) e[i] = target[i] + rng.normal(0, 1);
    return e;
  });
  const score = (w: Float32Array): number => {
    let s = 0;
    for (let i = 0; i < d; i++) s += (w[i] - target[i]) ** 2;
    return -s;
  };
  return { target, experts, score };
}

const mean = (genomes: readonly Float32Array[], out: Float32Array): void => {
  out.fill(0);
  for (const g of genomes) for (let i = 0; i < out.length; i++) out[i] += g[i] / genomes.length;
};

describe("Evolver", () => {
  it("p_g = 0.5 + 0.5/(G - g): ≈ 0.533 at g = 0 for G = 15, 1.0 at the last iteration", () => {
    expect(referenceRandomProbability(0, 15)).toBeCloseTo(0.5 + 0.5 / 15, 15);
    expect(referenceRandomProbability(14, 15)).toBe(1);
  });

  it("mode A improves on the best single expert and outputs the best individual by dev score", async () => {
    const { experts, score } = setup(5, 50, 1);
    const bestExpert = Math.max(...experts.map(score));
    const r = await evolve(experts, { mode: "standalone", f: 0.5, cr: 0.5, generations: 15, seed: 2, score });
    expect(r.outputScore).toBeGreaterThan(bestExpert);
    expect(score(r.output)).toBe(r.outputScore);
    expect(r.outputScore).toBe(Math.max(...r.scores));
    expect(r.evaluations).toBe(5 + 5 * 15 - r.skipped);
  });

  it("mode A: children are interpolations x + F(x_r - x) mixed per scalar (every coordinate is the parent's or the mutant's)", async () => {
    const a = new Float32Array([0, 0, 0, 0, 0, 0, 0, 0]);
    const b = new Float32Array([1, 1, 1, 1, 1, 1, 1, 1]);
    const children: Float32Array[] = [];
    await evolve([a, b], {
      mode: "standalone",
      f: 0.25,
      cr: 0.5,
      generations: 1,
      seed: 3,
      score: (w) => {
        children.push(Float32Array.from(w));
        return 0;
      },
    });
    // first two calls score the initial individuals; then child of 0 (toward 1), child of 1 (toward 0)
    for (const v of children[2]) expect([0, 0.25]).toContain(v);
    for (const v of children[3]) expect([1, 0.75]).toContain(v);
  });

  it("mode B keeps a child only when the merged dev score strictly improves; the output is the final merge", async () => {
    const { experts, score } = setup(5, 40, 4);
    const avg = new Float32Array(40);
    mean(experts, avg);
    const trace: number[] = [];
    const r = await evolve(experts, {
      mode: "merge",
      merge: mean,
      f: 0.5,
      cr: 0.5,
      generations: 15,
      seed: 5,
      score,
      onEvaluation: (e) => {
        trace.push(e.current);
      },
    });
    for (let i = 1; i < trace.length; i++) expect(trace[i]).toBeGreaterThanOrEqual(trace[i - 1]);
    expect(r.outputScore).toBeGreaterThanOrEqual(score(avg));
    expect(score(r.output)).toBe(r.outputScore);
    expect(r.outputIndex).toBe(-1);
  });

  it("is reproducible for a seed", async () => {
    const { experts, score } = setup(4, 30, 6);
    const run = () => evolve(experts, { mode: "merge", merge: mean, generations: 5, seed: 9, score });
    const [a, b] = [await run(), await run()];
    expect(b.output).toEqual(a.output);
    expect(b.population.genomes()).toEqual(a.population.genomes());
  });

  it("validates its options", async () => {
    const { experts, score } = setup(3, 5, 7);
    await expect(evolve(experts, { mode: "merge", seed: 1, score })).rejects.toThrow(EvolutionConfigError);
    await expect(evolve(experts.slice(0, 1), { mode: "standalone", seed: 1, score })).rejects.toThrow(
      /at least 2/,
    );
    await expect(evolve(experts, { mode: "standalone", f: 2, seed: 1, score })).rejects.toThrow(/F must be/);
  });
});
