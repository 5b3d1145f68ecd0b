// Tokenizer merges end to end through mergeCheckpoints: models whose vocabularies are permuted and
// extended, merged with tokenizer_source (base, union, a model) and the tokenizer: block; the output's
// tokenizer files, config.json vocab_size, and embedding / LM-head rows checked token by token against
// an independent computation; chat templates.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeCheckpoints, parseMergeConfig } from "../../src/index.js";
import { TokenizerError } from "../../src/tokenizer/index.js";
import { expectClose } from "../fixtures/close.js";
import {
  allTokens,
  BASE_TOKENS,
  fineTune,
  type LlamaSpec,
  llamaWeights,
  rowsByToken,
  type Weights,
  writeLlama,
} from "../fixtures/llama.js";

let root: string;
const BASE: LlamaSpec = { layers: 2 };
// A fine-tune whose vocabulary is permuted and has two more tokens; one with an added special token.
const PERMUTED: LlamaSpec = {
  layers: 2,
  tokens: [...BASE_TOKENS.slice(0, 3), ...BASE_TOKENS.slice(3).reverse(), "xy", "▁z"],
};
const CHAT: LlamaSpec = { layers: 2, added: [{ content: "<|im_start|>", special: true }] };
let base: Weights;
let perm: Weights;
let chat: Weights;
/** Each model's (embedding, head) rows by token. */
const rows = new Map<string, Map<string, Float32Array[]>>();

const CHATML =
  "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}";

async function readAll(dir: string): Promise<Map<string, Float32Array>> {
  const ck = await openCheckpoint(dir);
  const out = new Map<string, Float32Array>();
  for (const n of ck.names()) out.set(n, await ck.readFloat32(n));
  await ck.close();
  return out;
}

async function merge(yaml: string, name: string) {
  const out = join(root, name);
  const warnings: string[] = [];
  await mergeCheckpoints(parseMergeConfig(yaml), out, {
    baseDir: root,
    onWarning: (w) => warnings.push(w.message),
  });
  const json = async (f: string) => JSON.parse(await readFile(join(out, f), "utf8"));
  return {
    out,
    warnings,
    tensors: await readAll(out),
    config: await json("config.json"),
    tokenizer: await json("tokenizer.json"),
    tokenizerConfig: await json("tokenizer_config.json"),
    specialTokens: await json("special_tokens_map.json"),
  };
}

/** The output vocabulary (token → id) of a tokenizer.json. */
const vocabOf = (tok: {
  model: { vocab: Record<string, number> };
  added_tokens: { content: string; id: number }[];
}) => {
  const v = new Map(Object.entries(tok.model.vocab));
  for (const a of tok.added_tokens) v.set(a.content, a.id);
  return v;
};

const rowOf = (t: Float32Array, id: number, cols = 8) => t.subarray(id * cols, (id + 1) * cols);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-tok-"));
  base = await writeLlama(join(root, "base"), BASE, llamaWeights(BASE, 1));
  const baseRows = rowsByToken(base, BASE_TOKENS);
  perm = await writeLlama(join(root, "perm"), PERMUTED, fineTune(llamaWeights(PERMUTED, 2, baseRows), 3));
  chat = await writeLlama(join(root, "chat"), CHAT, fineTune(llamaWeights(CHAT, 4, baseRows), 5), {
    chatTemplate: CHATML,
  });
  rows.set("base", baseRows);
  rows.set("perm", rowsByToken(perm, allTokens(PERMUTED)));
  rows.set("chat", rowsByToken(chat, allTokens(CHAT)));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("tokenizer_source", () => {
  it("union: every token of every model; rows merged token by token (task arithmetic)", async () => {
    const r = await merge(
      `
merge_method: task_arithmetic
base_model: base
models:
  - model: perm
    parameters: { weight: 0.7 }
  - model: chat
    parameters: { weight: 0.4 }
tokenizer_source: union
dtype: float32
`,
      "union",
    );
    const vocab = vocabOf(r.tokenizer);
    const want = [...BASE_TOKENS, "xy", "▁z", "<|im_start|>"];
    expect([...vocab.keys()].sort()).toEqual([...want].sort());
    for (const [i, t] of want.entries()) expect(vocab.get(t)).toBe(i);
    expect(r.config.vocab_size).toBe(want.length);
    expect(r.tensors.get("model.embed_tokens.weight")!.length).toBe(want.length * 8);
    // The special token keeps its flags; plain new tokens are normal added tokens.
    const added = new Map(r.tokenizer.added_tokens.map((a: { content: string }) => [a.content, a]));
    expect(added.get("<|im_start|>")).toMatchObject({ special: true, normalized: false });
    expect(added.get("xy")).toMatchObject({ special: false, normalized: true });
    expect(r.tokenizerConfig.added_tokens_decoder[String(vocab.get("<|im_start|>"))]).toMatchObject({
      content: "<|im_start|>",
      special: true,
    });
    expect(r.tokenizerConfig.tokenizer_class).toBe("LlamaTokenizerFast");
    expect(r.specialTokens).toEqual({ bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>" });
    // Independent computation per token: each model's row for the token (its default when it lacks
    // it: the base's row when the base has the token, else the only owner's), then θ₀ + Σ wᵢ(θᵢ − θ₀).
    const ownRow = (m: string, tok: string, head: 0 | 1) => rows.get(m)!.get(tok)?.[head];
    for (const [head, name] of [
      [0, "model.embed_tokens.weight"],
      [1, "lm_head.weight"],
    ] as const) {
      const t = r.tensors.get(name)!;
      for (const tok of want) {
        const owners = ["base", "perm", "chat"].filter((m) => ownRow(m, tok, head));
        const fallback = ownRow("base", tok, head) ?? ownRow(owners[0]!, tok, head)!;
        const [b, p, c] = ["base", "perm", "chat"].map((m) => ownRow(m, tok, head) ?? fallback);
        const expected = b!.map((v, k) => v + 0.7 * (p![k]! - v) + 0.4 * (c![k]! - v));
        expectClose(rowOf(t, vocab.get(tok)!), expected, 6);
      }
    }
    // Tokens only one model has are that model's rows exactly (the other deltas are zero).
    expect(rowOf(r.tensors.get("model.embed_tokens.weight")!, vocab.get("xy")!)).toEqual(
      ownRow("perm", "xy", 0),
    );
  });

  it("base: the base's vocabulary, a permuted model's rows realigned to it", async () => {
    const r = await merge(
      "merge_method: linear\nmodels: [{ model: base }, { model: perm }]\ntokenizer_source: base\n",
      "to-base",
    );
    expect([...vocabOf(r.tokenizer)].sort((x, y) => x[1] - y[1]).map(([t]) => t)).toEqual(BASE_TOKENS);
    const emb = r.tensors.get("model.embed_tokens.weight")!;
    BASE_TOKENS.forEach((tok, id) => {
      const b = rows.get("base")!.get(tok)![0]!;
      const p = rows.get("perm")!.get(tok)![0]!;
      expectClose(
        rowOf(emb, id),
        b.map((v, k) => (v + p[k]!) / 2),
      );
    });
    expect(r.config.vocab_size).toBe(BASE_TOKENS.length);
  });

  it("a model: its vocabulary and order, the base realigned to it", async () => {
    const r = await merge(
      "merge_method: task_arithmetic\nbase_model: base\nmodels: [{ model: perm }]\ntokenizer_source: perm\n",
      "to-perm",
    );
    const tokens = allTokens(PERMUTED);
    expect([...vocabOf(r.tokenizer)].sort((x, y) => x[1] - y[1]).map(([t]) => t)).toEqual(tokens);
    // task arithmetic with weight 1: the result is perm's rows, for its own and its new tokens.
    for (const [id, tok] of tokens.entries()) {
      expectClose(rowOf(r.tensors.get("lm_head.weight")!, id), rows.get("perm")!.get(tok)![1]!);
    }
  });
});

describe("the tokenizer: block", () => {
  it("added tokens with per-token sources, force, and pad_to_multiple_of", async () => {
    const r = await merge(
      `
merge_method: linear
models:
  - model: base
  - model: chat
tokenizer:
  source: base
  tokens:
    <|im_start|>:
      source: chat
    <|im_end|>:
      source:
        kind: model_token
        model: chat
        token: </s>
    abc:
      source: { kind: zero }
      force: true
  pad_to_multiple_of: 8
`,
      "block",
    );
    const vocab = vocabOf(r.tokenizer);
    const n = BASE_TOKENS.length;
    expect(vocab.get("<|im_start|>")).toBe(n);
    expect(vocab.get("<|im_end|>")).toBe(n + 1);
    expect(r.config.vocab_size).toBe(16);
    const emb = r.tensors.get("model.embed_tokens.weight")!;
    expect(emb.length).toBe(16 * 8);
    const chatRows = rows.get("chat")!;
    // <|im_start|>: chat's own row everywhere (the base lacks it) → the mean is chat's row.
    expectClose(rowOf(emb, n), chatRows.get("<|im_start|>")![0]!, 6);
    // <|im_end|>: nobody has it; its source is chat's "</s>" row.
    expectClose(rowOf(emb, n + 1), chatRows.get("</s>")![0]!);
    // abc forced to zero in both models.
    expect(Array.from(rowOf(emb, vocab.get("abc")!))).toEqual(new Array(8).fill(0));
    // Padding rows: the mean of the vocabulary's rows.
    const mean = Array.from({ length: 8 }, (_, k) => {
      let s = 0;
      for (let id = 0; id < n + 2; id++) s += emb[id * 8 + k]!;
      return s / (n + 2);
    });
    for (let id = n + 2; id < 16; id++) expectClose(rowOf(emb, id), mean, 5);
  });

  it("a base without tokenizer.json is an error naming it; a model without one is assumed to share the base's", async () => {
    await writeLlama(join(root, "notok"), BASE, base);
    await rm(join(root, "notok", "tokenizer.json"));
    const r = await merge(
      "merge_method: linear\nmodels: [{ model: base }, { model: notok }]\ntokenizer_source: union\n",
      "notok-out",
    );
    expect(r.warnings).toContain(
      "model notok has no tokenizer.json; assuming the base model's vocabulary for it",
    );
    await expect(
      merge(
        "merge_method: linear\nbase_model: notok\nmodels: [{ model: base }, { model: notok }]\ntokenizer_source: union\n",
        "notok-2",
      ),
    ).rejects.toThrow(
      new TokenizerError("the base model notok has no tokenizer.json; a tokenizer merge needs one"),
    );
  });
});

describe("chat_template", () => {
  it("a built-in name, auto (the inputs' most common template), and a literal — with and without a tokenizer merge", async () => {
    const named = await merge(
      "merge_method: linear\nmodels: [{ model: base }, { model: chat }]\nchat_template: chatml\n",
      "tpl-named",
    );
    expect(named.tokenizerConfig.chat_template).toMatch(/<\|im_start\|>/);
    expect(await readFile(join(named.out, "chat_template.jinja"), "utf8")).toBe(
      named.tokenizerConfig.chat_template,
    );
    expect(named.tokenizer).toEqual(JSON.parse(await readFile(join(root, "base", "tokenizer.json"), "utf8")));
    const auto = await merge(
      "merge_method: linear\nmodels: [{ model: base }, { model: chat }]\nchat_template: auto\ntokenizer_source: union\n",
      "tpl-auto",
    );
    expect(auto.tokenizerConfig.chat_template).toBe(CHATML);
    const literal = "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}";
    await writeFile(
      join(root, "tpl.yml"),
      `merge_method: linear\nmodels: [{ model: base }, { model: chat }]\nchat_template: "${literal}"\n`,
    );
    const lit = await merge(await readFile(join(root, "tpl.yml"), "utf8"), "tpl-literal");
    expect(lit.tokenizerConfig.chat_template).toBe(literal);
    await expect(
      merge("merge_method: linear\nmodels: [{ model: base }]\nchat_template: vicuna\n", "tpl-bad"),
    ).rejects.toThrow(/chat_template 'vicuna' is not a built-in template/);
  });
});
