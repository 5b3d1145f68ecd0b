import { writeLinesAtomic } from "@x/tensor-core";
import type { SmartMeterData } from "../simulate/simulate.js";
import {
  fieldCountError,
  parseLines,
  RowErrors,
  readLines,
  type SkippedRow,
  SmartMeterCsvError,
} from "./row-errors.js";

/**
 * Smart-meter CSV ("x-grid-smartmeter" v1), documented in the README:
 *
 *   # x-grid-smartmeter v1
 *   # feeder: ieee69
 *   # base_kv_ll: 12.66
 *   # base_mva: 10
 *   # interval_min: 15
 *   # root: 1
 *   # buses: 1 2 3 … (every bus of the feeder, root first)
 *   # <key>: <value>   (provenance: seed, noise, …)
 *   t,start_min,1.v_pu,2.v_pu,2.p_kw,2.q_kvar,…
 *
 * One row per interval; for the root only its voltage (the substation measurement), for every metered bus
 * `<bus>.v_pu` (|V| in pu), `<bus>.p_kw` and `<bus>.q_kvar` (net consumption, positive = load; q net of shunt
 * capacitors). An empty field is a missing reading; buses without columns have no meter.
 */

export const SMARTMETER_FORMAT = "x-grid-smartmeter v1";

export { type SkippedRow, SmartMeterCsvError } from "./row-errors.js";

export interface CsvReadOptions {
  /** Skip rows with a bad cell, a duplicate or an off-grid timestamp instead of failing; they are listed. */
  readonly skipBadRows?: boolean;
}

/** Plain decimal numbers only: no hex (0x1F), no Infinity, no blanks or thousands separators. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses one CSV cell as a plain decimal number; NaN when it is not one. */
export function parseDecimal(cell: string): number {
  return NUMBER.test(cell) ? Number(cell) : Number.NaN;
}

const REQUIRED = ["feeder", "base_kv_ll", "base_mva", "interval_min", "root", "buses"] as const;

function fmt(v: number, precision: number | undefined): string {
  if (Number.isNaN(v)) return "";
  return precision ? String(Number(v.toPrecision(precision))) : String(v);
}

export interface CsvWriteOptions {
  /** Significant digits (default: shortest exact round-trip). */
  readonly precision?: number;
}

/** Header and rows of the CSV, one line at a time (no trailing newline). */
export function* smartMeterCsvLines(d: SmartMeterData, opts: CsvWriteOptions = {}): Generator<string> {
  for (const name of d.busNames)
    if (/[\s,#]/.test(name) || name === "")
      throw new SmartMeterCsvError(`bus name "${name}" cannot be written (no blanks, commas or #)`);
  const kw = 1000 * d.baseMva;
  yield `# ${SMARTMETER_FORMAT}`;
  yield `# feeder: ${d.feederId}`;
  yield `# base_kv_ll: ${d.baseKvLl}`;
  yield `# base_mva: ${d.baseMva}`;
  yield `# interval_min: ${d.intervalMinutes}`;
  yield `# root: ${d.busNames[d.root]}`;
  yield `# buses: ${d.busNames.join(" ")}`;
  for (const [k, v] of Object.entries(d.meta)) if (!REQUIRED.includes(k as never)) yield `# ${k}: ${v}`;
  const cols: string[] = ["t", "start_min"];
  const getters: ((t: number) => string)[] = [];
  d.busNames.forEach((name, j) => {
    if (!d.metered[j]) return;
    cols.push(`${name}.v_pu`);
    getters.push((t) => fmt(d.vm[j][t], opts.precision));
    if (j === d.root) return;
    cols.push(`${name}.p_kw`, `${name}.q_kvar`);
    getters.push((t) => fmt(d.p[j][t] * kw, opts.precision));
    getters.push((t) => fmt(d.q[j][t] * kw, opts.precision));
  });
  yield cols.join(",");
  for (let t = 0; t < d.samples; t++) {
    let line = `${t},${d.startMinute[t]}`;
    for (const g of getters) line += `,${g(t)}`;
    yield line;
  }
}

/** Write the CSV to a temporary name next to `path`, then rename (streaming, bounded memory). */
export function writeSmartMeterCsv(
  path: string,
  d: SmartMeterData,
  opts: CsvWriteOptions = {},
): Promise<void> {
  return writeLinesAtomic(path, smartMeterCsvLines(d, opts));
}

/** Incremental parser: feed lines, then `finish()`. Used by the file reader and by tests on strings. */
export class SmartMeterCsvParser {
  private lineNo = 0;
  private readonly meta: Record<string, string> = {};
  private header: string[] | undefined;
  private colBus: Int32Array = new Int32Array(0);
  private colKind: Uint8Array = new Uint8Array(0); // 0 v, 1 p, 2 q
  private readonly starts: number[] = [];
  private values: number[][] = [];
  private busIndex = new Map<string, number>();
  private busNames: string[] = [];
  private readonly seenT = new Map<number, number>();
  private interval = Number.NaN;

  private readonly rows: RowErrors;

  constructor(
    private readonly file = "<smart-meter csv>",
    opts: CsvReadOptions = {},
  ) {
    this.rows = new RowErrors(file, opts.skipBadRows);
  }

  push(raw: string): void {
    this.lineNo++;
    this.rows.line = this.lineNo;
    const line = raw.trim();
    if (line === "") return;
    if (line.startsWith("#")) {
      if (this.header) return;
      const m = /^#\s*([\w.-]+)\s*:\s*(.*)$/.exec(line);
      if (m) this.meta[m[1]] = m[2].trim();
      else if (this.lineNo === 1 && !line.includes(SMARTMETER_FORMAT.split(" ")[0]))
        throw this.rows.error(`not an ${SMARTMETER_FORMAT} file`);
      return;
    }
    if (!this.header) {
      this.startTable(line);
      return;
    }
    const cells = line.split(",");
    if (cells.length !== this.header.length) {
      this.rows.bad(...fieldCountError(cells.length, this.header));
      return;
    }
    const t = parseDecimal(cells[0]!.trim());
    if (!Number.isInteger(t) || t < 0) {
      this.rows.bad(`t "${cells[0]}" is not a non-negative integer`, 1);
      return;
    }
    const s = parseDecimal(cells[1]!.trim());
    if (!Number.isFinite(s)) {
      this.rows.bad(`start_min "${cells[1]}" is not a number`, 2);
      return;
    }
    const first = this.seenT.get(t);
    if (first !== undefined) {
      this.rows.bad(`duplicate row: t = ${t} already at line ${first}`, 1);
      return;
    }
    // Timestamps on one grid: start_min = start_min(first row) + (t − t_first) · interval.
    if (this.starts.length > 0) {
      const want = this.starts[0]! + (t - this.firstT) * this.interval;
      if (Math.abs(s - want) > 1e-6 * Math.max(1, Math.abs(want))) {
        this.rows.bad(
          `inconsistent timestamp: start_min ${s} for t = ${t}, expected ${want} (interval ${this.interval} min from t = ${this.firstT})`,
          2,
        );
        return;
      }
      if (t <= this.lastT) {
        this.rows.bad(`rows out of order: t = ${t} after t = ${this.lastT}`, 1);
        return;
      }
    }
    const row: number[] = [];
    for (let c = 2; c < cells.length; c++) {
      const cell = cells[c]!.trim();
      const v = cell === "" ? Number.NaN : parseDecimal(cell);
      if (cell !== "" && Number.isNaN(v)) {
        this.rows.bad(`column "${this.header[c]}": "${cell}" is not a number`, c + 1);
        return;
      }
      if (this.colKind[c - 2] === 0 && !(Number.isNaN(v) || v > 0)) {
        this.rows.bad(`column "${this.header[c]}": voltage ${cell} must be positive`, c + 1);
        return;
      }
      row.push(v);
    }
    if (this.starts.length === 0) this.firstT = t;
    this.lastT = t;
    this.seenT.set(t, this.lineNo);
    // Intervals without a row (t jumps) are missing readings.
    const pos = t - this.firstT;
    while (this.starts.length < pos) {
      this.starts.push(this.starts[0]! + this.starts.length * this.interval);
      for (const col of this.values) col.push(Number.NaN);
    }
    this.starts.push(s);
    row.forEach((v, c) => {
      this.values[c]!.push(v);
    });
  }

  private firstT = 0;
  private lastT = -1;

  private startTable(line: string): void {
    for (const k of REQUIRED)
      if (this.meta[k] === undefined) throw this.rows.error(`header comment "# ${k}: …" is missing`);
    this.interval = Number(this.meta.interval_min);
    if (!(this.interval > 0)) throw this.rows.error(`header "interval_min" must be a positive number`);
    this.busNames = this.meta.buses.split(/\s+/).filter((s) => s !== "");
    this.busIndex = new Map(this.busNames.map((b, i) => [b, i]));
    if (this.busIndex.size !== this.busNames.length) throw this.rows.error("duplicate bus names in # buses");
    if (!this.busIndex.has(this.meta.root))
      throw this.rows.error(`root "${this.meta.root}" is not in # buses`);
    const cols = line.split(",").map((c) => c.trim());
    if (cols[0] !== "t" || cols[1] !== "start_min")
      throw this.rows.error(`columns must start with "t,start_min"`, 1);
    this.header = cols;
    this.colBus = new Int32Array(cols.length - 2);
    this.colKind = new Uint8Array(cols.length - 2);
    const seen = new Set<string>();
    const kinds = new Map<number, Set<number>>();
    for (let c = 2; c < cols.length; c++) {
      const dot = cols[c].lastIndexOf(".");
      const bus = cols[c].slice(0, dot);
      const kind = ["v_pu", "p_kw", "q_kvar"].indexOf(cols[c].slice(dot + 1));
      if (dot <= 0 || kind < 0)
        throw this.rows.error(`column "${cols[c]}" is not <bus>.v_pu|p_kw|q_kvar`, c + 1);
      const j = this.busIndex.get(bus);
      if (j === undefined)
        throw this.rows.error(`column "${cols[c]}": unknown meter "${bus}" (not in # buses)`, c + 1);
      if (seen.has(cols[c])) throw this.rows.error(`duplicate column "${cols[c]}"`, c + 1);
      seen.add(cols[c]);
      this.colBus[c - 2] = j;
      this.colKind[c - 2] = kind;
      if (!kinds.has(j)) kinds.set(j, new Set());
      kinds.get(j)!.add(kind);
    }
    // A metered bus has all three columns (the root: at least its voltage); a bus without columns is unmetered.
    const root = this.busIndex.get(this.meta.root)!;
    if (!kinds.get(root)?.has(0))
      throw this.rows.error(`missing column "${this.meta.root}.v_pu" (the substation voltage)`);
    for (const [j, k] of kinds) {
      if (j === root) continue;
      for (const [kind, suffix] of [
        [0, "v_pu"],
        [1, "p_kw"],
        [2, "q_kvar"],
      ] as const)
        if (!k.has(kind))
          throw this.rows.error(
            `missing column "${this.busNames[j]}.${suffix}": a metered bus needs v_pu, p_kw and q_kvar (a zero-injection junction: write p_kw and q_kvar as 0)`,
          );
    }
    this.values = cols.slice(2).map(() => []);
  }

  /** Rows left out by skipBadRows so far. */
  get skippedRows(): readonly SkippedRow[] {
    return this.rows.skipped;
  }

  finish(): SmartMeterData {
    if (!this.header) throw new SmartMeterCsvError(`${this.file}: no data header`);
    const T = this.starts.length;
    if (T === 0) throw new SmartMeterCsvError(`${this.file}: no data rows`);
    const num = (k: string) => {
      const v = Number(this.meta[k]);
      if (!(v > 0)) throw new SmartMeterCsvError(`${this.file}: header "${k}" must be a positive number`);
      return v;
    };
    const baseMva = num("base_mva");
    const n = this.busNames.length;
    const nan = () => Array.from({ length: n }, () => new Float64Array(T).fill(Number.NaN));
    const vm = nan();
    const p = nan();
    const q = nan();
    const metered = new Array<boolean>(n).fill(false);
    const toPu = 1 / (1000 * baseMva);
    this.values.forEach((col, c) => {
      const j = this.colBus[c];
      metered[j] = true;
      const kind = this.colKind[c];
      const dst = kind === 0 ? vm[j] : kind === 1 ? p[j] : q[j];
      const s = kind === 0 ? 1 : toPu;
      for (let t = 0; t < T; t++) dst[t] = col[t] * s;
    });
    const root = this.busIndex.get(this.meta.root)!;
    // The root injects nothing of its own in the simulator's convention.
    if (!this.header.includes(`${this.meta.root}.p_kw`)) {
      p[root].fill(0);
      q[root].fill(0);
    }
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.meta)) if (!REQUIRED.includes(k as never)) meta[k] = v;
    return {
      feederId: this.meta.feeder,
      baseKvLl: num("base_kv_ll"),
      baseMva,
      intervalMinutes: num("interval_min"),
      startMinute: Float64Array.from(this.starts),
      metered,
      meta,
      busNames: this.busNames,
      root,
      samples: T,
      vm,
      p,
      q,
      ...(this.rows.skipped.length ? { skipped: this.rows.skipped } : {}),
    };
  }
}

/** Parse CSV text (small files, tests). */
export function parseSmartMeterCsv(text: string, file?: string, opts: CsvReadOptions = {}): SmartMeterData {
  return parseLines(new SmartMeterCsvParser(file, opts), text);
}

/** Read a smart-meter CSV file line by line. */
export function readSmartMeterCsv(path: string, opts: CsvReadOptions = {}): Promise<SmartMeterData> {
  return readLines(new SmartMeterCsvParser(path, opts), path);
}
