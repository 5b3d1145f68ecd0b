// Speculative evaluation in Evolver (lookahead > 1) must reproduce the one-at-a-time run exactly.
import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import { EvolutionConfigError, type EvolverEvaluation, type EvolverOptions, evolve } from "../src/index.js";

function problem(seed: number, n: number, dim: number) {
  const rng = new Rng(seed);
  const target = rng.fillNormal(new Float32Array(dim)) as Float32Array;
  const experts = Array.from({ length: n }, () => {
    const g = new Float32Array(dim);
    for (let i = 0; i < dim; i++) g[i] = target[i] + rng.normal(0, 1);
    return g;
  });
  return { target, experts };
}

async function run(
  mode: "standalone" | "merge",
  seed: number,
  lookahead: number,
  extra: Partial<EvolverOptions> = {},
) {
  const { target, experts } = problem(seed, 6, 40);
  const delays = new Rng(`delays-${seed}-${lookahead}`);
  let active = 0;
  let maxActive = 0;
  const score = async (w: Float32Array): Promise<number> => {
    active++;
    maxActive = Math.max(maxActive, active);
    await new Promise((r) => setTimeout(r, delays.int(4))); // random completion order
    let s = 0;
    for (let i = 0; i < w.length; i++) s += (w[i] - target[i]) ** 2;
    active--;
    return -s;
  };
  const merge = async (genomes: readonly Float32Array[], out: Float32Array): Promise<void> => {
    await new Promise((r) => setTimeout(r, delays.int(2))); // an async merge
    out.fill(0);
    for (const g of genomes) for (let i = 0; i < out.length; i++) out[i] += g[i] / genomes.length;
  };
  const events: Omit<EvolverEvaluation, "population">[] = [];
  const r = await evolve(experts, {
    mode,
    merge,
    f: 0.5,
    cr: 0.3,
    generations: 6,
    seed,
    score,
    lookahead,
    onEvaluation: ({ population: _p, ...e }) => {
      events.push(e);
    },
    ...extra,
  });
  return { r, events, maxActive };
}

describe("Evolver with lookahead (speculative evaluation)", () => {
  for (const mode of ["standalone", "merge"] as const) {
    it(`${mode}: identical to one-at-a-time for lookahead 2, 4, 8 over 4 seeds`, async () => {
      let discarded = 0;
      let parallel = 0;
      for (const seed of [1, 2, 3, 4]) {
        const base = await run(mode, seed, 1);
        expect(base.r.discarded).toBe(0);
        for (const k of [2, 4, 8]) {
          const s = await run(mode, seed, k);
          expect(s.r.population.genomes()).toEqual(base.r.population.genomes());
          expect(Array.from(s.r.scores)).toEqual(Array.from(base.r.scores));
          expect(Array.from(s.r.output)).toEqual(Array.from(base.r.output));
          expect(s.r.outputScore).toBe(base.r.outputScore);
          expect(s.r.evaluations).toBe(base.r.evaluations);
          expect(s.r.skipped).toBe(base.r.skipped);
          expect(s.r.accepted).toBe(base.r.accepted);
          expect(s.r.history).toEqual(base.r.history);
          expect(s.events).toEqual(base.events);
          discarded += s.r.discarded;
          parallel = Math.max(parallel, s.maxActive);
        }
      }
      expect(parallel).toBeGreaterThan(1); // evaluations really overlapped
      expect(discarded).toBeGreaterThan(0); // and some speculation was thrown away and redone
    });
  }

  it("skipped identical children (tiny CR) match too", async () => {
    for (const mode of ["standalone", "merge"] as const) {
      const base = await run(mode, 9, 1, { cr: 0.02 });
      const s = await run(mode, 9, 4, { cr: 0.02 });
      expect(base.r.skipped).toBeGreaterThan(0);
      expect(s.r.skipped).toBe(base.r.skipped);
      expect(s.r.population.genomes()).toEqual(base.r.population.genomes());
      expect(s.events).toEqual(base.events);
    }
  });

  it("an evaluation error surfaces as in the sequential run; a bad lookahead is refused", async () => {
    const { target, experts } = problem(1, 5, 8);
    const sphere = (w: Float32Array): number => -w.reduce((a, v, i) => a + (v - target[i]) ** 2, 0);
    // the genome of the 9th child evaluated one at a time
    const seen: Float32Array[] = [];
    await evolve(experts, {
      mode: "standalone",
      seed: 1,
      score: (w) => {
        seen.push(Float32Array.from(w));
        return sphere(w);
      },
    });
    const bad = seen[5 + 8];
    const same = (w: Float32Array): boolean => w.every((v, i) => v === bad[i]);
    const failing = async (w: Float32Array): Promise<number> => {
      await new Promise((r) => setTimeout(r, 1));
      if (same(w)) throw new Error("this child cannot be scored");
      return sphere(w);
    };
    for (const lookahead of [1, 4]) {
      await expect(
        evolve(experts, { mode: "standalone", seed: 1, score: failing, lookahead }),
      ).rejects.toThrow("this child cannot be scored");
    }
    await expect(
      evolve(experts, { mode: "standalone", seed: 1, score: () => 0, lookahead: 0 }),
    ).rejects.toThrow(EvolutionConfigError);
  });
});
