export * as kernels from "./kernels/index.js";
export { KernelError, type RowReduceOp, SUM_BLOCK, type TaskReduceOp } from "./kernels/index.js";
export {
  type ElementwiseOp,
  findPoolWorker,
  KernelPool,
  type KernelPoolOptions,
  PoolError,
  type RangeReduceOp,
  sharedFloat32Array,
  sharedFloat64Array,
  toShared,
  type UnaryOp,
} from "./pool/index.js";
export { Rng, type RngState } from "./rng.js";
export {
  countNaN,
  createSelectScratch,
  type FloatArray,
  quantileByIndex,
  quantileLinear,
  SelectionError,
  selectKth,
  selectKths,
  truncIndex,
} from "./select.js";
