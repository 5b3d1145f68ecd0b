import { EvolutionConfigError } from "./errors.js";

/** Largest single backing buffer we allocate (V8 caps one ArrayBuffer at 4 GiB; stay well below). */
const MAX_CHUNK_BYTES = 2 ** 31;

export interface PopulationOptions {
  /** Back the genomes by SharedArrayBuffers so worker threads can read them without a copy. */
  shared?: boolean;
  /** Extra genome slots allocated after the population (trial vectors, swap space). */
  spare?: number;
}

/**
 * A population of `size` genomes of `dim` float32 each, stored in as few large buffers as possible
 * (one buffer unless size·dim·4 exceeds 2 GiB). Every genome is a Float32Array view: no per-individual
 * allocation. `spare` extra slots are allocated for trial vectors. Slots can be swapped in O(1), which
 * is how in-place selection accepts a child without copying D floats.
 */
export class Population {
  readonly dim: number;
  readonly size: number;
  readonly shared: boolean;
  /** The backing buffers (for checkpoint writers and worker hand-off). */
  readonly buffers: readonly Float32Array[];
  private readonly views: Float32Array[];
  /** slot -> physical view index; population slots are 0..size-1, spares follow. */
  private readonly map: number[];

  constructor(size: number, dim: number, options: PopulationOptions = {}) {
    if (!Number.isInteger(size) || size < 1)
      throw new EvolutionConfigError(`population size must be >= 1, got ${size}`);
    if (!Number.isInteger(dim) || dim < 1)
      throw new EvolutionConfigError(`genome dimension must be >= 1, got ${dim}`);
    const spare = options.spare ?? 0;
    this.dim = dim;
    this.size = size;
    this.shared = options.shared ?? false;
    const total = size + spare;
    const perChunk = Math.max(1, Math.floor(MAX_CHUNK_BYTES / (dim * 4)));
    const buffers: Float32Array[] = [];
    this.views = [];
    for (let start = 0; start < total; start += perChunk) {
      const n = Math.min(perChunk, total - start);
      const bytes = n * dim * 4;
      const buf = this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
      const arr = new Float32Array(buf);
      buffers.push(arr);
      for (let k = 0; k < n; k++) this.views.push(arr.subarray(k * dim, (k + 1) * dim));
    }
    this.buffers = buffers;
    this.map = Array.from({ length: total }, (_, i) => i);
  }

  /** Total number of slots (population + spares). */
  get slots(): number {
    return this.map.length;
  }

  /** The genome in slot i (a view; writes go straight into the population). */
  genome(i: number): Float32Array {
    const v = this.views[this.map[i]];
    if (v === undefined) throw new RangeError(`genome slot ${i} out of range 0..${this.map.length - 1}`);
    return v;
  }

  /** Views of the population slots 0..size-1 in order. */
  genomes(): Float32Array[] {
    const out: Float32Array[] = new Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.genome(i);
    return out;
  }

  /** Swap the contents of two slots in O(1) (only the slot map changes). */
  swap(a: number, b: number): void {
    const t = this.map[a];
    this.map[a] = this.map[b];
    this.map[b] = t;
  }

  /** Bytes held by the genome buffers. */
  get bytes(): number {
    return this.views.length * this.dim * 4;
  }
}
