// Worker thread of `threads > 1` merges (see workers.ts): rebuilds the prepared merge from the config
// once (its setup), then answers each `tensor(index)` with the encoded output bytes, moved to the caller.

import { defineWorker } from "@x/tensor-core/workers";
import "../methods/index.js";
import { MergeInputError } from "../errors.js";
import { prepareCheckpointMerge } from "./prepared.js";
import type { MergeWorkerData, WorkerNonFinite } from "./workers.js";

const mergeWorker = defineWorker({
  setup: async (data: MergeWorkerData) => {
    const prepared = await prepareCheckpointMerge(data.config, data.prepare);
    if (prepared.tensors.length !== data.tensorCount) {
      await prepared.close();
      throw new MergeInputError(`planned ${prepared.tensors.length} tensors, expected ${data.tensorCount}`);
    }
    return { prepared, config: prepared.withModelParameters(data.modelParameters) };
  },
  methods: {
    tensor: async (
      index: number,
      ctx,
    ): Promise<{ bytes: Uint8Array; nonFinite: readonly WorkerNonFinite[] }> => {
      const { prepared, config } = ctx.state;
      // A fresh buffer to move (the encoded view may be a reused scratch or read buffer).
      const bytes = (await prepared.computeEncoded(index, config)).slice();
      ctx.transfer(bytes.buffer);
      return { bytes, nonFinite: prepared.drainNonFinite() };
    },
  },
  teardown: (state) => state.prepared.close(),
});
export default mergeWorker;
