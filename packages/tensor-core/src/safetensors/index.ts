export { Checkpoint, openCheckpoint } from "./checkpoint.js";
export { type ConvertOptions, type ConvertResult, convertCheckpoint } from "./convert.js";
export {
  type BuiltHeader,
  buildHeader,
  type LayoutOrder,
  layoutOrder,
  MAX_HEADER_SIZE,
  parseHeader,
  readHeaderLength,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type TensorSpec,
} from "./header.js";
export {
  type OpenSafetensorsOptions,
  openSafetensors,
  SafetensorsFile,
  type TensorReader,
} from "./reader.js";
export {
  INDEX_FILE_NAME,
  planShards,
  ShardedSafetensorsWriter,
  type ShardedWriteOptions,
  type ShardedWriteResult,
  SINGLE_FILE_NAME,
  shardFileName,
  writeShardedSafetensors,
} from "./sharded.js";
export {
  SafetensorsWriter,
  saveSafetensors,
  type TensorPayload,
  type TensorSourceFn,
  type TensorStream,
  type WriteOptions,
  writeSafetensors,
} from "./writer.js";
