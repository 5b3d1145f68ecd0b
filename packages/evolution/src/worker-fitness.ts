// A fitness function evaluated on worker threads: each worker imports the user's module once and calls
// its export per genome (the module pool of @x/tensor-core/workers).

import { type ModulePool, openModulePool, WorkerTaskError } from "@x/tensor-core/workers";
import { FitnessError } from "./errors.js";
import type { FitnessFunction } from "./fitness.js";

export interface WorkerFitnessOptions {
  /** URL or absolute path of an ES module (JavaScript) exporting the fitness function. */
  readonly module: string | URL;
  /** Export name (default "default"). Signature: (genome: Float32Array, info) => number | Promise<number>. */
  readonly exportName?: string;
  /** Worker threads (default 2). */
  readonly threads?: number;
}

export interface WorkerFitness {
  /** Dispatches to an idle worker; genomes backed by a SharedArrayBuffer are passed without a copy. */
  readonly fitness: FitnessFunction;
  readonly threads: number;
  close(): Promise<void>;
}

/**
 * A fitness function evaluated in a pool of worker threads. Used with the DE engine's `concurrency`
 * (sync selection) it evaluates several children at once; results are keyed by job, so the run is
 * identical to a single-threaded one. Allocate the population with `shared: true` to avoid copies.
 * The workers start at once; evaluations requested meanwhile run as soon as the module is loaded.
 */
export function createWorkerFitness(o: WorkerFitnessOptions): WorkerFitness {
  const url = o.module instanceof URL ? o.module.href : o.module;
  const pool: ModulePool = openModulePool({
    module: o.module,
    exportName: o.exportName,
    threads: Math.max(1, Math.floor(o.threads ?? 2)),
    name: `worker fitness (${url})`,
  });
  const fitness: FitnessFunction = async (genome, info) => {
    try {
      return (await pool.run("call", [genome, info])) as number;
    } catch (e) {
      // The user's error with its stack from the worker; the harness error (worker, method) as cause.
      const what =
        e instanceof WorkerTaskError
          ? (e.remote.stack ?? `${e.remote.name}: ${e.remote.message}`)
          : String((e as Error).message);
      throw new FitnessError(`worker fitness (${url}) failed: ${what}`, { cause: e });
    }
  };
  return {
    fitness,
    threads: pool.threads,
    close: () => pool.close(),
  };
}
