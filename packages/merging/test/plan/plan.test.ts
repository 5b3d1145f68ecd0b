// The planner without I/O: fake headers in, per-tensor tasks, parameters and fast-path choices out.

import { describe, expect, it } from "vitest";
import {
  getMethod,
  type HeaderView,
  MergeInputError,
  parseMergeConfig,
  planCheckpointMerge,
  planInputs,
} from "../../src/index.js";
import { denseLinearChoice, storedGlobalChoice } from "../../src/plan/fast-paths.js";
import { tensorParams } from "../../src/plan/plan.js";

function header(label: string, tensors: Record<string, [string, number[]]>): HeaderView {
  return {
    label,
    names: () => Object.keys(tensors),
    info: (n) => (tensors[n] ? { dtype: tensors[n]![0], shape: tensors[n]![1] } : undefined),
  };
}

const LLAMA = {
  "model.embed_tokens.weight": ["BF16", [32, 8]],
  "model.layers.0.mlp.up_proj.weight": ["BF16", [16, 8]],
  "model.layers.1.mlp.up_proj.weight": ["BF16", [16, 8]],
  "model.norm.weight": ["BF16", [8]],
  step: ["I64", [1]],
} as Record<string, [string, number[]]>;

function plan(yaml: string, models: HeaderView[], base = header("base", LLAMA), strict = false) {
  const config = parseMergeConfig(yaml);
  const method = getMethod(config.mergeMethod);
  const refs = planInputs(config, method);
  const byRef = new Map<string, HeaderView>([["base", base], ...models.map((m) => [m.label, m] as const)]);
  const headers = {
    reference: byRef.get(refs.reference)!,
    base: refs.base ? byRef.get(refs.base) : undefined,
    models: refs.models.map((r) => byRef.get(r)!),
  };
  return { config, refs, plan: planCheckpointMerge(config, method, headers, refs, strict) };
}

describe("planner", () => {
  it("maps config models to merged inputs (the base listed among the models is skipped)", () => {
    const config = parseMergeConfig(
      "merge_method: ties\nbase_model: base\nmodels: [{model: a}, {model: base}, {model: b}]\n",
    );
    expect(planInputs(config, getMethod("ties"))).toEqual({
      base: "base",
      models: ["a", "b"],
      configIndex: [0, 2],
      reference: "base",
      all: ["base", "a", "b"],
    });
    // Without a base the first model is the reference, and a base-less method merges every model.
    const linear = parseMergeConfig("merge_method: linear\nmodels: [{model: a}, {model: b}]\n");
    expect(planInputs(linear, getMethod("linear"))).toEqual({
      models: ["a", "b"],
      configIndex: [0, 1],
      reference: "a",
      all: ["a", "b"],
    });
    expect(() =>
      planInputs(parseMergeConfig("merge_method: ties\nmodels: [{model: a}]\n"), getMethod("ties")),
    ).toThrow(new MergeInputError("merge method 'ties' needs 'base_model'"));
  });

  it("plans merges, copies, embedding blocks, saved dtypes and per-tensor parameters", () => {
    const bigVocab = { ...LLAMA, "model.embed_tokens.weight": ["BF16", [40, 8]] } as typeof LLAMA;
    const { config, plan: p } = plan(
      `merge_method: task_arithmetic
base_model: base
models:
  - model: a
    parameters: { weight: [1.0, 0.0] }
  - model: b
    parameters: { weight: [{ filter: mlp, value: 0.5 }, { value: 2 }] }
out_dtype: float32
`,
      [header("a", LLAMA), header("b", bigVocab)],
    );
    expect(p.scope).toBe("tensor");
    expect(p.tensors.map((t) => [t.name, t.kind, t.outDtype, t.models, t.block])).toEqual([
      ["model.embed_tokens.weight", "merge", "F32", [0, 1], { rows: 32, cols: 8 }],
      ["model.layers.0.mlp.up_proj.weight", "merge", "F32", [0, 1], undefined],
      ["model.layers.1.mlp.up_proj.weight", "merge", "F32", [0, 1], undefined],
      ["model.norm.weight", "merge", "F32", [0, 1], undefined],
      ["step", "copy", "I64", [], undefined],
    ]);
    expect(p.warnings.map((w) => w.kind)).toEqual(["submatrix"]);
    // Layer gradient (t = layer / (L − 1), t = 0 outside the layers) and first-matching filter.
    const w = (i: number) => tensorParams(p, config, i).modelParams.map((m) => m.weight);
    expect(w(0)).toEqual([1, 2]);
    expect(w(1)).toEqual([1, 0.5]);
    expect(w(2)).toEqual([0, 0.5]);
  });

  it("global scope keeps the base tensor where a model lacks it; strict makes it an error", () => {
    const missing = { ...LLAMA };
    delete missing["model.norm.weight"];
    const yaml = "merge_method: pcb\nbase_model: base\nmodels: [{model: a}, {model: b}]\n";
    const { plan: p } = plan(yaml, [header("a", LLAMA), header("b", missing)]);
    expect(p.scope).toBe("global");
    expect(p.tensors.find((t) => t.name === "model.norm.weight")!.kind).toBe("copy");
    expect(p.warnings.map((w) => w.kind)).toEqual(["missing", "copied"]);
    expect(() => plan(yaml, [header("a", LLAMA), header("b", missing)], undefined, true)).toThrow(/--strict/);
  });

  it("chooses the fused dense-linear path from the method's declaration", () => {
    const yaml = (method: string, extra = "") =>
      `merge_method: ${method}\nbase_model: base\nmodels: [{model: a${extra}}, {model: b}]\n`;
    const mixed = { ...LLAMA, "model.norm.weight": ["F64", [8]] } as typeof LLAMA;
    const ta = plan(yaml("task_arithmetic"), [header("a", LLAMA), header("b", mixed)]);
    const choose = (pl: typeof ta, i: number, dtypes: string[]) =>
      denseLinearChoice(pl.plan.method, pl.plan.tensors[i]!, dtypes, tensorParams(pl.plan, pl.config, i));
    expect(choose(ta, 1, ["BF16", "BF16", "BF16"])).toEqual({ weights: Float64Array.from([1, 1]), scale: 1 });
    expect(choose(ta, 3, ["BF16", "BF16", "F64"])).toBeUndefined(); // F64 is not a fast dtype
    expect(choose(ta, 0, ["BF16", "BF16", "BF16"])).toEqual({ weights: Float64Array.from([1, 1]), scale: 1 });
    // Sparsifying or sign-consensus methods declare a plan only where the merge is dense linear.
    const dare = plan(yaml("dare_linear", ", parameters: {density: 0.5}"), [
      header("a", LLAMA),
      header("b", LLAMA),
    ]);
    expect(choose(dare, 1, ["BF16", "BF16", "BF16"])).toBeUndefined();
    const dense = plan(yaml("dare_linear"), [header("a", LLAMA), header("b", LLAMA)]);
    expect(choose(dense, 1, ["BF16", "BF16", "BF16"])).toBeDefined();
    const ties = plan(yaml("ties"), [header("a", LLAMA), header("b", LLAMA)]);
    expect(choose(ties, 1, ["BF16", "BF16", "BF16"])).toBeUndefined();
  });

  it("chooses PCB's stored-global fast path from its declaration (dtypes, mode, out dtype)", () => {
    const floats = Object.fromEntries(Object.entries(LLAMA).filter(([, v]) => v[0] !== "I64"));
    const yaml = (params: string, extra = "") =>
      `merge_method: pcb\nbase_model: base\nmodels: [{model: a}, {model: b}]\nparameters: {${params}}\n${extra}`;
    const choice = (params: string, dtypes: (i: number) => string[], extra = "") => {
      const { config, plan: p } = plan(
        yaml(params, extra),
        [header("a", floats), header("b", floats)],
        header("base", floats),
      );
      return storedGlobalChoice(p, config, true, dtypes);
    };
    const bf16 = () => ["BF16", "BF16", "BF16"];
    const c = choice("mode: streaming-global", bf16);
    expect(c.path?.kind).toBe("stored-global");
    expect(c.path && [c.inputDtype, c.outDtype, c.order]).toEqual(["BF16", "BF16", [0, 1, 2, 3]]);
    expect(choice("mode: reference", bf16).path).toBeUndefined();
    expect(choice("mode: streaming-global, fast_path: false", bf16).path).toBeUndefined();
    expect(choice("mode: streaming-global, inter: vision", bf16).path).toBeUndefined();
    expect(choice("mode: streaming-global", bf16, "out_dtype: float16\n")).toEqual({});
    expect(choice("mode: streaming-global", bf16, "out_dtype: float32\n").path).toBeDefined();
    const mixed = choice("mode: streaming-global", (i) => (i === 2 ? ["F16", "BF16", "BF16"] : bf16()));
    expect(mixed).toEqual({
      notice: "pcb fast path: takes inputs stored all as BF16, all as F16 or all as F32, these are BF16, F16",
    });
  });
});
