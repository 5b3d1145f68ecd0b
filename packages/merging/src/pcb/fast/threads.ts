// Runs a kernel over several parameter blocks at once: the first on this thread, the others on
// worker threads sharing the memory. Each block covers its own range of positions, and every
// element is computed by the same code whatever the split, so results do not depend on the count.

import { WorkerPool, workerScript } from "@x/tensor-core/workers";
import { PcbError } from "../options.js";
import { type KernelJob, runInCalls } from "./kernel-calls.js";
import { type KernelName, type PcbKernels, pcbModule } from "./kernels.js";
import type { SharedArena } from "./memory.js";
import type fastWorker from "./worker.js";

const POOL = "PCB fast-path threads";

export class KernelThreads {
  /** Threads that run kernels (this one included). */
  readonly size: number;
  private readonly script: URL | undefined;
  private pool: WorkerPool<typeof fastWorker> | undefined;

  /**
   * `threads − 1` workers (the built package's worker.js, resolved now), started by `start` or the
   * first `run`: page faults on the shared memory (the inputs being read into it) measured 2× slower
   * here while another thread of the process was alive, so the caller starts them after reading.
   */
  constructor(
    private readonly local: PcbKernels,
    private readonly arena: SharedArena,
    threads: number,
    private readonly offsets: { k0: number; k1: number },
  ) {
    this.size = Math.max(1, threads);
    this.script = this.size > 1 ? workerScript(import.meta.url, "./worker.js", POOL) : undefined;
  }

  /**
   * Starts the workers (they compile and instantiate the kernels while this thread goes on; jobs
   * posted meanwhile run after that). Each gets its own stack region of the shared memory.
   */
  start(): void {
    if (this.pool || !this.script) return;
    const { arena, offsets } = this;
    this.pool = WorkerPool.open<typeof fastWorker>({
      script: this.script,
      threads: this.size - 1,
      name: POOL,
      initFor: (slot) => ({
        module: pcbModule(),
        memory: arena.memory,
        stackTop: arena.stackTop(slot + 1),
        offsets,
      }),
    });
  }

  /** `kernel` on every job: jobs[0] here, jobs[t] on worker t − 1 (jobs.length ≤ size). */
  async run(kernel: KernelName, jobs: readonly KernelJob[]): Promise<void> {
    if (jobs.length > this.size)
      throw new PcbError(`pcb fast path: ${jobs.length} jobs for ${this.size} threads`);
    if (jobs.length > 1) this.start();
    const pool = this.pool;
    const replies = jobs.slice(1).map((job, j) => pool!.runOn(j, "kernel", { kernel, job }));
    if (jobs.length > 0)
      runInCalls(this.local, kernel, this.arena.memory, jobs[0]!, this.offsets.k0, this.offsets.k1);
    await Promise.all(replies).catch((e: Error) => {
      throw new PcbError(`pcb fast path: worker failed: ${e.message}`, { cause: e });
    });
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.terminate();
  }
}
