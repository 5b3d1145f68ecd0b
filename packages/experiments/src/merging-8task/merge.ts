/**
 * Runs a registered @x/merging method on the zoo's backbones (in memory) through `mergeTensors`, whatever
 * its scope. Heads never take part: they stay per task.
 */
import { mergeTensors, type ParamValue } from "@x/merging";
import { backboneKeys, type MlpArch, type Params } from "@x/zoo";

export interface MergeInputs {
  readonly arch: MlpArch;
  readonly base: Params;
  readonly models: readonly Params[];
  /** Diagonal Fisher per model (same layout as the backbone). */
  readonly fisher?: readonly Params[];
  /** Gram matrices per model, keyed by linear weight name. */
  readonly grams?: readonly Params[];
}

export interface MergeCall {
  readonly method: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  /** Per-model parameters (e.g. per-task λ); same object for every model when omitted. */
  readonly modelParams?: readonly Readonly<Record<string, ParamValue>>[];
  readonly seed?: number;
}

/** The merged backbone (fresh arrays). */
export function mergeBackbone(inputs: MergeInputs, call: MergeCall): Params {
  return mergeTensors(call.method, {
    base: inputs.base,
    models: inputs.models,
    names: backboneKeys(inputs.arch),
    params: call.params,
    ...(call.modelParams ? { modelParams: call.modelParams } : {}),
    seed: call.seed ?? 0,
    aux: {
      ...(inputs.fisher ? { fisher: inputs.fisher } : {}),
      ...(inputs.grams ? { gram: inputs.grams } : {}),
    },
  });
}
