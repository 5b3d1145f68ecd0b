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
import { parseDecimal } from "./smartmeter-csv.js";

/**
 * Timestamped meter data in long format — one reading per row, as utilities export them:
 *
 *   # units: p=kW q=kvar v=V          (optional header comments; options override them)
 *   # base_kv_ll: 4.16
 *   # base_mva: 1
 *   # root: 650                        (the substation meter)
 *   meter,timestamp,p,q,v
 *   650,2024-03-04T00:00:00Z,,,2401.8
 *   675,2024-03-04T00:00:00Z,412.5,-88.1,2389.2
 *
 * Further optional header comments: "# interval_min: 15", "# voltage: ll|ln", "# label: start|end", "# feeder: <id>"
 * and "# buses: <name> …" (every bus of the feeder: other meter ids are an error, buses without readings unmetered).
 *
 * Timestamps are ISO 8601 (with "Z" or an offset, or none — then all rows must have none) or Unix seconds. Rows
 * are bucketed onto a regular grid of `intervalMinutes` and averaged per meter and interval (resampling finer
 * data); intervals without a reading are missing (NaN). Powers are net consumption (positive = load). Voltages
 * in V or kV are converted with the line-to-line base (or line-to-neutral: `voltage: "ln"`).
 */
export interface LongFormatOptions {
  /** Column names (case-insensitive); defaults meter, timestamp (or time), p, q, v. */
  readonly columns?: { meter?: string; timestamp?: string; p?: string; q?: string; v?: string };
  /** Units; override the "# units:" header. */
  readonly units?: { p?: PowerUnit; q?: ReactiveUnit; v?: VoltageUnit };
  /** Voltage readings are line-to-line (default) or line-to-neutral (then divided by the base / √3). */
  readonly voltage?: "ll" | "ln";
  readonly baseKvLl?: number;
  readonly baseMva?: number;
  /** The substation meter (bus) id; overrides "# root:". */
  readonly root?: string;
  /** Reporting interval of the output grid in minutes (default 15). */
  readonly intervalMinutes?: number;
  /** A timestamp labels the start (default) or the end of its interval. */
  readonly label?: "start" | "end";
  /** All bus names of the feeder (e.g. from a feeder file): other meter ids are an error, buses without a meter unmetered. */
  readonly buses?: readonly string[];
  /** Meter id → bus name, when they differ. */
  readonly meterMap?: Readonly<Record<string, string>>;
  /** Skip bad rows (listed in `skipped`) instead of failing on the first. */
  readonly skipBadRows?: boolean;
  readonly feederId?: string;
}

/** Unit of the active-power column; default kW (or the file's "# units:" header); pu is on `baseMva`. */
export type PowerUnit = "W" | "kW" | "MW" | "pu";
/** Unit of the reactive-power column; default kvar (or the "# units:" header); pu is on `baseMva`. */
export type ReactiveUnit = "var" | "kvar" | "Mvar" | "pu";
/** Unit of the voltage column; default V (or the "# units:" header); pu is on the voltage base. */
export type VoltageUnit = "V" | "kV" | "pu";

const POWER: Record<string, number> = { w: 1e-3, kw: 1, mw: 1e3, var: 1e-3, kvar: 1, mvar: 1e3 };

interface MeterRows {
  readonly t: number[];
  readonly p: number[];
  readonly q: number[];
  readonly v: number[];
  readonly line: number[];
}

/** Parses a timestamp to epoch milliseconds and whether it carried a time zone; undefined if unreadable. */
function parseTimestamp(s: string): { ms: number; zoned: boolean } | undefined {
  if (/^\d+(\.\d+)?$/.test(s)) return { ms: Number(s) * 1000, zoned: true };
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, frac, tz] = m;
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se ?? 0));
  if (Number.isNaN(base) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59)
    return undefined;
  let ms = base + (frac ? Math.round(Number(frac) * 1000) : 0);
  if (tz && tz !== "Z") {
    const sign = tz[0] === "-" ? -1 : 1;
    const digits = tz.slice(1).replace(":", "");
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return { ms, zoned: tz !== undefined };
}

/** Incremental reader of the long format: feed lines, then finish(). */
export class LongFormatParser {
  private lineNo = 0;
  private readonly meta: Record<string, string> = {};
  private col: { meter: number; ts: number; p: number; q: number; v: number } | undefined;
  private width = 0;
  private header: readonly string[] = [];
  private readonly meters = new Map<string, MeterRows>();
  private readonly seen = new Map<string, number>();
  private zoned: boolean | undefined;
  /** The feeder's bus names (option buses, else the "# buses:" header), fixed at the table header. */
  private busList: readonly string[] | undefined;
  private busSet: ReadonlySet<string> | undefined;

  private readonly rows: RowErrors;

  constructor(
    private readonly file = "<meter readings>",
    private readonly opts: LongFormatOptions = {},
  ) {
    this.rows = new RowErrors(file, opts.skipBadRows);
  }

  push(raw: string): void {
    this.lineNo++;
    this.rows.line = this.lineNo;
    const line = raw.trim();
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^#\s*([\w.-]+)\s*:\s*(.*)$/.exec(line);
      if (m && !this.col) this.meta[m[1]!.toLowerCase()] = m[2]!.trim();
      return;
    }
    const cells = line.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1"));
    if (!this.col) {
      this.startTable(cells);
      return;
    }
    if (cells.length !== this.width) {
      this.rows.bad(...fieldCountError(cells.length, this.header));
      return;
    }
    const c = this.col;
    const meterId = cells[c.meter]!;
    if (meterId === "") {
      this.rows.bad("empty meter id", c.meter + 1);
      return;
    }
    const bus = this.opts.meterMap?.[meterId] ?? meterId;
    if (this.busSet && !this.busSet.has(bus)) {
      this.rows.bad(
        `unknown meter "${meterId}"${bus !== meterId ? ` (bus "${bus}")` : ""}: not a bus of the feeder`,
        c.meter + 1,
      );
      return;
    }
    const ts = parseTimestamp(cells[c.ts]!);
    if (!ts) {
      this.rows.bad(`timestamp "${cells[c.ts]}" is neither ISO 8601 nor Unix seconds`, c.ts + 1);
      return;
    }
    if (this.zoned === undefined) this.zoned = ts.zoned;
    else if (this.zoned !== ts.zoned) {
      this.rows.bad(
        `inconsistent timestamps: "${cells[c.ts]}" ${ts.zoned ? "has" : "has no"} time zone, earlier rows ${this.zoned ? "have one" : "have none"}`,
        c.ts + 1,
      );
      return;
    }
    const key = `${bus}\u0000${ts.ms}`;
    const first = this.seen.get(key);
    if (first !== undefined) {
      this.rows.bad(
        `duplicate reading of meter "${meterId}" at ${cells[c.ts]} (first at line ${first})`,
        c.ts + 1,
      );
      return;
    }
    const num = (idx: number, what: string): number | undefined => {
      if (idx < 0) return Number.NaN;
      const cell = cells[idx]!;
      if (cell === "") return Number.NaN;
      const v = parseDecimal(cell);
      if (Number.isNaN(v)) {
        this.rows.bad(`${what} "${cell}" is not a number`, idx + 1);
        return undefined;
      }
      return v;
    };
    const p = num(c.p, "p");
    if (p === undefined) return;
    const q = num(c.q, "q");
    if (q === undefined) return;
    const v = num(c.v, "v");
    if (v === undefined) return;
    if (!Number.isNaN(v) && !(v > 0)) {
      this.rows.bad(`voltage ${cells[c.v]} must be positive`, c.v + 1);
      return;
    }
    this.seen.set(key, this.lineNo);
    let rows = this.meters.get(bus);
    if (!rows) {
      rows = { t: [], p: [], q: [], v: [], line: [] };
      this.meters.set(bus, rows);
    }
    rows.t.push(ts.ms);
    rows.p.push(p);
    rows.q.push(q);
    rows.v.push(v);
    rows.line.push(this.lineNo);
  }

  private startTable(cells: string[]): void {
    const names = cells.map((c) => c.toLowerCase());
    const want = this.opts.columns ?? {};
    const find = (name: string | undefined, fallbacks: string[], required: boolean): number => {
      const cands = name ? [name.toLowerCase()] : fallbacks;
      const i = names.findIndex((n) => cands.includes(n));
      if (i < 0 && required)
        throw this.rows.error(`missing column "${cands[0]}" (header: ${cells.join(",")})`);
      return i;
    };
    this.col = {
      meter: find(want.meter, ["meter", "meter_id", "bus"], true),
      ts: find(want.timestamp, ["timestamp", "time", "datetime"], true),
      p: find(want.p, ["p", "p_kw", "kw"], false),
      q: find(want.q, ["q", "q_kvar", "kvar"], false),
      v: find(want.v, ["v", "v_v", "voltage"], false),
    };
    if (this.col.v < 0) throw this.rows.error(`missing column "v" (voltage readings are required)`);
    if (this.col.p < 0 !== this.col.q < 0) throw this.rows.error(`columns "p" and "q" go together`);
    this.width = cells.length;
    this.header = cells;
    const listed = this.meta.buses?.split(/\s+/).filter((b) => b !== "");
    this.busList = this.opts.buses ?? (listed?.length ? listed : undefined);
    if (this.busList) this.busSet = new Set(this.busList);
  }

  get skippedRows(): readonly SkippedRow[] {
    return this.rows.skipped;
  }

  finish(): SmartMeterData {
    if (!this.col) throw new SmartMeterCsvError(`${this.file}: no header row`, this.file);
    if (this.meters.size === 0) throw new SmartMeterCsvError(`${this.file}: no readings`, this.file);
    const o = this.opts;
    const unitsHeader = Object.fromEntries(
      (this.meta.units ?? "")
        .split(/\s+/)
        .filter((s) => s.includes("="))
        .map((s) => s.split("=") as [string, string]),
    );
    const numberMeta = (k: string, v: number | undefined): number => {
      const x = v ?? Number(this.meta[k]);
      if (!(x > 0))
        throw new SmartMeterCsvError(`${this.file}: ${k} is needed (option or "# ${k}:" header)`, this.file);
      return x;
    };
    const baseKvLl = numberMeta("base_kv_ll", o.baseKvLl);
    const baseMva = numberMeta("base_mva", o.baseMva);
    const unit = (what: "p" | "q" | "v", given: string | undefined, fallback: string): string => {
      const u = (given ?? unitsHeader[what] ?? fallback).toLowerCase();
      const ok =
        what === "v"
          ? ["v", "kv", "pu"]
          : what === "p"
            ? ["w", "kw", "mw", "pu"]
            : ["var", "kvar", "mvar", "pu"];
      if (!ok.includes(u))
        throw new SmartMeterCsvError(`${this.file}: unknown unit "${u}" for ${what}`, this.file);
      return u;
    };
    const pu = unit("p", o.units?.p, "kW");
    const qu = unit("q", o.units?.q, "kvar");
    const vu = unit("v", o.units?.v, "V");
    const toPuP = pu === "pu" ? 1 : POWER[pu]! / (1000 * baseMva);
    const toPuQ = qu === "pu" ? 1 : POWER[qu]! / (1000 * baseMva);
    const choice = <T extends string>(
      key: string,
      given: T | undefined,
      allowed: readonly T[],
      fallback: T,
    ): T => {
      const v = given ?? (this.meta[key]?.toLowerCase() as T | undefined) ?? fallback;
      if (!allowed.includes(v))
        throw new SmartMeterCsvError(
          `${this.file}: header "# ${key}: ${v}" must be one of ${allowed.join(", ")}`,
          this.file,
        );
      return v;
    };
    const voltage = choice("voltage", o.voltage, ["ll", "ln"], "ll");
    const label = choice("label", o.label, ["start", "end"], "start");
    const vBaseKv = voltage === "ln" ? baseKvLl / Math.sqrt(3) : baseKvLl;
    const toPuV = vu === "pu" ? 1 : vu === "kv" ? 1 / vBaseKv : 1 / (1000 * vBaseKv);
    const root = o.root ?? this.meta.root;
    if (!root)
      throw new SmartMeterCsvError(
        `${this.file}: the substation meter is needed (option root or "# root:")`,
        this.file,
      );
    if (!this.meters.has(root))
      throw new SmartMeterCsvError(`${this.file}: no readings of the substation meter "${root}"`, this.file);
    const busNames = this.busList
      ? [...this.busList]
      : [root, ...[...this.meters.keys()].filter((b) => b !== root).sort()];
    if (!busNames.includes(root))
      throw new SmartMeterCsvError(`${this.file}: root "${root}" is not a bus`, this.file);
    const interval = o.intervalMinutes ?? Number(this.meta.interval_min ?? 15);
    if (!(interval > 0))
      throw new SmartMeterCsvError(`${this.file}: interval must be > 0 minutes`, this.file);
    const stepMs = interval * 60_000;
    const shift = label === "end" ? -stepMs : 0;
    let t0 = Number.POSITIVE_INFINITY;
    let t1 = Number.NEGATIVE_INFINITY;
    for (const r of this.meters.values())
      for (const t of r.t) {
        t0 = Math.min(t0, t + shift);
        t1 = Math.max(t1, t + shift);
      }
    const origin = Math.floor(t0 / stepMs) * stepMs;
    const T = Math.floor((t1 - origin) / stepMs) + 1;
    const n = busNames.length;
    const nan = () => Array.from({ length: n }, () => new Float64Array(T).fill(Number.NaN));
    const vm = nan();
    const p = nan();
    const q = nan();
    const metered = new Array<boolean>(n).fill(false);
    const sums = new Float64Array(T * 3);
    const counts = new Int32Array(T * 3);
    const rootIndex = busNames.indexOf(root);
    const add = (slot: number, x: number) => {
      if (Number.isNaN(x)) return;
      sums[slot] += x;
      counts[slot]++;
    };
    busNames.forEach((bus, j) => {
      const r = this.meters.get(bus);
      if (!r) return;
      metered[j] = true;
      sums.fill(0);
      counts.fill(0);
      for (let i = 0; i < r.t.length; i++) {
        const k = Math.floor((r.t[i]! + shift - origin) / stepMs);
        add(k * 3, r.v[i]! * toPuV);
        add(k * 3 + 1, r.p[i]! * toPuP);
        add(k * 3 + 2, r.q[i]! * toPuQ);
      }
      for (let k = 0; k < T; k++) {
        if (counts[k * 3]) vm[j]![k] = sums[k * 3]! / counts[k * 3]!;
        if (j === rootIndex) {
          p[j]![k] = 0;
          q[j]![k] = 0;
          continue;
        }
        if (counts[k * 3 + 1]) p[j]![k] = sums[k * 3 + 1]! / counts[k * 3 + 1]!;
        if (counts[k * 3 + 2]) q[j]![k] = sums[k * 3 + 2]! / counts[k * 3 + 2]!;
      }
      const anyPq = r.p.some((x) => !Number.isNaN(x)) || r.q.some((x) => !Number.isNaN(x));
      if (j !== rootIndex && !anyPq)
        throw new SmartMeterCsvError(
          `${this.file}: meter "${bus}" has voltage readings but no p/q at all (a zero-injection junction: write p and q as 0)`,
          this.file,
          r.line[0]!,
        );
    });
    const startMinute = Float64Array.from({ length: T }, (_, k) => k * interval);
    return {
      feederId: o.feederId ?? this.meta.feeder ?? "imported",
      baseKvLl,
      baseMva,
      intervalMinutes: interval,
      startMinute,
      metered,
      meta: {
        source: this.file,
        origin: new Date(origin).toISOString(),
        units: `p=${pu} q=${qu} v=${vu} (${voltage})`,
        readings: String([...this.meters.values()].reduce((s, r) => s + r.t.length, 0)),
      },
      busNames,
      root: rootIndex,
      samples: T,
      vm,
      p,
      q,
      ...(this.rows.skipped.length ? { skipped: this.rows.skipped } : {}),
    };
  }
}

/** Parses long-format text (small inputs, tests). */
export function parseMeterReadings(
  text: string,
  opts: LongFormatOptions = {},
  file?: string,
): SmartMeterData {
  return parseLines(new LongFormatParser(file, opts), text);
}

/** Reads a long-format file line by line. */
export function readMeterReadings(path: string, opts: LongFormatOptions = {}): Promise<SmartMeterData> {
  return readLines(new LongFormatParser(path, opts), path);
}

/** Options of the long-format writer. */
export interface LongFormatWriteOptions {
  /** Units of the written columns (default kW, kvar, V). */
  readonly units?: { readonly p?: PowerUnit; readonly q?: ReactiveUnit; readonly v?: VoltageUnit };
  /** Voltages as line-to-line (default) or line-to-neutral values (V and kV only). */
  readonly voltage?: "ll" | "ln";
  /** Time of sample 0's start (ISO 8601 or epoch ms; default 2024-01-01T00:00:00Z, a Monday like the simulator's origin). */
  readonly start?: string | number;
  /** Timestamps label the start (default) or the end of their interval. */
  readonly label?: "start" | "end";
  /** Significant digits (default: shortest exact round-trip). */
  readonly precision?: number;
}

const DEFAULT_START = Date.UTC(2024, 0, 1);

/**
 * The long format, one line at a time (no trailing newline): header comments with units, bases, root, interval,
 * label and the feeder's buses, then one row per metered bus and interval, ordered by time then bus (the substation
 * with its voltage only). An interval whose three readings are all missing is a gap (no row); a single missing
 * reading is an empty cell.
 */
export function* meterReadingLines(d: SmartMeterData, opts: LongFormatWriteOptions = {}): Generator<string> {
  for (const name of d.busNames)
    if (/[\s,#"]/.test(name) || name === "")
      throw new SmartMeterCsvError(`bus name "${name}" cannot be written (no blanks, commas, quotes or #)`);
  const pu = opts.units?.p ?? "kW";
  const qu = opts.units?.q ?? "kvar";
  const vu = opts.units?.v ?? "V";
  const voltage = opts.voltage ?? "ll";
  const label = opts.label ?? "start";
  const start =
    opts.start === undefined
      ? DEFAULT_START
      : typeof opts.start === "number"
        ? opts.start
        : Date.parse(opts.start);
  if (!Number.isFinite(start)) throw new RangeError(`start "${opts.start}" is not a time`);
  const fromPuP = pu === "pu" ? 1 : (1000 * d.baseMva) / POWER[pu.toLowerCase()]!;
  const fromPuQ = qu === "pu" ? 1 : (1000 * d.baseMva) / POWER[qu.toLowerCase()]!;
  const vBaseKv = voltage === "ln" ? d.baseKvLl / Math.sqrt(3) : d.baseKvLl;
  const fromPuV = vu === "pu" ? 1 : vu === "kV" ? vBaseKv : 1000 * vBaseKv;
  if (
    fromPuP === undefined ||
    !Number.isFinite(fromPuP) ||
    !Number.isFinite(fromPuQ) ||
    !Number.isFinite(fromPuV)
  )
    throw new RangeError(`unknown units p=${pu} q=${qu} v=${vu}`);
  const fmt = (v: number): string =>
    Number.isNaN(v) ? "" : opts.precision ? String(Number(v.toPrecision(opts.precision))) : String(v);
  yield `# units: p=${pu} q=${qu} v=${vu}`;
  yield `# voltage: ${voltage}`;
  yield `# feeder: ${d.feederId}`;
  yield `# base_kv_ll: ${d.baseKvLl}`;
  yield `# base_mva: ${d.baseMva}`;
  yield `# interval_min: ${d.intervalMinutes}`;
  yield `# label: ${label}`;
  yield `# root: ${d.busNames[d.root]}`;
  yield `# buses: ${d.busNames.join(" ")}`;
  const reserved = new Set([
    "units",
    "voltage",
    "feeder",
    "base_kv_ll",
    "base_mva",
    "interval_min",
    "label",
    "root",
    "buses",
  ]);
  for (const [k, v] of Object.entries(d.meta))
    if (!reserved.has(k) && /^[\w.-]+$/.test(k)) yield `# ${k}: ${v.replace(/[\r\n]+/g, " ")}`;
  yield "meter,timestamp,p,q,v";
  const metered = d.busNames.map((_, j) => j).filter((j) => d.metered[j]);
  const shift = label === "end" ? d.intervalMinutes : 0;
  for (let t = 0; t < d.samples; t++) {
    const ts = new Date(start + (d.startMinute[t]! + shift) * 60_000).toISOString().replace(".000Z", "Z");
    for (const j of metered) {
      const v = d.vm[j]![t]!;
      if (j === d.root) {
        if (!Number.isNaN(v)) yield `${d.busNames[j]},${ts},,,${fmt(v * fromPuV)}`;
        continue;
      }
      const p = d.p[j]![t]!;
      const q = d.q[j]![t]!;
      if (Number.isNaN(v) && Number.isNaN(p) && Number.isNaN(q)) continue;
      yield `${d.busNames[j]},${ts},${fmt(p * fromPuP)},${fmt(q * fromPuQ)},${fmt(v * fromPuV)}`;
    }
  }
}

/**
 * Writes the long format (meterReadingLines) to a temporary name next to `path`, then renames it (streaming,
 * bounded memory; nothing is left at `path` on failure). readMeterReadings reads it back.
 */
export function writeMeterReadings(
  path: string,
  d: SmartMeterData,
  opts: LongFormatWriteOptions = {},
): Promise<void> {
  return writeLinesAtomic(path, meterReadingLines(d, opts));
}
