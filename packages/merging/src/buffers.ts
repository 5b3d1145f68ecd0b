// Reusable buffers by slot, grown to the largest request. The checkpoint executor reads each input
// tensor into its slot's float32 buffer (PCB's general streaming path keeps its chunk rows the same
// way). Reusing them keeps the merge's footprint at (inputs + 2) × largest tensor instead of leaving
// dead per-tensor arrays to the garbage collector (which lags behind 100 MB allocations), and avoids
// zeroing fresh memory per tensor.

export class ReadBuffers {
  private readonly slots: Float32Array[] = [];

  /** A view of `n` floats in slot `i`; valid until the slot is asked for again. */
  view(i: number, n: number): Float32Array {
    let buf = this.slots[i];
    if (!buf || buf.length < n) {
      buf = new Float32Array(n);
      this.slots[i] = buf;
    }
    return buf.subarray(0, n);
  }
}

/**
 * Reusable byte buffers for stored (undecoded) tensors, one per slot; 4-byte aligned for typed views.
 * `shared` ones live in SharedArrayBuffers so helper threads can work on them in place (see
 * fused-helpers.ts); plain ones are used otherwise, as copies out of shared memory are several times
 * slower.
 */
export class ByteBuffers {
  private readonly slots: Uint8Array[] = [];

  constructor(private readonly shared = false) {}

  /** A view of `n` bytes in slot `i`; valid until the slot is asked for again. */
  view(i: number, n: number): Uint8Array {
    let buf = this.slots[i];
    if (!buf || buf.length < n) {
      buf = this.shared ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
      this.slots[i] = buf;
    }
    return buf.subarray(0, n);
  }
}
