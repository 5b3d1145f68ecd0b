import {
  constant,
  createWorkerFitness,
  DifferentialEvolution,
  FitnessError,
  ScheduledControl,
} from "@x/evolution";
import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";

// Worker threads run the built package: this test imports it by name (the integration project
// resolves that to dist/), so the pool and its workers come from the same build.
const fixture = new URL("../fixtures/sphere-fitness.mjs", import.meta.url);
const negSphere = (g: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return -s;
};

describe("worker-pool fitness", () => {
  it("gives bit-identical DE results to in-thread evaluation (2 workers, shared population)", async () => {
    const rng = new Rng(1);
    const init = Array.from(
      { length: 8 },
      () => rng.fillUniform(new Float32Array(1000), -2, 2) as Float32Array,
    );
    const de = (concurrency: number) =>
      new DifferentialEvolution({
        strategy: "current-to-best/1",
        crossover: { kind: "binomial", forceJRand: true },
        control: new ScheduledControl(constant(0.6), constant(0.7)),
        generations: 10,
        seed: 4,
        selection: "sync",
        concurrency,
        shared: true,
      });
    const pool = createWorkerFitness({ module: fixture, threads: 2 });
    try {
      const a = await de(1).run(init, negSphere);
      const b = await de(2).run(init, pool.fitness);
      expect(Array.from(b.fitness)).toEqual(Array.from(a.fitness));
      expect(b.population.genomes()).toEqual(a.population.genomes());
    } finally {
      await pool.close();
    }
  });

  it("copies non-shared genomes and reports worker errors as FitnessError with the user's stack", async () => {
    const ok = createWorkerFitness({ module: fixture, threads: 1 });
    const bad = createWorkerFitness({ module: fixture, exportName: "broken", threads: 1 });
    const missing = createWorkerFitness({ module: fixture, exportName: "absent", threads: 1 });
    const info = { target: 0, generation: 0 };
    try {
      expect(ok.threads).toBe(1);
      expect(await ok.fitness(new Float32Array([1, 2]), info)).toBe(-5);
      const err = await Promise.resolve(bad.fitness(new Float32Array([1]), info)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FitnessError);
      expect((err as Error).message).toMatch(
        /worker fitness \(file:.*sphere-fitness\.mjs\) failed: Error: deliberate failure/,
      );
      expect((err as Error).message).toContain("sphere-fitness.mjs:"); // the stack line in the user's module
      // The pool stays usable after a failed evaluation.
      await expect(bad.fitness(new Float32Array([1]), info)).rejects.toThrow(FitnessError);
      await expect(missing.fitness(new Float32Array([1]), info)).rejects.toThrow(
        /has no function export "absent"/,
      );
    } finally {
      await ok.close();
      await bad.close();
      await missing.close();
    }
  });
});
