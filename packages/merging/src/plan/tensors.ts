// Decides, from the inputs' headers only, what happens to every output tensor: which models take
// part, whether an embedding is merged on its common top-left block, and what is skipped (with a
// warning, or an error under `strict`). Planning first means a strict merge fails before writing
// anything.

import { MergeInputError } from "../errors.js";

/** The header of one input checkpoint: tensor names in storage order and their dtype and shape. */
export interface HeaderView {
  /** The path the user gave (for messages). */
  readonly label: string;
  names(): readonly string[];
  info(name: string): { readonly dtype: string; readonly shape: readonly number[] } | undefined;
}

/** Substrings that mark vocabulary-indexed tensors (rows = tokens), where a row-count mismatch is expected. */
export const EMBEDDING_PATTERNS: readonly string[] = [
  "embed_tokens",
  "lm_head",
  "wte",
  "word_embeddings",
  "embed_out",
  "shared.weight",
];

const FLOAT_DTYPES = new Set(["F64", "F32", "F16", "BF16"]);

export function isEmbeddingLike(name: string, patterns: readonly string[] = EMBEDDING_PATTERNS): boolean {
  return patterns.some((p) => name.includes(p));
}

export interface MergeWarning {
  readonly kind: "missing" | "shape" | "submatrix" | "extra" | "copied";
  readonly tensor: string;
  /** The model path concerned, when one. */
  readonly model?: string;
  readonly message: string;
}

export interface PlannedTensor {
  readonly name: string;
  /** Output shape = the reference model's shape. */
  readonly shape: readonly number[];
  /** The reference tensor's stored dtype. */
  readonly storedDtype: string;
  /** "merge": run the method; "copy": keep the reference tensor (non-float, or too few compatible models). */
  readonly kind: "merge" | "copy";
  /** Indices into the merge models that take part (all compatible ones). */
  readonly models: readonly number[];
  /** Set when shapes differ on an embedding: merge the top-left [rows, cols] block, keep the reference elsewhere. */
  readonly block?: { readonly rows: number; readonly cols: number };
}

export interface PlanInput {
  /** The model whose names, shapes and order the output follows (base, else the first model). */
  reference: HeaderView;
  /** The base model (may be `reference` itself), if the method uses one. */
  base?: HeaderView;
  /** The models being merged (base excluded unless the method has no base). */
  models: readonly HeaderView[];
  minModels: number;
  strict: boolean;
  embeddingPatterns?: readonly string[];
  /**
   * Tensors whose rows index the vocabulary of a tokenizer merge: every model whose copy has the
   * reference's column count takes part (rows are permuted to the output vocabulary before merging).
   */
  vocabulary?: ReadonlySet<string>;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The models taking part in a vocabulary-indexed tensor of a tokenizer merge: 2-D copies with the
 * reference's column count (their rows are permuted to the output vocabulary before merging).
 */
export function takeVocabulary(
  name: string,
  refShape: readonly number[],
  candidates: readonly CandidateTensor[],
  warn: (w: MergeWarning) => void,
): { taking: number[]; block?: undefined } {
  const taking: number[] = [];
  candidates.forEach((src, i) => {
    const info = src.info;
    if (!info) {
      warn({
        kind: "missing",
        tensor: name,
        model: src.label,
        message: `model ${src.label} has no tensor '${name}'; merging it without that model`,
      });
    } else if (info.shape.length === 2 && info.shape[1] === refShape[1]) taking.push(i);
    else {
      warn({
        kind: "shape",
        tensor: name,
        model: src.label,
        message: `model ${src.label}: '${name}' has shape ${fmt(info.shape)}, expected [*, ${refShape[1]}] (a vocabulary-indexed tensor); skipping that model for this tensor`,
      });
    }
  });
  return { taking };
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** A model's copy of one tensor, as the planner checks it. */
export interface CandidateTensor {
  /** The model path (for messages). */
  readonly label: string;
  /** Its header entry for the tensor (undefined: the model lacks it). */
  readonly info: { readonly dtype: string; readonly shape: readonly number[] } | undefined;
  /** The reference model itself: always takes part. */
  readonly isReference?: boolean;
}

/**
 * Which candidates take part in one output tensor of shape `refShape`: same shape, or (embedding-like
 * 2-D tensors) any 2-D shape, merged on the common top-left block. Missing tensors and other shapes
 * drop that model with a warning (`warn` throws under strict).
 */
export function takeModels(
  name: string,
  refShape: readonly number[],
  candidates: readonly CandidateTensor[],
  embedding: boolean,
  warn: (w: MergeWarning) => void,
  note: (w: MergeWarning) => void,
): { taking: number[]; block?: { rows: number; cols: number } } {
  let rows = refShape[0] ?? 0;
  let cols = refShape[1] ?? 0;
  let block = false;
  const taking: number[] = [];
  candidates.forEach((src, i) => {
    if (src.isReference) {
      taking.push(i);
      return;
    }
    const info = src.info;
    if (!info) {
      warn({
        kind: "missing",
        tensor: name,
        model: src.label,
        message: `model ${src.label} has no tensor '${name}'; merging it without that model`,
      });
      return;
    }
    if (sameShape(info.shape, refShape)) {
      taking.push(i);
      return;
    }
    if (embedding && info.shape.length === 2) {
      rows = Math.min(rows, info.shape[0]!);
      cols = Math.min(cols, info.shape[1]!);
      block = true;
      note({
        kind: "submatrix",
        tensor: name,
        model: src.label,
        message: `model ${src.label}: '${name}' has shape ${fmt(info.shape)} vs ${fmt(refShape)}; using the common top-left submatrix`,
      });
      taking.push(i);
      return;
    }
    warn({
      kind: "shape",
      tensor: name,
      model: src.label,
      message: `model ${src.label}: '${name}' has shape ${fmt(info.shape)}, expected ${fmt(refShape)}; skipping that model for this tensor`,
    });
  });
  return block ? { taking, block: { rows, cols } } : { taking };
}

/** Whether a stored dtype holds floating-point values (merged); others are copied. */
export const isFloatDtype = (dtype: string): boolean => FLOAT_DTYPES.has(dtype);

/** Plans every output tensor. Throws MergeInputError on the first problem when `strict`. */
export function planMerge(input: PlanInput): { tensors: PlannedTensor[]; warnings: MergeWarning[] } {
  const { reference, base, models, strict } = input;
  const warnings: MergeWarning[] = [];
  const warn = (w: MergeWarning) => {
    if (strict) throw new MergeInputError(`${w.message} (--strict)`);
    warnings.push(w);
  };
  const note = (w: MergeWarning) => warnings.push(w);
  const tensors: PlannedTensor[] = [];
  const refNames = new Set(reference.names());
  for (const name of reference.names()) {
    const ref = reference.info(name)!;
    if (!FLOAT_DTYPES.has(ref.dtype)) {
      tensors.push({ name, shape: ref.shape, storedDtype: ref.dtype, kind: "copy", models: [] });
      continue;
    }
    const embedding = ref.shape.length === 2 && isEmbeddingLike(name, input.embeddingPatterns);
    if (base && base !== reference) {
      const b = base.info(name);
      if (!b) throw new MergeInputError(`base model ${base.label} has no tensor '${name}'`);
      if (!sameShape(b.shape, ref.shape)) {
        throw new MergeInputError(
          `base model ${base.label}: tensor '${name}' has shape ${fmt(b.shape)}, reference has ${fmt(ref.shape)}`,
        );
      }
    }
    const vocabulary = input.vocabulary?.has(name) === true;
    const candidates = models.map((src) => ({
      label: src.label,
      info: src.info(name),
      isReference: src === reference && !vocabulary,
    }));
    const { taking, block } = vocabulary
      ? takeVocabulary(name, ref.shape, candidates, warn)
      : takeModels(name, ref.shape, candidates, embedding, warn, note);
    if (taking.length < input.minModels) {
      warn({
        kind: "copied",
        tensor: name,
        message: `tensor '${name}': only ${taking.length} compatible model(s), the method needs ${input.minModels}; keeping the ${base ? "base" : "reference"} tensor`,
      });
      tensors.push({ name, shape: ref.shape, storedDtype: ref.dtype, kind: "copy", models: [] });
      continue;
    }
    tensors.push({
      name,
      shape: ref.shape,
      storedDtype: ref.dtype,
      kind: "merge",
      models: taking,
      ...(block ? { block } : {}),
    });
  }
  // Tensors some model has but the reference lacks cannot appear in the output: say so.
  const extra = new Map<string, string[]>();
  for (const src of models) {
    if (src === reference) continue;
    for (const n of src.names()) {
      if (!refNames.has(n)) extra.set(n, [...(extra.get(n) ?? []), src.label]);
    }
  }
  for (const [n, labels] of extra) {
    warn({
      kind: "extra",
      tensor: n,
      model: labels[0],
      message: `tensor '${n}' of ${labels.join(", ")} is not in the reference model ${reference.label}; left out of the output`,
    });
  }
  return { tensors, warnings };
}
