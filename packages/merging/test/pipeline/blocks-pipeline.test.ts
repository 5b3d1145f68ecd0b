import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { extractBlock, insertBlock, isEmbeddingLike } from "../../src/index.js";

describe("top-left blocks (vocabulary mismatch)", () => {
  it("extract then insert restores the block and leaves everything else untouched (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 9 }),
        (r, c, dr, dc) => {
          const rows = r + dr;
          const cols = c + dc;
          const src = Float32Array.from({ length: rows * cols }, (_, k) => k + 1);
          const block = extractBlock(src, cols, r, c);
          expect(block.length).toBe(r * c);
          for (let i = 0; i < r; i++)
            for (let j = 0; j < c; j++) expect(block[i * c + j]).toBe(src[i * cols + j]);
          const dst = new Float32Array(rows * cols).fill(-1);
          insertBlock(dst, cols, block, r, c);
          for (let i = 0; i < rows; i++) {
            for (let j = 0; j < cols; j++)
              expect(dst[i * cols + j]).toBe(i < r && j < c ? src[i * cols + j] : -1);
          }
        },
      ),
    );
  });

  it("recognizes embedding-like names", () => {
    for (const n of [
      "model.embed_tokens.weight",
      "lm_head.weight",
      "transformer.wte.weight",
      "bert.embeddings.word_embeddings.weight",
      "gpt_neox.embed_out.weight",
      "shared.weight",
    ]) {
      expect(isEmbeddingLike(n)).toBe(true);
    }
    for (const n of ["model.layers.0.mlp.up_proj.weight", "model.norm.weight", "transformer.wpe.weight"]) {
      expect(isEmbeddingLike(n)).toBe(false);
    }
  });
});
