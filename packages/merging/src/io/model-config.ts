// config.json of inputs and output. The output's is the donor's (base model, else the first model)
// with what the merge changed: layer counts of stacked slices (and `layer_types` lists that follow
// them), the vocabulary size of a tokenizer merge, and the dtype the weights are saved in — as
// mergekit writes it.

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { type ConfigJson, configValue, setConfigValue } from "../architecture/index.js";
import { dtypeName, type MergeDType } from "../config/index.js";
import { MergeInputError } from "../errors.js";
import type { ModuleLayers } from "../plan/plan.js";

/** A model directory's config.json, or undefined (no directory, or no config.json). */
export async function readModelConfig(path: string): Promise<ConfigJson | undefined> {
  const file = join(path, "config.json");
  const isFile = await stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) return undefined;
  try {
    const v = JSON.parse(await readFile(file, "utf8"));
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not a JSON object");
    return v as ConfigJson;
  } catch (err) {
    throw new MergeInputError(`${file}: ${(err as Error).message}`);
  }
}

export interface OutputConfigChanges {
  /** Output layer counts per module (slices, modules). */
  readonly layers?: readonly ModuleLayers[];
  /** config.json of each input by reference (for `layer_types` of stacked layers). */
  readonly configOf?: (ref: string) => ConfigJson | undefined;
  /** The vocabulary size of a tokenizer merge, and its config key. */
  readonly vocab?: { readonly key: string; readonly size: number };
  /** The saved dtype (out_dtype, else dtype). */
  readonly dtype?: MergeDType;
}

/**
 * The output's config.json: `donor` with the changes applied (a new object; `donor` is not modified),
 * and a note for each change that could not be made (a key the donor does not have).
 */
export function outputModelConfig(
  donor: ConfigJson,
  changes: OutputConfigChanges,
): { config: ConfigJson; changed: boolean; notes: string[] } {
  const config = structuredClone(donor);
  const notes: string[] = [];
  let changed = false;
  for (const m of changes.layers ?? []) {
    if (m.key === undefined) continue;
    const old = configValue(config, m.key);
    if (!setConfigValue(config, m.key, m.count)) {
      notes.push(
        `config.json has no '${m.key}': set the layer count of module '${m.module}' (${m.count}) yourself`,
      );
      continue;
    }
    changed = true;
    // Per-layer lists next to the count (e.g. layer_types) follow the stacked layers.
    const parent = m.key.includes(".") ? m.key.slice(0, m.key.lastIndexOf(".") + 1) : "";
    const types = configValue(config, `${parent}layer_types`);
    if (Array.isArray(types) && typeof old === "number" && types.length === old) {
      const out = m.sources.map((s) => {
        const own = changes.configOf?.(s.model);
        const list = own ? configValue(own, `${parent}layer_types`) : undefined;
        return Array.isArray(list) && s.layer < list.length ? list[s.layer] : types[s.layer % types.length];
      });
      setConfigValue(config, `${parent}layer_types`, out);
    }
  }
  if (changes.vocab) {
    if (setConfigValue(config, changes.vocab.key, changes.vocab.size)) changed = true;
    else
      notes.push(
        `config.json has no '${changes.vocab.key}': set the vocabulary size (${changes.vocab.size}) yourself`,
      );
  }
  if (changes.dtype) {
    // transformers ≥ 4.56 writes `dtype`; older configs have `torch_dtype`.
    const key = "dtype" in config && !("torch_dtype" in config) ? "dtype" : "torch_dtype";
    config[key] = dtypeName(changes.dtype);
    changed = true;
  }
  return { config, changed, notes };
}
