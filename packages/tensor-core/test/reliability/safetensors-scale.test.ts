// Scale limits of the safetensors layer: headers near the 100 MB limit stay within a small multiple of
// their size in memory (measured in a child process), and 150,000 tensors pass through every API
// without exhausting the stack (no argument spreads over per-tensor lists).
import { execFile } from "node:child_process";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  convertCheckpoint,
  MAX_HEADER_SIZE,
  openCheckpoint,
  openSafetensors,
  Tensor,
  writeSafetensors,
  writeShardedSafetensors,
} from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "x-st-scale-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const child = fileURLToPath(new URL("./fixtures/open-child.mjs", import.meta.url));
interface ChildReport {
  outcome: string;
  tensors: number;
  ms: number;
  maxRssBytes: number;
}
async function openInChild(path: string): Promise<ChildReport> {
  const { stdout } = await promisify(execFile)(process.execPath, [child, path], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as ChildReport;
}

/** Writes a file whose header is `json` padded with spaces to `size` bytes, followed by `data`. */
async function writeHeaderFile(
  path: string,
  json: string,
  size: number,
  data = new Uint8Array(),
): Promise<void> {
  const fh = await open(path, "w");
  try {
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(size));
    await fh.write(prefix);
    const body = Buffer.from(json);
    await fh.write(body);
    await fh.write(Buffer.alloc(size - body.length, 0x20));
    await fh.write(data);
  } finally {
    await fh.close();
  }
}

/** ~`size` bytes of zero-sized tensor entries, then `last` (a complete entry, JSON text). */
function manyEntries(size: number, last: string): string {
  const parts: string[] = [];
  let len = 2 + last.length;
  for (let i = 0; len < size - 200; i++) {
    const p = `"t${i}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`;
    parts.push(p);
    len += p.length + 1;
  }
  parts.push(last);
  return `{${parts.join(",")}}`;
}

describe("headers near the 100 MB limit", () => {
  it("are read or rejected within 8x the header size of memory (plus Node's own)", async () => {
    const size = 99_000_000;
    const baselinePath = join(dir, "tiny.safetensors");
    await writeHeaderFile(baselinePath, "{}", 8);
    const baseline = await openInChild(baselinePath);
    expect(baseline.outcome).toBe("accepted");

    const cases: [string, string, string, number][] = [
      [
        "1.7 million tensors",
        manyEntries(size, `"last":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}`),
        "accepted",
        4,
      ],
      [
        "1.7 million tensors, the last with shape [1.0]",
        manyEntries(size, `"last":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}`),
        "INVALID_SHAPE",
        4,
      ],
      [
        "one 99 MB metadata value",
        `{"__metadata__":{"k":"${"x".repeat(size - 200)}"},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
        "accepted",
        4,
      ],
      [
        "a shape of 49 million dimensions",
        `{"t":{"dtype":"F32","shape":[${"1,".repeat((size - 200) / 2 - 1)}1],"data_offsets":[0,4]}}`,
        "INVALID_SHAPE",
        4,
      ],
    ];
    const lines: string[] = [];
    for (const [what, json, expected, dataBytes] of cases) {
      const path = join(dir, "huge.safetensors");
      await writeHeaderFile(path, json, size, new Uint8Array(dataBytes));
      const r = await openInChild(path);
      await rm(path);
      const extra = r.maxRssBytes - baseline.maxRssBytes;
      lines.push(
        `  ${what}: ${r.outcome} in ${(r.ms / 1000).toFixed(1)} s, peak RSS +${(extra / 1e6).toFixed(0)} MB (${(extra / size).toFixed(1)}x the header)`,
      );
      expect(r.outcome, what).toBe(expected);
      expect(extra, what).toBeLessThan(8 * size); // measured 5.3-5.7x; GC timing moves the peak
    }
    const over = join(dir, "over.safetensors");
    await writeHeaderFile(over, "{}", 8);
    const fh = await open(over, "r+");
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(MAX_HEADER_SIZE + 1));
    await fh.write(prefix, 0, 8, 0);
    await fh.close();
    await expect(openSafetensors(over)).rejects.toMatchObject({ code: "HEADER_TOO_LARGE" });
    console.log(
      `headers of ${size / 1e6} MB (Node alone: ${(baseline.maxRssBytes / 1e6).toFixed(0)} MB):\n${lines.join("\n")}`,
    );
  });
});

describe("150,000 tensors", () => {
  const count = 150_000;
  const specs = Array.from({ length: count }, (_, i) => ({
    name: `layers.${i}.weight`,
    dtype: i % 2 ? ("BF16" as const) : ("F32" as const),
    shape: [2],
  }));
  // Small values, exact in BF16.
  const value = (i: number) => Tensor.fromFloat32(specs[i].dtype, [2], Float32Array.of(i % 128, -(i % 128)));
  const indexOf = (name: string) => Number(name.split(".")[1]);

  it("write, open, inspect, read, flatten, shard and convert without exhausting the stack", async () => {
    const file = join(dir, "many.safetensors");
    await writeSafetensors(file, specs, (s) => value(indexOf(s.name)));
    const f = await openSafetensors(file);
    expect(f.names()).toHaveLength(count);
    expect(f.info("layers.149999.weight")).toEqual({ dtype: "BF16", shape: [2] });
    expect(Array.from(await f.readFloat32("layers.123457.weight"))).toEqual([65, -65]);
    const flat = await f.stateDict().flatten();
    expect(flat.layout.entries).toHaveLength(count);
    expect(flat.data.length).toBe(2 * count);
    const widest = flat.layout.entries.reduce((m, e) => Math.max(m, e.name.length), 0);
    expect(widest).toBe("layers.100000.weight".length);
    await f.close();

    const sharded = join(dir, "sharded");
    await writeShardedSafetensors(sharded, specs, (s) => value(indexOf(s.name)), { maxShardSize: 400_000 });
    const ck = await openCheckpoint(sharded);
    expect(ck.names()).toHaveLength(count);
    expect(ck.files.length).toBeGreaterThan(1);
    await ck.close();

    const converted = join(dir, "converted.safetensors");
    await convertCheckpoint(sharded, converted, { dtype: "F32" });
    const back = await openSafetensors(converted);
    expect(back.names()).toHaveLength(count);
    expect(Array.from(await back.readFloat32("layers.7.weight"))).toEqual([7, -7]);
    await back.close();
  });
});
