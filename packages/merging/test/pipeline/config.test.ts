import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  countLayers,
  evaluateSetting,
  layerIndexOf,
  layerPosition,
  MergeConfigError,
  mergeConfigHash,
  mergeConfigToYaml,
  parseByteSize,
  parseDTypeName,
  parseMergeConfig,
  resolveParameter,
} from "../../src/config/index.js";

const SPEC_EXAMPLE = `
merge_method: ties
base_model: org/base-7b
models:
  - model: org/expert-a
    parameters: { weight: 0.6, density: [1.0, 0.5] }
  - model: org/expert-b
    parameters: { weight: [{ filter: mlp, value: 0.4 }, { value: 0.2 }] }
parameters: { normalize: true }
dtype: float32
out_dtype: bfloat16
`;

describe("parseMergeConfig", () => {
  it("parses the spec's schematic example", () => {
    const c = parseMergeConfig(SPEC_EXAMPLE, "ex.yml");
    expect(c.mergeMethod).toBe("ties");
    expect(c.baseModel).toBe("org/base-7b");
    expect(c.models.map((m) => m.model)).toEqual(["org/expert-a", "org/expert-b"]);
    expect(c.models[0]!.parameters.density).toEqual([1.0, 0.5]);
    expect(c.parameters).toEqual({ normalize: true });
    expect(c.dtype).toBe("F32");
    expect(c.outDtype).toBe("BF16");
  });

  it("names unknown top-level keys", () => {
    expect(() => parseMergeConfig("merge_method: linear\nmodels: [a]\nfoo: 1\nbar: 2\n", "c.yml")).toThrow(
      /c\.yml: unknown keys 'foo', 'bar' in the config/,
    );
  });

  it("names unknown keys inside model entries and conditionals", () => {
    expect(() => parseMergeConfig("merge_method: linear\nmodels:\n  - model: a\n    weight: 1\n")).toThrow(
      /unknown key 'weight' in models\[0\]/,
    );
    expect(() =>
      parseMergeConfig(
        "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: {filt: x, value: 1}}\n",
      ),
    ).toThrow(/unknown key 'filt' in models\[0\]\.parameters\.weight/);
  });

  it("takes exactly one of models, slices and modules, and one of tokenizer_source and tokenizer", () => {
    expect(() => parseMergeConfig("merge_method: linear\nslices: []\n")).toThrow(
      /'slices' must be a non-empty/,
    );
    expect(() =>
      parseMergeConfig(
        "merge_method: linear\nmodels: [a]\nslices: [{sources: [{model: a, layer_range: [0, 2]}]}]\n",
      ),
    ).toThrow(/exactly one of 'models', 'slices' or 'modules'/);
    expect(() =>
      parseMergeConfig(
        "merge_method: linear\nmodels: [a]\ntokenizer_source: union\ntokenizer: {source: base}\n",
      ),
    ).toThrow(/either 'tokenizer_source' or 'tokenizer'/);
    expect(
      parseMergeConfig("merge_method: linear\nmodels: [a]\ntokenizer_source: union\n").tokenizerSource,
    ).toBe("union");
  });

  it("requires merge_method and a non-empty models list", () => {
    expect(() => parseMergeConfig("models: [a]\n")).toThrow(/merge_method/);
    expect(() => parseMergeConfig("merge_method: linear\nmodels: []\n")).toThrow(/non-empty/);
    expect(() => parseMergeConfig("merge_method: [linear\n")).toThrow(MergeConfigError);
  });

  it("round-trips through the written mergekit YAML with the same hash", () => {
    const c = parseMergeConfig(SPEC_EXAMPLE);
    const again = parseMergeConfig(mergeConfigToYaml(c));
    expect(again).toEqual(c);
    expect(mergeConfigHash(again)).toBe(mergeConfigHash(c));
    const other = parseMergeConfig(SPEC_EXAMPLE.replace("0.6", "0.7"));
    expect(mergeConfigHash(other)).not.toBe(mergeConfigHash(c));
  });
});

describe("dtype names", () => {
  it("accepts exactly mergekit's four names with optional torch. prefix", () => {
    expect(parseDTypeName("bfloat16")).toBe("BF16");
    expect(parseDTypeName("torch.float16")).toBe("F16");
    expect(parseDTypeName("float32")).toBe("F32");
    expect(parseDTypeName("torch.int64")).toBe("I64");
    for (const bad of ["fp16", "bf16", "float64", "torch.half", "Float32"]) {
      expect(() => parseDTypeName(bad, "out_dtype")).toThrow(/'out_dtype': unknown dtype/);
    }
  });
});

describe("parseByteSize", () => {
  it("parses decimal, binary, scientific and mergekit K/M/B sizes", () => {
    expect(parseByteSize("5GB")).toBe(5e9);
    expect(parseByteSize("500MB")).toBe(5e8);
    expect(parseByteSize("1e9")).toBe(1e9);
    expect(parseByteSize("2GiB")).toBe(2 * 1024 ** 3);
    expect(parseByteSize("5B")).toBe(5e9);
    expect(parseByteSize("1000")).toBe(1000);
    expect(parseByteSize("1.5K")).toBe(1500);
    for (const bad of ["", "abc", "5XB", "-1GB", "0"])
      expect(() => parseByteSize(bad)).toThrow(MergeConfigError);
  });
});

describe("evaluateSetting (mergekit rules)", () => {
  it("interpolates a numeric gradient piecewise-linearly over t", () => {
    expect(evaluateSetting([1, 0.5], "x", 0)).toBe(1);
    expect(evaluateSetting([1, 0.5], "x", 1)).toBe(0.5);
    expect(evaluateSetting([1, 0.5], "x", 0.5)).toBeCloseTo(0.75, 15);
    expect(evaluateSetting([0, 1, 0], "x", 0.25)).toBeCloseTo(0.5, 15);
    expect(evaluateSetting([0, 1, 0], "x", 0.75)).toBeCloseTo(0.5, 15);
  });

  it("picks the first matching filter; '*' and absent filters match everything", () => {
    const s = [{ filter: "mlp", value: 0.4 }, { filter: "*", value: 0.3 }, { value: 0.2 }];
    expect(evaluateSetting(s, "model.layers.0.mlp.up_proj.weight", 0)).toBe(0.4);
    expect(evaluateSetting(s, "model.layers.0.self_attn.q_proj.weight", 0)).toBe(0.3);
    expect(evaluateSetting([{ filter: "mlp", value: 1 }], "attn", 0)).toBeUndefined();
    expect(evaluateSetting([{ filter: "attn", value: [0, 1] }], "attn.w", 1)).toBe(1);
  });

  it("stays within the gradient's range for every t (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 8 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (g, t) => {
          const v = evaluateSetting(g, "x", t) as number;
          return v >= Math.min(...g) - 1e-12 && v <= Math.max(...g) + 1e-12;
        },
      ),
    );
  });
});

describe("layer positions", () => {
  const names = [
    "model.embed_tokens.weight",
    "model.layers.0.mlp.up_proj.weight",
    "model.layers.3.self_attn.q_proj.weight",
    "model.norm.weight",
    "lm_head.weight",
  ];
  it("finds layer indices and counts layers", () => {
    expect(layerIndexOf("model.layers.12.mlp.down_proj.weight")).toBe(12);
    expect(layerIndexOf("transformer.h.5.attn.c_attn.weight")).toBe(5);
    expect(layerIndexOf("model.embed_tokens.weight")).toBeUndefined();
    expect(countLayers(names)).toBe(4);
  });
  it("uses t = layer/(L-1) and t = 0 for non-layer tensors", () => {
    expect(layerPosition("model.layers.3.self_attn.q_proj.weight", 4)).toBe(1);
    expect(layerPosition("model.layers.1.x", 4)).toBeCloseTo(1 / 3, 15);
    expect(layerPosition("lm_head.weight", 4)).toBe(0);
    expect(layerPosition("model.layers.0.x", 1)).toBe(0);
  });
});

describe("resolveParameter precedence", () => {
  const c = parseMergeConfig(`
merge_method: ties
base_model: b
models:
  - model: m0
    parameters: { weight: [{ filter: mlp, value: 0.9 }], density: [1.0, 0.5] }
  - model: m1
parameters: { weight: 0.1, density: 0.7, lambda: 1.5 }
`);
  it("per-model beats global, an unmatched filter falls through, default last", () => {
    const mlp = { tensorName: "model.layers.1.mlp.w", t: 1 };
    const attn = { tensorName: "model.layers.1.attn.w", t: 1 };
    expect(resolveParameter(c, "weight", mlp, 0)).toBe(0.9);
    expect(resolveParameter(c, "weight", attn, 0)).toBe(0.1);
    expect(resolveParameter(c, "weight", mlp, 1)).toBe(0.1);
    expect(resolveParameter(c, "density", mlp, 0)).toBe(0.5);
    expect(resolveParameter(c, "density", { tensorName: "lm_head.weight", t: 0 }, 0)).toBe(1.0);
    expect(resolveParameter(c, "density", mlp, 1)).toBe(0.7);
    expect(resolveParameter(c, "lambda", mlp)).toBe(1.5);
    expect(resolveParameter(c, "gamma", mlp, 0, 0.01)).toBe(0.01);
  });
});
