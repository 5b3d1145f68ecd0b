// One chunk of kernel work, as sent to a pool worker: array descriptors over SharedArrayBuffers plus
// scalars and a [start, end) range. `runTask` executes it on already-materialised arrays; the worker
// and the in-thread fallback both go through it, so pooled and single-threaded results coincide.
import {
  abs,
  add,
  affineNormalize,
  axpy,
  clamp,
  exp,
  gatedClamp,
  mul,
  scale,
  sign,
  tanh,
} from "../kernels/elementwise.js";
import { KernelError } from "../kernels/errors.js";
import {
  blockSums,
  countNonZero,
  max,
  min,
  reduceTasks,
  type TaskReduceOp,
  weightedSumTasks,
} from "../kernels/reduce.js";
import { type FloatArray, selectKths } from "../select.js";

/** Unary elementwise kernels: out = f(x). */
export type UnaryOp = "abs" | "sign" | "exp" | "tanh";
/** Elementwise ops the pool can run; scalars: clamp [lo, hi], scale [a], axpy [a], gatedClamp [cap, alpha], affineNormalize [lo, hi, guard]. */
export type ElementwiseOp =
  | UnaryOp
  | "clamp"
  | "scale"
  | "axpy"
  | "add"
  | "mul"
  | "gatedClamp"
  | "affineNormalize";
/** Reductions along D that the pool splits into chunks and combines. */
export type RangeReduceOp = "blockSums" | "min" | "max" | "countNonZero";

/** Arrays (inputs then output) and minimum scalars each elementwise op takes. */
export const ELEMENTWISE_SIGNATURE: Record<ElementwiseOp, { arrays: number; scalars: number }> = {
  abs: { arrays: 2, scalars: 0 },
  sign: { arrays: 2, scalars: 0 },
  exp: { arrays: 2, scalars: 0 },
  tanh: { arrays: 2, scalars: 0 },
  clamp: { arrays: 2, scalars: 2 },
  scale: { arrays: 2, scalars: 1 },
  axpy: { arrays: 2, scalars: 1 },
  add: { arrays: 3, scalars: 0 },
  mul: { arrays: 3, scalars: 0 },
  gatedClamp: { arrays: 3, scalars: 2 },
  affineNormalize: { arrays: 2, scalars: 2 },
};

export type DTypeTag = "f32" | "f64";

export interface ArraySpec {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
  dtype: DTypeTag;
}

export type Task =
  | {
      kind: "elementwise";
      op: ElementwiseOp;
      arrays: ArraySpec[];
      scalars: number[];
      start: number;
      end: number;
    }
  | { kind: "reduce"; op: RangeReduceOp; arrays: ArraySpec[]; start: number; end: number }
  | { kind: "select"; arrays: ArraySpec[]; start: number; end: number; ks: number[] }
  | {
      kind: "tasks";
      op: TaskReduceOp | "weightedSum";
      arrays: ArraySpec[];
      scalars: number[];
      n: number;
      d: number;
      start: number;
      end: number;
    };

/** The descriptor of a SharedArrayBuffer-backed float array (throws if it is not shared). */
export function describe(what: string, a: FloatArray): ArraySpec {
  if (!(a.buffer instanceof SharedArrayBuffer)) {
    throw new KernelError(
      `${what}: the worker pool needs arrays backed by a SharedArrayBuffer (see sharedFloat32Array / toShared)`,
    );
  }
  return {
    buffer: a.buffer,
    byteOffset: a.byteOffset,
    length: a.length,
    dtype: a instanceof Float64Array ? "f64" : "f32",
  };
}

export function materialise(spec: ArraySpec): FloatArray {
  return spec.dtype === "f64"
    ? new Float64Array(spec.buffer, spec.byteOffset, spec.length)
    : new Float32Array(spec.buffer, spec.byteOffset, spec.length);
}

/** Runs one chunk on materialised arrays (order as in the task's `arrays`); returns the chunk's partial result. */
export function runTask(task: Task, a: FloatArray[]): Float64Array | number | null {
  // "select" returns the order statistics of x[start, end) at ranks ks (one task row).
  const { start, end } = task;
  if (task.kind === "elementwise") {
    const s = task.scalars;
    switch (task.op) {
      case "abs":
        abs(a[0], a[1], start, end);
        break;
      case "sign":
        sign(a[0], a[1], start, end);
        break;
      case "exp":
        exp(a[0], a[1], start, end);
        break;
      case "tanh":
        tanh(a[0], a[1], start, end);
        break;
      case "clamp":
        clamp(a[0], s[0], s[1], a[1], start, end);
        break;
      case "scale":
        scale(a[0], s[0], a[1], start, end);
        break;
      case "axpy":
        axpy(s[0], a[0], a[1], start, end);
        break;
      case "add":
        add(a[0], a[1], a[2], start, end);
        break;
      case "mul":
        mul(a[0], a[1], a[2], start, end);
        break;
      case "gatedClamp":
        gatedClamp(a[0], a[1], s[0], s[1], a[2], start, end);
        break;
      case "affineNormalize":
        affineNormalize(a[0], s[0], s[1], s[2] === 1, a[1], start, end);
        break;
      default:
        throw new KernelError(`pool: unknown elementwise op ${String((task as { op: unknown }).op)}`);
    }
    return null;
  }
  if (task.kind === "reduce") {
    switch (task.op) {
      case "blockSums":
        return blockSums(a[0], start, end);
      case "min":
        return min(a[0], start, end);
      case "max":
        return max(a[0], start, end);
      case "countNonZero":
        return countNonZero(a[0], start, end);
      default:
        throw new KernelError(`pool: unknown reduction ${String((task as { op: unknown }).op)}`);
    }
  }
  if (task.kind === "select") return Float64Array.from(selectKths(a[0].subarray(start, end), task.ks));
  if (task.op === "weightedSum") weightedSumTasks(a[0], task.n, task.d, task.scalars, a[1], start, end);
  else reduceTasks(task.op, a[0], task.n, task.d, a[1], start, end);
  return null;
}
