// NaN or ±Inf in any input: a NonFiniteInputError naming the model, tensor and count, on every path
// (fused dense-linear, general, PCB fast path resident and streamed, PCB general and
// reference, the in-memory API); `allowNonfinite` merges them as they are and says so. (On main before
// this change, task arithmetic and PCB wrote NaN without a word and TIES dropped them silently.)

import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  countNonFinite,
  getMethod,
  type MergeTensor,
  mergeCheckpoints,
  mergeTensors,
  NonFiniteInputError,
  parseMergeConfig,
} from "../../src/index.js";
import { listTemporariesSync } from "../../src/io/output-guard.js";
import { fineTune, randomModel, withDtype, writeModelDir } from "../pipeline/fixtures.js";

let root: string;
const TENSOR = "model.layers.1.mlp.up_proj.weight";

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-nonfinite-"));
  const rng = new Rng(4);
  const base = randomModel(rng);
  const fts = [0, 1, 2].map(() => fineTune(rng, base));
  const bad = structuredClone(fts[1]!);
  bad[TENSOR]!.data[3] = Number.NaN;
  bad[TENSOR]!.data[7] = Number.POSITIVE_INFINITY;
  bad[TENSOR]!.data[9] = Number.NEGATIVE_INFINITY;
  for (const dtype of ["F32", "BF16"] as const) {
    await writeModelDir(join(root, dtype, "base"), withDtype(base, dtype));
    await writeModelDir(join(root, dtype, "ft0"), withDtype(fts[0]!, dtype));
    await writeModelDir(join(root, dtype, "ft1"), withDtype(bad, dtype));
    await writeModelDir(join(root, dtype, "ft2"), withDtype(fts[2]!, dtype));
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const yaml = (dtype: string, method: string, params = "") =>
  parseMergeConfig(
    `merge_method: ${method}\nbase_model: ${root}/${dtype}/base\nmodels:\n  - model: ${root}/${dtype}/ft0\n  - model: ${root}/${dtype}/ft1\n  - model: ${root}/${dtype}/ft2\n${params ? `parameters: { ${params} }\n` : ""}`,
  );

let runs = 0;
const out = () => join(root, `out-${runs++}`);

describe("non-finite inputs", () => {
  for (const [label, dtype, method, params, extra] of [
    ["task_arithmetic, fused path (BF16)", "BF16", "task_arithmetic", "", {}],
    [
      "task_arithmetic, general path (F32)",
      "F32",
      "task_arithmetic",
      "",
      { method: { ...getMethod("task_arithmetic") } },
    ],
    ["ties (drops them silently otherwise)", "F32", "ties", "density: 0.5", {}],
    ["pcb fast path, resident", "BF16", "pcb", "", {}],
    ["pcb fast path, F32", "F32", "pcb", "", {}],
    ["pcb with memory_budget 0 (general path, task store spilled)", "F32", "pcb", "memory_budget: 0", {}],
    ["pcb general path", "F32", "pcb", "fast_path: false", {}],
    ["pcb reference", "F32", "pcb", "mode: reference", {}],
  ] as const) {
    it(`${label}: an error naming model, tensor and count; nothing written`, async () => {
      const o = out();
      const err = await mergeCheckpoints(yaml(dtype, method, params), o, extra).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NonFiniteInputError);
      const e = err as NonFiniteInputError;
      expect(e.model).toBe(`${root}/${dtype}/ft1`);
      expect(e.tensor).toBe(TENSOR);
      expect(e.count).toBe(3);
      expect(e.message).toMatch(
        /ft1: tensor 'model\.layers\.1\.mlp\.up_proj\.weight' has 3 non-finite values \(NaN or ±Inf\)/,
      );
      expect(e.message).toMatch(/allowNonfinite/);
      expect(existsSync(o)).toBe(false);
      expect(listTemporariesSync(o)).toEqual([]);
    });
  }

  it("allowNonfinite merges them as the method does and reports what it met", async () => {
    const notices: string[] = [];
    const o = out();
    await mergeCheckpoints(yaml("F32", "task_arithmetic"), o, {
      allowNonfinite: true,
      onNotice: (m) => notices.push(m),
    });
    expect(notices).toEqual([
      `allowNonfinite: merged 3 non-finite input value(s) (NaN or ±Inf) as they are, in 1 tensor(s) (${root}/F32/ft1 '${TENSOR}': 3); the method's output may hold NaN or ±Inf there`,
    ]);
    // PCB's fast path declines them and the general path merges them (with its own notice first).
    const pcbNotices: string[] = [];
    await mergeCheckpoints(yaml("BF16", "pcb", "nan_guard: off"), out(), {
      allowNonfinite: true,
      onNotice: (m) => pcbNotices.push(m),
    });
    expect(pcbNotices[0]).toMatch(
      /pcb fast path: a task vector has non-finite values: taking the general path/,
    );
    expect(pcbNotices[1]).toMatch(/^allowNonfinite: merged 3 non-finite input value/);
  });

  it("the in-memory API checks too", () => {
    const base = new Map<string, MergeTensor>([["w", { shape: [4], data: new Float32Array(4) }]]);
    const bad = new Map<string, MergeTensor>([
      ["w", { shape: [4], data: Float32Array.of(1, Number.NaN, 2, 3) }],
    ]);
    expect(() => mergeTensors("task_arithmetic", { base, models: [base, bad] })).toThrow(
      new NonFiniteInputError("model 1", "w", 1),
    );
    const notices: string[] = [];
    const merged = mergeTensors("task_arithmetic", {
      base,
      models: [base, bad],
      allowNonfinite: true,
      onNotice: (m) => notices.push(m),
    });
    expect(Number.isNaN(merged.get("w")!.data[1])).toBe(true);
    expect(notices).toHaveLength(1);
    expect(
      countNonFinite(
        Float32Array.of(0, Number.NaN, Number.POSITIVE_INFINITY, -1e38, Number.NEGATIVE_INFINITY),
      ),
    ).toBe(3);
  });
});
