// Non-finite input values (NaN, ±Inf). A merge refuses them by default: most methods would write NaN
// into the output (task arithmetic, PCB), others would silently drop them (TIES). The checks are
// single branch-free sweeps over data the merge reads anyway; with `allowNonfinite` the merge goes on
// and a NonFiniteReport collects what it met, for one notice at the end.

import { NonFiniteInputError } from "../errors.js";

/** Number of NaN / ±Inf values in `values`. */
export function countNonFinite(values: Float32Array): number {
  // v·0 is 0 for every finite v and NaN otherwise: one multiply-add per element, no branch, then an
  // exact count only when the sum says there is something to count.
  let probe = 0;
  for (let i = 0; i < values.length; i++) probe += values[i]! * 0;
  if (probe === 0) return 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v !== 0) c++;
  }
  return c;
}

/**
 * Number of NaN / ±Inf values among stored elements [start, start + count) of `bytes` (BF16, F16 or F32;
 * 2- and 4-byte views must be aligned): every exponent bit set.
 */
export function countNonFiniteStored(dtype: string, bytes: Uint8Array): number {
  let c = 0;
  if (dtype === "F32") {
    const u = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
    for (let i = 0; i < u.length; i++) if ((u[i]! & 0x7f800000) === 0x7f800000) c++;
  } else if (dtype === "BF16" || dtype === "F16") {
    const mask = dtype === "BF16" ? 0x7f80 : 0x7c00;
    const u = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 1);
    for (let i = 0; i < u.length; i++) if ((u[i]! & mask) === mask) c++;
  }
  return c;
}

/** Non-finite inputs met during a merge, by input and tensor. */
export class NonFiniteReport {
  private readonly found = new Map<string, { model: string; tensor: string; count: number }>();
  /** Records since the last `drain` (merge workers send them to the main thread). */
  private fresh: { model: string; tensor: string; count: number }[] = [];

  constructor(
    /** Proceed (and report) instead of throwing NonFiniteInputError at the first one. */
    readonly allow: boolean,
  ) {}

  /** Records `count` non-finite values of `tensor` in input `model`; throws unless allowed. */
  add(model: string, tensor: string, count: number): void {
    if (count === 0) return;
    if (!this.allow) throw new NonFiniteInputError(model, tensor, count);
    this.fresh.push({ model, tensor, count });
    const key = `${model}\u0000${tensor}`;
    const e = this.found.get(key);
    if (e) e.count += count;
    else this.found.set(key, { model, tensor, count });
  }

  /** Checks decoded values of `tensor` in input `model`. */
  check(model: string, tensor: string, values: Float32Array): void {
    this.add(model, tensor, countNonFinite(values));
  }

  /** The records added since the previous call. */
  drain(): { model: string; tensor: string; count: number }[] {
    const out = this.fresh;
    this.fresh = [];
    return out;
  }

  /** Every input tensor with non-finite values met so far, in the order first met. */
  entries(): { model: string; tensor: string; count: number }[] {
    return [...this.found.values()].map((e) => ({ ...e }));
  }

  get total(): number {
    let s = 0;
    for (const e of this.found.values()) s += e.count;
    return s;
  }

  /** One sentence for the notice (undefined when nothing was found). */
  summary(): string | undefined {
    if (this.found.size === 0) return undefined;
    const all = [...this.found.values()];
    const listed = all
      .slice(0, 5)
      .map((e) => `${e.model} '${e.tensor}': ${e.count}`)
      .join("; ");
    const more = all.length > 5 ? `; and ${all.length - 5} more tensors` : "";
    return `allowNonfinite: merged ${this.total} non-finite input value(s) (NaN or ±Inf) as they are, in ${all.length} tensor(s) (${listed}${more}); the method's output may hold NaN or ±Inf there`;
  }
}
