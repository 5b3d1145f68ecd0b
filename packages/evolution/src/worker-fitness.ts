import { Worker } from "node:worker_threads";
import { FitnessError } from "./errors.js";
import type { EvalInfo, FitnessFunction } from "./fitness.js";

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

// Worker body (CommonJS, evaluated from a string so no separate built file is needed).
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ready = import(workerData.url).then((m) => {
  const fn = m[workerData.exportName];
  if (typeof fn !== "function") throw new Error("module " + workerData.url + " has no function export '" + workerData.exportName + "'");
  return fn;
});
parentPort.on("message", async (msg) => {
  try {
    const fn = await ready;
    const genome = new Float32Array(msg.buffer, msg.byteOffset, msg.length);
    const value = await fn(genome, msg.info);
    parentPort.postMessage({ id: msg.id, value });
  } catch (e) {
    parentPort.postMessage({ id: msg.id, error: String(e && e.stack || e) });
  }
});
`;

interface Pending {
  resolve: (v: number) => void;
  reject: (e: Error) => void;
}

/**
 * A fitness function evaluated in a pool of worker threads. Used with the DE engine's `concurrency`
 * (sync selection) it evaluates several children at once; results are keyed by job, so the run is
 * identical to a single-threaded one. Allocate the population with `shared: true` to avoid copies.
 */
export function createWorkerFitness(o: WorkerFitnessOptions): WorkerFitness {
  const url =
    o.module instanceof URL ? o.module.href : o.module.startsWith("file:") ? o.module : `file://${o.module}`;
  const threads = Math.max(1, o.threads ?? 2);
  const workers: Worker[] = [];
  const idle: Worker[] = [];
  const queue: { genome: Float32Array; info: EvalInfo; p: Pending }[] = [];
  const inflight = new Map<number, Pending>();
  const owner = new Map<number, Worker>();
  let nextId = 0;
  let failure: Error | null = null;

  const pump = (): void => {
    while (idle.length > 0 && queue.length > 0) {
      const w = idle.pop()!;
      const job = queue.shift()!;
      const id = nextId++;
      inflight.set(id, job.p);
      owner.set(id, w);
      const g = job.genome;
      if (g.buffer instanceof SharedArrayBuffer) {
        w.postMessage({ id, buffer: g.buffer, byteOffset: g.byteOffset, length: g.length, info: job.info });
      } else {
        const copy = Float32Array.from(g);
        w.postMessage({ id, buffer: copy.buffer, byteOffset: 0, length: copy.length, info: job.info }, [
          copy.buffer,
        ]);
      }
    }
  };
  for (let t = 0; t < threads; t++) {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { url, exportName: o.exportName ?? "default" },
    });
    w.on("message", (msg: { id: number; value?: number; error?: string }) => {
      const p = inflight.get(msg.id);
      inflight.delete(msg.id);
      owner.delete(msg.id);
      idle.push(w);
      if (p) {
        if (msg.error !== undefined)
          p.reject(new FitnessError(`worker fitness (${url}) failed: ${msg.error}`));
        else p.resolve(msg.value as number);
      }
      pump();
    });
    w.on("error", (e) => {
      failure = e;
      for (const [id, p] of inflight) {
        if (owner.get(id) === w) {
          inflight.delete(id);
          p.reject(new FitnessError(`worker fitness (${url}) crashed: ${e.message}`));
        }
      }
    });
    workers.push(w);
    idle.push(w);
  }
  const fitness: FitnessFunction = (genome, info) =>
    new Promise<number>((resolve, reject) => {
      if (failure) return reject(new FitnessError(`worker pool is broken: ${failure.message}`));
      queue.push({ genome, info, p: { resolve, reject } });
      pump();
    });
  return {
    fitness,
    threads,
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
