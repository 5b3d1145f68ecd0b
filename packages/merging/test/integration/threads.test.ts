// Every way @x/merging runs work on threads, through the built package (imported by name, so the
// worker scripts come from the same build): merge workers (tensor-scope methods, `threads > 1`), the
// fused dense-linear helpers, the PCB fast path's kernel threads and PCB streaming-global's store
// threads (general path, checkpoint pipeline and the synchronous in-memory API). Each must write exactly
// what one thread writes; the unit tests check one thread against the references.

import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AUX_FILES,
  type MergeCheckpointsOptions,
  type MergeTensor,
  mergeCheckpoints,
  mergeTensors,
  NonFiniteInputError,
  parseMergeConfig,
} from "@x/merging";
import { type DType, openCheckpoint, Rng, Tensor, writeSafetensors } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FixtureModel,
  FUSED_SHAPES,
  fineTune,
  llamaShapes,
  randomModel,
  withDtype,
  writeModelDir,
} from "../pipeline/fixtures.js";

let root: string;
let runs = 0;

/** Each output tensor's dtype and stored bytes, by name. */
async function stored(dir: string): Promise<Map<string, string>> {
  const ck = await openCheckpoint(dir);
  const out = new Map<string, string>();
  for (const n of [...ck.names()].sort()) {
    const bytes = await ck.fileOf(n).readBytes(n);
    out.set(n, `${ck.info(n)!.dtype}:${Buffer.from(bytes).toString("base64")}`);
  }
  await ck.close();
  return out;
}

async function merge(yaml: string, options: MergeCheckpointsOptions = {}) {
  const out = join(root, `out-${runs++}`);
  const result = await mergeCheckpoints(parseMergeConfig(yaml.replaceAll("$ROOT", root)), out, {
    copyTokenizer: false,
    ...options,
  });
  return { result, out, tensors: await stored(out) };
}

// 150 007 parameters: three 64 Ki-column chunks of PCB's task store, three 64 Ki-position blocks of
// its fast path, so both split over up to 3 threads.
const PCB_SHAPES: Record<string, number[]> = { "a.w": [300, 400], "b.w": [30000], "c.b": [7] };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-merge-threads-"));
  const rng = new Rng(31);
  const base = randomModel(rng);
  await writeModelDir(join(root, "base"), base);
  for (let i = 0; i < 3; i++) {
    const ft = fineTune(rng, base);
    const dir = await writeModelDir(join(root, `ft${i}`), ft);
    // Per-model statistics read by each merge worker itself.
    await writeSafetensors(
      join(dir, AUX_FILES.fisher),
      Object.entries(ft).map(([name, t]) => ({ name, dtype: "F32" as const, shape: t.shape })),
      Object.entries(ft).map(
        ([name, t]) =>
          [
            name,
            Tensor.fromFloat32(
              "F32",
              t.shape,
              t.data.map(() => rng.uniform()),
            ),
          ] as const,
      ),
    );
  }
  // 12 vocabulary rows: the embedding block path runs on the workers too.
  await writeModelDir(join(root, "ft-vocab"), fineTune(rng, randomModel(new Rng(8), llamaShapes(12))));
  // ft1 with 3 NaNs in one tensor.
  const nan = fineTune(rng, base);
  for (const k of [1, 5, 9]) nan["model.layers.1.mlp.up_proj.weight"]!.data[k] = Number.NaN;
  await writeModelDir(join(root, "ft-nan"), nan);

  const fusedBase = randomModel(rng, FUSED_SHAPES);
  await writeModelDir(join(root, "fused-base"), withDtype(fusedBase, "BF16"), { maxShardSize: 30_000 });
  const dtypes: DType[] = ["BF16", "F16", "F32"];
  // Special values (±Inf, ±0, huge, subnormal) in places: every split must agree on them too.
  const specials = [Infinity, -Infinity, 0, -0, 3e38, 1e-41];
  for (let i = 0; i < dtypes.length; i++) {
    const ft = fineTune(rng, fusedBase);
    for (const t of Object.values(ft)) {
      for (let k = i; k < t.data.length; k += 89) t.data[k] = specials[rng.int(specials.length)]!;
    }
    await writeModelDir(join(root, `fused-ft${i}`), withDtype(ft, dtypes[i]!));
  }
  // One F64 tensor sends that tensor down the general path, the rest stay fused.
  const f64: FixtureModel = withDtype(fineTune(rng, fusedBase), "BF16");
  f64["model.norm.weight"] = { ...f64["model.norm.weight"]!, dtype: "F64" };
  await writeModelDir(join(root, "fused-f64"), f64);

  const pcbBase = randomModel(rng, PCB_SHAPES);
  await writeModelDir(join(root, "pcb-base"), withDtype(pcbBase, "BF16"));
  for (let i = 0; i < 3; i++) {
    await writeModelDir(join(root, `pcb-ft${i}`), withDtype(fineTune(rng, pcbBase, 0.01), "BF16"));
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("merge workers (tensor-scope methods, threads > 1)", () => {
  it("merge whole tensors on 2 and 3 workers with the bytes of one thread", async () => {
    const yaml = `merge_method: dare_ties
base_model: $ROOT/base
models:
  - model: $ROOT/ft0
    parameters: { weight: 0.7, density: 0.6 }
  - model: $ROOT/ft-vocab
    parameters: { weight: [0.2, 0.9], density: 0.5 }
dtype: bfloat16
out_dtype: float16
`;
    const one = await merge(yaml, { seed: 5 });
    expect(one.result.threads).toBe(1);
    for (const threads of [2, 3]) {
      const many = await merge(yaml, { seed: 5, threads });
      expect(many.result.threads).toBe(threads);
      expect(many.result.configHash).toBe(one.result.configHash);
      expect(many.tensors).toEqual(one.tensors);
    }
  });

  it("read per-model statistics in each worker (Fisher merging)", async () => {
    const yaml =
      "merge_method: fisher\nmodels: [{model: $ROOT/ft0}, {model: $ROOT/ft1}, {model: $ROOT/ft2}]\n";
    const one = await merge(yaml);
    const two = await merge(yaml, { threads: 2 });
    expect(two.result.threads).toBe(2);
    expect(two.tensors).toEqual(one.tensors);
  });

  it("report a worker's non-finite input as NonFiniteInputError naming model, tensor and count; nothing written", async () => {
    const out = join(root, `out-${runs++}`);
    const yaml = `merge_method: ties\nbase_model: ${root}/base\nmodels: [{model: ${root}/ft0}, {model: ${root}/ft-nan}, {model: ${root}/ft2}]\nparameters: { density: 1 }\n`;
    const err = await mergeCheckpoints(parseMergeConfig(yaml), out, { threads: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteInputError);
    expect(err).toMatchObject({
      model: `${root}/ft-nan`,
      tensor: "model.layers.1.mlp.up_proj.weight",
      count: 3,
    });
    expect(existsSync(out)).toBe(false);
    // No partial output left beside it (staged as .<name>.partial-<pid>-<id>).
    expect((await readdir(root)).filter((f) => f.includes(".partial-"))).toEqual([]);
    // allowNonfinite: the workers' findings reach the caller's notice.
    const notices: string[] = [];
    const ok = await merge(yaml.replaceAll(root, "$ROOT"), {
      threads: 2,
      allowNonfinite: true,
      onNotice: (m) => notices.push(m),
    });
    expect(ok.result.threads).toBe(2);
    expect(notices.join("\n")).toMatch(
      /merged 3 non-finite input value\(s\).*ft-nan 'model\.layers\.1\.mlp\.up_proj\.weight': 3/,
    );
  });

  it("leave global-scope methods on this thread", async () => {
    const pcb = await merge(
      "merge_method: pcb\nbase_model: $ROOT/base\nmodels: [{model: $ROOT/ft0}, {model: $ROOT/ft1}]\nparameters: { mode: reference }\n",
      { threads: 2 },
    );
    expect(pcb.result.threads).toBe(1);
  });
});

describe("fused dense-linear helpers", () => {
  const ta =
    "merge_method: task_arithmetic\nbase_model: $ROOT/fused-base\nmodels: [{model: $ROOT/fused-ft0}, {model: $ROOT/fused-ft1, parameters: {weight: 0.7}}, {model: $ROOT/fused-ft2}]\nparameters: {lambda: 0.8}\ndtype: float32\nout_dtype: bfloat16\n";

  it("split each piece with 1 and 2 helper threads (ragged pieces) with the bytes of one thread", async () => {
    const one = await merge(ta, { allowNonfinite: true });
    for (const [threads, pieceElements] of [
      [2, undefined],
      [3, 1000],
    ] as const) {
      const many = await merge(ta, { threads, pieceElements, allowNonfinite: true });
      expect(many.result.threads).toBe(threads);
      expect(many.tensors).toEqual(one.tensors);
    }
  });

  it("give way to merge workers when a tensor needs the general path", async () => {
    const yaml =
      "merge_method: task_arithmetic\nbase_model: $ROOT/fused-base\nmodels: [{model: $ROOT/fused-f64}, {model: $ROOT/fused-ft1}]\nparameters: {lambda: 0.5}\n";
    // The fixtures hold ±Inf on purpose (every split must agree on them too).
    const one = await merge(yaml, { allowNonfinite: true });
    const two = await merge(yaml, { threads: 2, allowNonfinite: true });
    expect(two.result.threads).toBe(2);
    expect(two.tensors).toEqual(one.tensors);
  });
});

describe("PCB streaming-global threads", () => {
  const pcb = (params: string) =>
    `merge_method: pcb\nbase_model: $ROOT/pcb-base\nmodels:\n  - model: $ROOT/pcb-ft0\n  - model: $ROOT/pcb-ft1\n    parameters: { weight: 1.2 }\n  - model: $ROOT/pcb-ft2\nparameters: { ratio: 0.1, lambda: 1.1, ${params} }\n`;

  it("fast path: kernels on 2 and 3 threads, resident or streamed in windows, give reference mode's bytes", async () => {
    const ref = await merge(pcb("mode: reference"));
    for (const [threads, window] of [
      [2, 0],
      [3, 0],
      [3, 40_000],
    ] as const) {
      const fast = await merge(pcb(`mode: streaming-global, threads: ${threads}, fast_window: ${window}`));
      expect(fast.result.threads, `threads ${threads}, window ${window}`).toBe(threads);
      expect(fast.tensors, `threads ${threads}, window ${window}`).toEqual(ref.tensors);
    }
  });

  it("general path: store passes on 2 and 3 threads give reference mode's bytes", async () => {
    const ref = await merge(pcb("mode: reference"));
    for (const threads of [1, 2, 3]) {
      const general = await merge(pcb(`mode: streaming-global, fast_path: false, threads: ${threads}`));
      expect(general.tensors, `threads ${threads}`).toEqual(ref.tensors);
    }
    // The merge's own `threads` option is PCB's default thread count.
    const byOption = await merge(pcb("mode: streaming-global, fast_path: false"), { threads: 3 });
    expect(byOption.tensors).toEqual(ref.tensors);
  });

  it("in-memory API (synchronous passes): store threads give the bytes of one thread, call after call", () => {
    const rng = new Rng(44);
    const dict = (m: FixtureModel) =>
      new Map<string, MergeTensor>(Object.entries(m).map(([n, t]) => [n, { shape: t.shape, data: t.data }]));
    const base = randomModel(rng, PCB_SHAPES);
    const models = [0, 1, 2, 3].map(() => dict(fineTune(rng, base, 0.01)));
    const run = (params: Record<string, string | number | boolean>) =>
      mergeTensors("pcb", { base: dict(base), models, params: { ratio: 0.15, ...params } });
    const ref = run({ mode: "reference" });
    for (const inter of ["canonical", "pairwise"]) {
      const want = inter === "canonical" ? ref : run({ mode: "reference", inter });
      for (const threads of [1, 3, 2]) {
        const got = run({ mode: "streaming-global", inter, threads });
        for (const [name, t] of want)
          expect(got.get(name)!.data, `${inter} ${threads} ${name}`).toEqual(t.data);
      }
    }
  });
});
