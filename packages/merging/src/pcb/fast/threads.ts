// Runs a kernel over several parameter blocks at once: the first on this thread, the others on
// worker threads sharing the memory. Each block covers its own range of positions, and every
// element is computed by the same code whatever the split, so results do not depend on the count.

import type { Worker } from "node:worker_threads";
import { findBuiltScript, startWorker } from "../../threads.js";
import { PcbError } from "../options.js";
import { type KernelName, type PcbKernels, pcbModule } from "./kernels.js";
import type { SharedArena } from "./memory.js";

/** The built worker script (dist/pcb/fast/worker.js), also when running from src; undefined if not built. */
export function findFastWorker(): URL | undefined {
  return findBuiltScript(import.meta.url, ["./worker.js", "../../../dist/pcb/fast/worker.js"]);
}

type Reply = { ok: true } | { ok: false; message: string };

/** One thread's share of a pass: its parameter block and the range of positions it covers. */
export interface KernelJob {
  readonly params: number;
  readonly k0: number;
  readonly k1: number;
}

/**
 * Positions per kernel call. A pass is cut into many calls because WebAssembly code only moves from
 * V8's baseline compiler to the optimizing one between calls (there is no on-stack replacement):
 * one call per pass would run entirely in baseline code, 2× slower here. Multiples of 4 (SIMD groups).
 */
export const CALL_POSITIONS = 1 << 18;

/**
 * Runs `kernel` over [k0, k1) in calls of CALL_POSITIONS, writing each call's bounds into the
 * parameter block (the kernels accumulate across calls).
 */
export function runInCalls(
  kernels: PcbKernels,
  kernel: KernelName,
  memory: { buffer: SharedArrayBuffer },
  job: KernelJob,
  k0Offset: number,
  k1Offset: number,
): void {
  const view = new DataView(memory.buffer);
  for (let a = job.k0; a < job.k1; a += CALL_POSITIONS) {
    view.setUint32(job.params + k0Offset, a, true);
    view.setUint32(job.params + k1Offset, Math.min(job.k1, a + CALL_POSITIONS), true);
    kernels[kernel](job.params);
  }
}

export class KernelThreads {
  private readonly workers: Worker[] = [];
  private readonly waiting: ((r: Reply) => void)[][] = [];

  private readonly url: URL | undefined;
  private started = false;

  /**
   * `threads − 1` workers (none when the worker script is not built), started by `start` or the first
   * `run`: page faults on the shared memory (the inputs being read into it) measured 2× slower here
   * while another thread of the process was alive, so the caller starts them after reading.
   */
  constructor(
    private readonly local: PcbKernels,
    private readonly arena: SharedArena,
    private readonly threads: number,
    private readonly offsets: { k0: number; k1: number },
  ) {
    this.url = threads > 1 ? findFastWorker() : undefined;
  }

  /** Starts the workers (they compile and instantiate the kernels while this thread goes on). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const { url, arena, offsets } = this;
    if (!url) return;
    for (let t = 1; t < this.threads; t++) {
      const w = startWorker(
        url,
        { module: pcbModule(), memory: arena.memory, stackTop: arena.stackTop(t), offsets },
        true,
      );
      const queue: ((r: Reply) => void)[] = [];
      w.on("message", (r: Reply) => queue.shift()?.(r));
      w.on("error", (e) => {
        for (const f of queue.splice(0)) f({ ok: false, message: e.message });
      });
      this.workers.push(w);
      this.waiting.push(queue);
    }
  }

  /** Threads that run kernels (this one included). */
  get size(): number {
    return this.url ? this.threads : 1;
  }

  /** `kernel` on every job: jobs[0] here, jobs[t] on worker t − 1 (jobs.length ≤ size). */
  async run(kernel: KernelName, jobs: readonly KernelJob[]): Promise<void> {
    if (jobs.length > this.size)
      throw new PcbError(`pcb fast path: ${jobs.length} jobs for ${this.size} threads`);
    this.start();
    const replies = jobs.slice(1).map(
      (job, j) =>
        new Promise<Reply>((resolve) => {
          this.waiting[j]!.push(resolve);
          this.workers[j]!.postMessage({ kernel, job });
        }),
    );
    if (jobs.length > 0)
      runInCalls(this.local, kernel, this.arena.memory, jobs[0]!, this.offsets.k0, this.offsets.k1);
    for (const r of await Promise.all(replies)) {
      if (!r.ok) throw new PcbError(`pcb fast path: worker failed: ${r.message}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
