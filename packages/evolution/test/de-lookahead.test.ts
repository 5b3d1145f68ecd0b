// Asynchronous DE with lookahead > 1 (speculative evaluation) must reproduce the one-at-a-time run exactly.
import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import {
  cadeS3,
  cadeS4,
  constant,
  DifferentialEvolution,
  type DifferentialEvolutionOptions,
  EvolutionConfigError,
  ScheduledControl,
  ShadeControl,
  STRATEGIES,
} from "../src/index.js";

const DIM = 30;
function init(seed: number, n: number): Float32Array[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => r.fillUniform(new Float32Array(DIM), -3, 3) as Float32Array);
}

async function run(
  o: Partial<DifferentialEvolutionOptions> & { seed: number },
  lookahead: number,
  noisy = false,
) {
  const delays = new Rng(`d-${o.seed}-${lookahead}`);
  let active = 0;
  let maxActive = 0;
  const fitness = async (g: Float32Array, info: { generation: number }): Promise<number> => {
    active++;
    maxActive = Math.max(maxActive, active);
    await new Promise((r) => setTimeout(r, delays.int(3)));
    active--;
    let s = 0;
    for (let i = 0; i < g.length; i++) s += (g[i] - 0.5) ** 2;
    // a "noisy" fitness that depends on the generation (as CADE's fresh batches do), still deterministic
    return noisy ? -s * (1 + 0.01 * (info.generation % 3)) : -s;
  };
  const records: unknown[] = [];
  const r = await new DifferentialEvolution({
    strategy: "rand/1",
    crossover: { kind: "binomial", forceJRand: true },
    control: new ScheduledControl(constant(0.6), constant(0.5)),
    generations: 8,
    selection: "async",
    lookahead,
    onProgress: (e) => records.push(e),
    ...o,
  }).run(init(o.seed, 8), fitness);
  return { r, records, maxActive };
}

describe("asynchronous DE with lookahead (speculative evaluation)", () => {
  it("every strategy: identical to one-at-a-time for lookahead 2, 4, 8", async () => {
    let parallel = 0;
    for (const strategy of STRATEGIES) {
      for (const seed of [1, 2]) {
        const base = await run({ strategy, seed }, 1);
        for (const k of [2, 4, 8]) {
          const s = await run({ strategy, seed }, k);
          expect(s.r.population.genomes()).toEqual(base.r.population.genomes());
          expect(Array.from(s.r.fitness)).toEqual(Array.from(base.r.fitness));
          expect(s.r.evaluations).toBe(base.r.evaluations);
          expect(s.r.skipped).toBe(base.r.skipped);
          expect(s.r.history).toEqual(base.r.history);
          parallel = Math.max(parallel, s.maxActive);
        }
      }
    }
    expect(parallel).toBeGreaterThan(1);
  });

  it("CADE settings (S3 / S4 schedules, no j_rand, tiny CR, skipped children) and SHADE match too", async () => {
    const cade = (seed: number) => ({
      seed,
      crossover: { kind: "binomial" as const, forceJRand: false },
      control: new ScheduledControl(cadeS3(0.05), cadeS4(0.05)),
    });
    const base = await run(cade(3), 1);
    const s = await run(cade(3), 4);
    expect(base.r.skipped).toBeGreaterThan(0);
    expect(s.r.population.genomes()).toEqual(base.r.population.genomes());
    expect(s.r.history).toEqual(base.r.history);
    const shade = (seed: number) => ({
      seed,
      strategy: "current-to-best/1" as const,
      control: new ShadeControl({ memory: 3 }),
    });
    const b2 = await run(shade(4), 1);
    const s2 = await run(shade(4), 4);
    expect(s2.r.population.genomes()).toEqual(b2.r.population.genomes());
    expect(s2.r.history).toEqual(b2.r.history);
  });

  it("re-evaluated parents (CADE's 2 evaluations per child) with a generation-dependent fitness match too", async () => {
    for (const strategy of ["rand/1", "best/1"] as const) {
      const o = { seed: 5, strategy, reevaluateParents: true };
      const base = await run(o, 1, true);
      const s = await run(o, 4, true);
      expect(s.r.population.genomes()).toEqual(base.r.population.genomes());
      expect(Array.from(s.r.fitness)).toEqual(Array.from(base.r.fitness));
      expect(s.r.evaluations).toBe(base.r.evaluations);
    }
  });

  it("refuses a bad lookahead when the run starts", async () => {
    for (const lookahead of [0, 1.5]) {
      const de = new DifferentialEvolution({
        strategy: "rand/1",
        crossover: { kind: "binomial" },
        control: new ScheduledControl(constant(0.5), constant(0.5)),
        generations: 1,
        seed: 1,
        lookahead,
      });
      await expect(de.run(init(1, 5), () => 0)).rejects.toThrow(EvolutionConfigError);
    }
  });
});
