// Worker script of KernelPool (runs from dist/pool/kernel-worker.js): rebuilds typed-array views over the
// shared buffers and runs one chunk. Writes land directly in shared memory; only partial reduction
// results travel back.
import { defineWorker } from "../workers/define.js";
import { materialise, runTask, type Task } from "./tasks.js";

export default defineWorker({
  methods: {
    run: (task: Task): Float64Array | number | null => runTask(task, task.arrays.map(materialise)),
  },
});
