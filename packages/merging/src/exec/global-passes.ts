// The general path of global-scope methods on checkpoints: the method's session (a MergeRun) with its
// statistics passes driven over tensors read lazily from the inputs, one tensor at a time.

import { MergeRun } from "../engine/run.js";
import { type CheckpointPlan, mergedShape } from "../plan/plan.js";
import type { MergeProgressEvent } from "./events.js";
import type { CheckpointInputs } from "./inputs.js";

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Begins the session of `plan`'s method over its merged tensors and runs every statistics pass. */
export async function runGlobalPasses(
  plan: CheckpointPlan,
  inputs: CheckpointInputs,
  options: { seed: number; threads?: number; onProgress?: (event: MergeProgressEvent) => void },
): Promise<MergeRun> {
  const merging = plan.tensors.filter((p) => p.kind === "merge");
  const run = new MergeRun({
    method: plan.method,
    params: plan.whole.params,
    modelParams: plan.whole.modelParams,
    tensors: merging.map((p) => ({ name: p.name, shape: mergedShape(p) })),
    seed: options.seed,
    threads: options.threads,
  });
  try {
    const usesBase = plan.method.base !== "none";
    const bytesOf = (i: number) => {
      const p = merging[i]!;
      return (p.models.length + (inputs.base ? 1 : 0)) * numel(mergedShape(p)) * 4;
    };
    const passBytes = merging.reduce((s, _, i) => s + bytesOf(i), 0);
    const phaseCount = run.passes.length + 1;
    let bytes = 0;
    const progress = (label: string, passIndex: number, tensor: number, done: number) =>
      options.onProgress?.({
        phase: "pass",
        label,
        phaseIndex: passIndex + 1,
        phaseCount,
        tensor: merging[tensor]?.name ?? "",
        tensorsDone: done,
        tensorsTotal: merging.length,
        bytesDone: bytes,
        bytesTotal: passBytes,
      });
    for (const step of run.passSteps(merging.length)) {
      const { pass, passIndex, tensor } = step;
      if (tensor === undefined) {
        pass.finish();
        // A pass on what the session kept (no tensors read) reports once, complete.
        if (pass.readsTensors === false) {
          bytes = passBytes;
          progress(pass.label, passIndex, merging.length - 1, merging.length);
        }
        bytes = 0;
        continue;
      }
      const p = merging[tensor]!;
      const { base, models } = await inputs.readMerged(p, usesBase);
      pass.visit({ name: p.name, shape: mergedShape(p), base, models });
      bytes += bytesOf(tensor);
      progress(pass.label, passIndex, tensor, tensor + 1);
    }
    return run;
  } catch (err) {
    run.close();
    throw err;
  }
}
