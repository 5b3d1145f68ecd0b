// Piscina worker entry (runs from dist/pool/pool-worker.js): rebuilds typed-array views over the
// shared buffers and runs one chunk. Writes land directly in shared memory; only partial reduction
// results travel back.
import { materialise, runTask, type Task } from "./tasks.js";

export default function run(task: Task): Float64Array | number | null {
  return runTask(task, task.arrays.map(materialise));
}
