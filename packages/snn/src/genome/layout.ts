import { type FlatEntry, type FlatLayout, type Rng, sortKeys } from "@x/tensor-core";
import { SnnConfigError } from "../errors.js";
import { type ModelSpec, type ParamEntry, type ParamRole, paramTable } from "../model/spec.js";

/** One tensor's place in the genome, with its role (weight, BN affine, BN running statistic, head). */
export interface GenomeEntry extends FlatEntry {
  readonly role: ParamRole;
}

/**
 * Where every tensor lives in the flat genome. Tensors are concatenated in code-point-sorted name order (the
 * order `StateDict.flatten` of @x/tensor-core uses), each row-major in its checkpoint shape, all float32:
 * synapse weights, BN γ / β, BN running mean / variance and the head. Nothing is left out.
 */
export interface GenomeLayout extends FlatLayout {
  readonly entries: readonly GenomeEntry[];
}

const layouts = new WeakMap<ModelSpec, GenomeLayout>();

export function genomeLayout(spec: ModelSpec): GenomeLayout {
  const cached = layouts.get(spec);
  if (cached) return cached;
  const table = new Map<string, ParamEntry>(paramTable(spec).map((p) => [p.name, p]));
  let offset = 0;
  const entries: GenomeEntry[] = [];
  for (const name of sortKeys(table.keys())) {
    const p = table.get(name)!;
    const length = p.shape.reduce((a, b) => a * b, 1);
    entries.push({ name, dtype: "F32", shape: p.shape, offset, length, role: p.role });
    offset += length;
  }
  const layout = { entries, length: offset };
  layouts.set(spec, layout);
  return layout;
}

/** A model: its spec and every tensor in one float32 genome. */
export class SnnModel {
  readonly layout: GenomeLayout;
  readonly #byName: Map<string, GenomeEntry>;
  constructor(
    readonly spec: ModelSpec,
    readonly genome: Float32Array = new Float32Array(genomeLayout(spec).length),
  ) {
    this.layout = genomeLayout(spec);
    if (genome.length !== this.layout.length) {
      throw new SnnConfigError(`genome has ${genome.length} values, the model needs ${this.layout.length}`);
    }
    this.#byName = new Map(this.layout.entries.map((e) => [e.name, e]));
  }

  /** A view of one tensor inside the genome (writes go into the model). */
  tensor(name: string): Float32Array {
    const e = this.#byName.get(name);
    if (!e) throw new SnnConfigError(`model has no tensor "${name}"`);
    return this.genome.subarray(e.offset, e.offset + e.length);
  }

  entry(name: string): GenomeEntry | undefined {
    return this.#byName.get(name);
  }

  /** Named views of every tensor, in genome order. */
  tensors(): Map<string, Float32Array> {
    return new Map(
      this.layout.entries.map((e) => [e.name, this.genome.subarray(e.offset, e.offset + e.length)]),
    );
  }

  clone(): SnnModel {
    return new SnnModel(this.spec, this.genome.slice());
  }
}

/** The genome of named tensors (each must have its checkpoint length). */
export function flattenTensors(
  spec: ModelSpec,
  tensors: ReadonlyMap<string, ArrayLike<number>>,
): Float32Array {
  const layout = genomeLayout(spec);
  const out = new Float32Array(layout.length);
  for (const e of layout.entries) {
    const t = tensors.get(e.name);
    if (!t) throw new SnnConfigError(`tensor "${e.name}" is missing`);
    if (t.length !== e.length)
      throw new SnnConfigError(`tensor "${e.name}" has ${t.length} values, expected ${e.length}`);
    out.set(t, e.offset);
  }
  return out;
}

/** Named views of a genome (no copies). */
export function unflattenGenome(spec: ModelSpec, genome: Float32Array): Map<string, Float32Array> {
  return new SnnModel(spec, genome).tensors();
}

export interface InitOptions {
  /** Zero the γ of each block's last BN so blocks start as identity (default: true for ADD and IAND, false for AND). */
  readonly zeroInitResidual?: boolean;
}

/**
 * Fresh weights from a seeded RNG: synapse weights Kaiming-normal (fan_out, std √(2/fan_out)); head weight
 * and bias U(−1/√fan_in, 1/√fan_in) like PyTorch's Linear; BN γ = 1, β = 0, running mean 0, variance 1.
 */
export function initModel(spec: ModelSpec, rng: Rng, o: InitOptions = {}): SnnModel {
  const m = new SnnModel(spec);
  const zero = o.zeroInitResidual ?? spec.connect !== "AND";
  for (const p of paramTable(spec)) {
    const t = m.tensor(p.name);
    switch (p.role) {
      case "weight":
        rng.fillNormal(t, 0, Math.sqrt(2 / p.fanOut!));
        break;
      case "fc.weight":
      case "fc.bias": {
        const b = 1 / Math.sqrt(p.fanIn!);
        rng.fillUniform(t, -b, b);
        break;
      }
      case "bn.weight":
        t.fill(zero && p.lastBnOfBlock ? 0 : 1);
        break;
      case "bn.running_var":
        t.fill(1);
        break;
      default:
        t.fill(0);
    }
  }
  return m;
}

/** Replaces the head by a fresh `classes`-way one (transfer learning); every other tensor is copied. */
export function replaceHead(model: SnnModel, classes: number, rng: Rng): SnnModel {
  const spec = { ...model.spec, classes } as ModelSpec;
  const out = new SnnModel(spec);
  for (const e of out.layout.entries) {
    if (e.name === "fc.weight" || e.name === "fc.bias") continue;
    out.tensor(e.name).set(model.tensor(e.name));
  }
  const fanIn = out.entry("fc.weight")!.shape[1];
  const b = 1 / Math.sqrt(fanIn);
  rng.fillUniform(out.tensor("fc.weight"), -b, b);
  rng.fillUniform(out.tensor("fc.bias"), -b, b);
  return out;
}
