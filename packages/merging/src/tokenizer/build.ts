// Building the output vocabulary of a tokenizer merge (mergekit's tokenizer_source / tokenizer:
// block), and for every input the permutation from output token ids to its own embedding rows. Pure:
// the tokenizers, config vocab sizes and settings come in, JSON and permutations go out.
//
//   base   — the base model's tokenizer without ids at or above its config's vocab_size;
//   union  — that, plus every other input's tokens it lacks (appended as added tokens, each model's
//            in ascending id order), plus their added tokens (specials keep their flags);
//   <ref>  — that model's tokenizer as it is.
// Tokens listed under `tokenizer.tokens` are appended when missing. An input whose tokenizer is not
// readable is assumed to share the base's vocabulary (as mergekit does).

import type { TokenizerSettings } from "../config/index.js";
import { type AddedToken, plainAddedToken, TokenizerError, type TokenizerJson } from "./vocab.js";

/** One input of the merge, as the tokenizer build sees it. */
export interface TokenizerInput {
  readonly ref: string;
  /** Its tokenizer.json, undefined when it has none (then the base's vocabulary is assumed). */
  readonly tokenizer?: TokenizerJson;
  /** Embedding rows its config.json declares (vocab_size); undefined: its tokenizer's size. */
  readonly vocabSize?: number;
}

export interface BuiltVocabulary {
  /** The output tokenizer.json. */
  readonly tokenizer: TokenizerJson;
  /** Output tokens by id (`tokens[id]`); its length is the vocabulary size. */
  readonly tokens: readonly string[];
  /** Embedding rows of the output: the vocabulary size rounded up to `pad_to_multiple_of`. */
  readonly rows: number;
  /** Per input (aligned with the inputs given): output id → its own row, or −1 when it lacks the token. */
  readonly permutations: readonly Int32Array[];
  /** Per input: its own token → id (for `model_token` sources). */
  readonly originalVocabs: readonly ReadonlyMap<string, number>[];
  /** Added tokens the output gained (beyond its donor's). */
  readonly addedTokens: readonly AddedToken[];
  /** Inputs whose tokenizer was assumed to be the base's. */
  readonly assumedBase: readonly string[];
}

/** The embedding rows of an input: its config's vocab_size, else its tokenizer's size. */
function rowsOf(input: TokenizerInput, vocab: ReadonlyMap<string, number>): number {
  return input.vocabSize ?? vocab.size;
}

/**
 * Builds the output vocabulary. `base` indexes `inputs` (the base model, else the first input);
 * `source` is the tokenizer of a `<model>` source when it is not among the inputs.
 */
export function buildVocabulary(
  inputs: readonly TokenizerInput[],
  base: number,
  settings: TokenizerSettings,
  source?: TokenizerJson,
): BuiltVocabulary {
  const baseInput = inputs[base]!;
  if (!baseInput.tokenizer) {
    throw new TokenizerError(
      `the base model ${baseInput.ref} has no tokenizer.json; a tokenizer merge needs one`,
    );
  }
  const strippedBase = baseInput.tokenizer.strip(rowsOf(baseInput, baseInput.tokenizer.vocab()));
  const baseVocab = strippedBase.vocab();
  const vocabs = inputs.map((inp, i) => (i === base ? baseVocab : (inp.tokenizer?.vocab() ?? baseVocab)));
  let out: TokenizerJson;
  const gained: AddedToken[] = [];
  const addPlain = (tok: string, vocab: Map<string, number>) => {
    if (vocab.has(tok)) return;
    const t = plainAddedToken(out.nextId() + gained.length, tok);
    gained.push(t);
    vocab.set(tok, t.id);
  };
  if (settings.source === "base") out = strippedBase;
  else if (settings.source === "union") {
    out = strippedBase;
    const vocab = new Map(baseVocab);
    const addedByContent = new Map<string, AddedToken>();
    const order = [base, ...inputs.map((_, i) => i).filter((i) => i !== base)];
    for (const i of order) {
      const inp = inputs[i]!;
      if (!inp.tokenizer) continue;
      const rows = rowsOf(inp, vocabs[i]!);
      for (const a of inp.tokenizer.added)
        if (a.id < rows && !addedByContent.has(a.content)) addedByContent.set(a.content, a);
    }
    for (const i of order) {
      const inp = inputs[i]!;
      if (!inp.tokenizer) continue;
      const rows = rowsOf(inp, vocabs[i]!);
      const byId = [...vocabs[i]!].filter(([, id]) => id < rows).sort((a, b) => a[1] - b[1]);
      for (const [tok] of byId) if (!addedByContent.has(tok)) addPlain(tok, vocab);
    }
    for (const a of addedByContent.values()) {
      if (vocab.has(a.content)) continue;
      const t: AddedToken = { ...a, id: out.nextId() + gained.length };
      gained.push(t);
      vocab.set(a.content, t.id);
    }
  } else {
    if (!source) throw new TokenizerError(`tokenizer source ${settings.source} has no tokenizer.json`);
    out = source;
  }
  const vocab = out.vocab();
  for (const t of gained) vocab.set(t.content, t.id);
  for (const tok of Object.keys(settings.tokens)) addPlain(tok, vocab);
  out = out.withAdded(gained);
  const tokens: string[] = [];
  for (const [tok, id] of vocab) tokens[id] = tok;
  for (let id = 0; id < tokens.length; id++) {
    if (tokens[id] === undefined) {
      throw new TokenizerError(
        `${out.source}: the output vocabulary has no token with id ${id} (ids must be contiguous)`,
      );
    }
  }
  const multiple = settings.padToMultipleOf ?? 1;
  const rows = Math.ceil(tokens.length / multiple) * multiple;
  const permutations = inputs.map((inp, i) => {
    const own = vocabs[i]!;
    const limit = rowsOf(inp, own);
    const p = new Int32Array(tokens.length);
    tokens.forEach((tok, id) => {
      const at = own.get(tok);
      p[id] = at !== undefined && at < limit ? at : -1;
    });
    return p;
  });
  return {
    tokenizer: out,
    tokens,
    rows,
    permutations,
    originalVocabs: vocabs,
    addedTokens: gained,
    assumedBase: inputs.filter((inp, i) => i !== base && !inp.tokenizer).map((inp) => inp.ref),
  };
}
