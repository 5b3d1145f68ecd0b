import type { FloatArray } from "../select.js";

/** Thrown when kernel arguments do not fit together (lengths, layout, parameters). */
export class KernelError extends RangeError {
  override name = "KernelError";
}

/** Throws a KernelError unless `arr` has exactly `len` elements; `what` names the argument. */
export function expectLength(what: string, arr: ArrayLike<number>, len: number): void {
  if (arr.length !== len) throw new KernelError(`${what}: expected ${len} elements, got ${arr.length}`);
}

/** Validates an n x D row-major layout and returns nothing; rows are tasks, columns are parameters. */
export function expectMatrix(what: string, x: ArrayLike<number>, n: number, d: number): void {
  if (!Number.isInteger(n) || n <= 0 || !Number.isInteger(d) || d < 0) {
    throw new KernelError(`${what}: bad shape [${n}, ${d}] (need integer n > 0, D >= 0)`);
  }
  if (x.length !== n * d) {
    throw new KernelError(`${what}: expected ${n} x ${d} = ${n * d} elements, got ${x.length}`);
  }
}

/** Checks a [start, end) range inside [0, len]. */
export function expectRange(what: string, start: number, end: number, len: number): void {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= len)) {
    throw new KernelError(`${what}: bad range [${start}, ${end}) for length ${len}`);
  }
}

/** A new array of the same float type as `x` with `len` elements. */
export function like(x: FloatArray, len = x.length): FloatArray {
  return x instanceof Float64Array ? new Float64Array(len) : new Float32Array(len);
}
