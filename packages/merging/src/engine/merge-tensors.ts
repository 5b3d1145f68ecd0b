// The in-memory merge API: merge named float32 tensors (state dicts) or flat genomes with a tensor
// layout, with any registered method, whatever its scope. Both forms drive the same MergeRun as the
// checkpoint executor.

import { MergeInputError } from "../errors.js";
import {
  checkAuxGiven,
  getMethod,
  type MergeMethod,
  MergeMethodError,
  type ParamMap,
  resolveParams,
  type TensorAux,
} from "../method.js";
import { NonFiniteReport } from "./nonfinite.js";
import { MergeRun } from "./run.js";

/** A float32 tensor with its shape (row-major). */
export interface MergeTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Named tensors: a Map or a plain object. */
export type TensorDict = ReadonlyMap<string, MergeTensor> | Readonly<Record<string, MergeTensor>>;

/** Raw parameters (validated against the method's schema; defaults filled in). */
export type RawParams = Readonly<Record<string, unknown>>;

/** Settings shared by `mergeTensors` and `mergeFlat`. */
export interface MergeSettings {
  /** Global parameters; model-scope ones given here are every model's default (mergekit precedence). */
  readonly params?: RawParams;
  /** Per-model parameters, aligned with the models (e.g. per-model `weight` coefficients). */
  readonly modelParams?: readonly RawParams[];
  /** Seed of the randomized methods (DARE, DELLA); default 0. */
  readonly seed?: number;
  /** Names of the inputs in error messages and notices (default "base" and "model i"). */
  readonly labels?: { readonly base?: string; readonly models?: readonly string[] };
  /**
   * Merge NaN / ±Inf input values as they are (default false: a NonFiniteInputError naming the model,
   * tensor and count). What was merged is reported through `onNotice`.
   */
  readonly allowNonfinite?: boolean;
  readonly onNotice?: (message: string) => void;
  /** Threads a global session may use (PCB streaming-global); default: its own. */
  readonly threads?: number;
}

/** Extra per-model inputs of data-dependent and parity-test methods, by tensor name, aligned with the models. */
export interface MergeAuxDicts {
  /** Diagonal Fisher per model, same names and sizes as the model tensors (method `fisher`). */
  readonly fisher?: readonly TensorDict[];
  /** Gram matrices XᵀX ([in, in]) of each linear weight's inputs, per model, by weight name (method `regmean`). */
  readonly gram?: readonly TensorDict[];
  /** Keep-masks (1 = keep) per model, by tensor name (random methods; parity tests). */
  readonly masks?: readonly ReadonlyMap<string, Uint8Array>[];
}

export interface MergeTensorsInput extends MergeSettings {
  /** θ₀; required by methods with a base, ignored by the others. */
  readonly base?: TensorDict;
  readonly models: readonly TensorDict[];
  readonly aux?: MergeAuxDicts;
  /** The tensors to merge and their order (default: the base's names, else the first model's). */
  readonly names?: readonly string[];
}

function entry(dict: TensorDict, name: string): MergeTensor | undefined {
  if (dict instanceof Map) return dict.get(name);
  const rec = dict as Readonly<Record<string, MergeTensor>>;
  return Object.hasOwn(rec, name) ? rec[name] : undefined;
}

function namesOf(dict: TensorDict): string[] {
  return dict instanceof Map ? [...dict.keys()] : Object.keys(dict);
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const fmt = (shape: readonly number[]) => `[${shape.join(", ")}]`;

/** The method and its parameters resolved for `numModels` models. */
function setUp(method: string | MergeMethod, settings: MergeSettings, numModels: number) {
  const m = typeof method === "string" ? getMethod(method) : method;
  const perModel = settings.modelParams ?? Array.from({ length: numModels }, () => ({}));
  if (perModel.length !== numModels) {
    throw new MergeMethodError(
      `${m.name}: ${perModel.length} per-model parameter sets for ${numModels} models`,
    );
  }
  const { params, modelParams } = resolveParams(m, settings.params ?? {}, perModel);
  return { method: m, params, modelParams };
}

/** One tensor of an in-memory merge: where its inputs and aux come from. */
interface Slot {
  readonly name: string;
  readonly shape: readonly number[];
  base(): Float32Array | undefined;
  model(i: number): Float32Array;
  aux(): TensorAux | undefined;
}

/** Checks, runs the passes and merges every slot; `take` receives each merged tensor in order. */
function runInMemory(
  method: MergeMethod,
  resolved: { params: ParamMap; modelParams: readonly ParamMap[] },
  slots: readonly Slot[],
  numModels: number,
  settings: MergeSettings,
  take: (index: number, merged: Float32Array) => void,
): void {
  const usesBase = method.base !== "none";
  const report = new NonFiniteReport(settings.allowNonfinite ?? false);
  const baseLabel = settings.labels?.base ?? "base";
  const modelLabel = (i: number) => settings.labels?.models?.[i] ?? `model ${i}`;
  for (const s of slots) {
    const b = usesBase ? s.base() : undefined;
    if (b) report.check(baseLabel, s.name, b);
    for (let i = 0; i < numModels; i++) report.check(modelLabel(i), s.name, s.model(i));
  }
  checkAuxGiven(method, resolved.params, (kind) => slots.some((s) => s.aux()?.[kind] !== undefined));
  const run = new MergeRun({
    method,
    params: resolved.params,
    modelParams: resolved.modelParams,
    tensors: slots.map((s) => ({ name: s.name, shape: s.shape })),
    seed: settings.seed,
    threads: settings.threads,
  });
  const models = (s: Slot) => Array.from({ length: numModels }, (_, i) => s.model(i));
  try {
    run.runPasses((t) => {
      const s = slots[t]!;
      return { name: s.name, shape: s.shape, base: usesBase ? s.base() : undefined, models: models(s) };
    });
    slots.forEach((s, t) => {
      take(
        t,
        run.mergeTensor({
          name: s.name,
          shape: s.shape,
          base: usesBase ? s.base() : undefined,
          models: models(s),
          aux: s.aux(),
        }),
      );
    });
  } finally {
    run.close();
  }
  const summary = settings.allowNonfinite ? report.summary() : undefined;
  if (summary) settings.onNotice?.(summary);
}

/**
 * Merges named float32 tensors with `method` (a registered name or a method object): per tensor for
 * tensor-scope methods, through the session's passes for global-scope ones (PCB, PCB-repo TIES).
 * Every merged tensor must be present in the base (when the method uses one) and in every model with
 * the same shape. Returns fresh tensors by name, in merge order; the inputs are not modified.
 */
export function mergeTensors(
  method: string | MergeMethod,
  input: MergeTensorsInput,
): Map<string, MergeTensor> {
  const n = input.models.length;
  const { method: m, params, modelParams } = setUp(method, input, n);
  const usesBase = m.base !== "none";
  if (m.base === "required" && !input.base) throw new MergeInputError(`${m.name}: needs a base model`);
  const reference = usesBase && input.base ? input.base : input.models[0];
  if (!reference) throw new MergeInputError(`${m.name}: no input models`);
  const names = input.names ?? namesOf(reference);
  const baseLabel = input.labels?.base ?? "base";
  const modelLabel = (i: number) => input.labels?.models?.[i] ?? `model ${i}`;
  const slots: Slot[] = names.map((name) => {
    const ref = entry(reference, name);
    if (!ref)
      throw new MergeInputError(
        `no tensor '${name}' in the ${usesBase && input.base ? baseLabel : modelLabel(0)}`,
      );
    const shape = ref.shape;
    const check = (t: MergeTensor | undefined, label: string): Float32Array => {
      if (!t) throw new MergeInputError(`${label} has no tensor '${name}'`);
      if (t.shape.length !== shape.length || t.shape.some((v, k) => v !== shape[k]))
        throw new MergeInputError(
          `${label}: tensor '${name}' has shape ${fmt(t.shape)}, expected ${fmt(shape)}`,
        );
      if (t.data.length !== numel(shape))
        throw new MergeInputError(
          `${label}: tensor '${name}' has ${t.data.length} values for shape ${fmt(shape)}`,
        );
      return t.data;
    };
    const base = usesBase && input.base ? check(entry(input.base, name), baseLabel) : undefined;
    const models = input.models.map((d, i) => check(entry(d, name), modelLabel(i)));
    return {
      name,
      shape,
      base: () => base,
      model: (i) => models[i]!,
      aux: () => auxOfDicts(input.aux, name, n),
    };
  });
  const out = new Map<string, MergeTensor>();
  runInMemory(m, { params, modelParams }, slots, n, input, (t, data) => {
    out.set(slots[t]!.name, { shape: slots[t]!.shape, data });
  });
  return out;
}

function auxOfDicts(aux: MergeAuxDicts | undefined, name: string, n: number): TensorAux | undefined {
  if (!aux) return undefined;
  const pick = (dicts: readonly TensorDict[] | undefined) => {
    if (!dicts) return undefined;
    if (dicts.length !== n) throw new MergeInputError(`aux: ${dicts.length} entries for ${n} models`);
    const got = dicts.map((d) => entry(d, name)?.data);
    return got.every((g) => g !== undefined) ? (got as Float32Array[]) : undefined;
  };
  const fisher = pick(aux.fisher);
  const gram = pick(aux.gram);
  const maskList = aux.masks?.map((m) => m.get(name));
  const masks = maskList?.every((m) => m !== undefined) ? (maskList as Uint8Array[]) : undefined;
  if (!fisher && !gram && !masks) return undefined;
  return { ...(fisher ? { fisher } : {}), ...(gram ? { gram } : {}), ...(masks ? { masks } : {}) };
}

/** One named tensor inside a flat vector (a genome). */
export interface FlatTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** First element inside the flat vector. */
  readonly offset: number;
}

/** Per-model extra inputs of a flat merge. */
export interface MergeFlatAux {
  /** Diagonal Fisher per model, flat and aligned with the genome (same length). */
  readonly fisher?: readonly Float32Array[];
  /** Gram matrices per model by linear weight name ([in, in] each); tensors without one get none. */
  readonly gram?: readonly ReadonlyMap<string, Float32Array>[];
  /** Keep-masks (1 = keep) per model, flat and aligned with the genome. */
  readonly masks?: readonly Uint8Array[];
}

export interface MergeFlatInput extends MergeSettings {
  /** Where each tensor lives in the flat vectors. */
  readonly layout: readonly FlatTensor[];
  /** θ₀ (required by methods with a base, ignored by the others). */
  readonly base?: Float32Array;
  readonly models: readonly Float32Array[];
  readonly aux?: MergeFlatAux;
  /** Where to write the merged vector (default: a fresh array of the models' length). */
  readonly out?: Float32Array;
}

/**
 * Merges flat float32 vectors made of named tensors (`layout`), e.g. genomes of an evolutionary
 * search, with `method`. The tensors are views into the vectors (nothing is copied); positions outside
 * the layout are left as they are in `out`. Returns `out`.
 */
export function mergeFlat(method: string | MergeMethod, input: MergeFlatInput): Float32Array {
  const n = input.models.length;
  const { method: m, params, modelParams } = setUp(method, input, n);
  const usesBase = m.base !== "none";
  if (m.base === "required" && !input.base) throw new MergeInputError(`${m.name}: needs a base vector`);
  const dim = input.base?.length ?? input.models[0]?.length ?? 0;
  if (n === 0) throw new MergeInputError(`${m.name}: no input models`);
  input.models.forEach((g, i) => {
    if (g.length !== dim) throw new MergeInputError(`model ${i} has ${g.length} values, the base ${dim}`);
  });
  const out = input.out ?? new Float32Array(dim);
  if (out.length !== dim) throw new MergeInputError(`out has ${out.length} values for vectors of ${dim}`);
  const { aux } = input;
  for (const [what, list] of [
    ["fisher", aux?.fisher],
    ["masks", aux?.masks],
  ] as const) {
    if (!list) continue;
    if (list.length !== n) throw new MergeInputError(`aux.${what}: ${list.length} entries for ${n} models`);
    list.forEach((v, i) => {
      if (v.length !== dim)
        throw new MergeInputError(`aux.${what} of model ${i} has ${v.length} values, expected ${dim}`);
    });
  }
  if (aux?.gram && aux.gram.length !== n)
    throw new MergeInputError(`aux.gram: ${aux.gram.length} entries for ${n} models`);
  const slots: Slot[] = input.layout.map((t) => {
    const size = numel(t.shape);
    if (!(t.offset >= 0 && t.offset + size <= dim))
      throw new MergeInputError(
        `layout: tensor '${t.name}' [${t.offset}, ${t.offset + size}) lies outside the ${dim} values`,
      );
    const view = <A extends Float32Array | Uint8Array>(a: A) => a.subarray(t.offset, t.offset + size) as A;
    return {
      name: t.name,
      shape: t.shape,
      base: () => (usesBase && input.base ? view(input.base) : undefined),
      model: (i) => view(input.models[i]!),
      aux: () => {
        const fisher = aux?.fisher?.map(view);
        const masks = aux?.masks?.map(view);
        const grams = aux?.gram?.map((g) => g.get(t.name));
        const gram = grams?.every((g) => g !== undefined) ? (grams as Float32Array[]) : undefined;
        if (!fisher && !masks && !gram) return undefined;
        return { ...(fisher ? { fisher } : {}), ...(masks ? { masks } : {}), ...(gram ? { gram } : {}) };
      },
    };
  });
  runInMemory(m, { params, modelParams }, slots, n, input, (t, data) => {
    out.set(data, input.layout[t]!.offset);
  });
  return out;
}
