// Helper thread of the fused dense-linear path (see fused-helpers.ts): computes element ranges of
// pieces in shared buffers. No state: each `range` call names its buffers.

import { defineWorker } from "@x/tensor-core/workers";
import { type FusedRangeTask, runFusedRange } from "./fused-range.js";

const fusedWorker = defineWorker({
  methods: {
    range: (task: FusedRangeTask): void => runFusedRange(task),
  },
});
export default fusedWorker;
