// The table of architecture definitions: the built-in ones (data/architectures/*.json, shipped with the
// package) and the user's own files, which come first and so replace a built-in of the same class name.
// A model is matched by its config.json `architectures` class name, and by `model_type` when several
// definitions share the name — as mergekit does.

import { readdirSync, readFileSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ArchitectureDefinition, ArchitectureError, parseArchitectureDefinition } from "./definition.js";

/** Environment variable naming extra architecture files or directories (separated like PATH). */
export const ARCHITECTURES_ENV = "X_MERGE_ARCHITECTURES";

const BUILTIN_DIR = fileURLToPath(new URL("../../data/architectures/", import.meta.url));

function parseFile(text: string, path: string): ArchitectureDefinition {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ArchitectureError(`architecture definition ${path}: invalid JSON (${(err as Error).message})`);
  }
  return parseArchitectureDefinition(json, path);
}

let builtins: readonly ArchitectureDefinition[] | undefined;

/** The built-in definitions (read once). */
export function builtinArchitectures(): readonly ArchitectureDefinition[] {
  if (!builtins) {
    builtins = readdirSync(BUILTIN_DIR)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => parseFile(readFileSync(join(BUILTIN_DIR, f), "utf8"), `built-in ${f}`));
  }
  return builtins;
}

/** What config.json says about a model's class (the fields matching uses). */
export interface ModelClass {
  readonly architectures?: unknown;
  readonly model_type?: unknown;
}

const classNames = (cfg: ModelClass): string[] =>
  Array.isArray(cfg.architectures) ? cfg.architectures.filter((a): a is string => typeof a === "string") : [];

export class ArchitectureTable {
  constructor(
    /** The user's definitions first, then the built-ins. */
    readonly definitions: readonly ArchitectureDefinition[],
  ) {}

  /** The built-ins plus definitions read from `paths` (JSON files, or directories of them). */
  static async load(paths: readonly string[] = [], baseDir?: string): Promise<ArchitectureTable> {
    const user: ArchitectureDefinition[] = [];
    for (const p of paths) {
      const abs = resolve(baseDir ?? process.cwd(), p);
      let files: string[];
      try {
        files = (await stat(abs)).isDirectory()
          ? (await readdir(abs))
              .filter((f) => f.endsWith(".json"))
              .sort()
              .map((f) => join(abs, f))
          : [abs];
      } catch {
        throw new ArchitectureError(`architecture definition ${p} not found at ${abs}`);
      }
      for (const f of files) user.push(parseFile(await readFile(f, "utf8"), f));
    }
    return new ArchitectureTable([...user, ...builtinArchitectures()]);
  }

  /** The definition of a model with this config.json, or undefined. */
  find(config: ModelClass): ArchitectureDefinition | undefined {
    for (const name of classNames(config)) {
      const candidates = this.definitions.filter((d) => d.architectures.includes(name));
      if (candidates.length === 0) continue;
      return candidates.find((d) => d.modelType === config.model_type) ?? candidates[0];
    }
    return undefined;
  }

  /** The definition of `model` (its config.json `config`), or an ArchitectureError saying how to add one. */
  require(config: ModelClass | undefined, model: string): ArchitectureDefinition {
    const found = config ? this.find(config) : undefined;
    if (found) return found;
    const what = config
      ? `config.json has architectures ${JSON.stringify(classNames(config))}` +
        (typeof config.model_type === "string" ? ` and model_type '${config.model_type}'` : "")
      : "it has no config.json";
    throw new ArchitectureError(
      `model ${model}: no architecture definition matches (${what}); slices and modules place tensors by ` +
        "layer and need one. Write it as a JSON file in mergekit's architecture format (pre_weights, " +
        `layer_templates with $\{layer_index}, post_weights, num_layers_config_key; see @x/merging's ` +
        `docs/architectures.md) and name it in the config (architecture_files: [./my-arch.json]), in the ` +
        `architectureFiles option, or in ${ARCHITECTURES_ENV}. Known classes: ${this.knownClasses().join(", ")}`,
    );
  }

  /** Every class name some definition matches. */
  knownClasses(): string[] {
    return [...new Set(this.definitions.flatMap((d) => d.architectures))].sort();
  }
}

/** Architecture paths named by the environment (X_MERGE_ARCHITECTURES), if any. */
export function architecturePathsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[ARCHITECTURES_ENV] ?? "").split(delimiter).filter((p) => p !== "");
}
