import { closeSync, fsyncSync, openSync } from "node:fs";
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { openSafetensors, writeFileAtomic, writeSafetensors } from "@x/tensor-core";
import { CheckpointError } from "./errors.js";
import { canonicalJson, describeChanges, fingerprintChanges } from "./fingerprint.js";
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

// JSON cannot hold NaN / ±Infinity (fitness may be -Infinity) nor -0 (CMA-ES state may): encode them as
// {"$f64": "..."}.
function replacer(_k: string, v: unknown): unknown {
  if (typeof v !== "number") return v;
  if (Object.is(v, -0)) return { $f64: "-0" };
  return Number.isFinite(v) ? v : { $f64: String(v) };
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
 * `genome.000000`, ... in slot order, written by @x/tensor-core) and `gen-NNNNNN.json` (the snapshot).
 * Both are written under temporary names, fsynced and renamed; then `latest.json` is replaced atomically (write temp, rename) to point
 * at them, and older generations are deleted. A process killed at any instant leaves `latest.json`
 * naming a complete, consistent pair.
 */
export interface DirectoryRunStoreOptions {
  /** fsync files before renaming them (default true). */
  readonly fsync?: boolean;
  /**
   * Settings outside the optimizer that change the result (the merge block, the evaluator, data digests,
   * ...). They join the optimizer's own fingerprint under the key `settings`; a resume whose settings differ
   * is refused with a CheckpointError naming each changed key.
   */
  readonly settings?: Record<string, unknown>;
}

/** The fingerprint a store writes and checks: the optimizer's, plus the caller's settings. */
function fullFingerprint(optimizer: string, settings: Record<string, unknown> | undefined): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(optimizer);
  } catch {
    parsed = { optimizer };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) parsed = { optimizer: parsed };
  return canonicalJson(settings ? { ...(parsed as object), settings } : parsed);
}

export class DirectoryRunStore implements RunStore {
  constructor(
    readonly dir: string,
    private readonly options: DirectoryRunStoreOptions = {},
  ) {}

  async save(snapshot: RunSnapshot, genomes: readonly Float32Array[]): Promise<void> {
    snapshot = { ...snapshot, fingerprint: fullFingerprint(snapshot.fingerprint, this.options.settings) };
    await mkdir(this.dir, { recursive: true });
    const weights = genName(snapshot.generation, "safetensors");
    const state = genName(snapshot.generation, "json");
    const sync = this.options.fsync ?? true;
    await writeGenomesSafetensors(join(this.dir, weights), genomes, sync);
    await writeFileAtomic(join(this.dir, state), toExactJson({ ...snapshot, weights }), { durable: sync });
    await writeFileAtomic(
      join(this.dir, POINTER),
      JSON.stringify({ generation: snapshot.generation, weights, state }),
      { durable: sync },
    );
    for (const f of await readdir(this.dir)) {
      // older generations, and temporary files left behind by killed processes
      const stale =
        (f.startsWith("gen-") || f.startsWith(".gen-") || f.startsWith(`.${POINTER}.`)) &&
        f !== weights &&
        f !== state;
      if (stale) await rm(join(this.dir, f), { force: true });
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
    let snap: RunSnapshot;
    try {
      snap = fromExactJson<RunSnapshot>(await readFile(statePath, "utf8"));
    } catch (e) {
      throw new CheckpointError(statePath, `unreadable checkpoint state: ${(e as Error).message}`);
    }
    const expected = fullFingerprint(fingerprint, this.options.settings);
    const stored = fullFingerprint(snap.fingerprint, undefined);
    if (stored !== expected) {
      const changes = fingerprintChanges(JSON.parse(stored), JSON.parse(expected));
      throw new CheckpointError(
        statePath,
        `checkpoint was written by a different configuration (${describeChanges(changes)}); start a fresh run or restore the settings`,
        changes,
      );
    }
    await readGenomesSafetensors(join(this.dir, pointer.weights), genome, count);
    return snap;
  }
}

const IO_CHUNK = 1 << 26; // 64 MiB per read

// Genomes go through @x/tensor-core's safetensors writer (atomic: temp file + rename) straight from the
// population views (no copy), as F32 tensors `genome.000000`, ... in slot order.
async function writeGenomesSafetensors(
  path: string,
  genomes: readonly Float32Array[],
  sync: boolean,
): Promise<void> {
  const dim = genomes[0]?.length ?? 0;
  const specs = genomes.map((_, i) => ({ name: genomeName(i), dtype: "F32" as const, shape: [dim] }));
  await writeSafetensors(path, specs, (e) => genomes[Number(e.name.slice(7))], {
    order: "given",
    metadata: { producer: "@x/evolution" },
  });
  if (sync) {
    const fd = openSync(path, "r");
    fsyncSync(fd);
    closeSync(fd);
  }
}

const genomeName = (i: number): string => `genome.${String(i).padStart(6, "0")}`;

async function readGenomesSafetensors(
  path: string,
  genome: (i: number) => Float32Array,
  count: number,
): Promise<void> {
  let file: Awaited<ReturnType<typeof openSafetensors>>;
  try {
    file = await openSafetensors(path);
  } catch (e) {
    throw new CheckpointError(path, (e as Error).message);
  }
  try {
    for (let i = 0; i < count; i++) {
      const name = genomeName(i);
      const info = file.info(name);
      const dst = genome(i);
      if (!info) throw new CheckpointError(path, `tensor ${name} missing`);
      if (info.dtype !== "F32" || info.shape.length !== 1 || info.shape[0] !== dst.length) {
        throw new CheckpointError(
          path,
          `tensor ${name} is ${info.dtype}${JSON.stringify(info.shape)}, expected F32[${dst.length}]`,
        );
      }
      const bytes = new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength);
      let at = 0;
      for await (const chunk of file.readChunks(name, IO_CHUNK)) {
        bytes.set(chunk, at);
        at += chunk.length;
      }
    }
  } finally {
    await file.close();
  }
}

/** Size of the files of the current checkpoint (for tests and logs). */
export async function checkpointBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) total += (await stat(join(dir, f))).size;
  return total;
}
