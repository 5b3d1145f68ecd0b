// Reading PyTorch checkpoints (`pytorch_model.bin`, sharded indexes) without Python and without running
// their pickles, and converting them to safetensors.
export {
  isPytorchCheckpoint,
  openPytorchCheckpoint,
  PYTORCH_INDEX_FILE,
  PYTORCH_SINGLE_FILE,
  PytorchCheckpoint,
} from "./checkpoint.js";
export {
  convertPytorchToSafetensors,
  type PytorchConvertOptions,
  type PytorchConvertResult,
} from "./convert.js";
export { PytorchError, type PytorchErrorCode, UnsafePickleError } from "./errors.js";
// The values a state dict's pickle builds (PytorchFile.attributes is one of them).
export { PyDict, PyGlobal, PyList, type PyOpaque, PyTuple, type PyValue } from "./pickle.js";
export { type OpenPytorchOptions, openPytorchFile, PytorchFile } from "./reader.js";
export { ALLOWED_GLOBALS as PYTORCH_ALLOWED_GLOBALS } from "./rebuild.js";
