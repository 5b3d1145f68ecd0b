// `x merge` with PCB streaming-global on real directories: the WebAssembly SIMD fast path (BF16 and F32
// inputs) writes exactly the bytes of reference mode and of the general streaming path; inputs it does
// not take (F16) go through the general path with the same result.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint, Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultMemoryBudget } from "../../src/methods/pcb-node.js";
import { fineTune, randomModel, withDtype, writeModelDir } from "./fixtures.js";
import {
  type MergeProgressEvent,
  mergeCheckpoints,
  parseMergeConfig,
  prepareCheckpointMerge,
} from "./helpers.js";

let root: string;

/** Every tensor of a merged directory (dtype, then its decoded values' bits), in name order. */
async function tensorBytes(dir: string): Promise<Buffer> {
  const ck = await openCheckpoint(dir);
  const parts: Buffer[] = [];
  for (const n of [...ck.names()].sort()) {
    const data = await ck.fileOf(n).readFloat32(n);
    parts.push(Buffer.from(ck.info(n)!.dtype), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  await ck.close();
  return Buffer.concat(parts);
}

async function merge(
  name: string,
  dtype: string,
  params: string,
  threads?: number,
  mergeThreads?: number,
  allowNonfinite?: boolean,
) {
  const config = parseMergeConfig(
    `merge_method: pcb
base_model: ${root}/${dtype}/base
models:
  - model: ${root}/${dtype}/ft0
  - model: ${root}/${dtype}/ft1
    parameters:
      weight: [{ filter: mlp, value: 1.3 }, { value: 0.9 }]
  - model: ${root}/${dtype}/ft2
parameters: { ratio: 0.15, lambda: 1.1, ${params}${threads ? `, threads: ${threads}` : ""} }
`,
    "merge.yml",
  );
  const labels = new Set<string>();
  const notices: string[] = [];
  const out = join(root, `out-${name}`);
  const res = await mergeCheckpoints(config, out, {
    threads: mergeThreads,
    allowNonfinite,
    onProgress: (e: MergeProgressEvent) => labels.add(e.label),
    onNotice: (m) => notices.push(m),
  });
  return { bytes: await tensorBytes(out), labels: [...labels], threads: res.threads, notices };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-pcb-fast-"));
  const rng = new Rng(21);
  const base = randomModel(rng);
  const fts = [0, 1, 2].map(() => fineTune(rng, base, 0.01));
  for (const dtype of ["BF16", "F32", "F16"] as const) {
    await writeModelDir(join(root, dtype, "base"), withDtype(base, dtype));
    for (const [i, m] of fts.entries()) await writeModelDir(join(root, dtype, `ft${i}`), withDtype(m, dtype));
  }
  // Mixed storage: an F16 base with BF16 fine-tunes.
  await writeModelDir(join(root, "MIX", "base"), withDtype(base, "F16"));
  for (const [i, m] of fts.entries()) await writeModelDir(join(root, "MIX", `ft${i}`), withDtype(m, "BF16"));
  // A copy of the BF16 set whose second fine-tune has a NaN weight.
  const nan = structuredClone(fts[1]!);
  Object.values(nan)[0]!.data[3] = Number.NaN;
  await writeModelDir(join(root, "NAN", "base"), withDtype(base, "BF16"));
  for (const [i, m] of [fts[0]!, nan, fts[2]!].entries())
    await writeModelDir(join(root, "NAN", `ft${i}`), withDtype(m, "BF16"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("PCB streaming-global fast path through the pipeline", () => {
  for (const dtype of ["BF16", "F32", "F16"]) {
    it(`${dtype}: same bytes as reference mode and the general path, any thread count`, async () => {
      const ref = await merge(`${dtype}-ref`, dtype, "mode: reference");
      const general = await merge(`${dtype}-general`, dtype, "mode: streaming-global, fast_path: false");
      const fast1 = await merge(`${dtype}-fast1`, dtype, "mode: streaming-global", 1);
      const fast2 = await merge(`${dtype}-fast2`, dtype, "mode: streaming-global", 2);
      // Ranges of single tensors: the two output buffers alternate and wait for earlier writes.
      const ranges = await merge(`${dtype}-ranges`, dtype, "mode: streaming-global, fast_range: 1", 2);
      expect(ranges.bytes.equals(ref.bytes)).toBe(true);
      // Streamed in windows of 100 positions (every pass re-reads them from the files), and resident.
      for (const window of [100, 0]) {
        const w = await merge(
          `${dtype}-window-${window}`,
          dtype,
          `mode: streaming-global, fast_window: ${window}`,
          2,
        );
        expect(w.labels).toContain("pcb streaming-global: statistics");
        expect(w.bytes.equals(ref.bytes), `fast_window ${window}`).toBe(true);
      }
      expect(fast1.labels).toContain("pcb streaming-global: read stored inputs");
      expect(general.labels).not.toContain("pcb streaming-global: read stored inputs");
      expect(general.bytes.equals(ref.bytes)).toBe(true);
      expect(fast1.bytes.equals(ref.bytes)).toBe(true);
      expect(fast2.bytes.equals(ref.bytes)).toBe(true);
      // The merge's own `threads` option (x merge --threads) is PCB's default thread count.
      const one = await merge(`${dtype}-one`, dtype, "mode: streaming-global", undefined, 1);
      expect(one.threads).toBe(1);
      expect(one.bytes.equals(ref.bytes)).toBe(true);
    });
  }

  it("mixed input dtypes take the general path (same bytes as reference mode)", async () => {
    const ref = await merge("MIX-ref", "MIX", "mode: reference");
    const str = await merge("MIX-str", "MIX", "mode: streaming-global");
    expect(str.labels).not.toContain("pcb streaming-global: read stored inputs");
    expect(str.bytes.equals(ref.bytes)).toBe(true);
    expect(str.notices).toEqual([
      "pcb fast path: takes inputs stored all as BF16, all as F16 or all as F32, these are BF16, F16; taking the general path (same output, slower)",
    ]);
  });

  it("a NaN input makes the fast path decline after reading; the general path gives reference mode's bytes", async () => {
    // Non-finite inputs are an error unless allowed (see nonfinite.test.ts); allowed, they merge as the reference does.
    const ref = await merge("NAN-ref", "NAN", "mode: reference, nan_guard: off", undefined, undefined, true);
    const str = await merge(
      "NAN-str",
      "NAN",
      "mode: streaming-global, nan_guard: off",
      undefined,
      undefined,
      true,
    );
    expect(str.labels).toContain("pcb streaming-global: read stored inputs");
    expect(str.labels).toContain("pcb streaming-global: task vectors and magnitude histogram");
    expect(str.bytes.equals(ref.bytes)).toBe(true);
    expect(str.notices).toEqual([
      "pcb fast path: a task vector has non-finite values: taking the general path (same output, slower)",
      expect.stringMatching(/^allowNonfinite: merged 1 non-finite input value\(s\) .* \(.*ft1 '.*': 1\)/),
    ]);
  });

  it("repeated writes with new per-task λ (coefficient search) equal fresh reference merges", async () => {
    const yaml = (weights: number[], mode: string) =>
      parseMergeConfig(
        `merge_method: pcb
base_model: ${root}/BF16/base
models:
${weights.map((w, i) => `  - model: ${root}/BF16/ft${i}\n    parameters: { weight: ${w} }`).join("\n")}
parameters: { ratio: 0.1, mode: ${mode} }
`,
        "merge.yml",
      );
    const prepared = await prepareCheckpointMerge(yaml([1, 1, 1], "streaming-global"));
    try {
      for (const [j, weights] of [
        [0.5, 1.5, 1],
        [1.2, 0.8, 0.3],
      ].entries()) {
        const out = join(root, `out-search-${j}`);
        await prepared.write(out, { modelParameters: weights.map((weight) => ({ weight })) });
        const refOut = join(root, `out-search-ref-${j}`);
        await mergeCheckpoints(yaml(weights, "reference"), refOut);
        expect((await tensorBytes(out)).equals(await tensorBytes(refOut))).toBe(true);
      }
    } finally {
      await prepared.close();
    }
  });

  it("a memory_budget below the fast path's needs, or another inter term, takes the general path", async () => {
    for (const [name, params] of [
      ["budget", "mode: streaming-global, memory_budget: 100000"],
      ["vision", "mode: streaming-global, inter: vision"],
    ]) {
      const ref = await merge(`BF16-${name}-ref`, "BF16", params.replace("streaming-global", "reference"));
      const str = await merge(`BF16-${name}`, "BF16", params!);
      expect(str.labels).not.toContain("pcb streaming-global: read stored inputs");
      expect(str.bytes.equals(ref.bytes)).toBe(true);
      // A budget too small is worth telling (with the size that would do); an explicit inter variant is not.
      if (name === "budget") {
        expect(str.notices).toHaveLength(1);
        expect(str.notices[0]).toMatch(
          /^pcb fast path: needs ≈ \d+\.\d+ [MG]B, memory_budget is 0\.1 MB; taking the general path \(same output, slower\) \(raise memory_budget to at least \d+ to use it\)$/,
        );
      } else expect(str.notices).toEqual([]);
    }
  });

  it("defaults memory_budget to a quarter of the machine's memory, at least 1 GiB", () => {
    const GiB = 2 ** 30;
    // No 4 GiB cap since the fast path spreads a model over several WebAssembly memories.
    expect(defaultMemoryBudget(24 * GiB)).toBe(6 * GiB);
    expect(defaultMemoryBudget(8 * GiB)).toBe(2 * GiB);
    expect(defaultMemoryBudget(2 * GiB)).toBe(GiB);
    expect(defaultMemoryBudget(10 * GiB + 12345)).toBe(2.5 * GiB);
  });
});
