// Runs a kernel over several parameter blocks at once: the first on this thread, the others on
// worker threads sharing the memory. Each block covers its own range of positions, and every
// element is computed by the same code whatever the split, so results do not depend on the count.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { PcbError } from "../options.js";
import { type KernelName, type PcbKernels, pcbModule } from "./kernels.js";
import type { SharedArena } from "./memory.js";

/** The built worker script (dist/pcb/fast/worker.js), also when running from src; undefined if not built. */
export function findFastWorker(): URL | undefined {
  for (const rel of ["./worker.js", "../../../dist/pcb/fast/worker.js"]) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return undefined;
}

type Reply = { ok: true } | { ok: false; message: string };

export class KernelThreads {
  private readonly workers: Worker[] = [];
  private readonly waiting: ((r: Reply) => void)[][] = [];

  /** `threads − 1` workers (none when the worker script is not built). */
  constructor(
    private readonly local: PcbKernels,
    arena: SharedArena,
    threads: number,
  ) {
    const url = threads > 1 ? findFastWorker() : undefined;
    if (!url) return;
    for (let t = 1; t < threads; t++) {
      const w = new Worker(url, {
        workerData: { module: pcbModule(), memory: arena.memory, stackTop: arena.stackTop(t) },
      });
      w.unref();
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
    return this.workers.length + 1;
  }

  /** `kernel` on every block: blocks[0] here, blocks[t] on worker t − 1 (blocks.length ≤ size). */
  async run(kernel: KernelName, blocks: readonly number[]): Promise<void> {
    if (blocks.length > this.size)
      throw new PcbError(`pcb fast path: ${blocks.length} blocks for ${this.size} threads`);
    const replies = blocks.slice(1).map(
      (params, j) =>
        new Promise<Reply>((resolve) => {
          this.waiting[j]!.push(resolve);
          this.workers[j]!.postMessage({ kernel, params });
        }),
    );
    if (blocks.length > 0) this.local[kernel](blocks[0]!);
    for (const r of await Promise.all(replies)) {
      if (!r.ok) throw new PcbError(`pcb fast path: worker failed: ${r.message}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
