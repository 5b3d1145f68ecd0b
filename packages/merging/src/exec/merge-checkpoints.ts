// mergeCheckpoints: one merge from a config to an output directory — prepare (open, plan, global
// statistics), write, close.

import { performance } from "node:perf_hooks";
import type { MergeConfig } from "../config/index.js";
import {
  type MergeCheckpointsResult,
  type PrepareMergeOptions,
  prepareCheckpointMerge,
  type WriteMergeOptions,
} from "./prepared.js";

export interface MergeCheckpointsOptions extends PrepareMergeOptions, WriteMergeOptions {}

/**
 * Merges the checkpoints named by `config` into `outDir`: prepare (open, plan, global passes), write
 * (per tensor: read, merge, round, write to its shard offset), close. See `PreparedCheckpointMerge.write`.
 */
export async function mergeCheckpoints(
  config: MergeConfig,
  outDir: string,
  options: MergeCheckpointsOptions = {},
): Promise<MergeCheckpointsResult> {
  const t0 = performance.now();
  const prepared = await prepareCheckpointMerge(config, options);
  try {
    const result = await prepared.write(outDir, options);
    return { ...result, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await prepared.close();
  }
}
