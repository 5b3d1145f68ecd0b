import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import {
  cadeS3,
  constant,
  DifferentialEvolution,
  type DifferentialEvolutionOptions,
  EvolutionConfigError,
  Population,
  ScheduledControl,
  ShadeControl,
  STRATEGIES,
} from "../src/index.js";

const negSphere = (g: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return -s;
};

function initialPopulation(n: number, d: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.fillUniform(new Float32Array(d), -5, 5) as Float32Array);
}

function opts(extra: Partial<DifferentialEvolutionOptions> = {}): DifferentialEvolutionOptions {
  return {
    strategy: "rand/1",
    crossover: { kind: "binomial", forceJRand: true },
    control: new ScheduledControl(constant(0.5), constant(0.9)),
    generations: 60,
    seed: 1,
    ...extra,
  };
}

describe("Population", () => {
  it("stores every genome as a view into one buffer and swaps slots in O(1)", () => {
    const p = new Population(4, 10, { spare: 1 });
    expect(p.buffers.length).toBe(1);
    const g0 = p.genome(0);
    expect(g0.buffer).toBe(p.genome(3).buffer);
    g0.fill(7);
    p.swap(0, 4);
    expect(p.genome(4)[0]).toBe(7);
    expect(p.genome(0)[0]).toBe(0);
    expect(p.bytes).toBe(5 * 10 * 4);
  });
  it("can be shared with workers", () => {
    expect(new Population(2, 3, { shared: true }).genome(1).buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});

describe("DifferentialEvolution", () => {
  it.each(STRATEGIES)("%s minimizes the 10-D sphere (maximize -f)", async (strategy) => {
    const init = initialPopulation(20, 10, 3);
    const start = Math.max(...init.map(negSphere));
    const r = await new DifferentialEvolution(
      opts({
        strategy,
        selection: "sync",
        generations: 150,
        control: new ScheduledControl(constant(0.5), constant(0.3)),
      }),
    ).run(init, negSphere);
    expect(start).toBeLessThan(-10);
    expect(r.bestFitness).toBeGreaterThan(-1e-3);
    expect(r.evaluations).toBe(20 + 20 * 150 - r.skipped);
  });

  it("never modifies the initial genomes", async () => {
    const init = initialPopulation(6, 5, 4);
    const copy = init.map((g) => Float32Array.from(g));
    await new DifferentialEvolution(opts({ generations: 5 })).run(init, negSphere);
    expect(init).toEqual(copy);
  });

  it("sync selection: identical results whatever the concurrency and completion order", async () => {
    const slow = async (g: Float32Array): Promise<number> => {
      await new Promise((r) => setTimeout(r, Math.abs(g[0] * 997) % 4));
      return negSphere(g);
    };
    const run = (concurrency: number, fit: (g: Float32Array) => number | Promise<number>) =>
      new DifferentialEvolution(
        opts({ selection: "sync", concurrency, generations: 15, control: new ShadeControl({ memory: 4 }) }),
      ).run(initialPopulation(8, 6, 5), fit);
    const a = await run(1, negSphere);
    const b = await run(4, slow);
    expect(Array.from(b.fitness)).toEqual(Array.from(a.fitness));
    expect(b.population.genomes()).toEqual(a.population.genomes());
  });

  it("greedy selection is strict: a flat fitness never accepts a child", async () => {
    const r = await new DifferentialEvolution(opts({ generations: 5 })).run(
      initialPopulation(5, 4, 6),
      () => 1,
    );
    expect(r.history.every((h) => h.accepted === 0)).toBe(true);
  });

  it("async selection makes an accepted child visible to later targets in the same generation", async () => {
    // Population of 4 in 1-D; count the distinct values children were built from. With async selection,
    // the generation's last target sees the values accepted earlier in that generation.
    const init = [[1], [2], [3], [4]].map((v) => Float32Array.from(v));
    const seen: number[] = [];
    const fit = (g: Float32Array): number => {
      seen.push(g[0]);
      return -Math.abs(g[0] - 10);
    };
    const sync = await new DifferentialEvolution(opts({ generations: 1, selection: "sync", seed: 2 })).run(
      init,
      fit,
    );
    const asyn = await new DifferentialEvolution(opts({ generations: 1, selection: "async", seed: 2 })).run(
      init,
      fit,
    );
    expect(asyn.population.genomes()).not.toEqual(sync.population.genomes());
  });

  it("CADE configuration: rand/1, no j_rand, tiny CR from S3; identical children are skipped, not evaluated", async () => {
    const d = 20000;
    const init = initialPopulation(5, d, 7);
    let calls = 0;
    const r = await new DifferentialEvolution({
      strategy: "rand/1",
      crossover: { kind: "binomial", forceJRand: false },
      control: new ScheduledControl(cadeS3(1e-5), cadeS3(1e-5)),
      generations: 30,
      seed: 3,
    }).run(init, (g) => {
      calls++;
      return negSphere(g);
    });
    expect(calls).toBe(r.evaluations);
    // CR·D ≈ 0.02–0.2 crossed coordinates per child: most children equal their parent
    expect(r.skipped).toBeGreaterThan(100);
    expect(r.evaluations + r.skipped).toBe(5 + 5 * 30);
  });

  it("CADE parent re-evaluation charges two evaluations per child", async () => {
    const r = await new DifferentialEvolution(opts({ generations: 3, reevaluateParents: true })).run(
      initialPopulation(5, 4, 8),
      negSphere,
    );
    expect(r.evaluations).toBe(5 + 2 * (5 * 3 - r.skipped));
  });

  it("emits a progress event per generation", async () => {
    const events: number[] = [];
    await new DifferentialEvolution(
      opts({ generations: 4, onProgress: (e) => events.push(e.generation) }),
    ).run(initialPopulation(5, 3, 9), negSphere);
    expect(events).toEqual([0, 1, 2, 3]);
  });

  it("rejects bad configurations with typed errors", async () => {
    await expect(
      new DifferentialEvolution(opts({ strategy: "rand/2" })).run(initialPopulation(4, 3, 1), negSphere),
    ).rejects.toThrow(EvolutionConfigError);
    expect(() => new DifferentialEvolution(opts({ generations: -1 }))).toThrow(EvolutionConfigError);
    await expect(
      new DifferentialEvolution(opts()).run(
        [new Float32Array(3), new Float32Array(4), new Float32Array(3), new Float32Array(3)],
        negSphere,
      ),
    ).rejects.toThrow(/genome 1 has length 4/);
  });
});

describe("in-place population initializer", () => {
  it("gives the same run as passing genomes", async () => {
    const init = initialPopulation(6, 5, 12);
    const a = await new DifferentialEvolution(opts({ generations: 5 })).run(init, negSphere);
    const b = await new DifferentialEvolution(opts({ generations: 5 })).run(
      { size: 6, dim: 5, fill: (i, g) => g.set(init[i]) },
      negSphere,
    );
    expect(b.population.genomes()).toEqual(a.population.genomes());
  });
});
