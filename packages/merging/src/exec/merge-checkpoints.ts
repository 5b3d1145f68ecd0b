// mergeCheckpoints: one merge from a config to an output directory. The output is checked (not an
// input, not inside or around one, empty unless overwrite) and locked before any input is read, so a
// long merge fails at once instead of after its statistics passes; then prepare (open, plan, global
// statistics), write, close.

import { performance } from "node:perf_hooks";
import { type MergeConfig, referencedModels, tokenizerSettingsOf } from "../config/index.js";
import { acquireOutputLock, checkOutputDir } from "../io/output-guard.js";
import { resolveModelPath } from "../io/source.js";
import {
  type MergeCheckpointsResult,
  noticeStaleTemporaries,
  type PrepareMergeOptions,
  prepareCheckpointMerge,
  type WriteMergeOptions,
} from "./prepared.js";

export interface MergeCheckpointsOptions extends PrepareMergeOptions, WriteMergeOptions {}

/** Paths of every model a config reads (base, models, slice sources, tokenizer source), resolved against `baseDir`. */
export async function configInputPaths(config: MergeConfig, baseDir?: string): Promise<string[]> {
  const refs = new Set<string>(referencedModels(config));
  const source = tokenizerSettingsOf(config)?.source;
  if (source !== undefined && source !== "base" && source !== "union") refs.add(source);
  return Promise.all([...refs].map((r) => resolveModelPath(r, baseDir)));
}

/**
 * Merges the checkpoints named by `config` into `outDir`: check and lock the output, prepare (open,
 * plan, global passes), write (per tensor: read, merge, round, write to its shard offset), close.
 * See `PreparedCheckpointMerge.write`.
 */
export async function mergeCheckpoints(
  config: MergeConfig,
  outDir: string,
  options: MergeCheckpointsOptions = {},
): Promise<MergeCheckpointsResult> {
  const t0 = performance.now();
  const inputs = await configInputPaths(config, options.baseDir);
  await checkOutputDir(outDir, { inputs, overwrite: options.overwrite });
  const lock = await acquireOutputLock(outDir, options.onNotice);
  try {
    await noticeStaleTemporaries(outDir, options.onNotice);
    const prepared = await prepareCheckpointMerge(config, options);
    try {
      const result = await prepared.writeLocked(outDir, options, lock);
      return { ...result, seconds: (performance.now() - t0) / 1000 };
    } finally {
      await prepared.close();
    }
  } finally {
    await lock.release();
  }
}
