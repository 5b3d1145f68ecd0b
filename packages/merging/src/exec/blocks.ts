// Top-left block copies for embeddings whose vocabulary rows differ between models.

/** Copies the top-left [rows, cols] block of a row-major [*, srcCols] matrix into a new array. */
export function extractBlock(src: Float32Array, srcCols: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  if (cols === srcCols) {
    out.set(src.subarray(0, rows * cols));
    return out;
  }
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * srcCols, r * srcCols + cols), r * cols);
  return out;
}

/** Writes a [rows, cols] block into the top-left corner of a row-major [*, dstCols] matrix, in place. */
export function insertBlock(
  dst: Float32Array,
  dstCols: number,
  block: Float32Array,
  rows: number,
  cols: number,
): void {
  if (cols === dstCols) {
    dst.set(block.subarray(0, rows * cols));
    return;
  }
  for (let r = 0; r < rows; r++) dst.set(block.subarray(r * cols, (r + 1) * cols), r * dstCols);
}
