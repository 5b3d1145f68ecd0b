/**
 * Runs a registered @x/merging method on the zoo's backbones (in memory), whatever its scope: per-tensor
 * methods are called once per backbone tensor; global methods (PCB reference, PCB-repo TIES) get a session,
 * every pass over all tensors, then one mergeTensor call per tensor. Heads never take part: they stay per task.
 */
import {
  getMethod,
  type MergeMethod,
  type ParamValue,
  resolveParams,
  type TensorAux,
  tensorRng,
} from "@x/merging";
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
  const method = getMethod(call.method);
  const perModel = call.modelParams ?? inputs.models.map(() => ({}));
  // Model-scope values given globally are defaults for every model (mergekit precedence).
  const { params, modelParams } = resolveParams(method, call.params, perModel);
  const seed = call.seed ?? 0;
  const keys = backboneKeys(inputs.arch);
  const shapes = keys.map((k) => inputs.base.get(k)!.shape);
  const out: Params = new Map();
  const input = (k: string, i: number, withBase: boolean) => ({
    name: k,
    shape: shapes[i]!,
    base: withBase ? inputs.base.get(k)!.data : undefined,
    models: inputs.models.map((m) => m.get(k)!.data),
    modelParams,
    params,
    rng: tensorRng(seed, k),
    aux: auxFor(inputs, k),
  });
  if (method.scopeOf(params) === "global") {
    const session = beginSession(method, keys, shapes, inputs.models.length, modelParams, params, seed);
    for (const pass of session.passes) {
      for (const [i, k] of keys.entries()) {
        const { name, shape, base, models } = input(k, i, true);
        pass.visit({ name, shape, base: base!, models });
      }
      pass.finish();
    }
    for (const [i, k] of keys.entries())
      out.set(k, { shape: shapes[i]!, data: session.mergeTensor(input(k, i, true)) });
    return out;
  }
  const withBase = method.base !== "none";
  for (const [i, k] of keys.entries())
    out.set(k, { shape: shapes[i]!, data: method.mergeTensor(input(k, i, withBase)) });
  return out;
}

function beginSession(
  method: MergeMethod,
  keys: string[],
  shapes: (readonly number[])[],
  numModels: number,
  modelParams: ReturnType<typeof resolveParams>["modelParams"],
  params: ReturnType<typeof resolveParams>["params"],
  seed: number,
) {
  if (!method.beginGlobal) throw new Error(`merge method '${method.name}' has global scope but no session`);
  return method.beginGlobal({
    tensors: keys.map((name, i) => ({ name, shape: shapes[i]! })),
    numModels,
    modelParams,
    params,
    seed,
  });
}

function auxFor(inputs: MergeInputs, key: string): TensorAux | undefined {
  const fisher = inputs.fisher?.map((f) => f.get(key)!.data);
  const gramList = inputs.grams?.map((g) => g.get(key)?.data);
  const gram = gramList?.every((g) => g !== undefined) ? (gramList as Float32Array[]) : undefined;
  if (!fisher && !gram) return undefined;
  return { ...(fisher ? { fisher } : {}), ...(gram ? { gram } : {}) };
}
