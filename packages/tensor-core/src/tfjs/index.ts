// @x/tensor-core/tfjs — the TensorFlow.js bridge. Only this subpath imports tfjs (an optional peer).
export {
  CONV2D_BACKPROP_FILTER,
  conv2dFilterGradNHWC,
  type FilterGradAttrs,
  registerConv2DBackpropFilter,
  replacedKernel,
} from "./conv2d-backprop-filter.js";
export {
  type BridgeArray,
  type FromTfResult,
  fromTf,
  fromTfAsync,
  type TfNumericDType,
  toTf,
} from "./convert.js";
export { TfBridgeError } from "./errors.js";
export { type InitTfOptions, initTf, type TfBackendName, type TfRuntime } from "./init.js";
export { tensorToTf, tfToTensor } from "./tensor-bridge.js";
