export { extractBlock, insertBlock } from "./blocks.js";
export { MergeInputError } from "./errors.js";
export type { MergeProgressEvent } from "./events.js";
export {
  EMBEDDING_PATTERNS,
  isEmbeddingLike,
  type MergeWarning,
  type PlannedTensor,
  planMerge,
} from "./plan.js";
export {
  type MergeCheckpointsOptions,
  type MergeCheckpointsResult,
  mergeCheckpoints,
  PreparedCheckpointMerge,
  type PrepareMergeOptions,
  prepareCheckpointMerge,
  type WriteMergeOptions,
} from "./run.js";
