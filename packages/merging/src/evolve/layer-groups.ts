/**
 * Layer groups of the CMA-ES genome (mergekit-evolve's `layer_granularity`): with granularity k, the layers
 * 0..k−1 share one set of per-model weights, k..2k−1 the next, and so on; tensors outside the numbered layers
 * (embeddings, final norm, head) form one more group. Granularity 0 is one group for the whole model.
 * A tensor's layer is the number after `layers.`, `layer.`, `h.`, `blocks.` or `block.` in its name (the
 * Llama / Mistral / Qwen, BERT, GPT-2 and ViT families).
 */
import { EvolveConfigError } from "./config.js";
import type { GenomeTensor } from "./registry-merge.js";

const LAYER = /(?:^|\.)(?:layers|layer|h|blocks|block)\.(\d+)\./;

export interface LayerGroups {
  /** Group index of each tensor of the layout. */
  readonly groupOf: Int32Array;
  /** Human names: "layers 0-7", ..., "other". */
  readonly names: string[];
}

export function layerIndex(name: string): number | null {
  const m = LAYER.exec(name);
  return m ? Number(m[1]) : null;
}

export function layerGroups(layout: readonly GenomeTensor[], granularity: number, file: string): LayerGroups {
  const groupOf = new Int32Array(layout.length);
  if (granularity === 0) return { groupOf, names: ["all"] };
  const layers = layout.map((t) => layerIndex(t.name));
  const numLayers = layers.reduce<number>((m, l) => (l === null ? m : Math.max(m, l + 1)), 0);
  if (numLayers === 0)
    throw new EvolveConfigError(
      `${file}: cmaes.layer_granularity: no evolved tensor has a layer number in its name (layers.N., h.N., blocks.N.)`,
    );
  if (numLayers % granularity !== 0)
    throw new EvolveConfigError(
      `${file}: cmaes.layer_granularity: ${numLayers} layers are not a multiple of ${granularity}`,
    );
  const numGroups = numLayers / granularity;
  const names = Array.from(
    { length: numGroups },
    (_, g) => `layers ${g * granularity}-${(g + 1) * granularity - 1}`,
  );
  const hasOther = layers.some((l) => l === null);
  if (hasOther) names.push("other");
  layers.forEach((l, k) => {
    groupOf[k] = l === null ? numGroups : Math.floor(l / granularity);
  });
  return { groupOf, names };
}
