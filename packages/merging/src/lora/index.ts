// LoRA extraction (a PEFT adapter from a fine-tuned model and its base) and its truncated SVD.
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  type ExtractLoraOptions,
  type ExtractLoraResult,
  extractLora,
  LoraExtractionError,
  type LoraModuleReport,
  openAnyCheckpoint,
} from "./extract.js";
export { type SvdOptions, type TruncatedSvd, truncatedSvd } from "./linalg.js";
export { INPUT_EMBEDDING_NAMES, type ModuleKind, OUTPUT_EMBEDDING_NAMES } from "./modules.js";
export { formatLoraExtraction } from "./report.js";
