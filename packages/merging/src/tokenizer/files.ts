// Tokenizer files in and out of model directories: reading an input's tokenizer.json,
// tokenizer_config.json, special_tokens_map.json and chat template; writing the merged tokenizer's
// files (tokenizer.json, tokenizer_config.json with the added tokens, special_tokens_map.json, the
// slow-tokenizer files the donor had, regenerated or copied) and setting a chat template.

import { copyFile, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BuiltVocabulary } from "./build.js";
import { TokenizerError, TokenizerJson } from "./vocab.js";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR")
      return undefined;
    throw err;
  }
}

async function readJson(path: string): Promise<Json | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text);
    if (!isObject(v)) throw new Error("not a JSON object");
    return v;
  } catch (err) {
    throw new TokenizerError(`${path}: ${(err as Error).message}`);
  }
}

/** A model directory's tokenizer files (each undefined when absent). */
export interface TokenizerFiles {
  readonly dir: string;
  readonly tokenizer?: TokenizerJson;
  readonly config?: Json;
  readonly specialTokensMap?: Json;
  /** The chat template the model ships (tokenizer_config.json, chat_template.jinja or .json). */
  readonly chatTemplate?: string;
}

const isDir = (path: string) =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );

/** Reads the tokenizer files of a model directory (a checkpoint file has none). */
export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  if (!(await isDir(dir))) return { dir };
  const text = await readText(join(dir, "tokenizer.json"));
  const config = await readJson(join(dir, "tokenizer_config.json"));
  const specialTokensMap = await readJson(join(dir, "special_tokens_map.json"));
  const chatTemplate = await templateIn(dir, config);
  return {
    dir,
    ...(text !== undefined ? { tokenizer: TokenizerJson.parse(text, join(dir, "tokenizer.json")) } : {}),
    ...(config ? { config } : {}),
    ...(specialTokensMap ? { specialTokensMap } : {}),
    ...(chatTemplate !== undefined ? { chatTemplate } : {}),
  };
}

/** The chat template a model directory ships (tokenizer_config.json, chat_template.jinja or .json). */
async function templateIn(dir: string, config: Json | undefined): Promise<string | undefined> {
  return (
    templateOf(config?.chat_template) ??
    (await readText(join(dir, "chat_template.jinja"))) ??
    templateOf((await readJson(join(dir, "chat_template.json")))?.chat_template)
  );
}

/** The chat template of a model directory, or undefined (none, or a checkpoint file). */
export async function readChatTemplate(dir: string): Promise<string | undefined> {
  if (!(await isDir(dir))) return undefined;
  return templateIn(dir, await readJson(join(dir, "tokenizer_config.json")));
}

/** A template as tokenizer_config.json stores it: a string, or named templates (take "default"). */
function templateOf(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) {
    const d = v.find((e) => isObject(e) && e.name === "default");
    return isObject(d) && typeof d.template === "string" ? d.template : undefined;
  }
  return undefined;
}

const SPECIAL_KEYS = [
  "bos_token",
  "eos_token",
  "unk_token",
  "sep_token",
  "pad_token",
  "cls_token",
  "mask_token",
  "additional_special_tokens",
];

/** special_tokens_map.json as transformers derives it from tokenizer_config.json. */
function specialTokensOf(config: Json): Json {
  return Object.fromEntries(
    SPECIAL_KEYS.filter((k) => config[k] !== undefined && config[k] !== null).map((k) => [k, config[k]]),
  );
}

/**
 * Writes the merged tokenizer into `outDir`: tokenizer.json, tokenizer_config.json (the donor's with
 * the gained added tokens in `added_tokens_decoder` and the chat template when one is given),
 * special_tokens_map.json, and the slow-tokenizer files the donor had (tokenizer.model copied;
 * vocab.json / merges.txt / vocab.txt / added_tokens.json regenerated from the merged vocabulary).
 */
export async function writeTokenizerFiles(
  outDir: string,
  built: BuiltVocabulary,
  donor: TokenizerFiles,
  chatTemplate?: string,
): Promise<string[]> {
  const written: string[] = [];
  const put = async (name: string, text: string) => {
    await writeFile(join(outDir, name), text);
    written.push(name);
  };
  await put("tokenizer.json", built.tokenizer.toString());
  const config: Json = { ...(donor.config ?? { tokenizer_class: "PreTrainedTokenizerFast" }) };
  const decoder: Json = isObject(config.added_tokens_decoder) ? { ...config.added_tokens_decoder } : {};
  for (const a of built.tokenizer.added) {
    if (decoder[String(a.id)] !== undefined) continue;
    const { id: _id, ...flags } = a.raw as Json;
    decoder[String(a.id)] = flags;
  }
  config.added_tokens_decoder = Object.fromEntries(
    Object.entries(decoder).sort((x, y) => Number(x[0]) - Number(y[0])),
  );
  if (chatTemplate !== undefined) config.chat_template = chatTemplate;
  await put("tokenizer_config.json", `${JSON.stringify(config, null, 2)}\n`);
  await put(
    "special_tokens_map.json",
    `${JSON.stringify(donor.specialTokensMap ?? specialTokensOf(config), null, 2)}\n`,
  );
  const had = async (name: string) =>
    (await stat(join(donor.dir, name)).catch(() => undefined))?.isFile() === true;
  if (await had("tokenizer.model")) {
    await copyFile(join(donor.dir, "tokenizer.model"), join(outDir, "tokenizer.model"));
    written.push("tokenizer.model");
  }
  const model = built.tokenizer.json.model as Json;
  if (built.tokenizer.modelType === "BPE" && (await had("vocab.json"))) {
    await put("vocab.json", `${JSON.stringify(model.vocab)}\n`);
    if (await had("merges.txt")) {
      const merges = (Array.isArray(model.merges) ? model.merges : []).map((m) =>
        Array.isArray(m) ? m.join(" ") : String(m),
      );
      await put("merges.txt", `#version: 0.2\n${merges.join("\n")}\n`);
    }
  }
  if (built.tokenizer.modelType === "WordPiece" && (await had("vocab.txt"))) {
    await put("vocab.txt", `${built.tokenizer.modelTokensById().join("\n")}\n`);
  }
  if (await had("added_tokens.json")) {
    const size = built.tokenizer.modelVocab.size;
    await put(
      "added_tokens.json",
      `${JSON.stringify(Object.fromEntries(built.tokenizer.added.filter((a) => a.id >= size).map((a) => [a.content, a.id])), null, 2)}\n`,
    );
  }
  if (chatTemplate !== undefined) await put("chat_template.jinja", chatTemplate);
  else if (await had("chat_template.jinja")) {
    await copyFile(join(donor.dir, "chat_template.jinja"), join(outDir, "chat_template.jinja"));
    written.push("chat_template.jinja");
  }
  return written;
}

/**
 * Sets the chat template of the tokenizer files already in `outDir` (copied from the donor): in
 * tokenizer_config.json (created when missing) and chat_template.jinja; a chat_template.json is
 * removed (it would compete with the new template).
 */
export async function setChatTemplate(outDir: string, template: string): Promise<void> {
  const path = join(outDir, "tokenizer_config.json");
  const config = (await readJson(path)) ?? {};
  config.chat_template = template;
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(outDir, "chat_template.jinja"), template);
  await rm(join(outDir, "chat_template.json"), { force: true });
}
