// The `ties` method in two semantics, chosen by the global `variant` parameter:
// - "mergekit" (default): per-tensor magnitude top-k with k = ⌊density·numel⌋ (asserts k > 0;
//   density ≥ 1 keeps everything), sign election with ties to +, normalize by the kept weights;
// - "pcb": the PCB repository's TIES over the whole flattened model (global scope): top-k with its
//   off-by-one, mass sign election with majority fallback, disjoint mean; `density` is K per task.

import type { GlobalMergeSession, MergeMethod, ParamSpec } from "../method.js";
import { MergeMethodError } from "../method.js";
import { num, perModel, str } from "./common.js";
import { gtaMergeTensor, tiesMergekit } from "./gta.js";
import { collectTaskMatrix } from "./task-matrix.js";
import { tiesPcbMerge } from "./ties-pcb.js";

const VARIANT: ParamSpec = {
  name: "variant",
  scope: "global",
  type: "string",
  default: "mergekit",
  choices: ["mergekit", "pcb"],
  description:
    "'mergekit': per-tensor TIES with mergekit semantics; 'pcb': the PCB repository's whole-model TIES (topk/mass/dis-mean).",
};

export const ties: MergeMethod = {
  ...tiesMergekit,
  params: [...tiesMergekit.params, VARIANT],
  scopeOf: (params) => (params.variant === "pcb" ? "global" : "tensor"),
  mergeTensor(input) {
    if (input.params.variant === "pcb") {
      throw new MergeMethodError("ties: variant 'pcb' is global-scope; drive it with beginGlobal");
    }
    return gtaMergeTensor(ties, "magnitude", input);
  },
  beginGlobal(ctx): GlobalMergeSession {
    if (str(ctx.params, "variant") !== "pcb") {
      throw new MergeMethodError("ties: variant 'mergekit' is tensor-scope; call mergeTensor per tensor");
    }
    const lambda = num(ctx.params, "lambda");
    const topK = Array.from(perModel(ctx.modelParams, "density"));
    let tau: Float32Array | undefined;
    let rangeOf: ((name: string) => [number, number]) | undefined;
    const pass = collectTaskMatrix(ctx, "ties (pcb)", (m) => {
      tau = tiesPcbMerge(m.rows, { topK });
      rangeOf = m.rangeOf;
      m.rows.length = 0;
    });
    return {
      passes: [pass],
      mergeTensor(input) {
        if (!tau || !rangeOf) throw new MergeMethodError("ties (pcb): mergeTensor before the collect pass");
        const [start, end] = rangeOf(input.name);
        const base = input.base as Float32Array;
        const out = new Float32Array(end - start);
        for (let k = start; k < end; k++) out[k - start] = base[k - start] + Math.fround(lambda * tau[k]);
        return out;
      },
    };
  },
  validate(params, modelParams) {
    if (params.variant !== "pcb") return;
    modelParams.forEach((mp, i) => {
      if (num(mp, "weight") !== 1) {
        throw new MergeMethodError(
          `ties: variant 'pcb' has no per-model weights (model ${i} has weight ${mp.weight})`,
        );
      }
      if (!(num(mp, "density") < 1)) {
        throw new MergeMethodError(`ties: variant 'pcb' needs density (top-k fraction) < 1 for model ${i}`);
      }
    });
  },
};
