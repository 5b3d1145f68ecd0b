import { createHash } from "node:crypto";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { EvolutionConfigError } from "./errors.js";
import { canonicalJson } from "./fingerprint.js";
import type { EvalInfo } from "./fitness.js";

/**
 * Names the code that scores a candidate, so that a worker on another machine can load the same evaluator
 * as a local run: an ES module (a package specifier such as `@acme/evals/dev-score`, an absolute path or a
 * `file:` URL), the name of an exported factory, and JSON options for it. Nothing but this description
 * travels; the module and the data it reads must be installed on every machine that evaluates.
 */
export interface EvaluatorSpec {
  readonly module: string;
  /** Export name of the factory (default "default"). */
  readonly export?: string;
  /** JSON options passed to the factory (paths to data, batch sizes, ...). */
  readonly options?: unknown;
}

/** What a factory learns about where it runs. */
export interface EvaluatorContext {
  /** The distributed run id, when evaluating for a queue. */
  readonly runId?: string;
  /** The worker's name (host:pid), when evaluating for a queue. */
  readonly workerId?: string;
}

/** Scores one genome; higher is better unless the optimizer minimizes. Must be deterministic. */
export type GenomeFitness = (genome: Float32Array | Float64Array, info: EvalInfo) => number | Promise<number>;

/** A loaded evaluator. */
export interface Evaluator {
  readonly fitness: GenomeFitness;
  close?(): void | Promise<void>;
}

/**
 * The factory an evaluator module exports: called once per process (and run) with the spec's options;
 * returns the fitness function, or an object with `fitness` and an optional `close`.
 */
export type EvaluatorFactory = (
  options: unknown,
  context: EvaluatorContext,
) => GenomeFitness | Evaluator | Promise<GenomeFitness | Evaluator>;

/** How a module specifier becomes a module; pass `(s) => import(s)` to resolve from your own package. */
export type ImportModule = (specifier: string) => Promise<Record<string, unknown>>;

const defaultImport: ImportModule = (s) => import(s);

/** Check the shape of a spec; relative paths are refused (they mean different files on different machines). */
export function validateEvaluatorSpec(spec: EvaluatorSpec): void {
  if (spec === null || typeof spec !== "object" || typeof spec.module !== "string" || spec.module === "") {
    throw new EvolutionConfigError(
      "evaluator spec needs a module (package specifier, absolute path or file: URL)",
    );
  }
  if (spec.module.startsWith("./") || spec.module.startsWith("../")) {
    throw new EvolutionConfigError(
      `evaluator module ${spec.module} is a relative path; give an absolute path or a package name`,
    );
  }
  if (spec.export !== undefined && (typeof spec.export !== "string" || spec.export === "")) {
    throw new EvolutionConfigError(`evaluator export must be a non-empty string, got ${String(spec.export)}`);
  }
  if (spec.options !== undefined) {
    const text = canonicalJson(spec.options);
    if (text === undefined) throw new EvolutionConfigError("evaluator options must be JSON");
  }
}

/** Stable short hash of a spec (module, export, options). */
export function evaluatorSpecHash(spec: EvaluatorSpec): string {
  return createHash("sha256")
    .update(
      canonicalJson({ module: spec.module, export: spec.export ?? "default", options: spec.options ?? null }),
    )
    .digest("hex")
    .slice(0, 16);
}

/** Resolve the spec's module: absolute paths become file: URLs; package specifiers go through `importModule`. */
export function moduleSpecifier(spec: EvaluatorSpec): string {
  return isAbsolute(spec.module) ? pathToFileURL(spec.module).href : spec.module;
}

/**
 * Load an evaluator from its spec. A local run and a queue worker call this with the same spec, so they run
 * the same code with the same options.
 */
export async function loadEvaluator(
  spec: EvaluatorSpec,
  o: { importModule?: ImportModule; context?: EvaluatorContext } = {},
): Promise<Evaluator> {
  validateEvaluatorSpec(spec);
  const specifier = moduleSpecifier(spec);
  const exportName = spec.export ?? "default";
  let mod: Record<string, unknown>;
  try {
    mod = await (o.importModule ?? defaultImport)(specifier);
  } catch (e) {
    throw new EvolutionConfigError(`cannot load evaluator module ${spec.module}: ${(e as Error).message}`);
  }
  const factory = mod[exportName];
  if (typeof factory !== "function") {
    throw new EvolutionConfigError(`evaluator module ${spec.module} has no function export '${exportName}'`);
  }
  const made = await (factory as EvaluatorFactory)(spec.options ?? null, o.context ?? {});
  if (typeof made === "function") return { fitness: made };
  if (made && typeof made === "object" && typeof made.fitness === "function") return made;
  throw new EvolutionConfigError(
    `evaluator factory ${spec.module}#${exportName} returned neither a function nor { fitness }`,
  );
}
