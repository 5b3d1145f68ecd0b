// @x/tensor-core/browser: the part of the public API that runs in a browser (no Node built-ins on its
// import graph): tensors, state dicts, dtypes and their conversions, seeded RNG, selection and
// quantiles, the single-threaded kernels and the linear codecs. The same modules as the package entry
// (one implementation each); file I/O, the worker pool and PyTorch/safetensors readers stay Node-only.
// `test/browser-entry.test.ts` bundles this file for the browser and fails on any Node built-in.
import * as kernels from "./kernels/index.js";

export {
  type StoredFloats,
  type WeightedDeltaSumOptions,
  weightedDeltaSum,
} from "./codecs/linear.js";
export { setSimdEnabled, simdAvailable } from "./codecs/simd.js";
export {
  type ArrayCtor,
  byteLengthOf,
  DTYPES,
  type DType,
  type DTypeArrayMap,
  type DTypeInfo,
  dtypeFromName,
  dtypeInfo,
  elementSize,
  isDType,
  isFloatDType,
  isNumericDType,
  numelOf,
  type TensorData,
} from "./dtype.js";
export { TensorError } from "./errors.js";
export { f8e4m3Table, f8e5m2Table } from "./f8.js";
export { formatBytes, formatSeconds } from "./format.js";
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
export { KernelError, type RowReduceOp, SUM_BLOCK, type TaskReduceOp } from "./kernels/index.js";
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

/** The single-threaded typed-array kernels (`kernels.abs`, `kernels.reduceTasks`, ...). */
export { kernels };
