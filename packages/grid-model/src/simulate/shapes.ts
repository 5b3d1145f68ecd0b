import { readFileSync } from "node:fs";

/**
 * Load / PV shapes. Package data (see data/README.md for provenance) is read once from `data/` next to
 * `src/` or `dist/`; user profiles come from a CSV with a time column and one column per profile.
 */

/** Numeric table from a CSV: a leading time column and named value columns. */
export interface ShapeTable {
  /** Time step between rows (minutes). */
  readonly stepMinutes: number;
  readonly columns: readonly string[];
  /** One series per column. */
  readonly series: readonly Float64Array[];
}

/** Bad load-profile CSV; names the file, line and column. */
export class ProfileError extends Error {
  override readonly name = "ProfileError";
}

const TIME_COLUMNS: Record<string, number> = {
  minute: 1,
  minutes: 1,
  start_minute: 1,
  minute_from_start: 1,
  t_min: 1,
  hour: 60,
  hours: 60,
  t_h: 60,
};

/**
 * Parse a profile CSV: header row; first column is time (`minute`, `start_minute`, `hour`, …) with a constant
 * step; other columns numeric (kW, or per unit). Blank lines and `#` comments are skipped.
 */
export function parseShapeCsv(text: string, file = "<profiles.csv>"): ShapeTable {
  const lines = text.split(/\r?\n/);
  let header: string[] | undefined;
  let timeScale = 1;
  const times: number[] = [];
  let cols: number[][] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const cells = line.split(",").map((c) => c.trim());
    if (!header) {
      header = cells;
      const tc = TIME_COLUMNS[cells[0].toLowerCase()];
      if (tc === undefined)
        throw new ProfileError(
          `${file}:${i + 1}: first column must be time (${Object.keys(TIME_COLUMNS).join(", ")}), got "${cells[0]}"`,
        );
      if (cells.length < 2) throw new ProfileError(`${file}:${i + 1}: no profile columns`);
      timeScale = tc;
      cols = cells.slice(1).map(() => []);
      return;
    }
    if (cells.length !== header.length)
      throw new ProfileError(`${file}:${i + 1}: ${cells.length} fields, header has ${header.length}`);
    const t = Number(cells[0]);
    if (!Number.isFinite(t)) throw new ProfileError(`${file}:${i + 1}: time "${cells[0]}" is not a number`);
    times.push(t * timeScale);
    for (let c = 1; c < cells.length; c++) {
      const v = Number(cells[c]);
      if (cells[c] === "" || !Number.isFinite(v))
        throw new ProfileError(`${file}:${i + 1}: column "${header[c]}": "${cells[c]}" is not a number`);
      cols[c - 1].push(v);
    }
  });
  if (!header || times.length < 2) throw new ProfileError(`${file}: needs a header and at least 2 rows`);
  const step = times[1] - times[0];
  if (!(step > 0)) throw new ProfileError(`${file}: time column must increase`);
  for (let k = 2; k < times.length; k++)
    if (Math.abs(times[k] - times[k - 1] - step) > 1e-6 * step)
      throw new ProfileError(
        `${file}: row ${k + 1}: time step ${times[k] - times[k - 1]} differs from ${step} minutes`,
      );
  return { stepMinutes: step, columns: header.slice(1), series: cols.map((c) => Float64Array.from(c)) };
}

const cache = new Map<string, ShapeTable>();
function packaged(name: string): ShapeTable {
  let t = cache.get(name);
  if (!t) {
    const url = new URL(`../../data/${name}`, import.meta.url);
    t = parseShapeCsv(readFileSync(url, "utf8"), name);
    cache.set(name, t);
  }
  return t;
}

/** 100 household daily profiles, 15-min mean kW (package data). */
export function householdProfiles(): ShapeTable {
  return packaged("residential_15min_100profiles.csv");
}

/** One week at 15 min, per-unit multiplier (package data). */
export function weekShape(): ShapeTable {
  return packaged("week_15min_normalized.csv");
}

/** 12 h PV output at 5 min, per unit of peak (package data). */
export function pvShape(): ShapeTable {
  return packaged("pv_12h_5min_normalized.csv");
}

/** Periodic linear interpolation of a series sampled every `step` minutes at time `minute`. */
export function sampleCyclic(series: Float64Array, step: number, minute: number): number {
  const n = series.length;
  const pos = minute / step;
  const f = Math.floor(pos);
  const w = pos - f;
  const i = ((f % n) + n) % n;
  const j = i + 1 === n ? 0 : i + 1;
  return series[i] * (1 - w) + series[j] * w;
}

/** Read a profile CSV file (see parseShapeCsv). */
export async function readShapeCsv(path: string): Promise<ShapeTable> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new ProfileError(
      `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return parseShapeCsv(text, path);
}
