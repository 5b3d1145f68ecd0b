import type { Feeder } from "../feeder.js";
import { IEEE_LINE_CODES, IEEE13_MTX_CODES, type PhaseLineCode, positiveSequencePerKm } from "./linecodes.js";

/**
 * Conductor library: standard conductor / cable types with positive-sequence series impedance per km.
 * - IEEE entries (60 Hz): reduced here (z1 = zs − zm) from the published Kersting phase-impedance matrices of
 *   the IEEE 13 / 34 / 37 / 123 test feeders (see linecodes.ts for the source and commit).
 * - pandapower entries (50 Hz): the basic line standard types of pandapower (e2nIEE/pandapower @
 *   0603c22b67450d32821567608c00e94439fdeaae, `pandapower/std_types.py`, function add_basic_std_types; values
 *   from Heuck, "Elektrische Energieversorgung", Vieweg+Teubner 2013, pp. 742–744).
 * Reactance depends on spacing and frequency: restrict a library to the construction, voltage class and
 * frequency of the feeder under study before using it for identification.
 */

export interface ConductorType {
  readonly id: string;
  readonly name: string;
  readonly family: "ieee" | "pandapower";
  readonly construction: "overhead" | "underground" | "cable";
  readonly nphases: number;
  readonly frequencyHz: 50 | 60;
  readonly rOhmPerKm: number;
  readonly xOhmPerKm: number;
  readonly description: string;
  readonly source: string;
  /** pandapower entries only. */
  readonly cNfPerKm?: number;
  readonly maxIKa?: number;
  readonly crossSectionMm2?: number;
}

// [name, construction, r (Ω/km), x (Ω/km), c (nF/km), max I (kA), cross-section (mm²)]
const PANDAPOWER: readonly (readonly [
  string,
  "cable" | "overhead",
  number,
  number,
  number,
  number,
  number,
])[] = [
  ["NAYY 4x50 SE", "cable", 0.642, 0.083, 210, 0.142, 50],
  ["NAYY 4x120 SE", "cable", 0.225, 0.08, 264, 0.242, 120],
  ["NAYY 4x150 SE", "cable", 0.208, 0.08, 261, 0.27, 150],
  ["NA2XS2Y 1x95 RM/25 12/20 kV", "cable", 0.313, 0.132, 216, 0.252, 95],
  ["NA2XS2Y 1x185 RM/25 12/20 kV", "cable", 0.161, 0.117, 273, 0.362, 185],
  ["NA2XS2Y 1x240 RM/25 12/20 kV", "cable", 0.122, 0.112, 304, 0.421, 240],
  ["NA2XS2Y 1x95 RM/25 6/10 kV", "cable", 0.313, 0.123, 315, 0.249, 95],
  ["NA2XS2Y 1x185 RM/25 6/10 kV", "cable", 0.161, 0.11, 406, 0.358, 185],
  ["NA2XS2Y 1x240 RM/25 6/10 kV", "cable", 0.122, 0.105, 456, 0.416, 240],
  ["NA2XS2Y 1x150 RM/25 12/20 kV", "cable", 0.206, 0.116, 250, 0.319, 150],
  ["NA2XS2Y 1x120 RM/25 12/20 kV", "cable", 0.253, 0.119, 230, 0.283, 120],
  ["NA2XS2Y 1x70 RM/25 12/20 kV", "cable", 0.443, 0.132, 190, 0.22, 70],
  ["NA2XS2Y 1x150 RM/25 6/10 kV", "cable", 0.206, 0.11, 360, 0.315, 150],
  ["NA2XS2Y 1x120 RM/25 6/10 kV", "cable", 0.253, 0.113, 340, 0.28, 120],
  ["NA2XS2Y 1x70 RM/25 6/10 kV", "cable", 0.443, 0.123, 280, 0.217, 70],
  ["15-AL1/3-ST1A 0.4", "overhead", 1.8769, 0.35, 11, 0.105, 16],
  ["24-AL1/4-ST1A 0.4", "overhead", 1.2012, 0.335, 11.25, 0.14, 24],
  ["48-AL1/8-ST1A 0.4", "overhead", 0.5939, 0.3, 12.2, 0.21, 48],
  ["94-AL1/15-ST1A 0.4", "overhead", 0.306, 0.29, 13.2, 0.35, 94],
  ["34-AL1/6-ST1A 10.0", "overhead", 0.8342, 0.36, 9.7, 0.17, 34],
  ["48-AL1/8-ST1A 10.0", "overhead", 0.5939, 0.35, 10.1, 0.21, 48],
  ["70-AL1/11-ST1A 10.0", "overhead", 0.4132, 0.339, 10.4, 0.29, 70],
  ["94-AL1/15-ST1A 10.0", "overhead", 0.306, 0.33, 10.75, 0.35, 94],
  ["122-AL1/20-ST1A 10.0", "overhead", 0.2376, 0.323, 11.1, 0.41, 122],
  ["149-AL1/24-ST1A 10.0", "overhead", 0.194, 0.315, 11.25, 0.47, 149],
  ["34-AL1/6-ST1A 20.0", "overhead", 0.8342, 0.382, 9.15, 0.17, 34],
  ["48-AL1/8-ST1A 20.0", "overhead", 0.5939, 0.372, 9.5, 0.21, 48],
  ["70-AL1/11-ST1A 20.0", "overhead", 0.4132, 0.36, 9.7, 0.29, 70],
  ["94-AL1/15-ST1A 20.0", "overhead", 0.306, 0.35, 10, 0.35, 94],
  ["122-AL1/20-ST1A 20.0", "overhead", 0.2376, 0.344, 10.3, 0.41, 122],
  ["149-AL1/24-ST1A 20.0", "overhead", 0.194, 0.337, 10.5, 0.47, 149],
  ["184-AL1/30-ST1A 20.0", "overhead", 0.1571, 0.33, 10.75, 0.535, 184],
  ["243-AL1/39-ST1A 20.0", "overhead", 0.1188, 0.32, 11, 0.645, 243],
];

const PP_SOURCE =
  "e2nIEE/pandapower@0603c22b67450d32821567608c00e94439fdeaae pandapower/std_types.py (Heuck 2013, pp. 742-744)";
const IEEE_SOURCE =
  "dss-extensions/electricdss-tst@3b208397160213cae4a9e2d0a7d1aa3528ce26e1 Version8/Distrib/IEEETestCases (IEEELineCodes.DSS, 13Bus/IEEE13Nodeckt.dss)";

function fromLineCode(lc: PhaseLineCode, id: string): ConductorType {
  const z = positiveSequencePerKm(lc);
  return {
    id,
    name: lc.id,
    family: "ieee",
    construction: lc.construction,
    nphases: lc.nphases,
    frequencyHz: 60,
    rOhmPerKm: z.r,
    xOhmPerKm: z.x,
    description: `${lc.feeder} configuration ${lc.id}: ${lc.description}`,
    source: IEEE_SOURCE,
  };
}

let cached: readonly ConductorType[] | undefined;

/** All library entries: 29 IEEE configurations and 33 pandapower types. */
export function conductorLibrary(): readonly ConductorType[] {
  cached ??= [
    ...IEEE_LINE_CODES.map((lc) => fromLineCode(lc, `ieee-${lc.id}`)),
    fromLineCode(IEEE13_MTX_CODES.find((c) => c.id === "mtx606")!, "ieee13-mtx606"),
    ...PANDAPOWER.map(
      ([name, construction, r, x, c, i, q]): ConductorType => ({
        id: `pp-${name.replace(/[ /.-]/g, "_")}`,
        name,
        family: "pandapower",
        construction,
        nphases: 3,
        frequencyHz: 50,
        rOhmPerKm: r,
        xOhmPerKm: x,
        description: `pandapower basic std type ${name}`,
        source: PP_SOURCE,
        cNfPerKm: c,
        maxIKa: i,
        crossSectionMm2: q,
      }),
    ),
  ];
  return cached;
}

export interface LibraryFilter {
  readonly family?: "ieee" | "pandapower";
  readonly frequencyHz?: 50 | 60;
  readonly construction?: ConductorType["construction"];
  /** Only 3-phase configurations (positive-sequence equivalents of 3-phase lines). */
  readonly threePhaseOnly?: boolean;
  /** Drop entries whose (r, x) per km equals an earlier entry's within this relative tolerance. */
  readonly dedupeTol?: number;
}

/** A filtered view of the library, optionally with exact duplicates (phase rotations etc.) removed. */
export function selectConductors(filter: LibraryFilter = {}): ConductorType[] {
  const out: ConductorType[] = [];
  for (const c of conductorLibrary()) {
    if (filter.family && c.family !== filter.family) continue;
    if (filter.frequencyHz && c.frequencyHz !== filter.frequencyHz) continue;
    if (filter.construction && c.construction !== filter.construction) continue;
    if (filter.threePhaseOnly && c.nphases !== 3) continue;
    const tol = filter.dedupeTol;
    if (
      tol !== undefined &&
      out.some(
        (o) =>
          Math.abs(o.rOhmPerKm / c.rOhmPerKm - 1) <= tol && Math.abs(o.xOhmPerKm / c.xOhmPerKm - 1) <= tol,
      )
    )
      continue;
    out.push(c);
  }
  return out;
}

/** Library entries in per unit per km on a feeder's base (the form the identification consumes). */
export function conductorsPu(
  feeder: Pick<Feeder, "zBaseOhm">,
  entries: readonly ConductorType[],
): { id: string; rPuPerKm: number; xPuPerKm: number }[] {
  return entries.map((c) => ({
    id: c.id,
    rPuPerKm: c.rOhmPerKm / feeder.zBaseOhm,
    xPuPerKm: c.xOhmPerKm / feeder.zBaseOhm,
  }));
}

/** Entry by id; undefined when absent. */
export function conductorById(id: string): ConductorType | undefined {
  return conductorLibrary().find((c) => c.id === id);
}
