// The public API of @x/tensor-core (subpaths: @x/tensor-core/tfjs, @x/tensor-core/workers).
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
export {
  CheckpointError,
  type CheckpointErrorCode,
  SafetensorsError,
  type SafetensorsErrorCode,
  TensorError,
} from "./errors.js";
export { f8e4m3Table, f8e5m2Table } from "./f8.js";
export {
  type AtomicWriteOptions,
  outputOverlap,
  pathWithin,
  processAlive,
  realPathOf,
  removeDeadTemporaries,
  removeEntriesOfDeadProcesses,
  writeFileAtomic,
  writeFileAtomicSync,
  writeLinesAtomic,
} from "./files.js";
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
export {
  type CheckpointDescription,
  type CheckpointTensorRow,
  formatCheckpointDescription,
  inspectCheckpoint,
} from "./inspect.js";
export { KernelError, type RowReduceOp, SUM_BLOCK, type TaskReduceOp } from "./kernels/index.js";
export {
  type ElementwiseOp,
  KernelPool,
  type KernelPoolOptions,
  type RangeReduceOp,
  sharedFloat32Array,
  sharedFloat64Array,
  toShared,
  type UnaryOp,
} from "./pool/index.js";
export {
  convertPytorchToSafetensors,
  isPytorchCheckpoint,
  type OpenPytorchOptions,
  openPytorchCheckpoint,
  openPytorchFile,
  PYTORCH_ALLOWED_GLOBALS,
  PYTORCH_INDEX_FILE,
  PYTORCH_SINGLE_FILE,
  PyDict,
  PyGlobal,
  PyList,
  type PyOpaque,
  PyTuple,
  PytorchCheckpoint,
  type PytorchConvertOptions,
  type PytorchConvertResult,
  PytorchError,
  type PytorchErrorCode,
  PytorchFile,
  type PyValue,
  UnsafePickleError,
} from "./pytorch/index.js";
export { Rng, type RngState } from "./rng.js";
export {
  type BuiltHeader,
  buildHeader,
  Checkpoint,
  type ConvertOptions,
  type ConvertResult,
  convertCheckpoint,
  INDEX_FILE_NAME,
  type LayoutOrder,
  layoutOrder,
  MAX_HEADER_SIZE,
  type OpenSafetensorsOptions,
  openCheckpoint,
  openSafetensors,
  parseHeader,
  planShards,
  readHeaderLength,
  type SafetensorsEntry,
  SafetensorsFile,
  type SafetensorsHeader,
  SafetensorsWriter,
  ShardedSafetensorsWriter,
  type ShardedWriteOptions,
  type ShardedWriteResult,
  SINGLE_FILE_NAME,
  saveSafetensors,
  shardFileName,
  type TensorPayload,
  type TensorReader,
  type TensorSourceFn,
  type TensorSpec,
  type TensorStream,
  type WriteOptions,
  writeSafetensors,
  writeShardedSafetensors,
} from "./safetensors/index.js";
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
export { signalExitCode } from "./signals.js";
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
