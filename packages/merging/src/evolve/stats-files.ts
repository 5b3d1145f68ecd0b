/**
 * Per-model statistics files for `x evolve` with the fisher / regmean merges: one safetensors file per
 * population member holding `fisher.<tensor>` (the diagonal Fisher of an evolved tensor, same shape) and/or
 * `gram.<tensor>` (the [in, in] Gram matrix of the inputs of a 2-D evolved weight [out, in]). Fisher needs
 * every evolved tensor; RegMean averages the tensors that have no Gram matrix.
 */
import { openCheckpoint } from "@x/tensor-core";
import type { GenomeTensor, SlotStats } from "./registry-merge.js";

export class StatsFileError extends Error {
  override readonly name = "StatsFileError";
}

export async function readSlotStats(
  file: string,
  model: string,
  layout: readonly GenomeTensor[],
  kind: "fisher" | "gram",
): Promise<SlotStats> {
  let ck: Awaited<ReturnType<typeof openCheckpoint>>;
  try {
    ck = await openCheckpoint(file);
  } catch (e) {
    throw new StatsFileError(`statistics of ${model}: cannot open ${file}: ${(e as Error).message}`);
  }
  try {
    if (kind === "fisher") {
      const dim = layout.reduce((s, t) => Math.max(s, t.offset + t.size), 0);
      const fisher = new Float32Array(dim);
      for (const t of layout) {
        const name = `fisher.${t.name}`;
        const info = ck.info(name);
        if (!info) throw new StatsFileError(`statistics of ${model}: ${file} has no tensor '${name}'`);
        const size = info.shape.reduce((a, b) => a * b, 1);
        if (size !== t.size || info.shape.length !== t.shape.length)
          throw new StatsFileError(
            `statistics of ${model}: ${file}: '${name}' has shape [${info.shape.join(", ")}], expected [${t.shape.join(", ")}]`,
          );
        fisher.set(await ck.readFloat32(name), t.offset);
      }
      return { fisher };
    }
    const gram = new Map<string, Float32Array>();
    for (const t of layout) {
      const name = `gram.${t.name}`;
      const info = ck.info(name);
      if (!info) continue;
      const inDim = t.shape[1];
      if (
        t.shape.length !== 2 ||
        info.shape.length !== 2 ||
        info.shape[0] !== inDim ||
        info.shape[1] !== inDim
      )
        throw new StatsFileError(
          `statistics of ${model}: ${file}: '${name}' has shape [${info.shape.join(", ")}], expected [${inDim}, ${inDim}] for the weight of shape [${t.shape.join(", ")}]`,
        );
      gram.set(t.name, await ck.readFloat32(name));
    }
    if (gram.size === 0)
      throw new StatsFileError(
        `statistics of ${model}: ${file} has no 'gram.<tensor>' for any evolved 2-D weight`,
      );
    return { gram };
  } finally {
    await ck.close();
  }
}
