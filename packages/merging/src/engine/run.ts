// The merge core: one method with its resolved parameters, run over named tensors. Tensor-scope
// methods merge each tensor on its own; global-scope methods first get a session whose passes visit
// every tensor, then merge tensor by tensor. This is the only place that dispatches between the two:
// the in-memory API (`mergeTensors`, `mergeFlat`) and the checkpoint executor (tensors read lazily
// from disk) both drive a MergeRun, each with its own way of producing the tensors.

import {
  type GlobalMergeSession,
  type GlobalPass,
  type GlobalTensorInfo,
  type MergeMethod,
  MergeMethodError,
  type ParamMap,
  type TensorAux,
  type TensorVisit,
  tensorRng,
} from "../method.js";

export interface MergeRunSpec {
  readonly method: MergeMethod;
  /** Parameters resolved for the whole model (`resolveParams`). */
  readonly params: ParamMap;
  readonly modelParams: readonly ParamMap[];
  /** The merged tensors; global-scope statistics span exactly these. */
  readonly tensors: readonly GlobalTensorInfo[];
  /** Seed of the randomized methods (each tensor draws from `tensorRng(seed, name)`); default 0. */
  readonly seed?: number;
  /** The caller's thread count, offered to global sessions as their default. */
  readonly threads?: number;
}

/** One tensor to merge; per-tensor parameters override the run's (filters, layer gradients). */
export interface TensorMergeRequest {
  readonly name: string;
  readonly shape: readonly number[];
  readonly base: Float32Array | undefined;
  readonly models: readonly Float32Array[];
  readonly params?: ParamMap;
  readonly modelParams?: readonly ParamMap[];
  readonly aux?: TensorAux;
}

/** One step of a run's statistics passes: visit tensor `tensor`, or (tensor undefined) finish the pass. */
export interface PassStep {
  readonly pass: GlobalPass;
  readonly passIndex: number;
  readonly tensor?: number;
}

export class MergeRun {
  readonly scope: "tensor" | "global";
  readonly seed: number;
  private session: GlobalMergeSession | undefined;

  constructor(readonly spec: MergeRunSpec) {
    const { method, params } = spec;
    this.seed = spec.seed ?? 0;
    this.scope = method.scopeOf(params);
    if (this.scope === "global") {
      if (!method.beginGlobal)
        throw new MergeMethodError(`${method.name}: global scope but no beginGlobal session`);
      this.session = method.beginGlobal({
        tensors: spec.tensors,
        numModels: spec.modelParams.length,
        modelParams: spec.modelParams,
        params,
        seed: this.seed,
        threads: spec.threads,
      });
    }
  }

  get method(): MergeMethod {
    return this.spec.method;
  }

  /** The statistics passes to run before the first `mergeTensor` (none for tensor scope). */
  get passes(): readonly GlobalPass[] {
    return this.session?.passes ?? [];
  }

  /**
   * The passes as steps over `count` tensors (indices into the run's tensors, in that order): every
   * tensor of a pass, then its finish; a pass that reads no tensors is only finished.
   */
  *passSteps(count: number = this.spec.tensors.length): Generator<PassStep> {
    const passes = this.passes;
    for (let passIndex = 0; passIndex < passes.length; passIndex++) {
      const pass = passes[passIndex]!;
      if (pass.readsTensors !== false) for (let t = 0; t < count; t++) yield { pass, passIndex, tensor: t };
      yield { pass, passIndex };
    }
  }

  /** Runs every pass, visiting the tensors `visitOf(i)` gives for the run's tensor i. */
  runPasses(visitOf: (index: number) => TensorVisit): void {
    for (const step of this.passSteps()) {
      if (step.tensor === undefined) step.pass.finish();
      else step.pass.visit(visitOf(step.tensor));
    }
  }

  /** The merged tensor (a fresh array; the inputs are not modified). */
  mergeTensor(req: TensorMergeRequest): Float32Array {
    const input = {
      name: req.name,
      shape: req.shape,
      base: this.method.base === "none" ? undefined : req.base,
      models: req.models,
      modelParams: req.modelParams ?? this.spec.modelParams,
      params: req.params ?? this.spec.params,
      rng: tensorRng(this.seed, req.name),
      aux: req.aux,
    };
    return this.session ? this.session.mergeTensor(input) : this.method.mergeTensor(input);
  }

  /** Releases what a global session holds (memory, temp files). */
  close(): void {
    this.session?.close?.();
    this.session = undefined;
  }
}
