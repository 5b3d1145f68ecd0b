import { closeSync, fsyncSync, openSync, readSync, renameSync, writeSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CheckpointError } from "./errors.js";
import type { GenerationRecord } from "./progress.js";

/** Everything but the genomes needed to continue a run exactly. */
export interface RunSnapshot {
  /** Configuration fingerprint: a resume with a different configuration is refused. */
  readonly fingerprint: string;
  /** Next generation to run (0 = only the initial population has been evaluated). */
  readonly generation: number;
  readonly evaluations: number;
  readonly skipped: number;
  readonly fitness: readonly number[];
  readonly rng: unknown;
  readonly control: unknown;
  readonly history: readonly GenerationRecord[];
  /** Algorithm-specific extra state (e.g. Evolver mode B's merged score). */
  readonly extra?: unknown;
}

/** Where an optimizer keeps its checkpoints. */
export interface RunStore {
  save(snapshot: RunSnapshot, genomes: readonly Float32Array[]): Promise<void>;
  /**
   * Load the latest checkpoint into `genome(i)` for i < count; null when there is none. Throws
   * CheckpointError when it exists but is damaged or its fingerprint differs.
   */
  load(fingerprint: string, genome: (i: number) => Float32Array, count: number): Promise<RunSnapshot | null>;
}

// JSON cannot hold NaN / ±Infinity (fitness may be -Infinity): encode them as {"$f64": "..."}.
function replacer(_k: string, v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? { $f64: String(v) } : v;
}
function reviver(_k: string, v: unknown): unknown {
  if (v !== null && typeof v === "object" && "$f64" in v && Object.keys(v).length === 1) {
    return Number((v as { $f64: string }).$f64);
  }
  return v;
}

/** JSON text that round-trips every double exactly, including non-finite values. */
export function toExactJson(value: unknown): string {
  return JSON.stringify(value, replacer, 1);
}
export function fromExactJson<T>(text: string): T {
  return JSON.parse(text, reviver) as T;
}

const POINTER = "latest.json";
const genName = (g: number, ext: string): string => `gen-${String(g).padStart(6, "0")}.${ext}`;

/**
 * Checkpoints in a directory: per generation `gen-NNNNNN.safetensors` (genomes as F32 tensors
 * `genome.000000`, ... in slot order) and `gen-NNNNNN.json` (the snapshot). Both are written under
 * temporary names and renamed; then `latest.json` is replaced atomically (write temp, rename) to point
 * at them, and older generations are deleted. A process killed at any instant leaves `latest.json`
 * naming a complete, consistent pair.
 */
export class DirectoryRunStore implements RunStore {
  constructor(
    readonly dir: string,
    private readonly options: { fsync?: boolean } = {},
  ) {}

  async save(snapshot: RunSnapshot, genomes: readonly Float32Array[]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const weights = genName(snapshot.generation, "safetensors");
    const state = genName(snapshot.generation, "json");
    const sync = this.options.fsync ?? true;
    writeGenomesSafetensors(join(this.dir, weights), genomes, sync);
    await writeAtomic(join(this.dir, state), toExactJson({ ...snapshot, weights }), sync);
    await writeAtomic(
      join(this.dir, POINTER),
      JSON.stringify({ generation: snapshot.generation, weights, state }),
      sync,
    );
    for (const f of await readdir(this.dir)) {
      if (f.startsWith("gen-") && f !== weights && f !== state) await rm(join(this.dir, f), { force: true });
    }
  }

  async load(
    fingerprint: string,
    genome: (i: number) => Float32Array,
    count: number,
  ): Promise<RunSnapshot | null> {
    const pointerPath = join(this.dir, POINTER);
    let pointerText: string;
    try {
      pointerText = await readFile(pointerPath, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
    let pointer: { weights: string; state: string };
    try {
      pointer = JSON.parse(pointerText);
    } catch {
      throw new CheckpointError(pointerPath, "not valid JSON");
    }
    const statePath = join(this.dir, pointer.state);
    const snap = fromExactJson<RunSnapshot>(await readFile(statePath, "utf8"));
    if (snap.fingerprint !== fingerprint) {
      throw new CheckpointError(
        statePath,
        `checkpoint was written by a different configuration\n  checkpoint: ${snap.fingerprint}\n  this run:   ${fingerprint}`,
      );
    }
    readGenomesSafetensors(join(this.dir, pointer.weights), genome, count);
    return snap;
  }
}

async function writeAtomic(path: string, text: string, sync: boolean): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  if (sync) {
    const fd = openSync(tmp, "r+");
    fsyncSync(fd);
    closeSync(fd);
  }
  await rename(tmp, path);
}

// Minimal safetensors framing for equal-length F32 vectors: 8-byte LE header length, JSON header
// (padded with spaces to a multiple of 8), then the raw little-endian data. Genome views are written
// straight from the population buffer (no copy) and read straight back into it.
function header(genomes: number, dim: number): Buffer {
  const h: Record<string, unknown> = { __metadata__: { format: "pt", producer: "@x/evolution" } };
  const bytes = dim * 4;
  for (let i = 0; i < genomes; i++) {
    h[`genome.${String(i).padStart(6, "0")}`] = {
      dtype: "F32",
      shape: [dim],
      data_offsets: [i * bytes, (i + 1) * bytes],
    };
  }
  let json = JSON.stringify(h);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const buf = Buffer.alloc(8 + json.length);
  buf.writeBigUInt64LE(BigInt(json.length), 0);
  buf.write(json, 8, "utf8");
  return buf;
}

const IO_CHUNK = 1 << 26; // 64 MiB per write/read call

function writeGenomesSafetensors(path: string, genomes: readonly Float32Array[], sync: boolean): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  try {
    const dim = genomes[0]?.length ?? 0;
    const h = header(genomes.length, dim);
    writeSync(fd, h);
    for (const g of genomes) {
      const bytes = new Uint8Array(g.buffer, g.byteOffset, g.byteLength);
      for (let off = 0; off < bytes.length; off += IO_CHUNK) {
        const part = bytes.subarray(off, Math.min(bytes.length, off + IO_CHUNK));
        let done = 0;
        while (done < part.length) done += writeSync(fd, part, done);
      }
    }
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function readGenomesSafetensors(path: string, genome: (i: number) => Float32Array, count: number): void {
  const fd = openSync(path, "r");
  try {
    const lenBuf = Buffer.alloc(8);
    if (readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new CheckpointError(path, "truncated safetensors header");
    const hlen = Number(lenBuf.readBigUInt64LE(0));
    const hbuf = Buffer.alloc(hlen);
    if (readSync(fd, hbuf, 0, hlen, 8) !== hlen)
      throw new CheckpointError(path, "truncated safetensors header");
    const h = JSON.parse(hbuf.toString("utf8")) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] }
    >;
    for (let i = 0; i < count; i++) {
      const name = `genome.${String(i).padStart(6, "0")}`;
      const entry = h[name];
      const dst = genome(i);
      if (!entry) throw new CheckpointError(path, `tensor ${name} missing`);
      if (entry.dtype !== "F32" || entry.shape.length !== 1 || entry.shape[0] !== dst.length) {
        throw new CheckpointError(
          path,
          `tensor ${name} is ${entry.dtype}${JSON.stringify(entry.shape)}, expected F32[${dst.length}]`,
        );
      }
      const bytes = new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength);
      let done = 0;
      while (done < bytes.length) {
        const n = readSync(
          fd,
          bytes,
          done,
          Math.min(IO_CHUNK, bytes.length - done),
          8 + hlen + entry.data_offsets[0] + done,
        );
        if (n === 0) throw new CheckpointError(path, `tensor ${name} truncated`);
        done += n;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Size of the files of the current checkpoint (for tests and logs). */
export async function checkpointBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) total += (await stat(join(dir, f))).size;
  return total;
}
