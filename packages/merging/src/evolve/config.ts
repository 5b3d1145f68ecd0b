/** The `x evolve` configuration file (YAML), validated with errors naming the file and the field. */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { FULL_WEIGHT_MERGES, MERGE_NAMES, type MergeName } from "./registry-merge.js";

export class EvolveConfigError extends Error {
  override readonly name = "EvolveConfigError";
}

export interface EvolveConfig {
  readonly file: string;
  readonly mode: "standalone" | "merge";
  /** Absolute paths of the population's checkpoints (model directories or safetensors files). */
  readonly population: string[];
  /** θ_0 (needed by the task-vector merges TA / TIES / DARE / PCB); absolute path or null. */
  readonly base: string | null;
  readonly merge: {
    method: MergeName;
    lambda: number;
    topK: number;
    drop: number;
    ratio: number;
    /** RegMean off-diagonal scaling α. */
    alpha: number;
    /** Per population member: a safetensors file of `fisher.<tensor>` / `gram.<tensor>` statistics. */
    stats: string[] | null;
  } | null;
  readonly f: number;
  readonly cr: number;
  readonly generations: number;
  readonly seed: number;
  /** Only tensors whose name matches are evolved (default: every float tensor). */
  readonly include: RegExp | null;
  readonly exclude: RegExp | null;
  /** External evaluator: argv with `{model}` replaced by the candidate's directory; prints a score. */
  readonly command: string[] | null;
  /** Built-in evaluator: mean validation accuracy over the tasks of this zoo directory (`x zoo build`). */
  readonly zoo: string | null;
  /** Evaluator working directory (the config file's directory). */
  readonly cwd: string;
}

/** Defaults of the optional config keys (the help text and the docs read them from here). */
export const EVOLVE_DEFAULTS = {
  mode: "standalone",
  mergeMethod: "mean",
  lambda: 1,
  topK: 0.2,
  drop: 0.9,
  ratio: 0.1,
  alpha: 0.1,
  f: 0.5,
  cr: 0.5,
  generations: 15,
  seed: 0,
} as const;

export const EXAMPLE_CONFIG = `# x evolve example
mode: merge              # standalone (Evolver mode A) or merge (mode B)
population: [experts/a, experts/b, experts/c]
base: base-model         # θ0 for task vectors (TA / TIES / DARE / PCB)
merge: { method: ta, lambda: 0.5 }
# merge: { method: fisher, stats: [stats/a.safetensors, stats/b.safetensors, stats/c.safetensors] }
#   one statistics file per population member, in the same order: tensors "fisher.<name>" (diagonal
#   Fisher, the evolved tensor's shape) for fisher; "gram.<name>" ([in, in] input Gram matrix of a 2-D
#   weight [out, in]) for regmean (alpha: 0.1 scales off-diagonals; tensors without a Gram are averaged)
f: 0.5
cr: 0.5
generations: 15
seed: 0
evaluator:
  command: [python, score_dev.py, "{model}"]   # prints the dev score (higher is better)
  # or the built-in zoo evaluator (mean validation accuracy over the zoo's tasks, expert heads):
  # zoo: zoo-cache/<hash>       with  include: "^backbone\\."  to evolve the backbone only
`;

export function loadEvolveConfig(file: string): EvolveConfig {
  const path = resolve(file);
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new EvolveConfigError(`${path}: ${(e as Error).message}`);
  }
  const fail = (field: string, msg: string): never => {
    throw new EvolveConfigError(`${path}: ${field}: ${msg}`);
  };
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    fail("(top level)", "expected a mapping");
  const c = raw as Record<string, unknown>;
  const known = new Set([
    "mode",
    "population",
    "base",
    "merge",
    "f",
    "cr",
    "generations",
    "seed",
    "include",
    "exclude",
    "evaluator",
  ]);
  for (const k of Object.keys(c))
    if (!known.has(k)) fail(k, `unknown field (known: ${[...known].join(", ")})`);
  const dir = dirname(path);
  const mode = c.mode ?? EVOLVE_DEFAULTS.mode;
  if (mode !== "standalone" && mode !== "merge")
    fail("mode", `must be standalone or merge, got ${JSON.stringify(mode)}`);
  if (
    !Array.isArray(c.population) ||
    c.population.length < 2 ||
    c.population.some((p) => typeof p !== "string")
  ) {
    fail("population", "must be a list of at least 2 model paths");
  }
  const population = (c.population as string[]).map((p) => resolve(dir, p));
  const base =
    c.base === undefined || c.base === null
      ? null
      : typeof c.base === "string"
        ? resolve(dir, c.base)
        : fail("base", "must be a path");
  const num = (field: string, v: unknown, dflt: number, lo: number, hi: number, int = false): number => {
    const x = v === undefined ? dflt : v;
    if (typeof x !== "number" || !Number.isFinite(x) || x < lo || x > hi || (int && !Number.isInteger(x))) {
      fail(field, `must be ${int ? "an integer" : "a number"} in [${lo}, ${hi}], got ${JSON.stringify(x)}`);
    }
    return x as number;
  };
  let merge: EvolveConfig["merge"] = null;
  if (mode === "merge") {
    const m = (c.merge ?? {}) as Record<string, unknown>;
    const method = (m.method ?? EVOLVE_DEFAULTS.mergeMethod) as MergeName;
    if (!MERGE_NAMES.includes(method))
      fail("merge.method", `must be one of ${MERGE_NAMES.join(", ")}, got ${JSON.stringify(method)}`);
    if (!FULL_WEIGHT_MERGES.has(method) && base === null)
      fail("base", `merge method ${method} needs a base model (task vectors)`);
    let stats: string[] | null = null;
    if (method === "fisher" || method === "regmean") {
      if (!Array.isArray(m.stats) || m.stats.some((p) => typeof p !== "string"))
        fail(
          "merge.stats",
          `merge method ${method} needs a list of statistics files, one per population member`,
        );
      stats = (m.stats as string[]).map((p) => resolve(dir, p));
      if (stats.length !== population.length)
        fail("merge.stats", `${stats.length} statistics files for ${population.length} population members`);
    } else if (m.stats !== undefined) fail("merge.stats", `only fisher and regmean use statistics`);
    merge = {
      method,
      lambda: num("merge.lambda", m.lambda, EVOLVE_DEFAULTS.lambda, 0, 100),
      topK: num("merge.topK", m.topK, EVOLVE_DEFAULTS.topK, 0, 1),
      drop: num("merge.drop", m.drop, EVOLVE_DEFAULTS.drop, 0, 0.999),
      ratio: num("merge.ratio", m.ratio, EVOLVE_DEFAULTS.ratio, 1e-6, 1),
      alpha: num("merge.alpha", m.alpha, EVOLVE_DEFAULTS.alpha, 0, 1),
      stats,
    };
  }
  const regex = (field: string): RegExp | null => {
    const v = c[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== "string") return fail(field, "must be a regular expression string");
    try {
      return new RegExp(v);
    } catch (e) {
      return fail(field, (e as Error).message);
    }
  };
  const ev = c.evaluator as Record<string, unknown> | undefined;
  if (!ev || typeof ev !== "object") fail("evaluator", "missing (evaluator: { command: [...] })");
  if ((ev!.zoo === undefined) === (ev!.command === undefined))
    fail("evaluator", "give exactly one of command or zoo");
  let command: string[] | null = null;
  let zoo: string | null = null;
  if (ev!.zoo !== undefined) {
    if (typeof ev!.zoo !== "string")
      fail("evaluator.zoo", "must be the path of a zoo directory (x zoo build)");
    zoo = resolve(dir, ev!.zoo as string);
  } else {
    const cmd = ev!.command;
    const argv = typeof cmd === "string" ? ["sh", "-c", cmd] : cmd;
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string")) {
      fail("evaluator.command", "must be a string (run by sh -c) or a non-empty list of strings");
    }
    if (!(argv as string[]).some((a) => a.includes("{model}")))
      fail("evaluator.command", "must contain {model}");
    command = argv as string[];
  }
  return {
    file: path,
    mode: mode as EvolveConfig["mode"],
    population,
    base,
    merge,
    f: num("f", c.f, EVOLVE_DEFAULTS.f, 0, 1),
    cr: num("cr", c.cr, EVOLVE_DEFAULTS.cr, 0, 1),
    generations: num("generations", c.generations, EVOLVE_DEFAULTS.generations, 0, 1e6, true),
    seed: num("seed", c.seed, EVOLVE_DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER, true),
    include: regex("include"),
    exclude: regex("exclude"),
    command,
    zoo,
    cwd: dir,
  };
}
