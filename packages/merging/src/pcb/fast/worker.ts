// Worker thread of the PCB fast path: its own instance of the kernels on the shared memory, with its
// own stack region; runs kernels over the jobs (parameter blocks) it is given.

import { defineWorker } from "@x/tensor-core/workers";
import { type KernelJob, runInCalls } from "./kernel-calls.js";
import { instantiateKernels, type KernelName } from "./kernels.js";
import type { WasmMemory, WasmModule } from "./wasm-api.js";

export interface FastWorkerInit {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly stackTop: number;
  readonly offsets: { k0: number; k1: number };
}

const fastWorker = defineWorker({
  setup: (init: FastWorkerInit) => ({
    kernels: instantiateKernels(init.memory, init.stackTop, init.module),
    memory: init.memory,
    offsets: init.offsets,
  }),
  methods: {
    kernel: ({ kernel, job }: { kernel: KernelName; job: KernelJob }, ctx): void => {
      const { kernels, memory, offsets } = ctx.state;
      runInCalls(kernels, kernel, memory, job, offsets.k0, offsets.k1);
    },
  },
});
export default fastWorker;
