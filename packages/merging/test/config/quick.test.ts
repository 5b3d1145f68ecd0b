import { describe, expect, it } from "vitest";
import {
  applyMemoryBudget,
  listMethods,
  type MergeConfig,
  MergeConfigError,
  MergeOptionError,
  quickMergeConfig,
  refuseQuickOptions,
} from "../../src/index.js";

const message = (f: () => unknown) => {
  try {
    f();
    return "no error";
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
};

describe("quickMergeConfig", () => {
  it("builds a config of only the settings given, --param last", () => {
    expect(
      quickMergeConfig({
        method: "pcb",
        base: "b/",
        models: ["m1/", "m2/"],
        ratio: 0.1,
        mode: "reference",
        param: [
          ["ratio", 0.2],
          ["seed_like", "x"],
        ],
        dtype: "torch.float32",
        outDtype: "bfloat16",
      }),
    ).toEqual({
      mergeMethod: "pcb",
      models: [
        { model: "m1/", parameters: {} },
        { model: "m2/", parameters: {} },
      ],
      parameters: { ratio: 0.2, mode: "reference", seed_like: "x" },
      baseModel: "b/",
      dtype: "F32",
      outDtype: "BF16",
    });
    expect(quickMergeConfig({ method: "ties", models: ["a/"] })).toEqual({
      mergeMethod: "ties",
      models: [{ model: "a/", parameters: {} }],
      parameters: {},
    });
  });

  it("names the missing flag; a bad dtype stays a config error", () => {
    expect(message(() => quickMergeConfig({ models: ["a/"] }))).toBe(
      "MergeOptionError: the quick form needs --method (e.g. pcb, task_arithmetic, ties)",
    );
    expect(message(() => quickMergeConfig({ method: "pcb", models: [] }))).toBe(
      "MergeOptionError: the quick form needs --models DIR [DIR ...]",
    );
    expect(() => quickMergeConfig({ method: "pcb", models: ["a/"], dtype: "float8" })).toThrow(
      MergeConfigError,
    );
  });
});

describe("refuseQuickOptions", () => {
  it("refuses the first quick-form option given next to a config, by its flag", () => {
    expect(message(() => refuseQuickOptions({}))).toBe("no error");
    expect(message(() => refuseQuickOptions({ outDtype: "float16", mode: "reference" }))).toBe(
      "MergeOptionError: --mode belongs to the quick form; set it in the YAML config instead",
    );
    expect(message(() => refuseQuickOptions({ outDtype: "float16" }))).toBe(
      "MergeOptionError: --out-dtype belongs to the quick form; set it in the YAML config instead",
    );
  });
});

describe("applyMemoryBudget", () => {
  const cfg = (mergeMethod: string): MergeConfig => ({
    mergeMethod,
    models: [{ model: "a/", parameters: {} }],
    parameters: { memory_budget: 1, lambda: 1 },
  });
  it("overrides the config's budget of a method that has one, and refuses the others naming those that do", () => {
    const pcb = cfg("pcb");
    applyMemoryBudget(pcb, 4e9);
    expect(pcb.parameters).toEqual({ memory_budget: 4e9, lambda: 1 });
    const unchanged = cfg("pcb");
    applyMemoryBudget(unchanged, undefined);
    expect(unchanged.parameters.memory_budget).toBe(1);
    const withBudget = listMethods()
      .filter((m) => m.params.some((p) => p.name === "memory_budget"))
      .map((m) => m.name);
    expect(withBudget).toContain("pcb");
    const e = message(() => applyMemoryBudget(cfg("task_arithmetic"), 4e9));
    expect(e).toBe(
      `MergeOptionError: --memory-budget applies to methods with a memory_budget parameter (${withBudget.join(", ")}), not task_arithmetic`,
    );
    expect(() => applyMemoryBudget(cfg("ties"), 1)).toThrow(MergeOptionError);
  });
});
