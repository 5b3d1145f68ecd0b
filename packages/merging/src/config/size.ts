import { MergeConfigError } from "./errors.js";

const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1e3,
  KB: 1e3,
  M: 1e6,
  MB: 1e6,
  G: 1e9,
  GB: 1e9,
  T: 1e12,
  TB: 1e12,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
};

/**
 * Parses a shard size in bytes: a plain or scientific number ("1e9", "500000000"), a number with a
 * decimal unit ("5GB", "500MB", "10K") or a binary unit ("2GiB"). A bare "B" suffix means billions as in
 * mergekit's `--out-shard-size 5B` (its K/M/B parser; the writer compares bytes), so "5B" = 5e9 bytes.
 */
export function parseByteSize(text: string | number, what = "--out-shard-size"): number {
  if (typeof text === "number") {
    if (!Number.isFinite(text) || text <= 0) throw new MergeConfigError(`${what}: must be a positive size`);
    return Math.floor(text);
  }
  const m = /^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) throw new MergeConfigError(`${what}: cannot parse size '${text}' (examples: 5GB, 500MB, 1e9)`);
  const value = Number(m[1]);
  const unit = m[2]!.toUpperCase();
  const mult = unit === "B" ? 1e9 : UNITS[unit];
  if (mult === undefined) throw new MergeConfigError(`${what}: unknown unit '${m[2]}' in '${text}'`);
  const bytes = Math.floor(value * mult);
  if (!(bytes > 0)) throw new MergeConfigError(`${what}: must be a positive size, got '${text}'`);
  return bytes;
}
