/**
 * A number the page shows, with where it comes from. The page writes `value`, `file`, `json`, `agg`
 * and `format` into data attributes of the element that shows it, so a test (or a curious reader) can
 * read the number back from the JSON file: `json` is a space-separated list of JSON pointers (RFC 6901;
 * a `*` segment stands for every element of an array; a pointer to an array selects its elements),
 * resolved in `file` and combined by `agg`.
 */
export type NumFormat =
  /** fraction shown as percent, one decimal (0.6062 → "60.6") */
  | "pct1"
  /** fraction difference shown as percentage points, two decimals (0.0123 → "1.23") */
  | "pp2"
  /** a value already in percent, two decimals */
  | "pct2"
  /** three decimals */
  | "fix3"
  /** an integer */
  | "int"
  /** as JSON writes it */
  | "raw"
  /** scientific, two decimals (1e-6 → "1.00e-6") */
  | "sci2";

/** How the values the pointers select become one number. */
export type NumAgg =
  /** exactly one value */
  | "one"
  | "mean"
  /** sample standard deviation (n − 1) of every selected value */
  | "std"
  /** each pointer's values averaged, then the sample standard deviation of those means */
  | "stdOfMeans"
  /** first half minus second half, pairwise, then the mean */
  | "meanOfDiffs"
  /** how many of the selected booleans are true */
  | "countTrue"
  /** how many values are selected */
  | "count";

export interface Num {
  readonly value: number;
  readonly format: NumFormat;
  /** File the number comes from; absent for constants of a formula the page plots. */
  readonly file?: string;
  readonly json?: string;
  readonly agg?: NumAgg;
}

export function formatNum(value: number, format: NumFormat): string {
  if (!Number.isFinite(value)) return "–";
  switch (format) {
    case "pct1":
      return (100 * value).toFixed(1);
    case "pp2":
      return (100 * value).toFixed(2);
    case "pct2":
      return value.toFixed(2);
    case "fix3":
      return value.toFixed(3);
    case "int":
      return String(Math.round(value));
    case "raw":
      return String(value);
    case "sci2":
      return value.toExponential(2).replace("e+", "e");
  }
}

/** Escapes one key for a JSON pointer (RFC 6901). */
export function pointerKey(key: string | number): string {
  return String(key).replaceAll("~", "~0").replaceAll("/", "~1");
}

export function pointer(...keys: (string | number)[]): string {
  return keys.map((k) => `/${k === "*" ? "*" : pointerKey(k)}`).join("");
}
