// The model file of `x grid identify` / `x grid evaluate`: a GridModel (`x-grid-model/1`) as indented JSON, with the
// feeder id and the data file it was identified from.

import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "@x/tensor-core";
import type { IdentifiedBranch } from "../metrics/metrics.js";
import type { GridModel } from "./pipeline.js";

/**
 * A model file that cannot be read or is not an `x-grid-model/1` document; the message names the file. (Its
 * `name` stays "Error": the message alone is what a user sees.)
 */
export class GridModelFileError extends Error {}

/** Writes `model` to `path` atomically as indented JSON, recording the `feeder` id and the data `source`. */
export async function writeGridModelFile(
  path: string,
  model: GridModel,
  provenance: { readonly feeder: string; readonly source: string },
): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify({ ...model, ...provenance }, null, 2)}\n`);
}

/**
 * The branches of a model file, ready for `evaluateIdentification`: JSON null impedances (unidentifiable,
 * flow-free branches) become NaN. A file that is not JSON or not `x-grid-model/1` is a GridModelFileError.
 */
export async function readGridModelBranches(path: string): Promise<IdentifiedBranch[]> {
  let doc: { format?: unknown; branches?: unknown };
  try {
    doc = JSON.parse(await readFile(path, "utf8")) as typeof doc;
  } catch (err) {
    throw new GridModelFileError(`${path}: not a readable model JSON (${(err as Error).message})`);
  }
  if (doc.format !== "x-grid-model/1" || !Array.isArray(doc.branches))
    throw new GridModelFileError(`${path}: not an x-grid-model/1 document (format: ${String(doc.format)})`);
  return (doc.branches as (IdentifiedBranch & { rPu: number | null; xPu: number | null })[]).map((b) => ({
    ...b,
    rPu: b.rPu ?? Number.NaN,
    xPu: b.xPu ?? Number.NaN,
  }));
}
