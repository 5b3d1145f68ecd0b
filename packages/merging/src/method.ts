// The MergeMethod interface every merge algorithm implements, the parameter schema the config
// layer validates against, and the registry that maps `merge_method` names to implementations.
//
// Two scopes:
// - "tensor": the method sees one tensor at a time (mergekit semantics). The pipeline calls
//   `mergeTensor` once per output tensor with the base and every model's copy of that tensor.
// - "global": the method's statistics span the whole model (PCB `reference` / `streaming-global`,
//   PCB-repo TIES). The pipeline calls `beginGlobal`, drives every pass of the returned session over
//   all tensors (any order, each tensor exactly once per pass), then calls `session.mergeTensor`
//   once per tensor. Sessions may keep what they need between passes; in-memory sessions copy the
//   task vectors in pass 1, streaming sessions keep only histograms and per-task scalars.
// A method's scope may depend on its parameters (e.g. PCB `mode: per-tensor`), hence `scopeOf`.
//
// All arrays are float32. Inputs are never modified; outputs are freshly allocated.

import { Rng } from "@x/tensor-core";

/** A resolved parameter value. Lists (gradients) and filters are resolved by the config layer first. */
export type ParamValue = number | boolean | string;

/** Resolved parameters by name (defaults applied, validated against the method's schema). */
export type ParamMap = Readonly<Record<string, ParamValue>>;

/**
 * One parameter of a method.
 * - scope "model": may differ per input model (mergekit "tensor parameters", e.g. weight, density);
 * - scope "global": one value for the whole merge (e.g. lambda, normalize, t).
 * A spec without `default` is required.
 */
export interface ParamSpec {
  readonly name: string;
  readonly scope: "model" | "global";
  readonly type: "number" | "boolean" | "string";
  readonly default?: ParamValue;
  /** Allowed values for string parameters. */
  readonly choices?: readonly string[];
  /** Inclusive numeric bounds. */
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
}

/** Extra per-model inputs of data-dependent or parity-test methods, aligned with `models`. */
export interface TensorAux {
  /** Diagonal Fisher information per model, same length as the tensor (method `fisher`). */
  readonly fisher?: readonly Float32Array[];
  /**
   * Gram matrix XᵀX of the layer inputs per model, row-major [in, in], for a linear weight of shape
   * [out, in] (method `regmean`). Absent for non-linear parameters, which are then averaged.
   */
  readonly gram?: readonly Float32Array[];
  /** Injected keep-masks (1 = keep) per model for the random methods, replacing the seeded draw. */
  readonly masks?: readonly Uint8Array[];
}

/**
 * A per-model statistic a method reads (`TensorAux` field). `required`: "every" merged tensor needs it
 * (the method errs per tensor); "some" tensor of the merge must have it, else the merge is an error
 * unless the parameter setting `fallback` accepts none (checked by the drivers before any work); or
 * "none".
 */
export interface AuxInput {
  readonly kind: "fisher" | "gram";
  readonly required: "every" | "some" | "none";
  readonly fallback?: { readonly param: string; readonly value: ParamValue };
}

const AUX_LABEL: Record<AuxInput["kind"], string> = { fisher: "Fisher weights", gram: "Gram matrices" };

/**
 * Checks a merge's per-model statistics against the method's declarations: a statistic required by
 * "some" tensor but given for none is a MergeMethodError, unless its fallback parameter accepts that.
 * `given(kind)` says whether any merged tensor has that statistic.
 */
export function checkAuxGiven(
  method: MergeMethod,
  params: ParamMap,
  given: (kind: AuxInput["kind"]) => boolean,
  /** Where they were looked for (checkpoint merges: the files expected), for the message. */
  where?: (kind: AuxInput["kind"]) => string,
): void {
  for (const a of method.auxInputs ?? []) {
    if (a.required !== "some" || given(a.kind)) continue;
    if (a.fallback && params[a.fallback.param] === a.fallback.value) continue;
    throw new MergeMethodError(
      `${method.name}: no ${AUX_LABEL[a.kind]} were given for any tensor (${where?.(a.kind) ?? `aux.${a.kind} in memory, ${a.kind}.safetensors beside each checkpoint`})` +
        (a.fallback
          ? `; set ${a.fallback.param}: ${String(a.fallback.value)} (x merge --param ${a.fallback.param}=${String(a.fallback.value)}) to merge without them`
          : ""),
    );
  }
}

/** Everything a per-tensor merge needs. */
export interface TensorMergeInput {
  readonly name: string;
  readonly shape: readonly number[];
  /** Base model tensor (θ₀); undefined for methods whose `base` is "none". */
  readonly base: Float32Array | undefined;
  /** The merged models' tensors, in config order, each with prod(shape) elements. */
  readonly models: readonly Float32Array[];
  /** Resolved per-model parameters (scope "model"), aligned with `models`. */
  readonly modelParams: readonly ParamMap[];
  /** Resolved global parameters (scope "global"). */
  readonly params: ParamMap;
  /** Randomness for this tensor; use `tensorRng(seed, name)` so results do not depend on tensor order. */
  readonly rng: Rng;
  readonly aux?: TensorAux;
}

/** A tensor as visited by a global pass (no params: those are fixed at `beginGlobal`). */
export interface TensorVisit {
  readonly name: string;
  readonly shape: readonly number[];
  readonly base: Float32Array | undefined;
  readonly models: readonly Float32Array[];
}

export interface GlobalTensorInfo {
  readonly name: string;
  readonly shape: readonly number[];
}

export interface GlobalMergeContext {
  /** Every tensor that takes part in the global statistics (the pipeline knows them from headers). */
  readonly tensors: readonly GlobalTensorInfo[];
  readonly numModels: number;
  /** Per-model parameters as resolved for the whole model (no per-tensor filters). */
  readonly modelParams: readonly ParamMap[];
  readonly params: ParamMap;
  readonly seed: number;
  /** The caller's thread count (`threads` of the merge), when it set one; methods may use it as their default. */
  readonly threads?: number;
}

/** One pass over all tensors. `finish` runs after the last `visit` of the pass. */
export interface GlobalPass {
  readonly label: string;
  /**
   * False for a pass that works only on what the session kept from earlier passes: drivers may skip
   * reading tensors and call `finish` alone (its `visit` ignores tensors). Default true.
   */
  readonly readsTensors?: boolean;
  visit(tensor: TensorVisit): void;
  finish(): void;
}

export interface GlobalMergeSession {
  /** Passes to run in order before any `mergeTensor` call (may be empty). */
  readonly passes: readonly GlobalPass[];
  /** The merged tensor; `input.modelParams` may carry per-tensor values (e.g. per-task λ by filter). */
  mergeTensor(input: TensorMergeInput): Float32Array;
  /** Releases what the session holds (memory, temp files) once no more `mergeTensor` calls follow. */
  close?(): void;
}

// ---------------------------------------------------------------------------------------------
// Fast paths: a method declares which faster computations of its own results it supports, with the
// inputs each one needs; the checkpoint executor picks one from these declarations (see
// docs/fast-paths.md). A fast path must produce exactly the bytes of the general path.

/** Stored dtypes the fast paths read and write. */
export type FastDType = "BF16" | "F16" | "F32";

/** θ₀ + scale · Σ w_i (θ_i − θ₀): the per-model weights and the final scale of a dense linear merge. */
export interface DenseLinearPlan {
  readonly weights: Float64Array;
  readonly scale: number;
}

/**
 * Per-tensor fast path: for these parameters, the method's `mergeTensor` is the dense linear merge of
 * a `DenseLinearPlan`, computed in float32 per element as θ₀ + scale · Σ w_i fround(θ_i − θ₀). The
 * executor then merges the tensor straight from its stored bytes in pieces (no float32 copies of the
 * inputs). Needs a base model; inputs and output stored in `dtypes` (any mix).
 */
export interface DenseLinearFastPath {
  readonly kind: "dense-linear";
  readonly scope: "tensor";
  readonly dtypes: readonly FastDType[];
  /** The plan for one tensor's resolved parameters, or undefined when its merge is not dense linear. */
  plan(params: ParamMap, modelParams: readonly ParamMap[]): DenseLinearPlan | undefined;
}

/** What a checkpoint merge offers a stored-bytes global fast path (`StoredGlobalFastPath.begin`). */
export interface FastGlobalContext {
  /** Every merged tensor, in the order of the global statistics. */
  readonly tensors: readonly { readonly name: string; readonly numel: number }[];
  readonly numModels: number;
  readonly params: ParamMap;
  readonly modelParams: readonly ParamMap[];
  /** The stored dtype of every merged input tensor (one of the declaration's dtypes). */
  readonly inputDtype: FastDType;
  /** The saved dtype of every merged tensor. */
  readonly outDtype: FastDType;
  /** The caller's thread count (`threads` of the merge), when it set one. */
  readonly threads?: number;
  /** Tells the user why the fast path was not taken, when that is worth knowing (e.g. memory). */
  readonly notice?: (message: string) => void;
  /**
   * Reads stored bytes [byteOffset, byteOffset + target.byteLength) of merged tensor `index` of input
   * `slot` (0 = base, 1 + i = model i) into `target`. Sessions read everything they need through it,
   * whole tensors or windows of positions (several reads may be in flight at once).
   */
  readonly readRange: (slot: number, index: number, byteOffset: number, target: Uint8Array) => Promise<void>;
  /** Reads a session may keep in flight (the merge's `readConcurrency`). */
  readonly readConcurrency: number;
  /** Progress of the session's reads and statistics (`tensor`: the last tensor touched). */
  readonly onProgress?: (p: {
    readonly label: string;
    readonly tensor: number;
    readonly tensorsDone: number;
    readonly bytesDone: number;
    readonly bytesTotal: number;
  }) => void;
}

/**
 * A global-scope merge computed from the inputs' stored bytes instead of passes over decoded tensors.
 * Same output as the method's `beginGlobal` session.
 */
export interface FastGlobalSession {
  readonly label: string;
  /** Threads its passes and merge run on. */
  readonly threads: number;
  /**
   * Reads the stored inputs (through `FastGlobalContext.readRange`) and computes the global statistics.
   * Throws FastGlobalUnsupported to decline (the caller takes the general path), FastGlobalNonFinite
   * when inputs hold NaN or ±Inf.
   */
  prepare(): Promise<void>;
  /** Starts a merge of every tensor with its resolved per-tensor parameters, encoded as `outDtype`. */
  beginMerge(
    perTensor: readonly { params: ParamMap; modelParams: readonly ParamMap[] }[],
    outDtype: string,
  ): void;
  /**
   * Merges the next part of the tensors (in order: a tensor's pieces come in order, tensors in
   * ascending index); undefined once every tensor is merged. The pieces' bytes stay valid until the
   * call after the next one returns, so a step can be written while the next one merges.
   */
  mergeNext(): Promise<readonly FastMergePiece[] | undefined>;
  close(): Promise<void>;
}

/** Encoded output of consecutive elements of merged tensor `index` (see FastGlobalSession.mergeNext). */
export interface FastMergePiece {
  readonly index: number;
  readonly bytes: Uint8Array;
  /** Whether this piece ends the tensor. */
  readonly last: boolean;
}

/**
 * Global fast path over stored bytes. The executor offers it only when every merged tensor is present
 * in the base and in every model with the same shape (no embedding block cuts), the inputs are all
 * stored in one of `dtypes` (the same one for all when `uniformDtype`), the output dtype is that dtype
 * or F32, mergekit's `dtype` does not round values, and there are at most `maxModels` models.
 */
export interface StoredGlobalFastPath {
  readonly kind: "stored-global";
  readonly scope: "global";
  readonly dtypes: readonly FastDType[];
  readonly uniformDtype: boolean;
  readonly maxModels: number;
  /** Whether these global parameters ask for this fast path (e.g. PCB: mode and `fast_path`). */
  applies(params: ParamMap): boolean;
  /** The session, or undefined when it declines (after telling `ctx.notice` why, if worth it). */
  begin(ctx: FastGlobalContext): FastGlobalSession | undefined;
}

export type FastPath = DenseLinearFastPath | StoredGlobalFastPath;

/** A fast path declining inputs it would not reproduce exactly; the caller runs the general path. */
export class FastGlobalUnsupported extends Error {
  override name = "FastGlobalUnsupported";
}

/** A fast path that met non-finite input values: where, and how many (slot 0 = base, 1 + i = model i). */
export class FastGlobalNonFinite extends FastGlobalUnsupported {
  override name = "FastGlobalNonFinite";
  constructor(
    message: string,
    readonly found: readonly { readonly slot: number; readonly index: number; readonly count: number }[],
  ) {
    super(message);
  }
}

/** How notices about a declined fast path end. */
export const GENERAL_PATH_FALLBACK = "taking the general path (same output, slower)";

export interface MergeMethod {
  readonly name: string;
  readonly description: string;
  /** Whether a base model is required, optional or not used ("none": every input is in `models`). */
  readonly base: "required" | "optional" | "none";
  readonly minModels: number;
  readonly maxModels?: number;
  readonly params: readonly ParamSpec[];
  /** True if results depend on the RNG (seeded masks). */
  readonly randomized: boolean;
  /** "tensor" or "global" for these resolved global parameters. */
  scopeOf(params: ParamMap): "tensor" | "global";
  /** Per-tensor merge (scope "tensor"). */
  mergeTensor(input: TensorMergeInput): Float32Array;
  /** Global-scope session (required when `scopeOf` can return "global"). */
  beginGlobal?(ctx: GlobalMergeContext): GlobalMergeSession;
  /**
   * Per-model statistics the method reads from `TensorAux` (e.g. `fisher`: required, `regmean`'s
   * `gram`: optional). Checkpoint merges load them from files beside each model (see AUX_FILES).
   */
  readonly auxInputs?: readonly AuxInput[];
  /**
   * Faster computations of this method's own results that the checkpoint executor may choose from
   * (see FastPath). Only declarations of methods taken from the registry are used.
   */
  readonly fastPaths?: readonly FastPath[];
  /** Cross-parameter checks beyond the schema (e.g. della's density ± epsilon in (0, 1)). */
  validate?(params: ParamMap, modelParams: readonly ParamMap[]): void;
}

/** Bad parameters, shapes or inputs for a merge method; the message names the method and tensor. */
export class MergeMethodError extends Error {
  override name = "MergeMethodError";
}

// ---------------------------------------------------------------------------------------------
// Parameter resolution

function checkValue(method: string, spec: ParamSpec, value: unknown, where: string): ParamValue {
  if (typeof value !== spec.type) {
    throw new MergeMethodError(
      `${method}: parameter '${spec.name}'${where} must be a ${spec.type}, got ${JSON.stringify(value)}`,
    );
  }
  if (spec.type === "number") {
    const v = value as number;
    if (!Number.isFinite(v))
      throw new MergeMethodError(`${method}: parameter '${spec.name}'${where} must be finite`);
    if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
      throw new MergeMethodError(
        `${method}: parameter '${spec.name}'${where} = ${v} is outside [${spec.min ?? "-inf"}, ${spec.max ?? "inf"}]`,
      );
    }
  }
  if (spec.choices && !spec.choices.includes(value as string)) {
    throw new MergeMethodError(
      `${method}: parameter '${spec.name}'${where} = ${JSON.stringify(value)} is not one of ${spec.choices.join(", ")}`,
    );
  }
  return value as ParamValue;
}

/**
 * Validates raw parameters against a method's schema and fills in defaults.
 * Per-model parameters may also be given globally (mergekit: top-level `parameters` are defaults for
 * every model); per-model values win. Unknown keys and missing required ones are errors.
 */
export function resolveParams(
  method: MergeMethod,
  global: Readonly<Record<string, unknown>>,
  perModel: readonly Readonly<Record<string, unknown>>[],
): { params: ParamMap; modelParams: ParamMap[] } {
  const byName = new Map(method.params.map((p) => [p.name, p]));
  const unknownGlobal = Object.keys(global).filter((k) => !byName.has(k));
  if (unknownGlobal.length > 0) {
    throw new MergeMethodError(
      `${method.name}: unknown parameter(s) ${unknownGlobal.join(", ")} (known: ${[...byName.keys()].join(", ")})`,
    );
  }
  const params: Record<string, ParamValue> = {};
  for (const spec of method.params) {
    if (spec.scope !== "global") continue;
    const raw = global[spec.name] ?? spec.default;
    if (raw === undefined)
      throw new MergeMethodError(`${method.name}: missing required parameter '${spec.name}'`);
    params[spec.name] = checkValue(method.name, spec, raw, "");
  }
  const modelParams = perModel.map((raw, i) => {
    const where = ` of model ${i}`;
    for (const k of Object.keys(raw)) {
      const spec = byName.get(k);
      if (!spec) throw new MergeMethodError(`${method.name}: unknown parameter '${k}'${where}`);
      if (spec.scope !== "model") {
        throw new MergeMethodError(`${method.name}: parameter '${k}' is global and cannot be set per model`);
      }
    }
    const out: Record<string, ParamValue> = {};
    for (const spec of method.params) {
      if (spec.scope !== "model") continue;
      const v = raw[spec.name] ?? global[spec.name] ?? spec.default;
      if (v === undefined) {
        throw new MergeMethodError(`${method.name}: missing required parameter '${spec.name}'${where}`);
      }
      out[spec.name] = checkValue(method.name, spec, v, where);
    }
    return out;
  });
  if (modelParams.length < method.minModels) {
    throw new MergeMethodError(
      `${method.name}: needs at least ${method.minModels} model(s), got ${modelParams.length}`,
    );
  }
  if (method.maxModels !== undefined && modelParams.length > method.maxModels) {
    throw new MergeMethodError(
      `${method.name}: accepts at most ${method.maxModels} model(s), got ${modelParams.length}`,
    );
  }
  method.validate?.(params, modelParams);
  return { params, modelParams };
}

/** A per-tensor RNG derived from the merge seed and the tensor name (independent of visit order). */
export function tensorRng(seed: number, tensorName: string): Rng {
  return new Rng(`${seed >>> 0}:${tensorName}`);
}

// ---------------------------------------------------------------------------------------------
// Registry

const registry = new Map<string, MergeMethod>();

/** Registers a method under its name (replacing none: duplicate names are an error). */
export function registerMethod(method: MergeMethod): void {
  if (registry.has(method.name))
    throw new MergeMethodError(`merge method '${method.name}' is already registered`);
  registry.set(method.name, method);
}

/** The method registered under `name`; throws a MergeMethodError listing the known names otherwise. */
export function getMethod(name: string): MergeMethod {
  const m = registry.get(name);
  if (!m && registry.size === 0) {
    throw new MergeMethodError(
      `unknown merge method '${name}': no methods are registered (import the package entry point, or ./methods/index.js, which registers the built-ins)`,
    );
  }
  if (!m) {
    throw new MergeMethodError(
      `unknown merge method '${name}' (known: ${[...registry.keys()].sort().join(", ")})`,
    );
  }
  return m;
}

export function hasMethod(name: string): boolean {
  return registry.has(name);
}

export function listMethods(): MergeMethod[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}
