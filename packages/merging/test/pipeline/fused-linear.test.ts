// The fused dense-linear path of the pipeline (pipeline/linear-fast.ts, fast-write.ts): it must write
// exactly the bytes of the general path (decode every input to float32, method.mergeTensor, encode),
// for BF16 / F16 / F32 and mixed inputs, compute dtypes, output dtypes, with and without WebAssembly SIMD.
// The general path is forced with a copy of the method object (the fused path recognizes the built-in
// methods by identity). On threads (helpers, merge workers): test/integration/threads.test.ts.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DType, openCheckpoint, Rng, setSimdEnabled } from "@x/tensor-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FastLinearJob } from "../../src/exec/fused-linear.js";
import { stepsOf } from "../../src/exec/write-order.js";
import {
  type FixtureModel,
  FUSED_SHAPES,
  fineTune,
  randomModel,
  withDtype,
  writeModelDir,
} from "./fixtures.js";
import {
  getMethod,
  type MergeConfig,
  mergeCheckpoints,
  parseMergeConfig,
  prepareCheckpointMerge,
} from "./helpers.js";

let root: string;

/** Special values in a few places: ±Inf, ±0, huge (overflows F16/BF16 sums), tiny (subnormal). */
function withSpecials(model: FixtureModel, rng: Rng): FixtureModel {
  const specials = [Infinity, -Infinity, 0, -0, 3e38, 1e-41];
  for (const t of Object.values(model)) {
    for (let k = 0; k < t.data.length; k += 89) t.data[k] = specials[rng.int(specials.length)]!;
  }
  return model;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-merge-fused-"));
  const rng = new Rng(21);
  const base = randomModel(rng, FUSED_SHAPES);
  const dtypes: DType[] = ["BF16", "F16", "F32", "BF16"];
  await writeModelDir(join(root, "base"), withDtype(base, "BF16"), { maxShardSize: 30_000 });
  for (let i = 0; i < dtypes.length; i++) {
    const ft = withSpecials(fineTune(rng, base), rng);
    await writeModelDir(join(root, `ft${i}`), withDtype(ft, dtypes[i]!));
  }
  // Same names, all BF16, for the all-BF16 (bench-like) case.
  await writeModelDir(join(root, "ft-bf16"), withDtype(fineTune(rng, base), "BF16"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

afterEach(() => {
  setSimdEnabled(true);
});

const cfg = (yaml: string): MergeConfig => parseMergeConfig(yaml.replaceAll("$ROOT", root));

/** Every tensor's stored bytes, by name. */
async function storedBytes(dir: string): Promise<Record<string, { dtype: string; hex: string }>> {
  const ck = await openCheckpoint(dir);
  const out: Record<string, { dtype: string; hex: string }> = {};
  for (const n of ck.names()) {
    out[n] = { dtype: ck.info(n)!.dtype, hex: Buffer.from(await ck.readBytes(n)).toString("hex") };
  }
  await ck.close();
  return out;
}

let runs = 0;
async function merged(config: MergeConfig, opts: { general?: boolean } = {}) {
  const out = join(root, `out-${runs++}`);
  const method = opts.general ? { ...getMethod(config.mergeMethod) } : undefined;
  // The fixtures hold ±Inf on purpose (the paths must agree on them too).
  await mergeCheckpoints(config, out, {
    method,
    copyTokenizer: false,
    allowNonfinite: true,
  });
  return storedBytes(out);
}

const CONFIGS: Record<string, string> = {
  "task_arithmetic, mixed BF16/F16/F32 inputs, BF16 out": `
merge_method: task_arithmetic
base_model: $ROOT/base
models:
  - { model: $ROOT/ft0, parameters: { weight: 0.7 } }
  - { model: $ROOT/ft1, parameters: { weight: [0.2, 1.3] } }
  - { model: $ROOT/ft2, parameters: { weight: -0.4 } }
  - { model: $ROOT/ft3, parameters: { weight: 1.0 } }
parameters: { lambda: 0.3 }
`,
  "task_arithmetic, normalize, dtype bfloat16, out_dtype float16": `
merge_method: task_arithmetic
base_model: $ROOT/base
models:
  - { model: $ROOT/ft0, parameters: { weight: 0.5 } }
  - { model: $ROOT/ft2, parameters: { weight: 0.25 } }
parameters: { lambda: 1.1, normalize: true }
dtype: bfloat16
out_dtype: float16
`,
  "dare_linear at density 1, dtype float16, out_dtype float32": `
merge_method: dare_linear
base_model: $ROOT/base
models:
  - { model: $ROOT/ft1, parameters: { weight: 0.9, density: 1 } }
  - { model: $ROOT/ft2, parameters: { weight: 0.3, density: 1 } }
dtype: float16
out_dtype: float32
`,
  "della_linear at density 1, all-BF16, out float32 (dtype float32)": `
merge_method: della_linear
base_model: $ROOT/base
models:
  - { model: $ROOT/ft0, parameters: { weight: 1, density: 1 } }
  - { model: $ROOT/ft-bf16, parameters: { weight: 2, density: 1 } }
dtype: float32
`,
};

describe("fused dense-linear pipeline path", () => {
  for (const [label, yaml] of Object.entries(CONFIGS)) {
    it(`writes the general path's bytes: ${label}`, async () => {
      const config = cfg(yaml);
      const general = await merged(config, { general: true });
      expect(await merged(config)).toEqual(general);
      setSimdEnabled(false);
      expect(await merged(config)).toEqual(general);
    });
  }

  it("takes the fused path for every merged tensor of a dense linear merge, not for a look-alike method", async () => {
    const config = cfg(CONFIGS["task_arithmetic, mixed BF16/F16/F32 inputs, BF16 out"]!);
    const prepared = await prepareCheckpointMerge(config);
    const clone = await prepareCheckpointMerge(config, { method: { ...getMethod("task_arithmetic") } });
    try {
      const jobs = prepared.tensors.map((_, i) => prepared.fastLinearJob(i, config));
      expect(jobs.every((j) => j !== undefined)).toBe(true);
      expect(jobs[0]!.dtypes).toEqual(["BF16", "BF16", "F16", "F32", "BF16"]);
      expect(clone.tensors.map((_, i) => clone.fastLinearJob(i, config)).every((j) => j === undefined)).toBe(
        true,
      );
      // TIES (sign consensus) never takes it.
      const ties = cfg(
        `merge_method: ties\nbase_model: $ROOT/base\nmodels: [{model: $ROOT/ft0, parameters: {density: 1}}]\n`,
      );
      const tiesPrepared = await prepareCheckpointMerge(ties);
      expect(tiesPrepared.fastLinearJob(0, ties)).toBeUndefined();
      await tiesPrepared.close();
    } finally {
      await prepared.close();
      await clone.close();
    }
  });

  it("streams tensors in pieces (ragged last piece, empty tensors) with the same bytes", async () => {
    const config = cfg(CONFIGS["task_arithmetic, mixed BF16/F16/F32 inputs, BF16 out"]!);
    const general = await merged(config, { general: true });
    for (const pieceElements of [1000, 4097, 61]) {
      const out = join(root, `out-${runs++}`);
      await mergeCheckpoints(config, out, { pieceElements, copyTokenizer: false, allowNonfinite: true });
      expect(await storedBytes(out)).toEqual(general);
    }
    const jobs = [{ numel: 2500 }, undefined, { numel: 0 }] as unknown as FastLinearJob[];
    const steps = stepsOf([4, 5, 6], jobs, 1000);
    expect(steps.map((s) => ("job" in s ? [s.start, s.count] : s.index))).toEqual([
      [0, 1000],
      [1000, 1000],
      [2000, 500],
      5,
      [0, 0],
    ]);
  });

  it("sends only the tensors that need it down the general path, with the same bytes", async () => {
    // An F64 tensor in one model sends that tensor down the general path; the rest stay fused.
    const dir = join(root, "ft-f64");
    const rng = new Rng(5);
    const model = withDtype(fineTune(rng, randomModel(new Rng(21), FUSED_SHAPES)), "BF16");
    model["model.norm.weight"] = { ...model["model.norm.weight"]!, dtype: "F64" };
    await writeModelDir(dir, model);
    const config = cfg(
      "merge_method: task_arithmetic\nbase_model: $ROOT/base\nmodels: [{model: $ROOT/ft-f64}, {model: $ROOT/ft1}]\nparameters: {lambda: 0.5}\n",
    );
    const prepared = await prepareCheckpointMerge(config);
    try {
      const fused = prepared.tensors.map((p, i) => [p.name, prepared.fastLinearJob(i, config) !== undefined]);
      expect(Object.fromEntries(fused)["model.norm.weight"]).toBe(false);
      expect(fused.filter(([, f]) => f).length).toBe(prepared.tensors.length - 1);
    } finally {
      await prepared.close();
    }
    expect(await merged(config)).toEqual(await merged(config, { general: true }));
  });
});
