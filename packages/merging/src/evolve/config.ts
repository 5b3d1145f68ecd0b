/**
 * The `x evolve` configuration file (YAML), validated with errors naming the file and the field. Every key is
 * checked: an unknown key anywhere is an error with the nearest valid key suggested, and a key that the chosen
 * algorithm or merge method does not use is an error too (it would otherwise be silently ignored).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { type KeySchema, unknownKey } from "./keys.js";
import { FULL_WEIGHT_MERGES, MERGE_NAMES, type MergeName } from "./registry-merge.js";

export class EvolveConfigError extends Error {
  override readonly name = "EvolveConfigError";
}

export type EvolveAlgorithm = "evolver" | "cmaes";
export const ALGORITHMS: readonly EvolveAlgorithm[] = ["evolver", "cmaes"];

export interface EvolveMergeBlock {
  readonly method: MergeName;
  readonly lambda: number;
  readonly topK: number;
  readonly drop: number;
  readonly ratio: number;
  /** RegMean off-diagonal scaling α. */
  readonly alpha: number;
  /** Per population member: a safetensors file of `fisher.<tensor>` / `gram.<tensor>` statistics. */
  readonly stats: readonly string[] | null;
}

/** CMA-ES over the merge coefficients (mergekit-evolve's optimizer and genome; docs/evolve.md). */
export interface CmaesSettings {
  /** Evaluation budget (mergekit-evolve's --max-fevals). */
  readonly maxFevals: number;
  /** Initial step size (mergekit-evolve's --sigma0, 1/6). */
  readonly sigma0: number;
  /** Candidates per generation λ; null = 4 + floor(3 ln n). */
  readonly popsize: number | null;
  /** Layers per coefficient group; 0 = one group for the whole model. */
  readonly layerGranularity: number;
  /** Weights may go below 0 (else the search box starts at 0, reflecting like mergekit's abs()). */
  readonly allowNegativeWeights: boolean;
  /** Upper end of the search box of every weight. */
  readonly maxWeight: number;
  readonly restarts: "none" | "ipop" | "bipop";
  /** Start from uniform random weights in [0, 1) (seeded) instead of all ones. */
  readonly randomInit: boolean;
}

export interface EvolveConfig {
  readonly file: string;
  readonly algorithm: EvolveAlgorithm;
  /** Evolver's mode; CMA-ES always merges. */
  readonly mode: "standalone" | "merge";
  /** Absolute paths of the population's checkpoints (model directories or safetensors files). */
  readonly population: string[];
  /** θ_0 (needed by the task-vector merges TA / TIES / DARE / PCB); absolute path or null. */
  readonly base: string | null;
  readonly merge: EvolveMergeBlock | null;
  readonly f: number;
  readonly cr: number;
  readonly generations: number;
  readonly seed: number;
  readonly cmaes: CmaesSettings | null;
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
  algorithm: "evolver",
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
  maxFevals: 100,
  sigma0: 1 / 6,
  layerGranularity: 0,
  maxWeight: 2,
  restarts: "none",
} as const;

/** Every valid key, per block. */
export const CONFIG_KEYS: KeySchema = {
  "": [
    "algorithm",
    "mode",
    "population",
    "base",
    "merge",
    "f",
    "cr",
    "generations",
    "seed",
    "cmaes",
    "include",
    "exclude",
    "evaluator",
  ],
  merge: ["method", "lambda", "topK", "drop", "ratio", "alpha", "stats"],
  cmaes: [
    "max_fevals",
    "sigma0",
    "popsize",
    "layer_granularity",
    "allow_negative_weights",
    "max_weight",
    "restarts",
    "random_init",
  ],
  evaluator: ["command", "zoo"],
};

/** The merge keys each method reads (besides `method`). */
export const MERGE_KEYS_OF: Readonly<Record<MergeName, readonly (keyof EvolveMergeBlock)[]>> = {
  mean: [],
  ta: ["lambda"],
  ties: ["lambda", "topK"],
  dare: ["lambda", "drop"],
  pcb: ["lambda", "ratio"],
  fisher: ["stats"],
  regmean: ["stats", "alpha"],
};

export const EXAMPLE_CONFIG = `# x evolve example (every key is checked: a typo is an error naming the nearest valid key)
algorithm: evolver       # evolver (differential evolution over the weights) or cmaes (over merge weights)
mode: merge              # evolver only: standalone (Evolver mode A) or merge (mode B)
population: [experts/a, experts/b, experts/c]
base: base-model         # θ0 for task vectors (TA / TIES / DARE / PCB)
merge: { method: ta, lambda: 0.5 }
# merge: { method: fisher, stats: [stats/a.safetensors, stats/b.safetensors, stats/c.safetensors] }
#   one statistics file per population member, in the same order: tensors "fisher.<name>" (diagonal
#   Fisher, the evolved tensor's shape) for fisher; "gram.<name>" ([in, in] input Gram matrix of a 2-D
#   weight [out, in]) for regmean (alpha: 0.1 scales off-diagonals; tensors without a Gram are averaged)
f: 0.5                   # evolver only
cr: 0.5                  # evolver only
generations: 15          # evolver only
seed: 0
# algorithm: cmaes searches one weight per model (per group of layers) of the merge above, as
# mergekit-evolve does; it starts from the merge as configured (all weights 1):
# cmaes: { max_fevals: 100, sigma0: 0.1667, layer_granularity: 0, max_weight: 2 }
evaluator:
  command: [python, score_dev.py, "{model}"]   # prints the dev score (higher is better)
  # or the built-in zoo evaluator (mean validation accuracy over the zoo's tasks, expert heads):
  # zoo: zoo-cache/<hash>       with  include: "^backbone\\\\."  to evolve the backbone only
`;

export function loadEvolveConfig(file: string): EvolveConfig {
  const path = resolve(file);
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new EvolveConfigError(`${path}: ${(e as Error).message}`);
  }
  return parseEvolveConfig(raw, path);
}

/** Validates a parsed config (`path` names it in errors; relative paths resolve from its directory). */
export function parseEvolveConfig(raw: unknown, path: string): EvolveConfig {
  const fail = (field: string, msg: string): never => {
    throw new EvolveConfigError(`${path}: ${field}: ${msg}`);
  };
  const mapping = (v: unknown, field: string): Record<string, unknown> => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return fail(field, "expected a mapping");
    return v as Record<string, unknown>;
  };
  const checkKeys = (v: Record<string, unknown>, block: string): void => {
    const u = unknownKey(v, block, CONFIG_KEYS);
    if (u) fail(u.path, `unknown key (${u.hint})`);
  };
  const c = mapping(raw, "(top level)");
  checkKeys(c, "");
  const dir = dirname(path);

  const algorithm = c.algorithm ?? EVOLVE_DEFAULTS.algorithm;
  if (!ALGORITHMS.includes(algorithm as EvolveAlgorithm))
    fail("algorithm", `must be one of ${ALGORITHMS.join(", ")}, got ${JSON.stringify(algorithm)}`);
  const cmaesRun = algorithm === "cmaes";
  const onlyFor = (keys: readonly string[], allowed: boolean, what: string): void => {
    for (const k of keys) if (!allowed && c[k] !== undefined) fail(k, `applies to ${what} only`);
  };
  onlyFor(["f", "cr", "generations", "mode"], !cmaesRun, "algorithm: evolver");
  onlyFor(["cmaes"], cmaesRun, "algorithm: cmaes");

  const mode = cmaesRun ? "merge" : (c.mode ?? EVOLVE_DEFAULTS.mode);
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
  const bool = (field: string, v: unknown): boolean => {
    if (v === undefined) return false;
    if (typeof v !== "boolean") fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  };

  let merge: EvolveMergeBlock | null = null;
  if (mode === "merge") {
    const m = c.merge === undefined ? {} : mapping(c.merge, "merge");
    checkKeys(m, "merge");
    const method = (m.method ?? EVOLVE_DEFAULTS.mergeMethod) as MergeName;
    if (!MERGE_NAMES.includes(method))
      fail("merge.method", `must be one of ${MERGE_NAMES.join(", ")}, got ${JSON.stringify(method)}`);
    for (const k of Object.keys(m)) {
      if (k !== "method" && !MERGE_KEYS_OF[method].includes(k as keyof EvolveMergeBlock)) {
        const users = MERGE_NAMES.filter((n) => MERGE_KEYS_OF[n].includes(k as keyof EvolveMergeBlock));
        fail(`merge.${k}`, `merge method ${method} does not use it (used by ${users.join(", ")})`);
      }
    }
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
    }
    merge = {
      method,
      lambda: num("merge.lambda", m.lambda, EVOLVE_DEFAULTS.lambda, 0, 100),
      topK: num("merge.topK", m.topK, EVOLVE_DEFAULTS.topK, 0, 1),
      drop: num("merge.drop", m.drop, EVOLVE_DEFAULTS.drop, 0, 0.999),
      ratio: num("merge.ratio", m.ratio, EVOLVE_DEFAULTS.ratio, 1e-6, 1),
      alpha: num("merge.alpha", m.alpha, EVOLVE_DEFAULTS.alpha, 0, 1),
      stats,
    };
  } else if (c.merge !== undefined) fail("merge", "applies to mode: merge only (this run is standalone)");

  let cmaes: CmaesSettings | null = null;
  if (cmaesRun) {
    const s = c.cmaes === undefined ? {} : mapping(c.cmaes, "cmaes");
    checkKeys(s, "cmaes");
    const restarts = s.restarts ?? EVOLVE_DEFAULTS.restarts;
    if (restarts !== "none" && restarts !== "ipop" && restarts !== "bipop")
      fail("cmaes.restarts", `must be none, ipop or bipop, got ${JSON.stringify(restarts)}`);
    cmaes = {
      maxFevals: num("cmaes.max_fevals", s.max_fevals, EVOLVE_DEFAULTS.maxFevals, 1, 1e9, true),
      sigma0: num("cmaes.sigma0", s.sigma0, EVOLVE_DEFAULTS.sigma0, 1e-12, 1e6),
      popsize: s.popsize === undefined ? null : num("cmaes.popsize", s.popsize, 0, 2, 1e6, true),
      layerGranularity: num(
        "cmaes.layer_granularity",
        s.layer_granularity,
        EVOLVE_DEFAULTS.layerGranularity,
        0,
        1e6,
        true,
      ),
      allowNegativeWeights: bool("cmaes.allow_negative_weights", s.allow_negative_weights),
      maxWeight: num("cmaes.max_weight", s.max_weight, EVOLVE_DEFAULTS.maxWeight, 1e-6, 1e6),
      restarts: restarts as CmaesSettings["restarts"],
      randomInit: bool("cmaes.random_init", s.random_init),
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
  if (c.evaluator === undefined) fail("evaluator", "missing (evaluator: { command: [...] })");
  const ev = mapping(c.evaluator, "evaluator");
  checkKeys(ev, "evaluator");
  if ((ev.zoo === undefined) === (ev.command === undefined))
    fail("evaluator", "give exactly one of command or zoo");
  let command: string[] | null = null;
  let zoo: string | null = null;
  if (ev.zoo !== undefined) {
    if (typeof ev.zoo !== "string")
      fail("evaluator.zoo", "must be the path of a zoo directory (x zoo build)");
    zoo = resolve(dir, ev.zoo as string);
  } else {
    const cmd = ev.command;
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
    algorithm: algorithm as EvolveAlgorithm,
    mode: mode as EvolveConfig["mode"],
    population,
    base,
    merge,
    f: num("f", c.f, EVOLVE_DEFAULTS.f, 0, 1),
    cr: num("cr", c.cr, EVOLVE_DEFAULTS.cr, 0, 1),
    generations: num("generations", c.generations, EVOLVE_DEFAULTS.generations, 0, 1e6, true),
    seed: num("seed", c.seed, EVOLVE_DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER, true),
    cmaes,
    include: regex("include"),
    exclude: regex("exclude"),
    command,
    zoo,
    cwd: dir,
  };
}
