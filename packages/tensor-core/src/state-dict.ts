// An ordered name -> tensor map (tensors may be lazy file handles) with flatten/unflatten to one Float32Array.
//
// Flattening order is the *sorted* key order, by Unicode code point — what Python's `sorted()` on `str`
// gives, which the reference merging code uses (`sorted(state_dict.keys())`). JavaScript's default string
// comparison orders UTF-16 code units instead, which differs for characters above U+FFFF, so it is not used.

import type { DType } from "./dtype.js";
import { numelOf } from "./dtype.js";
import { TensorError } from "./errors.js";
import { Tensor } from "./tensor.js";

/** Header facts of a tensor (no data). */
export interface TensorInfo {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** A tensor whose data is loaded on demand (e.g. from a safetensors file). */
export interface LazyTensor extends TensorInfo {
  readonly name: string;
  /** Reads the tensor (a fresh copy each call). */
  load(): Promise<Tensor>;
  /** Reads and decodes the tensor to float32: into `out` when given (length = element count), else a fresh array. */
  loadFloat32(out?: Float32Array): Promise<Float32Array>;
}

/** Either a loaded tensor or a lazy handle. */
export type TensorLike = Tensor | LazyTensor;

/** Orders strings by Unicode code point (Python's `str` order), not by UTF-16 code unit. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800..DFFF) encode code points above U+FFFF, which rank above every BMP unit.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Sorts names the way the reference code does (`sorted()` on Python str). Returns a new array. */
export function sortKeys(names: Iterable<string>): string[] {
  return [...names].sort(compareCodePoints);
}

/** Where one tensor lives inside a flat vector. */
export interface FlatEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly length: number;
}

/** The layout of a flattened state dict: entries in sorted key order, contiguous from 0. */
export interface FlatLayout {
  readonly entries: readonly FlatEntry[];
  readonly length: number;
}

/** A flattened state dict: one Float32Array plus its layout. */
export interface FlatStateDict {
  readonly data: Float32Array;
  readonly layout: FlatLayout;
}

function isLoaded(t: TensorLike): t is Tensor {
  return t instanceof Tensor;
}

/** Ordered map tensor name -> tensor or lazy tensor handle. Iteration is in insertion order. */
export class StateDict {
  readonly #items = new Map<string, TensorLike>();

  constructor(entries?: Iterable<readonly [string, TensorLike]> | Record<string, TensorLike>) {
    if (entries === undefined) return;
    const it =
      Symbol.iterator in entries ? (entries as Iterable<[string, TensorLike]>) : Object.entries(entries);
    for (const [name, t] of it) this.set(name, t);
  }

  get size(): number {
    return this.#items.size;
  }

  set(name: string, tensor: TensorLike): this {
    this.#items.set(name, tensor);
    return this;
  }

  get(name: string): TensorLike | undefined {
    return this.#items.get(name);
  }

  has(name: string): boolean {
    return this.#items.has(name);
  }

  delete(name: string): boolean {
    return this.#items.delete(name);
  }

  /** Names in insertion order. */
  keys(): string[] {
    return [...this.#items.keys()];
  }

  /** Names in flatten order (code-point sorted). */
  sortedKeys(): string[] {
    return sortKeys(this.#items.keys());
  }

  entries(): IterableIterator<[string, TensorLike]> {
    return this.#items.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, TensorLike]> {
    return this.#items.entries();
  }

  /** dtype and shape of a tensor without loading it. */
  info(name: string): TensorInfo | undefined {
    const t = this.#items.get(name);
    return t === undefined ? undefined : { dtype: t.dtype, shape: t.shape };
  }

  /** The tensor, loading it if lazy. Throws `TensorError` for an unknown name. */
  async tensor(name: string): Promise<Tensor> {
    const t = this.#items.get(name);
    if (t === undefined) throw new TensorError(`state dict has no tensor ${JSON.stringify(name)}`);
    return isLoaded(t) ? t : t.load();
  }

  /** The flat layout (sorted keys, offsets, lengths) without touching data. */
  layout(): FlatLayout {
    let offset = 0;
    const entries: FlatEntry[] = [];
    for (const name of this.sortedKeys()) {
      const t = this.#items.get(name) as TensorLike;
      const length = numelOf(t.shape);
      entries.push({ name, dtype: t.dtype, shape: t.shape, offset, length });
      offset += length;
    }
    return { entries, length: offset };
  }

  /**
   * Concatenates every tensor, decoded to float32, in sorted key order. Lazy tensors are loaded one at a time,
   * straight into the flat vector when their handle accepts an output (safetensors handles do), so peak memory
   * is the flat vector plus at most one tensor. `shared: true` allocates the vector on a
   * SharedArrayBuffer (for the worker pool).
   */
  async flatten(options: { shared?: boolean } = {}): Promise<FlatStateDict> {
    const layout = this.layout();
    const data = allocate(layout.length, options.shared === true);
    for (const e of layout.entries) {
      const t = this.#items.get(e.name) as TensorLike;
      const view = data.subarray(e.offset, e.offset + e.length);
      if (isLoaded(t)) t.toFloat32(view);
      else {
        // Decode straight into the flat vector when the handle supports it (no per-tensor copy).
        const got = await t.loadFloat32(view);
        if (got !== view) view.set(got);
      }
    }
    return { data, layout };
  }

  /**
   * Rebuilds a state dict from a flat vector and its layout. Tensors are views into `data` when `dtype` is F32
   * (the default is each entry's original dtype, converted with round-to-nearest-even).
   */
  static unflatten(
    data: Float32Array,
    layout: FlatLayout,
    options: { dtype?: DType | "original" } = {},
  ): StateDict {
    if (data.length !== layout.length) {
      throw new TensorError(`flat vector has ${data.length} values, layout needs ${layout.length}`);
    }
    const sd = new StateDict();
    for (const e of layout.entries) {
      const view = data.subarray(e.offset, e.offset + e.length);
      const dtype = options.dtype === undefined || options.dtype === "original" ? e.dtype : options.dtype;
      sd.set(e.name, Tensor.fromFloat32(dtype, e.shape, view));
    }
    return sd;
  }

  /** Per-tensor Float32Array views of a flat vector (no copies). */
  static views(data: Float32Array, layout: FlatLayout): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const e of layout.entries) out.set(e.name, data.subarray(e.offset, e.offset + e.length));
    return out;
  }
}

function allocate(n: number, shared: boolean): Float32Array {
  if (!shared) return new Float32Array(n);
  return new Float32Array(new SharedArrayBuffer(n * 4));
}
