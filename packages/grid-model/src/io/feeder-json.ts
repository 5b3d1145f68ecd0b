import { type BranchKind, buildFeeder, type Feeder, FeederError, type FeederInput } from "../feeder.js";

/**
 * The package's own feeder JSON format ("x-grid-feeder", version 1), documented in the README:
 * {
 *   "format": "x-grid-feeder", "version": 1,
 *   "id": "myfeeder", "name": "…", "baseKvLl": 12.66, "baseMva": 10, "root": "1", "rootVoltagePu": 1,
 *   "buses":    [{ "name": "1", "pKw": 0, "qKvar": 0, "shuntCapKvar": 0 }, …],
 *   "branches": [{ "name": "L1", "from": "1", "to": "2", "rOhm": 0.0005, "xOhm": 0.0012,
 *                  "kind": "line", "lengthKm": 0.1, "conductor": "724" }, …]
 * }
 * Branch impedance in ohm (rOhm/xOhm) or per unit (rPu/xPu); branches may be listed in either direction.
 */

export const FEEDER_FORMAT = "x-grid-feeder";
export const FEEDER_FORMAT_VERSION = 1;

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parse and validate feeder JSON text. `file` is used in error messages. */
export function parseFeederJson(text: string, file = "<feeder json>"): Feeder {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FeederError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  return feederFromJson(doc, file);
}

/** Validate a parsed JSON document in the x-grid-feeder format and build the feeder. */
export function feederFromJson(doc: unknown, file = "<feeder json>"): Feeder {
  if (!isObj(doc)) throw new FeederError(`${file}: top level must be an object`);
  if (doc.format !== undefined && doc.format !== FEEDER_FORMAT)
    throw new FeederError(`${file}: format is "${String(doc.format)}", expected "${FEEDER_FORMAT}"`);
  if (doc.version !== undefined && doc.version !== FEEDER_FORMAT_VERSION)
    throw new FeederError(
      `${file}: unsupported version ${String(doc.version)} (this reader: ${FEEDER_FORMAT_VERSION})`,
    );
  const num = (o: Json, key: string, where: string, required: boolean): number | undefined => {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) throw new FeederError(`${file}: ${where} is missing "${key}"`);
      return undefined;
    }
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new FeederError(`${file}: ${where} "${key}" must be a finite number (got ${JSON.stringify(v)})`);
    return v;
  };
  const str = (o: Json, key: string, where: string, required: boolean): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) throw new FeederError(`${file}: ${where} is missing "${key}"`);
      return undefined;
    }
    if (typeof v !== "string" && typeof v !== "number")
      throw new FeederError(`${file}: ${where} "${key}" must be a string`);
    return String(v);
  };
  if (!Array.isArray(doc.buses)) throw new FeederError(`${file}: "buses" must be an array`);
  if (!Array.isArray(doc.branches)) throw new FeederError(`${file}: "branches" must be an array`);
  const buses = doc.buses.map((b, i) => {
    if (!isObj(b)) throw new FeederError(`${file}: buses[${i}] must be an object`);
    const where = `buses[${i}]`;
    const name = str(b, "name", where, true)!;
    const w = `bus "${name}"`;
    return {
      name,
      pKw: num(b, "pKw", w, false),
      qKvar: num(b, "qKvar", w, false),
      shuntCapKvar: num(b, "shuntCapKvar", w, false),
    };
  });
  const branches = doc.branches.map((b, i) => {
    if (!isObj(b)) throw new FeederError(`${file}: branches[${i}] must be an object`);
    const name = str(b, "name", `branches[${i}]`, false);
    const w = name ? `branch "${name}"` : `branches[${i}]`;
    const kind = str(b, "kind", w, false) as BranchKind | undefined;
    return {
      ...(name !== undefined ? { name } : {}),
      from: str(b, "from", w, true)!,
      to: str(b, "to", w, true)!,
      ...(kind !== undefined ? { kind } : {}),
      rOhm: num(b, "rOhm", w, false),
      xOhm: num(b, "xOhm", w, false),
      rPu: num(b, "rPu", w, false),
      xPu: num(b, "xPu", w, false),
      lengthKm: num(b, "lengthKm", w, false),
      conductor: str(b, "conductor", w, false),
    };
  });
  const id = str(doc, "id", "feeder", true)!;
  const input: FeederInput = {
    id,
    name: str(doc, "name", "feeder", false),
    baseKvLl: num(doc, "baseKvLl", "feeder", true)!,
    baseMva: num(doc, "baseMva", "feeder", true)!,
    root: str(doc, "root", "feeder", true)!,
    rootVoltagePu: num(doc, "rootVoltagePu", "feeder", false),
    frequencyHz: num(doc, "frequencyHz", "feeder", false),
    buses,
    branches,
    ...(isObj(doc.source) ? { source: doc.source as unknown as FeederInput["source"] } : {}),
    notes: Array.isArray(doc.notes) ? doc.notes.map(String) : [],
  };
  try {
    return buildFeeder(input);
  } catch (e) {
    if (e instanceof FeederError) throw new FeederError(`${file}: ${e.message}`);
    throw e;
  }
}

/** Serialise a feeder to the x-grid-feeder JSON document (impedances in ohm). */
export function feederToJson(f: Feeder): Record<string, unknown> {
  return {
    format: FEEDER_FORMAT,
    version: FEEDER_FORMAT_VERSION,
    id: f.id,
    name: f.name,
    baseKvLl: f.baseKvLl,
    baseMva: f.baseMva,
    root: f.buses[0].name,
    rootVoltagePu: f.rootVoltagePu,
    ...(f.frequencyHz !== undefined ? { frequencyHz: f.frequencyHz } : {}),
    ...(f.source ? { source: f.source } : {}),
    notes: f.notes,
    buses: f.buses.map((b) => ({ name: b.name, pKw: b.pKw, qKvar: b.qKvar, shuntCapKvar: b.shuntCapKvar })),
    branches: f.branches.map((b) => ({
      name: b.name,
      from: f.buses[b.from].name,
      to: f.buses[b.to].name,
      kind: b.kind,
      rOhm: b.rOhm,
      xOhm: b.xOhm,
      ...(b.lengthKm !== undefined ? { lengthKm: b.lengthKm } : {}),
      ...(b.conductor !== undefined ? { conductor: b.conductor } : {}),
    })),
  };
}
