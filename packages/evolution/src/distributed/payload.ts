import { createHash } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { writeFileAtomic } from "@x/tensor-core";
import type { Redis } from "ioredis";
import type { EvaluatorSpec } from "../evaluator.js";
import { canonicalJson } from "../fingerprint.js";
import { payloadKey } from "./names.js";

/**
 * How a candidate travels from the coordinator to a worker (docs/distributed.md, "How a candidate travels"):
 * a genome of at most `inlineMaxBytes` bytes (default 1 MiB, 262,144 float32) is stored as its raw
 * little-endian bytes in one Redis key next to the job (no JSON, no base64); a larger one is written as a file
 * under `sharedDir`, a directory every worker mounts, and the job carries its path relative to that directory.
 * Either way the job carries the bytes' SHA-256, which the worker checks before evaluating. The threshold comes
 * from the per-job overheads measured in bench/results/evolution-distributed.md.
 */
export const DEFAULT_INLINE_MAX_BYTES = 2 ** 20;

/** Payload keys and files expire after a week if no coordinator comes back to delete them. */
export const PAYLOAD_TTL_SECONDS = 7 * 24 * 3600;

export type GenomeDtype = "f32" | "f64";

export type PayloadRef =
  | { readonly via: "redis" }
  | { readonly via: "file"; readonly root: string; readonly file: string };

/** What a job carries (JSON). */
export interface JobData {
  readonly v: 1;
  readonly runId: string;
  readonly key: string;
  /** "target 3 in generation 5", for messages. */
  readonly candidate: string;
  readonly info: { readonly target: number; readonly generation: number };
  readonly dtype: GenomeDtype;
  readonly length: number;
  readonly sha256: string;
  readonly evaluator: EvaluatorSpec;
  readonly payload: PayloadRef;
  readonly timeoutMs?: number;
}

/** What a worker returns (BullMQ stores it as JSON); the fitness as text so -0, ±Infinity survive. */
export interface JobResult {
  readonly fitness: string;
  readonly worker: string;
  readonly ms: number;
}

export function genomeBytes(genome: Float32Array | Float64Array): Buffer {
  return Buffer.from(genome.buffer, genome.byteOffset, genome.byteLength);
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The job id of a candidate: a hash of the evaluator, the genome's bytes and its info. Equal candidates get
 * equal ids, so a resumed coordinator finds the jobs it enqueued before it died (and their results), and a
 * candidate is never evaluated twice for one run.
 */
export function candidateKey(
  specHash: string,
  dtype: GenomeDtype,
  digest: string,
  info: { target: number; generation: number },
): string {
  return createHash("sha256")
    .update(canonicalJson({ specHash, dtype, digest, target: info.target, generation: info.generation }))
    .digest("hex")
    .slice(0, 40);
}

/** Exact text of a double (String() alone loses the sign of zero). */
export function encodeFitness(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}

export function decodeFitness(s: string): number {
  return Number(s);
}

/**
 * Marks a job whose genome Redis no longer has (a restart without persistence between the genome's write and
 * the job's): the coordinator writes it again and retries the job instead of failing the run.
 */
export const PAYLOAD_MISSING = "is missing from Redis (expired, or lost by a restart)";

export class PayloadMissingError extends Error {
  override readonly name = "PayloadMissingError";
}

/** Store the genome where the job says it is. */
export async function writePayload(
  client: Redis,
  runId: string,
  key: string,
  bytes: Buffer,
  ref: PayloadRef,
): Promise<void> {
  if (ref.via === "redis") {
    await client.set(payloadKey(runId, key), bytes, "EX", PAYLOAD_TTL_SECONDS);
    return;
  }
  const path = join(ref.root, ref.file);
  await mkdir(join(ref.root, runId), { recursive: true });
  await writeFileAtomic(path, bytes);
}

/** Delete a consumed payload (best effort: Redis keys also expire, files are the run's to clean). */
export async function deletePayload(
  client: Redis,
  runId: string,
  key: string,
  ref: PayloadRef,
): Promise<void> {
  if (ref.via === "redis") await client.unlink(payloadKey(runId, key));
  else await rm(join(ref.root, ref.file), { force: true });
}

/** Fetch and check a job's genome; `sharedDir` overrides the coordinator's root (another mount point). */
export async function readPayload(
  client: Redis,
  data: JobData,
  sharedDir: string | undefined,
): Promise<Float32Array | Float64Array> {
  let bytes: Buffer | null;
  if (data.payload.via === "redis") {
    bytes = await client.getBuffer(payloadKey(data.runId, data.key));
    if (bytes === null) throw new PayloadMissingError(`the genome of ${data.candidate} ${PAYLOAD_MISSING}`);
  } else {
    const root = sharedDir ?? data.payload.root;
    if (!isAbsolute(root)) throw new Error(`shared directory ${root} is not absolute`);
    const path = join(root, data.payload.file);
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new Error(
        `cannot read the genome of ${data.candidate} at ${path}: ${(e as NodeJS.ErrnoException).code}`,
      );
    }
  }
  const width = data.dtype === "f64" ? 8 : 4;
  if (bytes.length !== data.length * width) {
    throw new Error(
      `the genome of ${data.candidate} has ${bytes.length} bytes, expected ${data.length * width}`,
    );
  }
  if (sha256(bytes) !== data.sha256)
    throw new Error(`the genome of ${data.candidate} is corrupt (SHA-256 differs)`);
  // copy into an aligned buffer (a Buffer may sit at any offset of a shared pool)
  const out = data.dtype === "f64" ? new Float64Array(data.length) : new Float32Array(data.length);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
