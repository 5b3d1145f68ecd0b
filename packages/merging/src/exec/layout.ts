// What the executor learns about its inputs before planning: their config.json, the architecture
// definition (slices and modules need one; a tokenizer merge uses it to find the embeddings), the
// tokenizer merge's output vocabulary, and then the plan itself.

import {
  type ArchitectureDefinition,
  ArchitectureError,
  ArchitectureTable,
  architecturePathsFromEnv,
  bindWeight,
  type ConfigJson,
  moduleLayerCount,
} from "../architecture/index.js";
import { type MergeConfig, referencedModels, tokenizerSettingsOf, usesLayerLayout } from "../config/index.js";
import { readModelConfig } from "../io/model-config.js";
import { resolveModelPath } from "../io/source.js";
import type { MergeMethod } from "../method.js";
import { planLayerMerge } from "../plan/layers.js";
import { type CheckpointPlan, type InputRefs, planCheckpointMerge } from "../plan/plan.js";
import { EMBEDDING_PATTERNS, type HeaderView } from "../plan/tensors.js";
import { MergeTokenizer } from "../tokenizer/index.js";
import type { CheckpointInputs } from "./inputs.js";

export interface PlannedInputs {
  readonly plan: CheckpointPlan;
  /** config.json of each input (aligned with `InputRefs.all`). */
  readonly configs: readonly (ConfigJson | undefined)[];
  readonly architecture?: ArchitectureDefinition;
  readonly tokenizer?: MergeTokenizer;
}

/** The reference whose config.json and tokenizer the output takes: the base model, else the first model. */
export function donorOf(config: MergeConfig): string {
  return config.baseModel ?? referencedModels(config)[0]!;
}

/** The architecture every input of a slices / modules config shares (an error when they differ or none matches). */
function sharedArchitecture(
  table: ArchitectureTable,
  refs: InputRefs,
  configs: readonly (ConfigJson | undefined)[],
): ArchitectureDefinition {
  const defs = refs.all.map((ref, i) => table.require(configs[i], ref));
  const first = defs[0]!;
  const other = defs.findIndex((d) => d !== first);
  if (other >= 0) {
    throw new ArchitectureError(
      `models ${refs.all[0]} and ${refs.all[other]} have different architectures (${first.modelType} from ${first.source}, ${defs[other]!.modelType} from ${defs[other]!.source}); slices and modules need one architecture`,
    );
  }
  return first;
}

/** Names of the vocabulary-indexed tensors of a `models:` merge (the definition's embeddings, else by name). */
function vocabularyNames(
  reference: HeaderView,
  arch: ArchitectureDefinition | undefined,
  config: ConfigJson | undefined,
): Set<string> {
  const names = new Set<string>();
  const has = (n: string) => reference.info(n)?.shape.length === 2;
  if (arch) {
    for (const m of arch.modules) {
      let layers = 0;
      try {
        layers = moduleLayerCount(m, config, reference.label);
      } catch {
        // A module whose count is unknown still has its pre/post weights.
      }
      for (const w of [...m.layout.pre, ...m.layout.post]) {
        if (!w.isEmbed) continue;
        const b = bindWeight(w, m, layers);
        const stored = [b.name, ...b.aliases].find(has);
        if (stored) names.add(stored);
      }
    }
    if (names.size > 0) return names;
  }
  for (const n of reference.names())
    if (has(n) && EMBEDDING_PATTERNS.some((p) => n.includes(p))) names.add(n);
  return names;
}

/** Reads the inputs' config.json, finds the architecture, builds the tokenizer and plans the merge. */
export async function planFromInputs(
  config: MergeConfig,
  method: MergeMethod,
  refs: InputRefs,
  inputs: CheckpointInputs,
  options: {
    baseDir?: string;
    strict: boolean;
    architectureFiles?: readonly string[];
    onWarning?: (message: string) => void;
  },
): Promise<PlannedInputs> {
  const configs = await Promise.all(inputs.sources.map((s) => readModelConfig(s.path)));
  const layered = usesLayerLayout(config);
  const settings = tokenizerSettingsOf(config);
  const donorIndex = refs.all.indexOf(donorOf(config));
  let architecture: ArchitectureDefinition | undefined;
  if (layered || settings) {
    const table = await ArchitectureTable.load(
      [
        ...(config.architectureFiles ?? []),
        ...(options.architectureFiles ?? []),
        ...architecturePathsFromEnv(),
      ],
      options.baseDir,
    );
    architecture = layered
      ? sharedArchitecture(table, refs, configs)
      : table.find(configs[Math.max(0, donorIndex)] ?? {});
  }
  let tokenizer: MergeTokenizer | undefined;
  if (settings) {
    const source = settings.source;
    const external = source !== "base" && source !== "union" && !refs.all.includes(source);
    tokenizer = await MergeTokenizer.build({
      settings,
      refs: refs.all,
      paths: inputs.sources.map((s) => s.path),
      configs,
      base: Math.max(0, donorIndex),
      ...(architecture?.vocabSizeKey ? { vocabKey: architecture.vocabSizeKey } : {}),
      ...(external ? { sourcePath: await resolveModelPath(source, options.baseDir) } : {}),
      onWarning: options.onWarning,
    });
  }
  const plan = layered
    ? planLayerMerge({
        config,
        method,
        architecture: architecture!,
        refs,
        headers: inputs.sources,
        configs,
        strict: options.strict,
        ...(tokenizer ? { vocabularyRows: tokenizer.rows } : {}),
      })
    : planCheckpointMerge(
        config,
        method,
        inputs.headers,
        refs,
        options.strict,
        tokenizer
          ? {
              rows: tokenizer.rows,
              names: vocabularyNames(
                inputs.reference,
                architecture,
                configs[refs.all.indexOf(refs.reference)],
              ),
            }
          : undefined,
      );
  return { plan, configs, ...(architecture ? { architecture } : {}), ...(tokenizer ? { tokenizer } : {}) };
}
