import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

/** Malformed smart-meter CSV; names the file, line and column (1-based; column 0 = the whole line). */
export class SmartMeterCsvError extends Error {
  override readonly name = "SmartMeterCsvError";
  constructor(
    message: string,
    readonly file: string = "",
    readonly line: number = 0,
    readonly column: number = 0,
  ) {
    super(message);
  }
}

/** A row left out by `skipBadRows`, and why. */
export interface SkippedRow {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
}

/**
 * Where a line-by-line reader is, and what it does with a bad row: throw a SmartMeterCsvError naming the file, line
 * and column, or (skipBadRows) note the row and go on. Shared by the readers of this folder.
 */
export class RowErrors {
  line = 0;
  readonly skipped: SkippedRow[] = [];

  constructor(
    readonly file: string,
    private readonly skipBadRows = false,
  ) {}

  error(msg: string, column = 0): SmartMeterCsvError {
    const where = column > 0 ? `${this.file}:${this.line}: column ${column}` : `${this.file}:${this.line}`;
    return new SmartMeterCsvError(`${where}: ${msg}`, this.file, this.line, column);
  }

  /** A bad data row: an error, or a note when skipping bad rows (the caller then leaves the row out). */
  bad(msg: string, column: number): void {
    if (!this.skipBadRows) throw this.error(msg, column);
    this.skipped.push({ file: this.file, line: this.line, column, reason: msg });
  }
}

/**
 * A row with the wrong number of fields: the message and the 1-based column where it goes wrong (the first
 * missing column, or the first extra field).
 */
export function fieldCountError(fields: number, header: readonly string[]): [string, number] {
  return fields < header.length
    ? [`${fields} fields, header has ${header.length}: column "${header[fields]}" is missing`, fields + 1]
    : [`${fields} fields, header has ${header.length}: extra field`, header.length + 1];
}

/** A reader fed one line at a time. */
export interface LineParser<R> {
  push(line: string): void;
  finish(): R;
}

/** Feeds a text to a line parser (small inputs, tests). */
export function parseLines<R>(parser: LineParser<R>, text: string): R {
  for (const line of text.split(/\r?\n/)) parser.push(line);
  return parser.finish();
}

/** Streams a file into a line parser (bounded memory); an unreadable file is a SmartMeterCsvError naming it. */
export async function readLines<R>(parser: LineParser<R>, path: string): Promise<R> {
  const input = createReadStream(path, { encoding: "utf8" });
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of rl) parser.push(line);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code) throw new SmartMeterCsvError(`${path}: cannot read (${code})`, path);
    throw e;
  } finally {
    rl.close();
    input.destroy();
  }
  return parser.finish();
}
