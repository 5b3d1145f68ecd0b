// A registered merge method as a plain document (what `x merge methods --json` prints).

import { AUX_FILES } from "./io/aux-files.js";
import type { AuxInput, MergeMethod, ParamSpec, ParamValue } from "./method.js";

/** One parameter of a method: its declaration with `default` null when there is none. */
export interface MethodParamDoc {
  readonly name: string;
  readonly scope: ParamSpec["scope"];
  readonly type: ParamSpec["type"];
  readonly default: ParamValue | null;
  readonly choices?: string[];
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
}

/** A merge method described as JSON-ready data. */
export interface MethodDoc {
  readonly name: string;
  readonly description: string;
  readonly base: MergeMethod["base"];
  readonly minModels: number;
  readonly maxModels?: number;
  readonly randomized: boolean;
  /** Per-model statistics files the method reads beside each model (fisher.safetensors, gram.safetensors). */
  readonly auxFiles: {
    readonly kind: AuxInput["kind"];
    readonly file: string;
    readonly required: AuxInput["required"];
  }[];
  readonly params: MethodParamDoc[];
}

/** The document of method `m`: name, description, base, model counts, statistics files read, parameters. */
export function describeMethod(m: MergeMethod): MethodDoc {
  return {
    name: m.name,
    description: m.description,
    base: m.base,
    minModels: m.minModels,
    ...(m.maxModels !== undefined ? { maxModels: m.maxModels } : {}),
    randomized: m.randomized,
    auxFiles: (m.auxInputs ?? [])
      .filter((a) => a.required !== "none")
      .map((a) => ({ kind: a.kind, file: AUX_FILES[a.kind], required: a.required })),
    params: m.params.map((p) => ({
      name: p.name,
      scope: p.scope,
      type: p.type,
      default: p.default ?? null,
      ...(p.choices ? { choices: [...p.choices] } : {}),
      ...(p.min !== undefined ? { min: p.min } : {}),
      ...(p.max !== undefined ? { max: p.max } : {}),
      description: p.description,
    })),
  };
}
