import { MergeConfigError } from "./errors.js";
import type { ScalarSetting } from "./schema.js";

/**
 * One method parameter from `key=value` text (as `x merge --param`): true / false, a finite number, otherwise the
 * string as written. Text without a key before `=` throws {@link MergeConfigError}.
 */
export function parseParamSetting(text: string): [string, ScalarSetting] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new MergeConfigError(`expected key=value, got '${text}'`);
  const raw = text.slice(eq + 1);
  const n = Number(raw);
  const value: ScalarSetting =
    raw === "true" || raw === "false" ? raw === "true" : raw.trim() !== "" && Number.isFinite(n) ? n : raw;
  return [text.slice(0, eq), value];
}
