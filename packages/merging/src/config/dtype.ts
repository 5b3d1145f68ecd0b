import { MergeConfigError } from "./errors.js";

/** Storage dtypes a merge can compute in or save to (mergekit accepts exactly these four). */
export type MergeDType = "BF16" | "F16" | "F32" | "I64";

const NAMES: Record<string, MergeDType> = {
  bfloat16: "BF16",
  float16: "F16",
  float32: "F32",
  int64: "I64",
};

/**
 * Parses a mergekit dtype name: exactly `bfloat16`, `float16`, `float32` or `int64`, optionally prefixed
 * with `torch.` (mergekit's `dtype_from_name`). Anything else is an error naming the key.
 */
export function parseDTypeName(name: unknown, key = "dtype", source?: string): MergeDType {
  if (typeof name !== "string") {
    throw new MergeConfigError(`'${key}' must be a dtype name string, got ${JSON.stringify(name)}`, source);
  }
  const bare = name.startsWith("torch.") ? name.slice("torch.".length) : name;
  const dt = NAMES[bare];
  if (!dt) {
    throw new MergeConfigError(
      `'${key}': unknown dtype '${name}' (expected bfloat16, float16, float32 or int64, optionally prefixed with 'torch.')`,
      source,
    );
  }
  return dt;
}

/** The mergekit name of a dtype, for writing configs back out. */
export function dtypeName(dt: MergeDType): string {
  for (const [name, d] of Object.entries(NAMES)) if (d === dt) return name;
  return dt;
}
