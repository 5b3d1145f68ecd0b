import { open, readFile } from "node:fs/promises";
import type { SmartMeterData } from "../simulate/simulate.js";
import { type LongFormatOptions, readMeterReadings } from "./long-format.js";
import { SmartMeterCsvError } from "./row-errors.js";
import { readSmartMeterCsv } from "./smartmeter-csv.js";

/** The two meter-data layouts: the wide x-grid-smartmeter CSV (one row per interval) and long-format readings. */
export type MeterFormat = "wide" | "long";

/**
 * The format of a meter-data text from its first lines: the wide CSV starts with its format line (or, without
 * one, with its "t,start_min" header); anything else is long-format readings.
 */
export function meterFormatOf(head: string): MeterFormat {
  const lines = head.split(/\r?\n/).map((l) => l.trim());
  if (lines.find((l) => l !== "")?.includes("x-grid-smartmeter")) return "wide";
  return lines.find((l) => l !== "" && !l.startsWith("#"))?.startsWith("t,start_min") ? "wide" : "long";
}

/** The format of a meter-data file from its first 4 KiB; an unreadable file is left to the reader, which names it. */
export async function detectMeterFormat(path: string): Promise<MeterFormat> {
  let head = "";
  try {
    const file = await open(path, "r");
    try {
      const buf = Buffer.alloc(4096);
      const { bytesRead } = await file.read(buf, 0, buf.length, 0);
      head = buf.toString("utf8", 0, bytesRead);
    } finally {
      await file.close();
    }
  } catch {
    return "wide";
  }
  return meterFormatOf(head);
}

/** A meter map: "meter,bus" lines (an optional "meter,bus" header line, # comments) → meter id → bus name. */
export function parseMeterMap(text: string, file = "<meter map>"): Record<string, string> {
  const map: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, k) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || (k === 0 && /^meter\s*,\s*bus$/i.test(line))) return;
    const cells = line.split(",").map((c) => c.trim());
    if (cells.length !== 2 || !cells[0] || !cells[1])
      throw new SmartMeterCsvError(`${file}:${k + 1}: expected "meter,bus", got "${line}"`, file, k + 1);
    if (map[cells[0]] !== undefined)
      throw new SmartMeterCsvError(`${file}:${k + 1}: meter "${cells[0]}" is mapped twice`, file, k + 1, 1);
    map[cells[0]] = cells[1];
  });
  return map;
}

/** Reads a meter-map file (see parseMeterMap); an unreadable file is a SmartMeterCsvError naming it. */
export async function readMeterMap(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new SmartMeterCsvError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code})`, path);
  }
  return parseMeterMap(text, path);
}

export interface MeterDataReadOptions {
  /** "auto" (default) detects the format from the file's first lines. */
  readonly format?: MeterFormat | "auto";
  /** Skip bad rows (listed in `skipped`) instead of failing on the first. */
  readonly skipBadRows?: boolean;
  /** Options of the long-format reader (units, bases, root, resampling, bus names, meter map). */
  readonly long?: LongFormatOptions;
}

/** Reads meter data in either format; returns the data and the format it was read as. */
export async function readMeterData(
  path: string,
  opts: MeterDataReadOptions = {},
): Promise<{ data: SmartMeterData; format: MeterFormat }> {
  const format = !opts.format || opts.format === "auto" ? await detectMeterFormat(path) : opts.format;
  const skip = opts.skipBadRows ? { skipBadRows: true } : {};
  const data =
    format === "wide"
      ? await readSmartMeterCsv(path, skip)
      : await readMeterReadings(path, { ...opts.long, ...skip });
  return { data, format };
}
