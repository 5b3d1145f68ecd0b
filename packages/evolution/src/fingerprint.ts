import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { FingerprintChange } from "./errors.js";

/**
 * Run fingerprints: what must be equal between a checkpoint and the run that resumes it. A fingerprint is a
 * plain JSON-like object (optimizer settings, plus whatever the caller adds: the merge block, the evaluator,
 * data digests, budgets that change the result); two are compared key by key so a refusal can name what
 * changed ("settings.merge.lambda: 0.5 in the checkpoint, 0.6 now").
 */

/** JSON with object keys sorted at every level and numbers that round-trip exactly (-0, NaN, ±Infinity). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalize(value));
}

function normalize(v: unknown): unknown {
  if (typeof v === "number") {
    if (Object.is(v, -0)) return { $f64: "-0" };
    return Number.isFinite(v) ? v : { $f64: String(v) };
  }
  if (typeof v === "bigint") return { $bigint: String(v) };
  if (v === undefined || typeof v === "function" || typeof v === "symbol") return undefined;
  if (v === null || typeof v !== "object") return v;
  if (v instanceof RegExp) return { $regexp: v.source, flags: v.flags };
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, normalize);
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : normalize(x)));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const n = normalize((v as Record<string, unknown>)[k]);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

/** SHA-256 (hex) of the canonical JSON: a short, stable name for a configuration. */
export function fingerprintHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

/** Every leaf where two fingerprints differ, as dotted keys (array elements as `key[3]`), sorted. */
export function fingerprintChanges(checkpoint: unknown, run: unknown): FingerprintChange[] {
  const out: FingerprintChange[] = [];
  walk(normalize(checkpoint), normalize(run), "", out);
  return out;
}

function walk(a: unknown, b: unknown, key: string, out: FingerprintChange[]): void {
  const isObj = (x: unknown): x is Record<string, unknown> =>
    x !== null && typeof x === "object" && !Array.isArray(x) && !("$f64" in x);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) walk(a[k], b[k], key ? `${key}.${k}` : k, out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) walk(a[i], b[i], `${key}[${i}]`, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push({ key: key || "(fingerprint)", checkpoint: denormalize(a), run: denormalize(b) });
  }
}

function denormalize(v: unknown): unknown {
  if (v !== null && typeof v === "object" && "$f64" in v) return Number((v as { $f64: string }).$f64);
  return v;
}

/** "seed: 1 in the checkpoint, 2 in this run; settings.data: absent in the checkpoint, ..." */
export function describeChanges(changes: readonly FingerprintChange[]): string {
  const show = (v: unknown): string => {
    if (v === undefined) return "absent";
    const s = JSON.stringify(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  };
  return changes
    .map((c) => `${c.key}: ${show(c.checkpoint)} in the checkpoint, ${show(c.run)} in this run`)
    .join("; ");
}

/** Size and SHA-256 of a file, for fingerprinting data (models, datasets) a run depends on. */
export async function fileDigest(path: string): Promise<{ bytes: number; sha256: string }> {
  const { size } = await stat(path);
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  return { bytes: size, sha256: h.digest("hex") };
}
