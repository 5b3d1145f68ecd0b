// Worker thread of the PCB fast path: runs kernels on its own instance of the shared memory.

import { parentPort, workerData } from "node:worker_threads";
import { instantiateKernels, type KernelName } from "./kernels.js";
import { type KernelJob, runInCalls } from "./threads.js";
import type { WasmMemory, WasmModule } from "./wasm-api.js";

interface Init {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly stackTop: number;
  readonly offsets: { k0: number; k1: number };
}

const { module, memory, stackTop, offsets } = workerData as Init;
const kernels = instantiateKernels(memory, stackTop, module);

parentPort!.on("message", (msg: { kernel: KernelName; job: KernelJob }) => {
  try {
    runInCalls(kernels, msg.kernel, memory, msg.job, offsets.k0, offsets.k1);
    parentPort!.postMessage({ ok: true });
  } catch (e) {
    parentPort!.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});
