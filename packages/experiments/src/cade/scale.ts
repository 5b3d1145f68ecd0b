import { ExperimentOptionError } from "../merging-8task/index.js";
import { type CadeScale, DEFAULT_CADE_SCALE } from "./experiment.js";

const ENGINES = ["auto", "simd", "float64"] as const;

function scaleNumber(s: string, integer: boolean): number {
  const n = Number(s);
  if (
    s.trim() === "" ||
    !Number.isFinite(n) ||
    n < 0 ||
    (integer && !(Number.isInteger(n) && n <= Number.MAX_SAFE_INTEGER))
  )
    throw new ExperimentOptionError(
      integer
        ? `expected an integer in [0, ${Number.MAX_SAFE_INTEGER}], got '${s}'`
        : `expected a number in [0, Infinity], got '${s}'`,
    );
  return n;
}

/**
 * `scale` with one `KEY=VALUE` setting applied (`x bench cade --set`): KEY a field of {@link CadeScale}; a number,
 * a comma list (empty or `none` = no values; seeds are integers, f0Sweep numbers >= 0), or the engine (auto, simd,
 * float64). A bad setting throws {@link ExperimentOptionError}.
 */
export function setCadeScale(scale: Partial<CadeScale>, setting: string): Partial<CadeScale> {
  const at = setting.indexOf("=");
  const key = setting.slice(0, Math.max(0, at)) as keyof CadeScale;
  const value = setting.slice(at + 1).trim();
  const d = DEFAULT_CADE_SCALE;
  if (at < 1 || !(key in d))
    throw new ExperimentOptionError(
      `expected KEY=VALUE with KEY one of ${Object.keys(d).join(", ")}, got '${setting}'`,
    );
  const current = d[key];
  let parsed: unknown;
  if (Array.isArray(current))
    parsed =
      value === "" || value === "none"
        ? []
        : value.split(",").map((s) => scaleNumber(s.trim(), key !== "f0Sweep"));
  else if (typeof current === "number") parsed = scaleNumber(value, false);
  else if ((ENGINES as readonly string[]).includes(value)) parsed = value;
  else throw new ExperimentOptionError(`${key} is auto, simd or float64, got '${value}'`);
  return { ...scale, [key]: parsed };
}

/** The scale as one line, `key value` pairs (lists comma-separated, `none` when empty): for help texts. */
export function formatCadeScale(scale: CadeScale = DEFAULT_CADE_SCALE): string {
  return Object.entries(scale)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(",") || "none" : v}`)
    .join(", ");
}
