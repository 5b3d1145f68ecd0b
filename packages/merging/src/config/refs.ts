import type { MergeConfig, ModelEntry, SliceEntry, TokenizerSettings } from "./schema.js";

function addSlices(out: Set<string>, slices: readonly SliceEntry[]): void {
  for (const s of slices) {
    if (s.baseModel !== undefined) out.add(s.baseModel);
    for (const src of s.sources) out.add(src.model);
  }
}

const addModels = (out: Set<string>, models: readonly ModelEntry[]) => {
  for (const m of models) out.add(m.model);
};

/**
 * Every model reference the config merges from, once each, in order of first mention: the base model,
 * then `models`, slice sources (and slice base models) or each module's models and slices.
 */
export function referencedModels(config: MergeConfig): string[] {
  const out = new Set<string>();
  if (config.baseModel !== undefined) out.add(config.baseModel);
  addModels(out, config.models);
  if (config.slices) addSlices(out, config.slices);
  for (const m of Object.values(config.modules ?? {})) {
    if (m.models) addModels(out, m.models);
    if (m.slices) addSlices(out, m.slices);
  }
  return [...out];
}

/** Whether the config lays out its output by layers (`slices` or `modules`) rather than by `models`. */
export function usesLayerLayout(config: MergeConfig): boolean {
  return config.slices !== undefined || config.modules !== undefined;
}

/** The config's tokenizer settings (`tokenizer:` or `tokenizer_source`), or undefined when the tokenizer is copied. */
export function tokenizerSettingsOf(config: MergeConfig): TokenizerSettings | undefined {
  if (config.tokenizer) return config.tokenizer;
  if (config.tokenizerSource !== undefined) return { source: config.tokenizerSource, tokens: {} };
  return undefined;
}
