import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DTYPES,
  type DType,
  dtypeInfo,
  openCheckpoint,
  openSafetensors,
  planShards,
  saveSafetensors,
  Tensor,
  writeSafetensors,
  writeShardedSafetensors,
} from "../src/index.js";

let dir: string;
let k = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tc-prop-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const byteDTypes = DTYPES.filter((d) => dtypeInfo(d).bits >= 8);

/** A random tensor: any byte-sized dtype, up to 3 dims (zeros allowed), random bytes. */
const tensorArb = fc
  .record({
    dtype: fc.constantFrom(...byteDTypes),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map(({ dtype, shape, seed }) => {
    const t = Tensor.zeros(dtype as DType, shape);
    const bytes = t.bytes();
    let x = seed;
    for (let i = 0; i < bytes.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      bytes[i] = x >>> 16;
    }
    return t;
  });

const nameArb = fc.stringMatching(/^[a-zA-Z0-9._\u00e9\uFF21-]{1,12}$/).filter((s) => s !== "__metadata__");
const dictArb = fc.dictionary(nameArb, tensorArb, { minKeys: 0, maxKeys: 8 });

function sameTensor(a: Tensor, b: Tensor): boolean {
  return (
    a.dtype === b.dtype &&
    a.shape.join() === b.shape.join() &&
    Buffer.from(a.bytes()).equals(Buffer.from(b.bytes()))
  );
}

describe("write -> read is the identity (property)", () => {
  it("for random dtypes, shapes (incl. zero-size and scalars), names and both layout orders", async () => {
    await fc.assert(
      fc.asyncProperty(dictArb, fc.constantFrom("reference", "given"), async (dict, order) => {
        const path = join(dir, `p${k++}.safetensors`);
        const specs = Object.entries(dict).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
        await writeSafetensors(path, specs, (e) => dict[e.name], { order: order as "reference" | "given" });
        const f = await openSafetensors(path);
        try {
          expect(new Set(f.names())).toEqual(new Set(Object.keys(dict)));
          if (order === "given") {
            // Zero-size tensors share offsets with their neighbours, so compare only sized ones.
            const sized = (names: string[]) => names.filter((n) => dict[n].byteLength > 0);
            expect(sized(f.names())).toEqual(sized(Object.keys(dict)));
          }
          // Every tensor starts aligned to its element size within the data buffer (8-aligned start).
          for (const e of f.header.entries) {
            if (order === "reference") expect(e.begin % dtypeInfo(e.dtype).array.BYTES_PER_ELEMENT).toBe(0);
            expect(sameTensor(await f.read(e.name), dict[e.name])).toBe(true);
          }
        } finally {
          await f.close();
        }
        return true;
      }),
      { numRuns: 60 },
    );
  });

  it("sharded writes with random shard sizes read back identically and respect the size limit", async () => {
    await fc.assert(
      fc.asyncProperty(dictArb, fc.integer({ min: 1, max: 200 }), async (dict, maxShardSize) => {
        const out = join(dir, `s${k++}`);
        const specs = Object.entries(dict).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
        const res = await writeShardedSafetensors(out, specs, (e) => dict[e.name], { maxShardSize });
        const plan = planShards(specs, maxShardSize);
        expect(res.files.length).toBe(plan.length);
        for (const shard of plan) {
          const size = shard.reduce((a, s) => a + dict[s.name].byteLength, 0);
          // A shard exceeds the limit only when it holds a single tensor larger than the limit.
          if (size > maxShardSize) expect(shard.length).toBe(1);
        }
        const files = await readdir(out);
        expect(files.some((f) => f.includes(".tmp"))).toBe(false);
        const ck = await openCheckpoint(out);
        try {
          expect(new Set(ck.names())).toEqual(new Set(Object.keys(dict)));
          for (const n of ck.names()) expect(sameTensor(await ck.read(n), dict[n])).toBe(true);
        } finally {
          await ck.close();
        }
        return true;
      }),
      { numRuns: 40 },
    );
  });

  it("saving what was read reproduces the file byte for byte", async () => {
    await fc.assert(
      fc.asyncProperty(dictArb, async (dict) => {
        const a = join(dir, `a${k++}.safetensors`);
        const b = join(dir, `b${k++}.safetensors`);
        await saveSafetensors(a, dict, { metadata: { k: "v" } });
        const f = await openSafetensors(a);
        const meta = { ...(f.metadata ?? {}) };
        delete meta.format;
        await saveSafetensors(b, f.stateDict(), { metadata: meta });
        await f.close();
        return (await readFile(a)).equals(await readFile(b));
      }),
      { numRuns: 40 },
    );
  });
});
