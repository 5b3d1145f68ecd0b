export {
  KernelPool,
  type KernelPoolOptions,
  sharedFloat32Array,
  sharedFloat64Array,
  toShared,
} from "./kernel-pool.js";
export type { ElementwiseOp, RangeReduceOp, UnaryOp } from "./tasks.js";
