// Which tensors of a checkpoint become LoRA factors, which are saved at full rank, and which are left
// out, decided from tensor names and shapes the way mergekit decides it from the instantiated model:
// 2-D `.weight`s are linear layers (decomposed); input embeddings (nn.Embedding) and output embeddings
// (lm_head) are saved at full rank unless `embedLora`; other modules (norms, convolutions) have no
// LoRA form and are saved at full rank (or skipped with `skipUndecomposable`).

/** Last name components of input embeddings (nn.Embedding in transformers models). */
export const INPUT_EMBEDDING_NAMES: readonly string[] = [
  "embed_tokens",
  "wte",
  "word_embeddings",
  "embed_in",
  "shared",
];
/** Last name components of output embeddings (the LM head, an nn.Linear). */
export const OUTPUT_EMBEDDING_NAMES: readonly string[] = ["lm_head", "embed_out"];

export type ModuleKind =
  /** Linear layer: lora_A [r, in], lora_B [out, r] (+ lora_B.bias = the bias delta). */
  | "lora"
  /** Input embedding decomposed transposed: lora_embedding_A [r, vocab], lora_embedding_B [dim, r]. */
  | "embedding"
  /** Saved at full rank from the fine-tuned model (PEFT modules_to_save). */
  | "full";

export interface PlannedModule {
  /** Module name, e.g. `model.layers.0.self_attn.q_proj`. */
  readonly name: string;
  readonly kind: ModuleKind;
  /** The module's weight tensor, and its bias when it has one. */
  readonly weight: string;
  readonly bias?: string;
  /** The weight's shape in the fine-tuned model. */
  readonly shape: readonly number[];
  /** Why a module is saved at full rank (for reports). */
  readonly reason?: string;
}

export interface ModulePlanOptions {
  readonly embedLora: boolean;
  readonly modulesToSave: readonly string[];
  readonly include: readonly RegExp[];
  readonly exclude: readonly RegExp[];
  readonly skipUndecomposable: boolean;
}

export interface ModulePlan {
  readonly modules: PlannedModule[];
  /** Tensors that belong to no module (buffers such as rotary `inv_freq`): not in the adapter. */
  readonly ignored: string[];
  /** Modules left out (excluded, or undecomposable with `skipUndecomposable`). */
  readonly skipped: string[];
}

const lastComponent = (module: string) => module.slice(module.lastIndexOf(".") + 1);

/**
 * Plans the adapter from the fine-tuned model's tensors (name → shape) and the base's (for vocabulary
 * checks): one entry per module, in the model's tensor order.
 */
export function planModules(
  tensors: ReadonlyMap<string, readonly number[]>,
  baseShapes: ReadonlyMap<string, readonly number[]>,
  options: ModulePlanOptions,
): ModulePlan {
  const modules: PlannedModule[] = [];
  const ignored: string[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const wanted = (m: string) =>
    (options.include.length === 0 || options.include.some((r) => r.test(m))) &&
    !options.exclude.some((r) => r.test(m));
  const savedByUser = (m: string) =>
    options.modulesToSave.includes(m) || options.modulesToSave.includes(lastComponent(m));
  for (const name of tensors.keys()) {
    const isWeight = name.endsWith(".weight");
    if (!isWeight && !name.endsWith(".bias")) {
      ignored.push(name);
      continue;
    }
    const module = name.slice(0, name.lastIndexOf("."));
    if (seen.has(module)) continue;
    seen.add(module);
    const weight = `${module}.weight`;
    const weightShape = tensors.get(weight);
    if (weightShape === undefined) {
      // A bias without a weight is no module we know.
      ignored.push(name);
      continue;
    }
    const bias = tensors.has(`${module}.bias`) ? `${module}.bias` : undefined;
    const key = lastComponent(module);
    const isInputEmbedding = INPUT_EMBEDDING_NAMES.includes(key) && weightShape.length === 2;
    const isOutputEmbedding = OUTPUT_EMBEDDING_NAMES.includes(key) && weightShape.length === 2;
    const base = { name: module, weight, bias, shape: weightShape };
    if (savedByUser(module)) {
      modules.push({ ...base, kind: "full", reason: "listed in modulesToSave" });
      continue;
    }
    if (isInputEmbedding || isOutputEmbedding) {
      if (options.exclude.some((r) => r.test(module))) {
        skipped.push(module);
        continue;
      }
      const baseRows = baseShapes.get(weight)?.[0];
      if (!options.embedLora) {
        modules.push({ ...base, kind: "full", reason: "embedding (embedLora off)" });
      } else if (baseRows !== weightShape[0]) {
        modules.push({
          ...base,
          kind: "full",
          reason: `vocabulary differs from the base (${baseRows} vs ${weightShape[0]} rows)`,
        });
      } else {
        modules.push({ ...base, kind: isInputEmbedding ? "embedding" : "lora" });
      }
      continue;
    }
    if (!wanted(module)) {
      skipped.push(module);
      continue;
    }
    if (weightShape.length === 2) {
      modules.push({ ...base, kind: "lora" });
    } else if (options.skipUndecomposable) {
      skipped.push(module);
    } else {
      modules.push({ ...base, kind: "full", reason: `${weightShape.length}-D weight has no LoRA form` });
    }
  }
  return { modules, ignored, skipped };
}
