import type { ImageSet } from "@x/datasets";
import { FastSnn, type InferenceEngine } from "../infer/net.js";
import type { ModelSpec } from "../model/spec.js";

/** Top-1 accuracy in percent of a genome on a set, through the fast inference path. */
export function accuracyPercent(
  spec: ModelSpec,
  genome: Float32Array,
  set: ImageSet,
  engine: InferenceEngine = "auto",
): number {
  return 100 * FastSnn.compile(spec, genome, engine).accuracy(set.images, set.labels, set.count);
}
