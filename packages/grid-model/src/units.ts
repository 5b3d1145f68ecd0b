// Meter settings as people write them ("0.1%", "15min", "0.1V") and the accuracy-class noise convention.

/** A rate, duration or register step that cannot be read; the message says what was expected. */
export class GridUnitError extends Error {
  override readonly name = "GridUnitError";
}

/**
 * A rate as a fraction: "0.1%" → 0.001, "0.001" → 0.001. A bare number above `maxFraction` is refused (it is
 * probably a percentage missing its "%"), and so is anything at or above 100 %.
 */
export function parseRate(text: string, maxFraction = 0.5): number {
  const m = /^([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)(%?)$/i.exec(text.trim());
  if (!m) throw new GridUnitError(`expected a fraction or a percentage such as 0.1%, got '${text}'`);
  const x = Number(m[1]) / (m[2] ? 100 : 1);
  if (!m[2] && x > maxFraction)
    throw new GridUnitError(`${text} is a fraction > ${maxFraction}; did you mean ${text}%?`);
  if (x >= 1) throw new GridUnitError(`must be below 100%, got '${text}'`);
  return x;
}

/** A metering interval in minutes: "15", "15min", "30m", "1h", "90s"; between 1 min and 24 h. */
export function parseMinutes(text: string): number {
  const m = /^([0-9]*\.?[0-9]+)\s*(min|m|h|s)?$/i.exec(text.trim());
  if (!m) throw new GridUnitError(`expected a duration such as 15min or 1h, got '${text}'`);
  const unit = (m[2] ?? "min").toLowerCase();
  const x = Number(m[1]) * (unit === "h" ? 60 : unit === "s" ? 1 / 60 : 1);
  if (!(x >= 1) || x > 1440) throw new GridUnitError(`must be between 1min and 24h, got '${text}'`);
  return x;
}

/** A voltage register step in per unit: "0.1V" (on a 230 V low-voltage base) or "0.0004pu" / "0.0004". */
export function parseVoltageStep(text: string): number {
  const m = /^([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*(V|pu)?$/i.exec(text.trim());
  if (!m) throw new GridUnitError(`expected e.g. 0.1V or 0.0004pu, got '${text}'`);
  return m[2]?.toLowerCase() === "v" ? Number(m[1]) / 230 : Number(m[1]);
}

/**
 * The meter noise σ of |V| and of P/Q from accuracy figures: with `model` "class" a rate is an accuracy class
 * (class c = 3σ), with "sigma" it is σ itself. `pqNoise` defaults to 5 × `noise`, at most 20 %.
 */
export function meterNoiseSigmas(
  noise: number,
  pqNoise: number | undefined,
  model: "class" | "sigma",
): { pqNoise: number; voltageSigma: number; powerSigma: number } {
  const pq = pqNoise ?? Math.min(5 * noise, 0.2);
  const toSigma = (x: number) => (model === "class" ? x / 3 : x);
  return { pqNoise: pq, voltageSigma: toSigma(noise), powerSigma: toSigma(pq) };
}

/** Comma-separated numbers, exactly `count` of them, each finite and >= 0. */
function nonNegatives(text: string, count: number, what: string): number[] {
  const cells = text.split(",").map((s) => s.trim());
  const xs = cells.map(Number);
  if (
    cells.length !== count ||
    cells.some((s) => s === "") ||
    xs.some((x) => !(Number.isFinite(x) && x >= 0))
  )
    throw new GridUnitError(`expected ${what}, got '${text}'`);
  return xs;
}

/** "0.4,0.3,0.3" → ZIP load fractions (constant impedance, current, power), which must sum to 1. */
export function parseZipFractions(text: string): { z: number; i: number; p: number } {
  const [z, i, p] = nonNegatives(text, 3, "three fractions z,i,p >= 0 such as 0.4,0.3,0.3") as [
    number,
    number,
    number,
  ];
  const sum = z + i + p;
  if (Math.abs(sum - 1) > 1e-9)
    throw new GridUnitError(`the ZIP fractions z,i,p must sum to 1, got '${text}' (sum ${sum})`);
  return { z, i, p };
}

/** "0.01,0.02" → a branch impedance r, x in pu. */
export function parseImpedancePu(text: string): { rPu: number; xPu: number } {
  const [rPu, xPu] = nonNegatives(text, 2, "r,x in pu (two numbers >= 0) such as 0.001,0.001") as [
    number,
    number,
  ];
  return { rPu, xPu };
}

const READING_UNITS = {
  p: ["W", "kW", "MW", "pu"],
  q: ["var", "kvar", "Mvar", "pu"],
  v: ["V", "kV", "pu"],
} as const;

/** Units of long-format readings, as the reader takes them. */
export interface ReadingUnits {
  p?: (typeof READING_UNITS.p)[number];
  q?: (typeof READING_UNITS.q)[number];
  v?: (typeof READING_UNITS.v)[number];
}

/** "p=kW,q=kvar,v=V" (any subset, units case-insensitive) → the long-format reader's units. */
export function parseReadingUnits(text: string): ReadingUnits {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const m = /^\s*([pqv])\s*=\s*([A-Za-z]+)\s*$/i.exec(part);
    const key = m?.[1]?.toLowerCase() as keyof typeof READING_UNITS | undefined;
    const unit = key && READING_UNITS[key].find((u) => u.toLowerCase() === m?.[2]?.toLowerCase());
    if (!key || !unit)
      throw new GridUnitError(
        `expected p=W|kW|MW|pu, q=var|kvar|Mvar|pu, v=V|kV|pu (comma-separated), got '${part.trim()}'`,
      );
    out[key] = unit;
  }
  return out as ReadingUnits;
}
