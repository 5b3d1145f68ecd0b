export { castToComputeDType } from "./cast.js";
export { commitOutputDir, prepareOutputDir } from "./output-dir.js";
export { createShardedSink, encodeFloat32, type ShardedSinkOptions } from "./sink.js";
export { openModel, resolveModelPath } from "./source.js";
export { copyTagalongFiles, writeMergeMetadataFiles } from "./tagalong.js";
export type { OutputTensorSpec, StoredTensorInfo, TensorSink, TensorSource } from "./types.js";
