// Hugging Face `tokenizer.json` as far as a tokenizer merge needs it: the model's vocabulary (BPE,
// WordPiece, WordLevel: a token → id map; Unigram: a list whose index is the id), its added tokens,
// and the two edits a merge makes — dropping ids at or above a model's vocab_size, and appending
// added tokens — done on the JSON itself, so every other setting (normalizer, pre-tokenizer,
// post-processor, decoder) is kept as the model had it.

import { MergeInputError } from "../errors.js";

/** A tokenizer file that cannot be used for a tokenizer merge (names the file and what is wrong). */
export class TokenizerError extends MergeInputError {
  override readonly name = "TokenizerError";
}

/** A parsed JSON object of a `tokenizer.json` (the keys this module does not read are kept as they are). */
export type TokenizerJsonObject = Record<string, unknown>;
const isObject = (v: unknown): v is TokenizerJsonObject =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** An entry of `added_tokens` (id, content and the matching flags, kept as the file has them). */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
  /** The entry as stored (single_word, lstrip, rstrip, normalized, special, ...). */
  readonly raw: Readonly<TokenizerJsonObject>;
}

/** The flags transformers gives a plain (non-special) token added with `add_tokens`. */
export function plainAddedToken(id: number, content: string): AddedToken {
  const raw = {
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: false,
  };
  return { id, content, special: false, raw };
}

export class TokenizerJson {
  private constructor(
    /** The parsed file (never modified: edits return new instances). */
    readonly json: Readonly<TokenizerJsonObject>,
    readonly source: string,
    /** The model's token → id (Unigram: by list index). */
    readonly modelVocab: ReadonlyMap<string, number>,
    readonly added: readonly AddedToken[],
  ) {}

  static parse(text: string, source: string): TokenizerJson {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new TokenizerError(`${source}: not valid JSON (${(err as Error).message})`);
    }
    return TokenizerJson.from(json, source);
  }

  static from(json: unknown, source: string): TokenizerJson {
    if (!isObject(json) || !isObject(json.model)) {
      throw new TokenizerError(`${source}: not a Hugging Face tokenizer.json (no 'model' object)`);
    }
    const model = json.model;
    const vocab = new Map<string, number>();
    if (model.type === "Unigram" || Array.isArray(model.vocab)) {
      if (!Array.isArray(model.vocab))
        throw new TokenizerError(`${source}: Unigram 'model.vocab' must be a list`);
      model.vocab.forEach((e, i) => {
        if (!Array.isArray(e) || typeof e[0] !== "string")
          throw new TokenizerError(`${source}: model.vocab[${i}] must be [token, score]`);
        if (!vocab.has(e[0])) vocab.set(e[0], i);
      });
    } else if (isObject(model.vocab)) {
      for (const [tok, id] of Object.entries(model.vocab)) {
        if (!Number.isInteger(id) || (id as number) < 0)
          throw new TokenizerError(
            `${source}: model.vocab[${JSON.stringify(tok)}] must be a non-negative integer id`,
          );
        vocab.set(tok, id as number);
      }
    } else {
      throw new TokenizerError(
        `${source}: model.vocab is missing (model type ${JSON.stringify(model.type)})`,
      );
    }
    const added: AddedToken[] = [];
    const list = json.added_tokens ?? [];
    if (!Array.isArray(list)) throw new TokenizerError(`${source}: 'added_tokens' must be a list`);
    list.forEach((e, i) => {
      if (!isObject(e) || !Number.isInteger(e.id) || typeof e.content !== "string")
        throw new TokenizerError(
          `${source}: added_tokens[${i}] must have an integer 'id' and a string 'content'`,
        );
      added.push({ id: e.id as number, content: e.content, special: e.special === true, raw: e });
    });
    return new TokenizerJson(json, source, vocab, added);
  }

  /** The model type (BPE, WordPiece, WordLevel, Unigram). */
  get modelType(): string {
    return String(
      (this.json.model as TokenizerJsonObject).type ??
        (Array.isArray((this.json.model as TokenizerJsonObject).vocab) ? "Unigram" : "BPE"),
    );
  }

  /** transformers' `get_vocab()`: the model's tokens and the added tokens (an added token's id wins). */
  vocab(): Map<string, number> {
    const out = new Map(this.modelVocab);
    for (const a of this.added) out.set(a.content, a.id);
    return out;
  }

  /** The id the next added token gets (after the model's ids and every added one). */
  nextId(): number {
    let next = 0;
    for (const id of this.modelVocab.values()) next = Math.max(next, id + 1);
    for (const a of this.added) next = Math.max(next, a.id + 1);
    return next;
  }

  /**
   * The tokenizer without the tokens whose id is `vocabSize` or more (a model's config.json can hold
   * fewer rows than its tokenizer lists): their vocabulary entries, added tokens and the BPE merges
   * that produce or use them are dropped. Unigram vocabularies are cut at `vocabSize`.
   */
  strip(vocabSize: number): TokenizerJson {
    const unused = new Set<string>();
    for (const [tok, id] of this.vocab()) if (id >= vocabSize) unused.add(tok);
    if (unused.size === 0) return this;
    const model = { ...(this.json.model as TokenizerJsonObject) };
    if (Array.isArray(model.vocab)) model.vocab = model.vocab.slice(0, vocabSize);
    else {
      model.vocab = Object.fromEntries(
        Object.entries(model.vocab as TokenizerJsonObject).filter(([, id]) => (id as number) < vocabSize),
      );
    }
    if (Array.isArray(model.merges)) {
      model.merges = model.merges.filter((m) => {
        const parts = typeof m === "string" ? m.split(" ") : Array.isArray(m) ? m : [];
        const merged = parts.join("");
        return !parts.some((p) => unused.has(String(p))) && !unused.has(merged);
      });
    }
    const json = {
      ...this.json,
      model,
      added_tokens: this.added.filter((a) => a.id < vocabSize).map((a) => a.raw),
    };
    return TokenizerJson.from(json, this.source);
  }

  /** The tokenizer with `tokens` appended as added tokens (their `id`s must be free). */
  withAdded(tokens: readonly AddedToken[]): TokenizerJson {
    if (tokens.length === 0) return this;
    const json = {
      ...this.json,
      added_tokens: [
        ...this.added.map((a) => a.raw),
        ...tokens.map((t) => ({ ...t.raw, id: t.id, content: t.content })),
      ],
    };
    return TokenizerJson.from(json, this.source);
  }

  /** The tokens of the model vocabulary by id (for vocab.json / vocab.txt files). */
  modelTokensById(): string[] {
    const out: string[] = [];
    for (const [tok, id] of this.modelVocab) out[id] = tok;
    return out;
  }

  toString(): string {
    return `${JSON.stringify(this.json, null, 2)}\n`;
  }
}
