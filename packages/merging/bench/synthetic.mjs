// Shared by the checkpoint benchmarks: synthetic fine-tuned checkpoints with realistic task-vector
// statistics, and the median.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { f32ToBf16, Rng, ShardedSafetensorsWriter } from "@x/tensor-core";

const TABLE_BITS = 20;
const TABLE = (() => {
  const rng = new Rng(1);
  return Float32Array.from({ length: 1 << TABLE_BITS }, () => rng.normal());
})();

/**
 * Writes one model directory; `model` 0 is the base, the others add a task vector to the same base
 * values (per-tensor scale log-uniform in [2e-4, 2e-3], 0.1 % outliers at 30×). `isNorm(name, shape)`
 * marks weights centred on 1.
 */
export async function writeSyntheticModel(dir, shapes, model, { dtype, maxShardSize, architecture, isNorm }) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ architectures: [architecture] }));
  writeFileSync(join(dir, "tokenizer.json"), "{}");
  const w = await ShardedSafetensorsWriter.create(
    dir,
    shapes.map(([name, shape]) => ({ name, dtype, shape })),
    { maxShardSize },
  );
  const rng = new Rng(100 + model);
  const mask = (1 << TABLE_BITS) - 1;
  for (const [ti, [name, shape]] of shapes.entries()) {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    const centre = isNorm(name, shape) ? 1 : 0;
    // Base: deterministic per tensor (same for every model), std 0.02.
    let h = (ti * 2654435761) >>> 0;
    for (let k = 0; k < n; k++) {
      h = (Math.imul(h, 1664525) + 1013904223) >>> 0;
      v[k] = centre + 0.02 * TABLE[h >>> (32 - TABLE_BITS)];
    }
    if (model > 0) {
      const scale = 2e-4 * 10 ** rng.uniform();
      let g = rng.nextU32() >>> 0;
      for (let k = 0; k < n; k++) {
        g = (Math.imul(g, 1664525) + 1013904223) >>> 0;
        const z = TABLE[g & mask];
        v[k] += scale * (g >>> 22 === 0 ? 30 * z : z);
      }
    }
    await w.write(name, dtype === "BF16" ? f32ToBf16(v) : v);
  }
  await w.finish();
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The machine a benchmark ran on, with the load average at its start (`load0`) and now. */
export function machineOf(load0, note) {
  return {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    loadavgAtStart: load0.map((x) => +x.toFixed(2)),
    loadavgAtEnd: loadavg().map((x) => +x.toFixed(2)),
    note,
  };
}
