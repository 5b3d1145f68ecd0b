/**
 * Unknown configuration keys are errors, never silently ignored: a typo such as `merge: { lamda: 0.3 }` would
 * otherwise run with the default λ. The message names the key's full path and suggests the nearest valid key
 * (by edit distance), or the block where the key belongs when it is valid elsewhere (`lambda` at the top level
 * belongs under `merge:`).
 */
import { closest, distance } from "fastest-levenshtein";

/** Valid keys per block ("" is the top level, "merge" the `merge:` mapping, ...). */
/** Per config section, the keys it accepts (unknown keys are errors naming the nearest valid one). */
export type KeySchema = Readonly<Record<string, readonly string[]>>;

/** "did you mean 'lambda'?" / "it belongs under merge:" / the list of valid keys. */
export function suggestKey(key: string, block: string, schema: KeySchema): string {
  const valid = schema[block] ?? [];
  const elsewhere = Object.entries(schema)
    .filter(([b, keys]) => b !== block && keys.includes(key))
    .map(([b]) => (b === "" ? "the top level" : `${b}:`));
  if (elsewhere.length > 0) return `it belongs under ${elsewhere.join(" or ")}`;
  if (valid.length > 0) {
    const near = closest(key, valid);
    // Within a third of the key's length (at least 2 edits) it is a typo; further away, list what is valid.
    if (distance(key.toLowerCase(), near.toLowerCase()) <= Math.max(2, Math.floor(key.length / 3)))
      return `did you mean '${near}'?`;
  }
  return `valid keys: ${valid.join(", ")}`;
}

/** The first key of `value` that the block does not know, with its suggestion; null when all are known. */
export function unknownKey(
  value: Record<string, unknown>,
  block: string,
  schema: KeySchema,
): { key: string; path: string; hint: string } | null {
  const valid = new Set(schema[block] ?? []);
  for (const key of Object.keys(value)) {
    if (valid.has(key)) continue;
    return { key, path: block ? `${block}.${key}` : key, hint: suggestKey(key, block, schema) };
  }
  return null;
}
