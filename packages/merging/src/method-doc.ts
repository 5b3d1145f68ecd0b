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

/** A parameter's allowed values: its choices, `[min, max]` when bounded, else empty. */
function paramRange(p: MethodParamDoc): string {
  if (p.choices) return p.choices.join("|");
  if (p.min !== undefined || p.max !== undefined) return `[${p.min ?? "-inf"}, ${p.max ?? "inf"}]`;
  return "";
}

/**
 * Methods as text (what `x merge methods` prints): per method a head line (description, base, model count,
 * seeded, statistics files read) and a table of its parameters (name, scope, type, default, range,
 * description), methods separated by a blank line.
 */
export function formatMethodDocs(methods: readonly MethodDoc[]): string {
  const header = ["name", "scope", "type", "default", "range", "description"];
  return methods
    .map((m) => {
      const aux = m.auxFiles.map(
        (a) => `; ${a.required === "every" ? "needs" : "reads"} ${a.file} beside each model (x zoo stats)`,
      );
      const head = `${m.name}: ${m.description} (base ${m.base}, ${m.minModels}+ models${m.randomized ? ", seeded" : ""}${aux.join("")})`;
      if (m.params.length === 0) return `${head}\n  (no parameters)`;
      const rows = m.params.map((p) => [
        p.name,
        p.scope,
        p.type,
        JSON.stringify(p.default),
        paramRange(p),
        p.description,
      ]);
      const widths = [0, 1, 2, 3, 4].map((i) =>
        Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)),
      );
      const line = (r: string[]) => `  ${r.map((c, i) => (i < 5 ? c.padEnd(widths[i]!) : c)).join("  ")}`;
      return [head, line(header), ...rows.map(line)].join("\n");
    })
    .join("\n\n");
}
