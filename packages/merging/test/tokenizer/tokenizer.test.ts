// Tokenizer merges without I/O: tokenizer.json parsing and edits, the output vocabulary (base, union,
// a model's; added tokens, pad_to_multiple_of) with its permutations, and the embedding rows built for
// it — on synthetic BPE / WordPiece / Unigram vocabularies, with vocabularies permuted across models.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TokenizerSettings } from "../../src/config/index.js";
import {
  buildVocabulary,
  permuteEmbeddings,
  resolveChatTemplate,
  TokenizerError,
  TokenizerJson,
} from "../../src/tokenizer/index.js";
import { BASE_TOKENS, bpeTokenizer } from "../fixtures/llama.js";

const bpe = (tokens: readonly string[], added: { content: string; special: boolean }[] = []) =>
  TokenizerJson.from(bpeTokenizer(tokens, added), "test");

const settings = (source: string, extra: Partial<TokenizerSettings> = {}): TokenizerSettings => ({
  source,
  tokens: {},
  ...extra,
});

describe("tokenizer.json", () => {
  it("reads BPE, WordPiece and Unigram vocabularies with their added tokens", () => {
    const t = bpe(BASE_TOKENS, [{ content: "<|im_start|>", special: true }]);
    expect(t.modelType).toBe("BPE");
    expect(t.vocab().get("abc")).toBe(BASE_TOKENS.indexOf("abc"));
    expect(t.vocab().get("<|im_start|>")).toBe(BASE_TOKENS.length);
    expect(t.nextId()).toBe(BASE_TOKENS.length + 1);
    const wp = TokenizerJson.from(
      { model: { type: "WordPiece", vocab: { "[PAD]": 0, "[UNK]": 1, hello: 2, "##lo": 3 } } },
      "wp",
    );
    expect([...wp.vocab()]).toEqual([
      ["[PAD]", 0],
      ["[UNK]", 1],
      ["hello", 2],
      ["##lo", 3],
    ]);
    const uni = TokenizerJson.from(
      {
        model: {
          type: "Unigram",
          vocab: [
            ["<unk>", 0],
            ["▁x", -1.5],
            ["y", -2],
          ],
        },
      },
      "uni",
    );
    expect(uni.vocab().get("y")).toBe(2);
    expect(uni.strip(2).vocab().has("y")).toBe(false);
  });

  it("refuses what is not a tokenizer, naming the file", () => {
    expect(() => TokenizerJson.parse('{"v": 1}', "m/tokenizer.json")).toThrow(
      new TokenizerError("m/tokenizer.json: not a Hugging Face tokenizer.json (no 'model' object)"),
    );
    expect(() => TokenizerJson.parse("{", "m/tokenizer.json")).toThrow(/m\/tokenizer.json: not valid JSON/);
    expect(() => TokenizerJson.from({ model: { vocab: { a: -1 } } }, "f")).toThrow(/non-negative integer id/);
  });

  it("strips ids at or above a vocab size with the merges that use or make them", () => {
    const t = bpe(BASE_TOKENS, [{ content: "<x>", special: true }]);
    const cut = BASE_TOKENS.indexOf("abc");
    const s = t.strip(cut);
    expect(s.vocab().has("abc")).toBe(false);
    expect(s.vocab().has("<x>")).toBe(false);
    expect(s.vocab().size).toBe(cut);
    const merges = (s.json.model as { merges: string[] }).merges;
    expect(merges).not.toContain("a bc");
    expect(merges).toContain("a b");
    expect(t.strip(1000)).toBe(t);
  });
});

describe("output vocabulary", () => {
  const permuted = [...BASE_TOKENS.slice(0, 3), ...BASE_TOKENS.slice(3).reverse()];

  it("base: the base's tokens; other models' rows permuted to them by token", () => {
    const built = buildVocabulary(
      [
        { ref: "base", tokenizer: bpe(BASE_TOKENS) },
        { ref: "p", tokenizer: bpe(permuted) },
      ],
      0,
      settings("base"),
    );
    expect(built.tokens).toEqual(BASE_TOKENS);
    expect(Array.from(built.permutations[0]!)).toEqual(BASE_TOKENS.map((_, i) => i));
    expect(Array.from(built.permutations[1]!)).toEqual(BASE_TOKENS.map((t) => permuted.indexOf(t)));
    expect(built.rows).toBe(BASE_TOKENS.length);
  });

  it("base: rows past the base's config vocab_size are stripped; tokens past a model's are absent for it", () => {
    const built = buildVocabulary(
      [
        { ref: "base", tokenizer: bpe(BASE_TOKENS), vocabSize: 10 },
        { ref: "m", tokenizer: bpe(BASE_TOKENS), vocabSize: 8 },
      ],
      0,
      settings("base"),
    );
    expect(built.tokens).toEqual(BASE_TOKENS.slice(0, 10));
    expect(Array.from(built.permutations[1]!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, -1, -1]);
  });

  it("union: the base's tokens, then each model's new ones in id order, then added tokens with their flags", () => {
    const extra = [...permuted, "xy", "z"];
    const built = buildVocabulary(
      [
        { ref: "base", tokenizer: bpe(BASE_TOKENS) },
        { ref: "p", tokenizer: bpe(extra) },
        { ref: "chat", tokenizer: bpe(BASE_TOKENS, [{ content: "<|im_start|>", special: true }]) },
        { ref: "none" },
      ],
      0,
      settings("union", { padToMultipleOf: 8 }),
    );
    const n = BASE_TOKENS.length;
    expect(built.tokens).toEqual([...BASE_TOKENS, "xy", "z", "<|im_start|>"]);
    expect(built.rows).toBe(24);
    expect(built.addedTokens.map((a) => [a.content, a.id, a.special])).toEqual([
      ["xy", n, false],
      ["z", n + 1, false],
      ["<|im_start|>", n + 2, true],
    ]);
    expect(built.tokenizer.vocab().get("<|im_start|>")).toBe(n + 2);
    expect(built.permutations[1]![n]).toBe(extra.indexOf("xy"));
    expect(built.permutations[0]![n]).toBe(-1);
    expect(built.permutations[2]![n + 2]).toBe(n);
    // The input without a tokenizer is taken to share the base's vocabulary.
    expect(built.assumedBase).toEqual(["none"]);
    expect(Array.from(built.permutations[3]!.subarray(0, n))).toEqual(BASE_TOKENS.map((_, i) => i));
  });

  it("a model as the source, and tokens the tokenizer block adds", () => {
    const built = buildVocabulary(
      [
        { ref: "base", tokenizer: bpe(BASE_TOKENS) },
        { ref: "p", tokenizer: bpe(permuted) },
      ],
      0,
      { source: "p", tokens: { "<new>": { force: false } } },
      bpe(permuted),
    );
    expect(built.tokens).toEqual([...permuted, "<new>"]);
    expect(built.permutations[0]![0 + 3]).toBe(BASE_TOKENS.indexOf(permuted[3]!));
    expect(built.permutations[1]![permuted.length]).toBe(-1);
  });

  it("property: under union every input row of every token is found again by its token", () => {
    const pool = ["q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "qr", "st", "uv", "wx"];
    fc.assert(
      fc.property(
        fc.array(fc.shuffledSubarray(pool, { minLength: 1 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 8 }),
        (models, multiple) => {
          const vocabs = [BASE_TOKENS, ...models.map((m) => [...BASE_TOKENS.slice(0, 3), ...m])];
          const built = buildVocabulary(
            vocabs.map((v, i) => ({ ref: `m${i}`, tokenizer: bpe(v) })),
            0,
            settings("union", { padToMultipleOf: multiple }),
          );
          const all = new Set(vocabs.flat());
          expect(new Set(built.tokens)).toEqual(all);
          expect(built.tokens.length).toBe(all.size);
          expect(built.rows % multiple).toBe(0);
          vocabs.forEach((v, i) => {
            built.tokens.forEach((tok, id) => {
              const p = built.permutations[i]![id]!;
              if (p >= 0) expect(v[p]).toBe(tok);
              else expect(v.includes(tok)).toBe(false);
            });
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("embedding rows for the output vocabulary", () => {
  // Three models over two columns; row r of model m is [10m + r, -(10m + r)].
  const tokens = ["<unk>", "x", "y", "z", "w"];
  const vocab = (present: string[]) =>
    TokenizerJson.from(
      { model: { type: "WordLevel", vocab: Object.fromEntries(present.map((t, i) => [t, i])) } },
      "v",
    );
  const models = [
    ["<unk>", "x", "y"],
    ["<unk>", "y", "x", "z"],
    ["<unk>", "x", "z", "y"],
  ];
  const matrix = (m: number, rows: number) =>
    Float32Array.from({ length: rows * 2 }, (_, k) => (k % 2 ? -1 : 1) * (10 * m + Math.floor(k / 2)));
  const built = buildVocabulary(
    [
      { ref: "base", tokenizer: vocab(models[0]!) },
      { ref: "m1", tokenizer: vocab(models[1]!) },
      { ref: "m2", tokenizer: vocab(models[2]!) },
    ],
    0,
    { source: "union", tokens: { w: { force: false } }, padToMultipleOf: 3 },
  );
  const inputs = models.map((m, i) => ({ input: i, data: matrix(i, m.length), rows: m.length }));
  const row = (out: Float32Array, id: number) => [out[2 * id], out[2 * id + 1]];
  const base = {
    cols: 2,
    tokens: {},
    inputOf: (r: string) => ["base", "m1", "m2"].indexOf(r),
    tensor: "embed",
    labelOf: String,
  };

  it("own rows where a model has the token, else the base's, the only owner's, or the mean", () => {
    expect(built.tokens).toEqual(tokens);
    const missing: string[] = [];
    const out = permuteEmbeddings(built, inputs, { ...base, base: 0, onMissing: (t) => missing.push(...t) });
    expect(out.map((o) => o.length)).toEqual([12, 12, 12]);
    // x: everyone has it (own rows).
    expect(row(out[1]!, 1)).toEqual([12, -12]);
    // z: m1 and m2 have it, the base does not → the base gets their mean.
    expect(row(out[0]!, 3)).toEqual([(13 + 22) / 2, -(13 + 22) / 2]);
    // w: nobody has it → zeros, reported.
    expect(row(out[2]!, 4)).toEqual([0, 0]);
    expect(missing).toEqual(["w"]);
    // Padding row 5: the mean of the vocabulary's rows.
    const mean = [0, 1].map((c) => [0, 1, 2, 3, 4].reduce((s, id) => s + out[0]![2 * id + c]!, 0) / 5);
    expect(row(out[0]!, 5)[0]).toBeCloseTo(mean[0]!, 6);
    // Without a base among the inputs, a token only one input has takes its row.
    const two = permuteEmbeddings(built, inputs.slice(0, 2), { ...base, base: -1 });
    expect(row(two[0]!, 3)).toEqual([13, -13]);
  });

  it("the base's row is preferred when the base has the token", () => {
    const b2 = buildVocabulary(
      [
        { ref: "base", tokenizer: vocab(["<unk>", "x", "z"]) },
        { ref: "m1", tokenizer: vocab(["<unk>", "z"]) },
        { ref: "m2", tokenizer: vocab(["<unk>", "x", "z"]) },
      ],
      0,
      settings("base"),
    );
    const out = permuteEmbeddings(
      b2,
      [0, 1, 2].map((i) => ({ input: i, data: matrix(i, 3), rows: 3 })),
      { ...base, base: 0 },
    );
    // m1 lacks x: base and m2 have it → the base's row.
    expect(row(out[1]!, 1)).toEqual([1, -1]);
  });

  it("token settings: zero, another model's token (by text and by id), a model's own row, force", () => {
    const tokensCfg = {
      w: { source: { kind: "model_token" as const, model: "m2", token: "z" }, force: false },
      x: { source: { kind: "zero" as const }, force: true },
      z: { source: { kind: "model" as const, model: "m1" }, force: false },
      y: { source: { kind: "model_token" as const, model: "m1", tokenId: 3 }, force: true },
    };
    const out = permuteEmbeddings(built, inputs, { ...base, base: 0, tokens: tokensCfg });
    expect(row(out[0]!, 4)).toEqual([22, -22]); // w ← m2's "z" (its id 2)
    for (const o of out) expect(row(o, 1)).toEqual([0, 0]); // x forced to zeros everywhere
    expect(row(out[0]!, 3)).toEqual([13, -13]); // z ← m1's own z row (id 3)
    for (const o of out) expect(row(o, 2)).toEqual([13, -13]); // y forced to m1's row 3
    expect(() =>
      permuteEmbeddings(built, inputs, {
        ...base,
        base: 0,
        tokens: { w: { source: { kind: "model", model: "m1" }, force: false } },
      }),
    ).toThrow(/token "w" is not in the vocabulary of its source model m1/);
    expect(() =>
      permuteEmbeddings(built, inputs, {
        ...base,
        base: 0,
        tokens: { w: { source: { kind: "model_token", model: "m1", tokenId: 9 }, force: false } },
      }),
    ).toThrow(/token id 9 is out of range/);
  });
});

describe("chat_template", () => {
  it("auto takes the most common template; names pick built-ins; other text must look like Jinja", () => {
    expect(resolveChatTemplate("auto", () => ["{{ a }}", " {{ b }}", "{{ b }}\n", undefined])).toBe(
      "{{ b }}",
    );
    expect(resolveChatTemplate("auto", () => [undefined])).toBeUndefined();
    expect(resolveChatTemplate("chatml", () => [])).toMatch(/<\|im_start\|>/);
    for (const name of ["alpaca", "llama3", "mistral", "exaone"])
      expect(resolveChatTemplate(name, () => [])).toMatch(/\{%/);
    const literal = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
    expect(resolveChatTemplate(literal, () => [])).toBe(literal);
    expect(() => resolveChatTemplate("vicuna", () => [])).toThrow(
      /not a built-in template \(alpaca, chatml, exaone, llama3, mistral\)/,
    );
  });
});
