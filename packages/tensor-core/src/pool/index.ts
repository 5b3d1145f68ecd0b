export {
  findPoolWorker,
  KernelPool,
  type KernelPoolOptions,
  PoolError,
  sharedFloat32Array,
  sharedFloat64Array,
  toShared,
} from "./kernel-pool.js";
export type { ElementwiseOp, RangeReduceOp, UnaryOp } from "./tasks.js";
