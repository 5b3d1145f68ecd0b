// Architecture definitions: the built-in table (every file parses, names the families mergekit
// ships), matching by class name and model_type, user files ahead of built-ins, template
// substitution, layer prefixes, and definition errors that name the file and the key.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ArchitectureError,
  ArchitectureTable,
  architecturePathsFromEnv,
  bindWeight,
  builtinArchitectures,
  configValue,
  LayerPrefixes,
  moduleLayerCount,
  parseArchitectureDefinition,
  setConfigValue,
  substituteTemplate,
} from "../../src/architecture/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "x-arch-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("built-in definitions", () => {
  it("parse, and cover the families mergekit ships", () => {
    const defs = builtinArchitectures();
    expect(defs.length).toBeGreaterThanOrEqual(30);
    const classes = new Set(defs.flatMap((d) => d.architectures));
    for (const c of [
      "LlamaForCausalLM",
      "MistralForCausalLM",
      "MixtralForCausalLM",
      "Qwen2ForCausalLM",
      "Qwen3ForCausalLM",
      "Qwen3MoeForCausalLM",
      "GemmaForCausalLM",
      "Gemma2ForCausalLM",
      "Gemma3ForCausalLM",
      "PhiForCausalLM",
      "Phi3ForCausalLM",
      "GPT2LMHeadModel",
      "GPTNeoXForCausalLM",
      "GPTBigCodeForCausalLM",
      "FalconForCausalLM",
      "Starcoder2ForCausalLM",
      "BertModel",
      "RobertaForMaskedLM",
      "WhisperForConditionalGeneration",
      "Qwen2VLForConditionalGeneration",
    ]) {
      expect(classes.has(c), c).toBe(true);
    }
    // Every definition has layers, and its embeddings are marked.
    for (const d of defs) {
      for (const m of d.modules)
        expect(m.layout.layer.length + m.layout.pre.length, `${d.source} ${m.name}`).toBeGreaterThan(0);
      expect(
        d.modules.some((m) => [...m.layout.pre, ...m.layout.post].some((w) => w.isEmbed)) ||
          d.modelType === "qwen2_vl_merger",
        d.source,
      ).toBe(true);
    }
  });

  it("match config.json by class name, then by model_type", async () => {
    const table = await ArchitectureTable.load();
    expect(table.find({ architectures: ["LlamaForCausalLM"], model_type: "llama" })?.modelType).toBe("llama");
    expect(table.find({ architectures: ["BertForMaskedLM"] })?.source).toMatch(/bert-masked-lm/);
    expect(table.find({ architectures: ["Nope", "Qwen2ForCausalLM"] })?.modelType).toBe("qwen2");
    expect(table.find({ architectures: ["Nope"] })).toBeUndefined();
    expect(() => table.require({ architectures: ["Nope"], model_type: "nope" }, "m")).toThrow(
      ArchitectureError,
    );
  });
});

describe("user definitions", () => {
  it("come first (replacing a built-in of the same class), from files or directories", async () => {
    const own = {
      model_type: "llama",
      architectures: ["LlamaForCausalLM"],
      pre_weights: [{ name: "embed.weight", is_embed: true }],
      layer_templates: { weights: [{ name: "h.$layer_index.w" }] },
      post_weights: [],
      num_layers_config_key: "n_layer",
    };
    await writeFile(join(dir, "llama.json"), JSON.stringify(own));
    const table = await ArchitectureTable.load([join(dir, "llama.json")]);
    expect(table.find({ architectures: ["LlamaForCausalLM"], model_type: "llama" })?.source).toBe(
      join(dir, "llama.json"),
    );
    const fromDir = await ArchitectureTable.load([dir]);
    expect(fromDir.definitions[0]!.source).toBe(join(dir, "llama.json"));
    await expect(ArchitectureTable.load(["missing.json"], dir)).rejects.toThrow(
      /architecture definition missing.json not found/,
    );
    expect(architecturePathsFromEnv({ X_MERGE_ARCHITECTURES: `a.json:${dir}` })).toEqual(["a.json", dir]);
  });

  it("definition errors name the file and the key", () => {
    expect(() => parseArchitectureDefinition({ kind: "modul" }, "f.json")).toThrow(
      /f.json: kind must be "module" or "modular"/,
    );
    expect(() => parseArchitectureDefinition({ pre_weights: [{ nam: "x" }] }, "f.json")).toThrow(
      /f.json: the definition.pre_weights\[0\].name must be a non-empty string/,
    );
    expect(() => parseArchitectureDefinition({ kind: "modular", modules: {} }, "f.json")).toThrow(
      /modules must map/,
    );
    expect(() =>
      parseArchitectureDefinition(
        { layer_templates: { weights: [{ name: "x", optional: "yes" }] } },
        "f.json",
      ),
    ).toThrow(/optional must be true or false/);
  });
});

describe("names", () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: mergekit's placeholder syntax, not a template literal
  it("substitute ${layer_index} / ${num_layers} with ±1, with or without braces", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: mergekit's placeholder syntax, not a template literal
    expect(substituteTemplate("model.layers.${layer_index}.w", 8, 3)).toBe("model.layers.3.w");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: mergekit's placeholder syntax, not a template literal
    expect(substituteTemplate("layers.${layer_index+1}.x.$layer_index-1", 8, 3)).toBe("layers.4.x.2");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: mergekit's placeholder syntax, not a template literal
    expect(substituteTemplate("layers.${num_layers}.linear", 8)).toBe("layers.8.linear");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: mergekit's placeholder syntax, not a template literal
    expect(substituteTemplate("a$$b.${num_layers-1}", 8)).toBe("a$b.7");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: mergekit's placeholder syntax, not a template literal
    expect(() => substituteTemplate("layers.${layer_index}.w", 8)).toThrow(
      /unknown placeholder .* outside the layer templates/,
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: mergekit's placeholder syntax, not a template literal
    expect(() => substituteTemplate("${depth}", 8)).toThrow(/unknown placeholder '\$\{depth\}'/);
  });

  it("bind weights under a module prefix; layer prefixes find unlisted tensors of a layer", () => {
    const def = builtinArchitectures().find((d) =>
      d.architectures.includes("WhisperForConditionalGeneration"),
    )!;
    const decoder = def.modules.find((m) => m.name === "decoder")!;
    const cfg = { encoder_layers: 4, decoder_layers: 2 };
    expect(moduleLayerCount(decoder, cfg, "w")).toBe(2);
    expect(bindWeight(decoder.layout.layer[0]!, decoder, 2, 1).name).toBe(
      "model.decoder.layers.1.self_attn.q_proj.weight",
    );
    const prefixes = LayerPrefixes.of(decoder);
    expect(prefixes.suffixIn("model.decoder.layers.1.extra.bias", 1)).toBe("extra.bias");
    expect(prefixes.suffixIn("model.decoder.layers.11.extra.bias", 1)).toBeUndefined();
    expect(prefixes.covers("model.decoder.layers.7.x")).toBe(true);
    expect(prefixes.covers("model.encoder.layers.7.x")).toBe(false);
    expect(() => moduleLayerCount(decoder, {}, "w")).toThrow(/model w: config.json has no 'decoder_layers'/);
    const gpt2 = builtinArchitectures().find((d) => d.architectures.includes("GPT2LMHeadModel"))!.modules[0]!;
    expect(LayerPrefixes.of(gpt2).all(3)).toEqual(["transformer.h.3.", "h.3."]);
  });

  it("dotted config keys", () => {
    const c = { text_config: { num_hidden_layers: 4 }, n: 1 };
    expect(configValue(c, "text_config.num_hidden_layers")).toBe(4);
    expect(configValue(c, "vision_config.depth")).toBeUndefined();
    expect(setConfigValue(c, "text_config.num_hidden_layers", 6)).toBe(true);
    expect(c.text_config.num_hidden_layers).toBe(6);
    expect(setConfigValue(c, "vision_config.depth", 2)).toBe(false);
  });
});
