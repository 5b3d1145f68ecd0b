// Embedding and LM-head rows for the output vocabulary (mergekit's PermutedEmbeddings): every input's
// matrix is rebuilt with one row per output token, then the merge method merges them as usual.
//
// Row of token x in input m's rebuilt matrix: m's own row for x when m has x (unless x's settings say
// `force`), else x's default row. x's default row: its `tokenizer.tokens` source when one is set (a
// model's own row for x, another token's row of a model, or zeros); otherwise, among the inputs of
// this tensor, the row of the only one having x, the base's row when the base has x, zeros when none
// has it, else the mean of the rows of those having it. Rows past the vocabulary (pad_to_multiple_of)
// are the mean of the vocabulary's rows.

import type { TokenSettings } from "../config/index.js";
import type { BuiltVocabulary } from "./build.js";
import { TokenizerError } from "./vocab.js";

/** One input matrix of a vocabulary-indexed tensor. */
export interface EmbeddingInput {
  /** Index of the input in the vocabulary build's inputs (its permutation). */
  readonly input: number;
  /** Row-major [rows, cols] float32 values. */
  readonly data: Float32Array;
  readonly rows: number;
}

export interface PermuteOptions {
  readonly cols: number;
  /** Which of `inputs` is the base (its rows are preferred for tokens some inputs lack), or −1. */
  readonly base: number;
  readonly tokens: Readonly<Record<string, TokenSettings>>;
  /** The vocabulary build's input index of a model reference used by a token source. */
  readonly inputOf: (ref: string) => number | undefined;
  /** The tensor (for messages). */
  readonly tensor: string;
  readonly labelOf: (input: number) => string;
  /** Tokens no input has and no setting covers (their rows are zero), reported once per tensor. */
  readonly onMissing?: (tokens: readonly string[]) => void;
}

/** The matrices of `inputs` rebuilt on the output vocabulary: [vocab.rows, cols] each, same order. */
export function permuteEmbeddings(
  vocab: BuiltVocabulary,
  inputs: readonly EmbeddingInput[],
  options: PermuteOptions,
): Float32Array[] {
  const { cols } = options;
  const n = vocab.tokens.length;
  const perms = inputs.map((m) => vocab.permutations[m.input]!);
  const row = (m: EmbeddingInput, r: number) => m.data.subarray(r * cols, (r + 1) * cols);
  const missing: string[] = [];
  const defaults = new Map<number, Float32Array>();
  const sourceRow = (settings: TokenSettings, token: string, id: number): Float32Array => {
    const src = settings.source!;
    if (src.kind === "zero") return new Float32Array(cols);
    const at = options.inputOf(src.model);
    const j = at === undefined ? -1 : inputs.findIndex((m) => m.input === at);
    if (j < 0) {
      throw new TokenizerError(
        `token ${JSON.stringify(token)}: its source model ${src.model} is not an input of tensor '${options.tensor}'`,
      );
    }
    const m = inputs[j]!;
    let r: number;
    if (src.kind === "model") {
      r = perms[j]![id]!;
      if (r < 0)
        throw new TokenizerError(
          `token ${JSON.stringify(token)} is not in the vocabulary of its source model ${src.model}`,
        );
    } else {
      const own = src.token !== undefined ? vocab.originalVocabs[m.input]!.get(src.token) : src.tokenId;
      if (own === undefined)
        throw new TokenizerError(
          `token ${JSON.stringify(src.token)} is not in the vocabulary of model ${src.model}`,
        );
      r = own;
    }
    if (r >= m.rows) {
      throw new TokenizerError(
        `token id ${r} is out of range for '${options.tensor}' of model ${src.model} (${m.rows} rows)`,
      );
    }
    return row(m, r).slice();
  };
  const defaultRow = (id: number): Float32Array => {
    let d = defaults.get(id);
    if (d) return d;
    const token = vocab.tokens[id]!;
    const settings = options.tokens[token];
    if (settings?.source) d = sourceRow(settings, token, id);
    else {
      const having = perms.map((_p, j) => j).filter((j) => perms[j]![id]! >= 0);
      if (having.length === 0) {
        missing.push(token);
        d = new Float32Array(cols);
      } else if (having.length === 1) d = row(inputs[having[0]!]!, perms[having[0]!]![id]!).slice();
      else if (options.base >= 0 && perms[options.base]![id]! >= 0)
        d = row(inputs[options.base]!, perms[options.base]![id]!).slice();
      else {
        const acc = new Float64Array(cols);
        for (const j of having) {
          const r = row(inputs[j]!, perms[j]![id]!);
          for (let c = 0; c < cols; c++) acc[c]! += r[c]!;
        }
        d = Float32Array.from(acc, (v) => v / having.length);
      }
    }
    defaults.set(id, d);
    return d;
  };
  const out = inputs.map((m, j) => {
    const p = perms[j]!;
    if (m.data.length !== m.rows * cols) {
      throw new TokenizerError(
        `tensor '${options.tensor}' of ${options.labelOf(m.input)}: ${m.data.length} values are not ${m.rows} rows of ${cols}`,
      );
    }
    const res = new Float32Array(vocab.rows * cols);
    for (let id = 0; id < n; id++) {
      const own = p[id]!;
      const forced = options.tokens[vocab.tokens[id]!]?.force === true;
      if (own >= m.rows) {
        throw new TokenizerError(
          `tensor '${options.tensor}' of ${options.labelOf(m.input)} has ${m.rows} rows, token id ${own} needs more`,
        );
      }
      res.set(own >= 0 && !forced ? row(m, own) : defaultRow(id), id * cols);
    }
    if (vocab.rows > n) {
      const mean = new Float64Array(cols);
      for (let id = 0; id < n; id++) for (let c = 0; c < cols; c++) mean[c]! += res[id * cols + c]!;
      const padRow = Float32Array.from(mean, (v) => v / n);
      for (let id = n; id < vocab.rows; id++) res.set(padRow, id * cols);
    }
    return res;
  });
  if (missing.length > 0) options.onMissing?.(missing);
  return out;
}
