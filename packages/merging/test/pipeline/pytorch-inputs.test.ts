// PyTorch `.bin` checkpoints (written by torch.save: test/fixtures/pytorch-llama/make-fixtures.py) as
// merge inputs, single and sharded, through tensor-core's restricted reader: every merge equals the
// same merge of their safetensors twins (the same values written by the fixture script's own writer).

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openCheckpoint } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeCheckpoints, openModel, parseMergeConfig } from "../../src/index.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/pytorch-llama/", import.meta.url));
const single = join(FIXTURES, "single");
const sharded = join(FIXTURES, "sharded");
let root: string;

async function bytesOf(dir: string): Promise<Map<string, { dtype: string; bytes: Uint8Array }>> {
  const ck = await openCheckpoint(dir);
  const out = new Map<string, { dtype: string; bytes: Uint8Array }>();
  for (const n of ck.names()) out.set(n, { dtype: ck.info(n)!.dtype, bytes: await ck.readBytes(n) });
  await ck.close();
  return out;
}

async function both(yaml: (s: string, t: string) => string, name: string) {
  const run = async (s: string, t: string, out: string) => {
    await mergeCheckpoints(parseMergeConfig(yaml(s, t)), join(root, out));
    return bytesOf(join(root, out));
  };
  const bin = await run(single, sharded, `${name}-bin`);
  const twin = await run(join(single, "twin.safetensors"), join(sharded, "twin.safetensors"), `${name}-twin`);
  return { bin, twin };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-bin-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("pytorch_model.bin inputs", () => {
  it("opens single and sharded .bin directories (views and BF16 included) with the twins' values", async () => {
    for (const dir of [single, sharded]) {
      const bin = await openModel(dir);
      const twin = await openModel(join(dir, "twin.safetensors"));
      expect(bin.rangedReads).toBe(false);
      expect(twin.rangedReads).toBe(true);
      expect([...bin.names()].sort()).toEqual([...twin.names()].sort());
      for (const n of twin.names()) expect(await bin.readFloat32(n)).toEqual(await twin.readFloat32(n));
      await bin.close();
      await twin.close();
    }
  });

  it("linear and task arithmetic merge .bin inputs exactly as their safetensors twins", async () => {
    const linear = await both(
      (s, t) =>
        `merge_method: linear\nmodels:\n  - { model: ${s}, parameters: { weight: 0.3 } }\n  - { model: ${t}, parameters: { weight: 0.7 } }\nout_dtype: bfloat16\n`,
      "linear",
    );
    expect(linear.bin).toEqual(linear.twin);
    // The twins take the fused dense-linear path; the .bin inputs the general path: same bytes.
    const ta = await both(
      (s, t) =>
        `merge_method: task_arithmetic\nbase_model: ${s}\nmodels:\n  - { model: ${t}, parameters: { weight: 0.5 } }\ndtype: float32\n`,
      "ta",
    );
    expect(ta.bin).toEqual(ta.twin);
    expect([...ta.bin.values()][0]!.dtype).toBe("F32");
  });

  it("a pytorch_model.bin file named directly, and slices over .bin models (config.json from the directory)", async () => {
    const out = join(root, "stack");
    // A bare .bin file has no config.json beside it: slices cannot know its layers.
    await expect(
      mergeCheckpoints(
        parseMergeConfig(`
slices:
  - sources: [{ model: ${single}, layer_range: [0, 2] }]
  - sources: [{ model: ${join(single, "pytorch_model.bin")}, layer_range: [1, 2] }]
merge_method: passthrough
`),
        out,
      ),
    ).rejects.toThrow(/pytorch_model\.bin: no architecture definition matches \(it has no config\.json\)/);
    await mergeCheckpoints(
      parseMergeConfig(`
slices:
  - sources: [{ model: ${single}, layer_range: [0, 2] }]
  - sources: [{ model: ${sharded}, layer_range: [1, 2] }]
merge_method: passthrough
out_dtype: float32
`),
      out,
    );
    const got = await openCheckpoint(out);
    const twin = await openCheckpoint(join(sharded, "twin.safetensors"));
    expect(await got.readFloat32("model.layers.2.mlp.up_proj.weight")).toEqual(
      await twin.readFloat32("model.layers.1.mlp.up_proj.weight"),
    );
    expect(await got.readFloat32("lm_head.weight")).toEqual(await twin.readFloat32("lm_head.weight"));
    await got.close();
    await twin.close();
    const config = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
    expect(config.num_hidden_layers).toBe(3);
    expect(config.torch_dtype).toBe("float32");
  });
});
