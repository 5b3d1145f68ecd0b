// Files that travel with the weights: config, generation config and tokenizer from the donor model
// (base, else first model), plus the merge config and a short model card written by us.

import { copyFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type MergeConfig, mergeConfigToYaml, referencedModels } from "../config/index.js";
import { resolveModelPath } from "./source.js";

/** Weight files and our own outputs are never copied from a donor. */
const WEIGHT_FILE =
  /\.(safetensors|bin|pt|pth|ckpt|gguf|h5|msgpack|onnx)$|\.safetensors\.index\.json$|\.bin\.index\.json$/;
const OWN_FILES = new Set(["README.md", "mergekit_config.yml"]);
const TOKENIZER_FILE =
  /^(tokenizer.*|special_tokens_map\.json|added_tokens\.json|vocab\.(json|txt)|merges\.txt|spiece\.model|.*\.tiktoken|chat_template\..*)$/;

async function filesOf(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isFile() && !WEIGHT_FILE.test(e.name) && !OWN_FILES.has(e.name)) out.push(e.name);
  }
  return out;
}

async function modelDir(ref: string, baseDir?: string): Promise<string | undefined> {
  const p = await resolveModelPath(ref, baseDir);
  return (await stat(p)).isDirectory() ? p : undefined;
}

/**
 * Copies the donor directory's non-weight files (config.json, generation_config.json, tokenizer files,
 * ...) into `outDir`; tokenizer files only when `tokenizer` is true (a merge that builds its own
 * tokenizer, or --no-copy-tokenizer, leaves them out). Single-file inputs have nothing to copy.
 * Returns the copied file names.
 */
export async function copyTagalongFiles(
  outDir: string,
  donorRef: string,
  options: { tokenizer?: boolean; baseDir?: string } = {},
): Promise<string[]> {
  const copied: string[] = [];
  const donor = await modelDir(donorRef, options.baseDir);
  if (!donor) return copied;
  for (const f of await filesOf(donor)) {
    if (options.tokenizer === false && TOKENIZER_FILE.test(f)) continue;
    await copyFile(join(donor, f), join(outDir, f));
    copied.push(f);
  }
  return copied;
}

/** Writes `mergekit_config.yml` and a short README.md model card. */
export async function writeMergeMetadataFiles(
  outDir: string,
  config: MergeConfig,
  configHash: string,
): Promise<void> {
  const yaml = mergeConfigToYaml(config);
  await writeFile(join(outDir, "mergekit_config.yml"), yaml);
  const models = referencedModels(config)
    .map((m) => `* ${m}`)
    .join("\n");
  const card = [
    "---",
    "tags:",
    "- merge",
    `- ${config.mergeMethod}`,
    "---",
    "",
    "# Merged model",
    "",
    `This model was produced by \`x merge\` with the **${config.mergeMethod}** method` +
      (config.baseModel ? `, using ${config.baseModel} as the base.` : "."),
    "",
    "## Models merged",
    "",
    models,
    "",
    "## Configuration",
    "",
    "```yaml",
    yaml.trimEnd(),
    "```",
    "",
    `Config hash (SHA-256, also in the safetensors metadata as \`merge_config_sha256\`): \`${configHash}\``,
    "",
  ].join("\n");
  await writeFile(join(outDir, "README.md"), card);
}
