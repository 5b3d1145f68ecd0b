// Exact order-statistic selection on float typed arrays by radix select on the IEEE bit pattern.
//
// Each float is mapped to an unsigned key whose integer order equals the order of
// `TypedArray.prototype.sort` (which puts -0 before +0 and every NaN last). A histogram of the top
// 16 key bits finds the bucket holding rank k; further 16-bit passes restricted to that bucket pin
// down the remaining bits. Float32 takes 2 passes over D; Float64 takes 2 passes over D and then
// works on the gathered members of the winning top bucket (6 bytes each, usually a tiny fraction of
// D). O(D) worst case, no pivots, no input mutation; Float32 allocates nothing beyond one 64 Ki-entry
// histogram (reusable through `scratch`). The result is bit-identical to `sorted[k]`, including the sign of zero.
//
// NaN policy: NaNs (of any sign or payload) rank after +Infinity, exactly like a typed-array sort;
// a k that falls in the NaN tail returns NaN. Use `countNaN` to exclude them from quantile ranks.

/** Float arrays accepted by the selection and quantile functions. */
export type FloatArray = Float32Array | Float64Array;

/** Thrown for invalid selection arguments (bad rank, empty input, bad quantile, short scratch). */
export class SelectionError extends RangeError {
  override name = "SelectionError";
}

const BUCKETS = 1 << 16;

/** A reusable histogram for `selectKth`/`selectKths`; pass it to avoid a 256 KiB allocation per call. */
export function createSelectScratch(): Uint32Array {
  return new Uint32Array(BUCKETS);
}

function histogramOf(scratch: Uint32Array | undefined): Uint32Array {
  if (scratch === undefined) return new Uint32Array(BUCKETS);
  if (scratch.length < BUCKETS) {
    throw new SelectionError(`select scratch must hold ${BUCKETS} entries, got ${scratch.length}`);
  }
  // Callers clear it before each pass.
  return scratch.length === BUCKETS ? scratch : scratch.subarray(0, BUCKETS);
}

function checkRank(n: number, k: number): void {
  if (n === 0) throw new SelectionError("cannot select from an empty array");
  if (!Number.isInteger(k) || k < 0 || k >= n) {
    throw new SelectionError(`rank k=${k} is out of range for ${n} elements (need an integer 0 <= k < ${n})`);
  }
}

/** Finds the bucket holding rank `k`; returns the bucket and the rank within it packed as [bucket, rank]. */
function locate(hist: Uint32Array, k: number, out: Int32Array | number[]): void {
  let acc = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const c = hist[b];
    if (acc + c > k) {
      out[0] = b;
      out[1] = k - acc;
      return;
    }
    acc += c;
  }
  throw new SelectionError("internal: rank not found in histogram");
}

// Little-endian word order of a Float64 inside a Uint32Array view (Node on x86/arm64 is little-endian).
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = LITTLE_ENDIAN ? 0 : 1;

const f32Bits = new Float32Array(1);
const f32BitsU = new Uint32Array(f32Bits.buffer);
const f64Bits = new Float64Array(1);
const f64BitsU = new Uint32Array(f64Bits.buffer);

function f32FromKey(key: number): number {
  f32BitsU[0] = key & 0x80000000 ? key ^ 0x80000000 : ~key;
  return f32Bits[0];
}

function f64FromKey(hi: number, lo: number): number {
  if (hi & 0x80000000) {
    f64BitsU[HI] = hi ^ 0x80000000;
    f64BitsU[LO] = lo;
  } else {
    f64BitsU[HI] = ~hi;
    f64BitsU[LO] = ~lo;
  }
  return f64Bits[0];
}

// Float32 keys: flip all bits of negatives, set the sign bit of positives; NaN -> 0xffffffff.
// Computed inline in the loops below (int32 arithmetic, no allocation).

function selectF32(values: Float32Array, ks: readonly number[], hist: Uint32Array): number[] {
  const n = values.length;
  const bits = new Int32Array(values.buffer, values.byteOffset, n);
  hist.fill(0);
  for (let i = 0; i < n; i++) {
    const u = bits[i];
    const key = (u & 0x7fffffff) > 0x7f800000 ? -1 : u ^ ((u >> 31) | 0x80000000);
    hist[key >>> 16]++;
  }
  const top: number[] = [];
  const rank: number[] = [];
  const loc = [0, 0];
  for (const k of ks) {
    locate(hist, k, loc);
    top.push(loc[0]);
    rank.push(loc[1]);
  }
  const results = new Array<number>(ks.length);
  const done = new Array<boolean>(ks.length).fill(false);
  for (let j = 0; j < ks.length; j++) {
    if (done[j]) continue;
    const want = top[j];
    hist.fill(0);
    for (let i = 0; i < n; i++) {
      const u = bits[i];
      const key = (u & 0x7fffffff) > 0x7f800000 ? -1 : u ^ ((u >> 31) | 0x80000000);
      if (key >>> 16 === want) hist[key & 0xffff]++;
    }
    // Every requested rank in the same top bucket is answered from this one pass.
    for (let m = j; m < ks.length; m++) {
      if (done[m] || top[m] !== want) continue;
      locate(hist, rank[m], loc);
      results[m] = f32FromKey(((want << 16) | loc[0]) >>> 0);
      done[m] = true;
    }
  }
  return results;
}

// Float64 key of element i as (khi, klo) int32 words: negatives have both words flipped, positives
// get the sign bit set, NaN -> all ones.
function f64KeyHi(hi: number, lo: number): number {
  if ((hi & 0x7fffffff) >= 0x7ff00000 && ((hi & 0x7fffffff) > 0x7ff00000 || lo !== 0)) return -1;
  return hi ^ ((hi >> 31) | 0x80000000);
}

function f64KeyLo(hi: number, lo: number): number {
  if ((hi & 0x7fffffff) >= 0x7ff00000 && ((hi & 0x7fffffff) > 0x7ff00000 || lo !== 0)) return -1;
  return lo ^ (hi >> 31);
}

function selectF64(values: Float64Array, k: number, hist: Uint32Array): number {
  const n = values.length;
  const words = new Int32Array(values.buffer, values.byteOffset, 2 * n);
  const hiAt = HI;
  const loAt = LO;
  const loc = [0, 0];
  // Pass 1 over the whole array: top 16 key bits.
  hist.fill(0);
  for (let i = 0; i < n; i++) hist[f64KeyHi(words[2 * i + hiAt], words[2 * i + loAt]) >>> 16]++;
  locate(hist, k, loc);
  const top = loc[0];
  let rank = loc[1];
  // Gather the remaining 48 key bits of that bucket's members (usually a tiny fraction of D).
  const count = hist[top];
  const mid = new Uint16Array(count);
  const low = new Int32Array(count);
  let m = 0;
  hist.fill(0);
  for (let i = 0; i < n; i++) {
    const hi = words[2 * i + hiAt];
    const lo = words[2 * i + loAt];
    const khi = f64KeyHi(hi, lo);
    if (khi >>> 16 === top) {
      mid[m] = khi & 0xffff;
      low[m] = f64KeyLo(hi, lo);
      hist[khi & 0xffff]++;
      m++;
    }
  }
  locate(hist, rank, loc);
  const midBits = loc[0];
  rank = loc[1];
  hist.fill(0);
  for (let j = 0; j < count; j++) if (mid[j] === midBits) hist[low[j] >>> 16]++;
  locate(hist, rank, loc);
  const lowTop = loc[0];
  rank = loc[1];
  hist.fill(0);
  for (let j = 0; j < count; j++) if (mid[j] === midBits && low[j] >>> 16 === lowTop) hist[low[j] & 0xffff]++;
  locate(hist, rank, loc);
  return f64FromKey(((top << 16) | midBits) >>> 0, ((lowTop << 16) | loc[0]) >>> 0);
}

/**
 * Below this length a sorted copy is cheaper than clearing a 64 Ki histogram; the typed-array sort
 * has the same total order (-0 before +0, NaN last), so results are identical either way.
 */
export const SMALL_SELECT = 1024;

function checkType(values: FloatArray, fn: string): void {
  if (!(values instanceof Float32Array || values instanceof Float64Array)) {
    throw new SelectionError(`${fn} needs a Float32Array or Float64Array`);
  }
}

/**
 * The exact k-th smallest element (0-based) of `values`: identical to `values.slice().sort()[k]`,
 * -0 ranking before +0 and NaNs last. O(D); never mutates `values`.
 * @param scratch optional reusable histogram from `createSelectScratch()`.
 */
export function selectKth(values: FloatArray, k: number, scratch?: Uint32Array): number {
  checkType(values, "selectKth");
  checkRank(values.length, k);
  if (values.length <= SMALL_SELECT) return values.slice().sort()[k];
  return radixSelect(values, [k], scratch)[0];
}

/**
 * Several order statistics of the same array, e.g. the lower and upper clamp bounds of a row.
 * Float32 inputs share the first histogram pass across all ranks. Results are in the order of `ks`.
 */
export function selectKths(values: FloatArray, ks: readonly number[], scratch?: Uint32Array): number[] {
  checkType(values, "selectKths");
  for (const k of ks) checkRank(values.length, k);
  if (values.length <= SMALL_SELECT) {
    const sorted = values.slice().sort();
    return ks.map((k) => sorted[k]);
  }
  return radixSelect(values, ks, scratch);
}

/** The radix path of `selectKths` at any length (no small-array shortcut); exported for tests. */
export function radixSelect(values: FloatArray, ks: readonly number[], scratch?: Uint32Array): number[] {
  checkType(values, "radixSelect");
  for (const k of ks) checkRank(values.length, k);
  const hist = histogramOf(scratch);
  if (values instanceof Float32Array) return selectF32(values, ks, hist);
  return ks.map((k) => selectF64(values as Float64Array, k, hist));
}

/** Number of NaN entries (they rank last in `selectKth`). */
export function countNaN(values: FloatArray): number {
  let c = 0;
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) c++;
  return c;
}

/**
 * The index a "sort then take s[trunc(D·f)]" reference uses, computed in IEEE double exactly as
 * written (PyTorch reference code: `int(D * f)`), clamped into [0, D-1]. `offset` is added before
 * truncation, for forms like trunc(D·(1−b) − 1).
 */
export function truncIndex(d: number, fraction: number, offset = 0): number {
  if (!Number.isInteger(d) || d <= 0) throw new SelectionError(`length must be a positive integer, got ${d}`);
  if (!Number.isFinite(fraction)) throw new SelectionError(`fraction must be finite, got ${fraction}`);
  const idx = Math.trunc(d * fraction + offset);
  return idx < 0 ? 0 : idx >= d ? d - 1 : idx;
}

/** `sorted(values)[truncIndex(D, fraction, offset)]` without sorting. */
export function quantileByIndex(
  values: FloatArray,
  fraction: number,
  offset = 0,
  scratch?: Uint32Array,
): number {
  return selectKth(values, truncIndex(values.length, fraction, offset), scratch);
}

/**
 * Linearly interpolated quantile (NumPy/PyTorch default "linear"): position q·(D−1) between the
 * two neighbouring order statistics. NaNs rank last, as in `selectKth`.
 */
export function quantileLinear(values: FloatArray, q: number, scratch?: Uint32Array): number {
  if (!(q >= 0 && q <= 1)) throw new SelectionError(`quantile q must be in [0, 1], got ${q}`);
  const pos = q * (values.length - 1);
  const lo = Math.floor(pos);
  const frac = pos - lo;
  if (frac === 0) return selectKth(values, lo, scratch);
  const [a, b] = selectKths(values, [lo, lo + 1], scratch);
  return a + (b - a) * frac;
}
