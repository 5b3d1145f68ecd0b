// Executing a method's stored-global fast path (a FastGlobalSession): the session reads the stored
// bytes it needs through ranged reads and computes the global statistics; the merge then runs in
// ranges of tensors, each range written (in order, on libuv's threads) while the next one merges.

import { NonFiniteInputError } from "../errors.js";
import type { TensorSink } from "../io/types.js";
import {
  FastGlobalNonFinite,
  type FastGlobalSession,
  FastGlobalUnsupported,
  GENERAL_PATH_FALLBACK,
  type ParamMap,
} from "../method.js";
import type { StoredGlobalChoice } from "../plan/fast-paths.js";
import type { CheckpointPlan } from "../plan/plan.js";
import type { MergeProgressEvent } from "./events.js";
import type { CheckpointInputs } from "./inputs.js";

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export interface FastGlobalStart {
  readonly threads?: number;
  readonly onProgress?: (event: MergeProgressEvent) => void;
  readonly onNotice?: (message: string) => void;
}

export class FastGlobalRun {
  private constructor(
    private readonly session: FastGlobalSession,
    /** Plan index → position in the session's tensor order. */
    private readonly index: ReadonlyMap<number, number>,
    private readonly order: readonly number[],
    private readonly plan: CheckpointPlan,
  ) {}

  get threads(): number {
    return this.session.threads;
  }

  get label(): string {
    return this.session.label;
  }

  /**
   * Begins the session and runs its statistics; undefined when the method declines these inputs
   * (with a notice saying why, when worth it). Non-finite inputs the session finds are a
   * NonFiniteInputError unless the inputs allow them (then the general path runs).
   */
  static async start(
    choice: StoredGlobalChoice & { path: NonNullable<StoredGlobalChoice["path"]> },
    plan: CheckpointPlan,
    inputs: CheckpointInputs,
    options: FastGlobalStart,
  ): Promise<FastGlobalRun | undefined> {
    const { order } = choice;
    const tensors = order.map((i) => ({ name: plan.tensors[i]!.name, numel: numel(plan.tensors[i]!.shape) }));
    const session = choice.path.begin({
      tensors,
      numModels: plan.whole.modelParams.length,
      params: plan.whole.params,
      modelParams: plan.whole.modelParams,
      inputDtype: choice.inputDtype,
      outDtype: choice.outDtype,
      threads: options.threads,
      notice: options.onNotice,
      readConcurrency: inputs.readConcurrency,
      readRange: async (slot, index, byteOffset, target) => {
        await inputs.source(slot).readBytesRangeInto(tensors[index]!.name, byteOffset, target);
      },
      onProgress: (p) =>
        options.onProgress?.({
          phase: "pass",
          label: p.label,
          phaseIndex: 1,
          phaseCount: 2,
          tensor: tensors[p.tensor]?.name ?? "",
          tensorsDone: p.tensorsDone,
          tensorsTotal: tensors.length,
          bytesDone: p.bytesDone,
          bytesTotal: p.bytesTotal,
        }),
    });
    if (!session) return undefined;
    try {
      await session.prepare();
      return new FastGlobalRun(session, new Map(order.map((i, j) => [i, j])), order, plan);
    } catch (err) {
      await session.close();
      if (err instanceof FastGlobalNonFinite) {
        const found = err.found.filter((f) => f.count > 0);
        for (const f of found) {
          const label = inputs.source(f.slot).label;
          const name = tensors[f.index]!.name;
          if (!inputs.nonFinite.allow) throw new NonFiniteInputError(label, name, f.count, found.length - 1);
        }
        // Allowed: the general path merges them as they are (and reports them as it reads them).
        options.onNotice?.(`${err.message}: ${GENERAL_PATH_FALLBACK}`);
        return undefined;
      }
      if (err instanceof FastGlobalUnsupported) {
        options.onNotice?.(`${err.message}: ${GENERAL_PATH_FALLBACK}`);
        return undefined;
      }
      throw err;
    }
  }

  /**
   * Writes every computed tensor: the merged ones from the session's steps (each written, in order, on
   * libuv's threads while the next step merges; a step's buffers are reused two steps later, so that
   * step waits for its writes first), then the others through `computeEncoded` (general path).
   */
  async write(
    computed: readonly number[],
    perTensor: (index: number) => { params: ParamMap; modelParams: readonly ParamMap[] },
    sink: TensorSink,
    report: (index: number) => void,
    computeEncoded: (index: number) => Promise<Uint8Array>,
  ): Promise<void> {
    const { session, order, plan } = this;
    const outDtype = order.length > 0 ? plan.tensors[order[0]!]!.outDtype : "F32";
    session.beginMerge(
      order.map((i) => perTensor(i)),
      outDtype,
    );
    const written: Promise<void>[] = [];
    let chain: Promise<void> = Promise.resolve();
    try {
      for (let step = 0; ; step++) {
        if (step >= 2) await written[step - 2];
        const pieces = await session.mergeNext();
        if (!pieces) break;
        for (const piece of pieces) {
          const i = order[piece.index]!;
          const name = plan.tensors[i]!.name;
          chain = chain.then(async () => {
            await sink.addBytesChunk(name, piece.bytes);
            if (piece.last) report(i);
          });
        }
        written[step] = chain;
        // Awaited two steps later (or below); this keeps an early error from going unhandled.
        chain.catch(() => {});
      }
      await chain;
    } finally {
      await chain.catch(() => {});
    }
    for (const i of computed) {
      if (this.index.has(i)) continue;
      await sink.addBytes(plan.tensors[i]!.name, await computeEncoded(i));
      report(i);
    }
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
