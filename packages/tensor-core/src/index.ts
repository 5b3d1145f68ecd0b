export {
  type StoredFloats,
  type WeightedDeltaSumOptions,
  weightedDeltaSum,
} from "./codecs/linear.js";
export { setSimdEnabled, simdAvailable } from "./codecs/simd.js";
export {
  byteLengthOf,
  DTYPES,
  type DType,
  type DTypeArrayMap,
  type DTypeInfo,
  dtypeInfo,
  elementSize,
  isDType,
  isFloatDType,
  isNumericDType,
  numelOf,
  type TensorData,
} from "./dtype.js";
export {
  CheckpointError,
  type CheckpointErrorCode,
  SafetensorsError,
  type SafetensorsErrorCode,
  TensorError,
} from "./errors.js";
export { f8e4m3Table, f8e5m2Table } from "./f8.js";
export {
  bf16ToF32,
  bf16ToNumber,
  f16ToF32,
  f16ToNumber,
  f32ToBf16,
  f32ToF16,
  f64ToBf16,
  f64ToF16,
  numberToBf16,
  numberToF16,
} from "./half.js";
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
export * from "./pytorch/index.js";
export { Rng, type RngState } from "./rng.js";
export * from "./safetensors/index.js";
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
export {
  compareCodePoints,
  type FlatEntry,
  type FlatLayout,
  type FlatStateDict,
  type LazyTensor,
  StateDict,
  sortKeys,
  type TensorInfo,
  type TensorLike,
} from "./state-dict.js";
export {
  type StreamingLowPlan,
  StreamingQuantile,
  type StreamingQuantileOptions,
  type StreamingQuantilePhase,
} from "./streaming-quantile.js";
export { Tensor } from "./tensor.js";
