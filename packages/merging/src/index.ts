export {
  type GlobalMergeContext,
  type GlobalMergeSession,
  type GlobalPass,
  type GlobalTensorInfo,
  getMethod,
  hasMethod,
  listMethods,
  type MergeMethod,
  MergeMethodError,
  type ParamMap,
  type ParamSpec,
  type ParamValue,
  registerMethod,
  resolveParams,
  type TensorAux,
  type TensorMergeInput,
  type TensorVisit,
  tensorRng,
} from "./method.js";
// Merge configuration (mergekit YAML subset), parameter resolution, sizes and dtype names.
export * from "./config/index.js";
