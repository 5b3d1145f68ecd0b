/**
 * Populations of checkpoints as genomes: every float tensor selected by include/exclude, in code-point-sorted
 * name order, concatenated into one float32 vector per model. Writing a genome back produces a complete
 * safetensors model: evolved tensors in their original dtype (converted from float32), the others copied
 * byte for byte from the first population member.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  type Checkpoint,
  type DType,
  isFloatDType,
  openCheckpoint,
  sortKeys,
  Tensor,
  writeSafetensors,
} from "@x/tensor-core";

export class PopulationError extends Error {
  override readonly name = "PopulationError";
}

export interface GenomeLayout {
  /** Evolved tensors in genome order. */
  readonly evolved: { name: string; dtype: DType; shape: number[]; offset: number; size: number }[];
  /** Every tensor of the model (name, dtype, shape), in sorted order. */
  readonly all: { name: string; dtype: DType; shape: number[] }[];
  readonly dim: number;
}

export async function readLayout(
  path: string,
  include: RegExp | null,
  exclude: RegExp | null,
): Promise<GenomeLayout> {
  const ck = await openCheckpoint(path);
  try {
    const all = sortKeys(ck.names()).map((name) => {
      const i = ck.info(name)!;
      return { name, dtype: i.dtype, shape: [...i.shape] };
    });
    const evolved: GenomeLayout["evolved"] = [];
    let offset = 0;
    for (const t of all) {
      if (!isFloatDType(t.dtype)) continue;
      if (include && !include.test(t.name)) continue;
      if (exclude?.test(t.name)) continue;
      const size = t.shape.reduce((a, b) => a * b, 1);
      evolved.push({ ...t, offset, size });
      offset += size;
    }
    if (offset === 0) throw new PopulationError(`${path}: no float tensor selected for evolution`);
    return { evolved, all, dim: offset };
  } finally {
    await ck.close();
  }
}

/** Reads a checkpoint's evolved tensors into `out` (float32), checking names, dtypes' kind and shapes. */
export async function readGenome(path: string, layout: GenomeLayout, out: Float32Array): Promise<void> {
  const ck = await openCheckpoint(path);
  try {
    for (const t of layout.evolved) {
      const info = ck.info(t.name);
      if (!info)
        throw new PopulationError(`${path}: tensor '${t.name}' is missing (present in the first model)`);
      if (info.shape.length !== t.shape.length || info.shape.some((d, i) => d !== t.shape[i])) {
        throw new PopulationError(
          `${path}: tensor '${t.name}' has shape [${info.shape.join(", ")}], expected [${t.shape.join(", ")}]`,
        );
      }
      out.set(await ck.readFloat32(t.name), t.offset);
    }
  } finally {
    await ck.close();
  }
}

/** Writes `genome` as `<dir>/model.safetensors` (atomic) plus the first model's non-weight files (config, tokenizer). */
export async function writeModel(
  dir: string,
  template: string,
  layout: GenomeLayout,
  genome: Float32Array,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const ck: Checkpoint = await openCheckpoint(template);
  try {
    const byName = new Map(layout.evolved.map((e) => [e.name, e]));
    await writeSafetensors(
      join(dir, "model.safetensors"),
      layout.all,
      async (e) => {
        const ev = byName.get(e.name);
        if (!ev) return ck.readBytes(e.name);
        return Tensor.fromFloat32(ev.dtype, ev.shape, genome.subarray(ev.offset, ev.offset + ev.size));
      },
      { order: "given", metadata: { producer: "x evolve" } },
    );
  } finally {
    await ck.close();
  }
  if (existsSync(template) && statSync(template).isDirectory()) {
    for (const f of readdirSync(template)) {
      if (f.endsWith(".safetensors") || f.endsWith(".safetensors.index.json") || f.startsWith(".")) continue;
      const p = join(template, f);
      if (statSync(p).isFile()) copyFileSync(p, join(dir, f));
    }
  }
}
