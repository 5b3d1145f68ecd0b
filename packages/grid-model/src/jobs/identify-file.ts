// `x grid identify` as a library call: a meter file → an identified model → the model file and the feeder
// exports, and the summary of what was written.

import { writeFileAtomic } from "@x/tensor-core";
import { conductorsPu, selectConductors } from "../conductors/library.js";
import type { Feeder } from "../feeder.js";
import { writeGridModelFile } from "../identify/model-file.js";
import { type GridModel, type IdentifyProgress, identifyGrid } from "../identify/pipeline.js";
import type { TopologyMethod } from "../identify/topology.js";
import { feederToMatpower, feederToOpenDss, modelToFeeder, unidentifiedBranches } from "../io/export.js";
import { feederToJson } from "../io/feeder-json.js";
import { loadFeeder } from "../io/load.js";
import type { LongFormatOptions } from "../io/long-format.js";
import { detectMeterFormat, type MeterFormat, readMeterData, readMeterMap } from "../io/meter-file.js";
import { type IdentificationSummary, identificationSummary } from "../reports.js";
import { createLpSolver, type SolverName } from "../solvers/index.js";

/**
 * Options of the long-format reader given for a file that is read as the wide CSV (which has no use for them).
 * `options` names them (IdentifyMeterFileOptions keys, `long.` ones prefixed).
 */
export class MeterFormatOptionsError extends Error {
  override readonly name = "MeterFormatOptionsError";
  constructor(
    readonly file: string,
    readonly options: readonly string[],
  ) {
    super(
      `${options.join(", ")} ${options.length > 1 ? "apply" : "applies"} to the long format only; ${file} is read ` +
        "as the wide x-grid-smartmeter CSV",
    );
  }
}

/**
 * An export of a model with branches that never carried flow (no identified impedance) and no placeholder
 * impedance for them; raised before anything is written. `branches` are "from-to".
 */
export class UnidentifiedExportError extends Error {
  override readonly name = "UnidentifiedExportError";
  constructor(readonly branches: readonly string[]) {
    super(
      `nothing written: ${branches.length} branch(es) never carried flow, so their impedance is not identified ` +
        `(${branches.join(", ")}), and an exported feeder needs one; give unidentifiedImpedance { rPu, xPu } to ` +
        "export them with that placeholder, or export nothing",
    );
  }
}

/** The long-format reader's settings that override a file's header. */
export type LongReadOptions = Pick<
  LongFormatOptions,
  "units" | "voltage" | "baseKvLl" | "baseMva" | "root" | "intervalMinutes" | "label"
>;

const LONG_KEYS = ["units", "voltage", "baseKvLl", "baseMva", "root", "intervalMinutes", "label"] as const;

export interface IdentifyMeterFileOptions {
  /** The model JSON to write (atomically). */
  readonly out: string;
  /** "auto" (default) detects the format from the file's first lines. */
  readonly format?: MeterFormat | "auto";
  /** Leave out bad rows (listed in the summary) instead of failing on the first. */
  readonly skipBadRows?: boolean;
  /** Long format: settings that override the header. */
  readonly long?: LongReadOptions;
  /** Long format: the feeder whose bus names the meters must match (a name or file for loadFeeder, or a Feeder). */
  readonly busesFrom?: string | Feeder;
  /** Long format: a meter-map file ("meter,bus" lines). */
  readonly meterMap?: string;
  /** Impedance fit (default "lad"). */
  readonly method?: "lad" | "ls" | "joint";
  /** Topology read-out (default: identifyGrid's). */
  readonly topology?: TopologyMethod;
  readonly hiddenJunctions?: boolean;
  /** Fit conductor types and lengths from the conductor library (of `libraryFamily`, default "ieee"). */
  readonly library?: boolean;
  readonly libraryFamily?: "ieee" | "pandapower" | "all";
  /** LP solver of the LAD fits (default "highs"). */
  readonly solver?: SolverName;
  /** Also write the identified feeder (tree, impedances, mean measured loads) to these files. */
  readonly exports?: { readonly matpower?: string; readonly dss?: string; readonly feederJson?: string };
  /** Placeholder impedance (pu) the exports give branches that never carried flow. */
  readonly unidentifiedImpedance?: { readonly rPu: number; readonly xPu: number };
}

/** What `identifyMeterFile` wrote, as `x grid identify --json` prints it. */
export interface MeterFileIdentificationSummary extends IdentificationSummary {
  readonly input: { readonly file: string; readonly format: MeterFormat };
  /** With skipBadRows: how many rows were left out. */
  readonly skippedRows?: number;
}

export interface IdentifyMeterFileHooks {
  /** identifyGrid's progress, with the feeder id. */
  readonly onProgress?: (p: IdentifyProgress & { readonly feeder: string }) => void;
  /** After the identification, before the exports are decided and anything is written. */
  readonly onIdentified?: (model: GridModel) => void;
}

/**
 * Identifies a feeder from a meter file (wide or long format) and writes the model JSON, plus the exports. The
 * exports are decided before anything is written: long-format settings for a wide file are a
 * MeterFormatOptionsError, flow-free branches without `unidentifiedImpedance` an UnidentifiedExportError, and
 * either leaves every file as it was.
 */
export async function identifyMeterFile(
  csv: string,
  o: IdentifyMeterFileOptions,
  hooks: IdentifyMeterFileHooks = {},
): Promise<MeterFileIdentificationSummary> {
  const long = o.long ?? {};
  const format = !o.format || o.format === "auto" ? await detectMeterFormat(csv) : o.format;
  if (format === "wide") {
    const longOnly = [
      ...LONG_KEYS.filter((k) => long[k] !== undefined).map((k) => `long.${k}`),
      ...(o.busesFrom !== undefined ? ["busesFrom"] : []),
      ...(o.meterMap !== undefined ? ["meterMap"] : []),
    ];
    if (longOnly.length) throw new MeterFormatOptionsError(csv, longOnly);
  }
  const feeder = !o.busesFrom
    ? undefined
    : typeof o.busesFrom === "string"
      ? await loadFeeder(o.busesFrom)
      : o.busesFrom;
  let { data } = await readMeterData(csv, {
    format,
    ...(o.skipBadRows ? { skipBadRows: true } : {}),
    long: {
      // the settings given (an empty or zero value counts as not given: the header's applies)
      ...(Object.fromEntries(LONG_KEYS.flatMap((k) => (long[k] ? [[k, long[k]]] : []))) as LongReadOptions),
      ...(feeder ? { buses: feeder.buses.map((b) => b.name) } : {}),
      ...(o.meterMap ? { meterMap: await readMeterMap(o.meterMap) } : {}),
    },
  });
  if (feeder && data.feederId === "imported") data = { ...data, feederId: feeder.id };
  const zBaseOhm = (data.baseKvLl * data.baseKvLl) / data.baseMva;
  const method = o.method ?? "lad";
  const familyName = o.libraryFamily ?? "ieee";
  const family = familyName === "all" ? {} : { family: familyName };
  const library = o.library ? conductorsPu({ zBaseOhm }, selectConductors(family)) : undefined;
  const solver = method === "lad" && !library ? await createLpSolver(o.solver ?? "highs") : undefined;
  const model = identifyGrid(data, {
    method,
    ...(o.topology ? { topology: { method: o.topology } } : {}),
    ...(o.hiddenJunctions ? { hiddenJunctions: true } : {}),
    ...(solver ? { solver } : {}),
    ...(library ? { library } : {}),
    zBaseOhm,
    onProgress: (p) => hooks.onProgress?.({ ...p, feeder: data.feederId }),
  });
  hooks.onIdentified?.(model);
  // The exports are decided before anything is written: a flow-free branch without a placeholder fails here.
  const to = o.exports ?? {};
  const exports: { path: string; text: string }[] = [];
  const flowFree = unidentifiedBranches(model);
  if (to.matpower || to.dss || to.feederJson) {
    if (flowFree.length && !o.unidentifiedImpedance) throw new UnidentifiedExportError(flowFree);
    const identified = modelToFeeder(model, {
      id: `${data.feederId}-identified`,
      baseKvLl: data.baseKvLl,
      baseMva: data.baseMva,
      loadsFrom: data,
      ...(o.unidentifiedImpedance ? { unidentified: o.unidentifiedImpedance } : {}),
    });
    if (to.matpower) exports.push({ path: to.matpower, text: feederToMatpower(identified) });
    if (to.dss) exports.push({ path: to.dss, text: feederToOpenDss(identified) });
    if (to.feederJson)
      exports.push({ path: to.feederJson, text: `${JSON.stringify(feederToJson(identified), null, 1)}\n` });
  }
  await writeGridModelFile(o.out, model, { feeder: data.feederId, source: csv });
  for (const e of exports) await writeFileAtomic(e.path, e.text);
  const placeholder = exports.length && flowFree.length ? flowFree : [];
  return {
    ...identificationSummary(model, o.out, data.feederId),
    input: { file: csv, format },
    ...(o.skipBadRows ? { skippedRows: data.skipped?.length ?? 0, skipped: data.skipped ?? [] } : {}),
    ...(exports.length
      ? {
          exports: exports.map((e) => e.path),
          placeholderImpedance:
            placeholder.length && o.unidentifiedImpedance
              ? { ...o.unidentifiedImpedance, branches: placeholder }
              : null,
        }
      : {}),
  };
}
