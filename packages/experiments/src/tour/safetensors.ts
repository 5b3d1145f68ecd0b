// Step 1 of `x quickstart`, a tensor-core tour that checks its own results: write a small multi-dtype model as a sharded safetensors
// checkpoint, read it back lazily and check every byte, convert its float tensors F32 -> BF16 with the
// streaming converter, verify the rounding, and print a short report.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  convertCheckpoint,
  numberToBf16,
  openCheckpoint,
  Rng,
  type Tensor,
  Tensor as TensorClass,
  writeShardedSafetensors,
} from "@x/tensor-core";

/** A toy 2-layer MLP state dict with a few non-float tensors, deterministic for a seed. */
function toyModel(seed: number): Map<string, Tensor> {
  const rng = new Rng(seed);
  const normal = (n: number, scale: number) => Float32Array.from({ length: n }, () => rng.normal() * scale);
  const m = new Map<string, Tensor>();
  m.set("embed.weight", TensorClass.fromFloat32("F32", [256, 64], normal(256 * 64, 0.02)));
  for (let l = 0; l < 2; l++) {
    m.set(`layers.${l}.mlp.up.weight`, TensorClass.fromFloat32("F32", [128, 64], normal(128 * 64, 0.05)));
    m.set(`layers.${l}.mlp.up.bias`, TensorClass.fromFloat32("F32", [128], normal(128, 0.01)));
    m.set(`layers.${l}.mlp.down.weight`, TensorClass.fromFloat32("BF16", [64, 128], normal(64 * 128, 0.05)));
    m.set(
      `layers.${l}.norm.weight`,
      TensorClass.fromFloat32(
        "F16",
        [64],
        normal(64, 0.1).map((x) => 1 + x),
      ),
    );
  }
  m.set(
    "position_ids",
    TensorClass.fromNumbers(
      "I64",
      [1, 32],
      Array.from({ length: 32 }, (_, i) => i),
    ),
  );
  m.set(
    "attention_mask",
    TensorClass.fromNumbers(
      "BOOL",
      [32],
      Array.from({ length: 32 }, (_, i) => (i < 24 ? 1 : 0)),
    ),
  );
  m.set("head.scale", TensorClass.fromNumbers("F64", [], [Math.SQRT1_2]));
  return m;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))
  );
}

const formatBytes = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(1)}MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}KB` : `${n}B`;

/** Runs the tour in `work` (a fresh directory), narrating each step through `log`; throws if any check fails. */
export async function safetensorsTour(
  work: string,
  seed: number,
  log: (line: string) => void = () => {},
): Promise<void> {
  const model = toyModel(seed);
  const src = join(work, "model");
  const out = join(work, "model-bf16");
  await mkdir(src, { recursive: true });
  const specs = [...model].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
  const written = await writeShardedSafetensors(src, specs, (e) => model.get(e.name) as Tensor, {
    maxShardSize: 64_000,
    metadata: { producer: "x quickstart" },
  });
  log(
    `wrote   ${specs.length} tensors, ${formatBytes(written.totalSize)} in ${written.files.length} shards + index -> ${src}`,
  );

  // Read back lazily, one tensor at a time, and compare every byte.
  const ck = await openCheckpoint(src);
  let checked = 0;
  try {
    for (const name of ck.names()) {
      const t = await ck.read(name);
      const want = model.get(name) as Tensor;
      if (t.dtype !== want.dtype || !sameBytes(t.bytes(), want.bytes()))
        throw new Error(`read-back mismatch in ${name}`);
      checked++;
    }
  } finally {
    await ck.close();
  }
  log(
    `read    ${checked}/${specs.length} tensors back, byte-identical (dtypes: ${[...new Set(specs.map((s) => s.dtype))].join(", ")})`,
  );

  const res = await convertCheckpoint(src, out, { dtype: "BF16", maxShardSize: 64_000 });
  log(
    `convert ${res.converted} float tensors -> BF16: ${formatBytes(res.inputBytes)} -> ${formatBytes(res.outputBytes)} -> ${out}`,
  );

  // Verify: each converted value is the correctly rounded BF16 of the source; others are unchanged.
  const conv = await openCheckpoint(out);
  let maxRel = 0;
  let values = 0;
  try {
    for (const [name, t] of model) {
      const c = await conv.read(name);
      if (t.dtype === "I64" || t.dtype === "BOOL") {
        if (!sameBytes(c.bytes(), t.bytes())) throw new Error(`non-float tensor ${name} changed`);
        continue;
      }
      if (c.dtype !== "BF16") throw new Error(`${name} is ${c.dtype}, expected BF16`);
      const src64 = t.toFloat64();
      const bits = c.data as Uint16Array;
      const back = c.toFloat32();
      for (let i = 0; i < bits.length; i++) {
        if (bits[i] !== numberToBf16(src64[i])) throw new Error(`${name}[${i}] is not correctly rounded`);
        if (src64[i] !== 0) maxRel = Math.max(maxRel, Math.abs(back[i] - src64[i]) / Math.abs(src64[i]));
        values++;
      }
    }
  } finally {
    await conv.close();
  }
  // BF16 keeps 8 significant bits: round-to-nearest is within 2^-8 relative for normal values.
  if (maxRel > 2 ** -8) throw new Error(`relative error ${maxRel} exceeds 2^-8`);
  log(
    `verify  ${values} values correctly rounded (max relative error ${maxRel.toExponential(2)} <= 2^-8 = ${(2 ** -8).toExponential(2)})`,
  );
}
