import { SnnConfigError } from "../errors.js";
import type { NeuronSpec } from "../neuron/config.js";
import type { ModelSpec, StageSpec } from "./spec.js";

/** SEW ResNet stages as `CHANNELSxBLOCKS/STRIDE,…` (e.g. `8x1/2,16x1/2`). */
export const formatStages = (stages: readonly StageSpec[]): string =>
  stages.map((s) => `${s.channels}x${s.blocks}/${s.stride}`).join(",");

/** The inverse of {@link formatStages}: "8x1/2,16x1/2" (stride 1 when omitted); {@link SnnConfigError} if malformed. */
export function parseStages(text: string): StageSpec[] {
  return text.split(",").map((part) => {
    const m = /^\s*(\d+)x(\d+)(?:\/([12]))?\s*$/.exec(part);
    if (!m) throw new SnnConfigError(`bad stage '${part}' (expected CHANNELSxBLOCKS/STRIDE, e.g. 16x1/2)`);
    return { channels: Number(m[1]), blocks: Number(m[2]), stride: Number(m[3] ?? 1) };
  });
}

/** One line describing a neuron: `LIF τ 2, V_th 1, hard reset to 0, detach_reset, sigmoid(4)`. */
export function describeNeuron(n: NeuronSpec): string {
  const parts = [
    n.kind === "lif" ? `LIF τ ${n.tau}${n.decayInput ? " decay_input" : ""}` : "IF",
    `V_th ${n.vThreshold}`,
    n.vReset === null ? "soft reset" : `hard reset to ${n.vReset}`,
    ...(n.detachReset ? ["detach_reset"] : []),
    `${n.surrogate.kind}(${n.surrogate.alpha})`,
  ];
  return parts.join(", ");
}

/** One line describing a model: architecture, time steps, connect function, classes and neuron. */
export function describeSpec(s: ModelSpec): string {
  const arch =
    s.kind === "sew-mlp"
      ? `sew-mlp H ${s.hidden} K ${s.blocks}`
      : `sew-resnet stem ${s.stemChannels} stages ${formatStages(s.stages)}`;
  return `${arch}, T ${s.timeSteps}, ${s.connect}, ${s.classes} classes, ${describeNeuron(s.neuron)}`;
}
