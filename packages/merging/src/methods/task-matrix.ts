// Collects the task vectors T_i = θ_i − θ₀ of every tensor into one flat row per model, laid out in
// lexicographically sorted tensor-name order (the reference code's `state_dict_to_vector`), for
// global-scope methods that run in memory (PCB `reference`, PCB-repo TIES).

import type { GlobalMergeContext, GlobalPass, TensorVisit } from "../method.js";
import { MergeMethodError } from "../method.js";
import { numelOf } from "./common.js";

export interface TaskMatrix {
  /** One flat row per model, length D = total elements. */
  readonly rows: Float32Array[];
  readonly length: number;
  /** [start, end) of a tensor inside the rows. */
  rangeOf(name: string): [number, number];
}

/** Sorted-key offsets of the context's tensors. */
export function flatLayout(
  ctx: GlobalMergeContext,
  where: string,
): { total: number; ranges: Map<string, [number, number]> } {
  const infos = [...ctx.tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const ranges = new Map<string, [number, number]>();
  let off = 0;
  for (const t of infos) {
    if (ranges.has(t.name)) throw new MergeMethodError(`${where}: tensor '${t.name}' listed twice`);
    const d = numelOf(t.shape);
    ranges.set(t.name, [off, off + d]);
    off += d;
  }
  return { total: off, ranges };
}

/** Checks a visited tensor against the layout and the model count; returns its [start, end). */
export function checkVisit(
  t: TensorVisit,
  ranges: Map<string, [number, number]>,
  numModels: number,
  where: string,
): [number, number] {
  const r = ranges.get(t.name);
  if (!r) throw new MergeMethodError(`${where}: tensor '${t.name}' was not announced to beginGlobal`);
  const d = r[1] - r[0];
  if (t.base === undefined) throw new MergeMethodError(`${where}: tensor '${t.name}' needs the base model`);
  if (t.base.length !== d) {
    throw new MergeMethodError(
      `${where}: tensor '${t.name}' base has ${t.base.length} elements, expected ${d}`,
    );
  }
  if (t.models.length !== numModels) {
    throw new MergeMethodError(
      `${where}: tensor '${t.name}' has ${t.models.length} models, expected ${numModels}`,
    );
  }
  t.models.forEach((m, i) => {
    if (m.length !== d) {
      throw new MergeMethodError(
        `${where}: tensor '${t.name}' of model ${i} has ${m.length} elements, expected ${d}`,
      );
    }
  });
  return r;
}

/** A pass that copies every tensor's task vectors into the flat rows; `onDone` runs after the pass. */
export function collectTaskMatrix(
  ctx: GlobalMergeContext,
  where: string,
  onDone: (m: TaskMatrix) => void,
): GlobalPass {
  const { total, ranges } = flatLayout(ctx, where);
  let rows: Float32Array[];
  try {
    rows = Array.from({ length: ctx.numModels }, () => new Float32Array(total));
  } catch (e) {
    // A model too large for in-memory rows: say which mode streams instead of a bare RangeError.
    throw new MergeMethodError(
      `${where}: cannot hold ${ctx.numModels} task vectors of ${total} parameters in memory (${(e as Error).message}) (for pcb, mode "streaming-global" gives the same result in bounded memory)`,
    );
  }
  const seen = new Set<string>();
  return {
    label: `${where}: collect task vectors`,
    visit(t) {
      const [start, end] = checkVisit(t, ranges, ctx.numModels, where);
      if (seen.has(t.name))
        throw new MergeMethodError(`${where}: tensor '${t.name}' visited twice in one pass`);
      seen.add(t.name);
      const base = t.base as Float32Array;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i];
        const m = t.models[i];
        for (let k = start; k < end; k++) row[k] = m[k - start] - base[k - start];
      }
    },
    finish() {
      if (seen.size !== ranges.size) {
        const missing = [...ranges.keys()].filter((k) => !seen.has(k));
        throw new MergeMethodError(`${where}: pass ended without tensors ${missing.slice(0, 5).join(", ")}`);
      }
      onDone({
        rows,
        length: total,
        rangeOf(name) {
          const r = ranges.get(name);
          if (!r) throw new MergeMethodError(`${where}: unknown tensor '${name}'`);
          return r;
        },
      });
    },
  };
}
