/**
 * Published phase-impedance matrices of the IEEE distribution test feeders (Kersting's configurations), as
 * distributed in the OpenDSS test cases: dss-extensions/electricdss-tst @ 3b208397160213cae4a9e2d0a7d1aa3528ce26e1,
 * `Version8/Distrib/IEEETestCases/IEEELineCodes.DSS` (ohm per 1000 ft; codes 1–12: IEEE 123-bus, 300–304:
 * IEEE 34-bus, 601–607: IEEE 13-bus, 721–724: IEEE 37-bus) and `13Bus/IEEE13Nodeckt.dss` (ohm per mile; the
 * local `mtx6xx` codes used by the 13-bus circuit, with 606 as corrected in 2016). 60 Hz.
 * Matrices are stored as the lower triangle, row by row: [z11, z21, z22, z31, z32, z33].
 */

export interface PhaseLineCode {
  readonly id: string;
  readonly nphases: 1 | 2 | 3;
  readonly units: "kft" | "mi";
  readonly rmatrix: readonly number[];
  readonly xmatrix: readonly number[];
  /** Construction and conductors (Kersting's test-feeder documentation). */
  readonly description: string;
  readonly construction: "overhead" | "underground";
  /** Test feeder the code comes from. */
  readonly feeder: string;
}

const OH3 = "overhead 3-ph, spacing 500";
const CFG1 = [
  [0.086666667, 0.029545455, 0.088371212, 0.02907197, 0.029924242, 0.087405303],
  [0.204166667, 0.095018939, 0.198522727, 0.072897727, 0.080227273, 0.201723485],
] as const;

// Codes 2–6 are phase rotations of code 1 (same diagonal / off-diagonal multisets).
const C123_ROT: Record<string, readonly [readonly number[], readonly number[]]> = {
  "2": [
    [0.088371212, 0.02992424, 0.087405303, 0.029545455, 0.02907197, 0.086666667],
    [0.198522727, 0.080227273, 0.201723485, 0.095018939, 0.072897727, 0.204166667],
  ],
  "3": [
    [0.087405303, 0.02907197, 0.086666667, 0.029924242, 0.029545455, 0.088371212],
    [0.201723485, 0.072897727, 0.204166667, 0.080227273, 0.095018939, 0.198522727],
  ],
  "4": [
    [0.087405303, 0.029924242, 0.088371212, 0.02907197, 0.029545455, 0.086666667],
    [0.201723485, 0.080227273, 0.198522727, 0.072897727, 0.095018939, 0.204166667],
  ],
  "5": [
    [0.088371212, 0.029545455, 0.086666667, 0.029924242, 0.02907197, 0.087405303],
    [0.198522727, 0.095018939, 0.204166667, 0.080227273, 0.072897727, 0.201723485],
  ],
  "6": [
    [0.086666667, 0.02907197, 0.087405303, 0.029545455, 0.029924242, 0.088371212],
    [0.204166667, 0.072897727, 0.201723485, 0.095018939, 0.080227273, 0.198522727],
  ],
};

function code(
  id: string,
  nphases: 1 | 2 | 3,
  units: "kft" | "mi",
  r: readonly number[],
  x: readonly number[],
  construction: "overhead" | "underground",
  description: string,
  feeder: string,
): PhaseLineCode {
  return { id, nphases, units, rmatrix: r, xmatrix: x, construction, description, feeder };
}

export const IEEE_LINE_CODES: readonly PhaseLineCode[] = [
  code(
    "1",
    3,
    "kft",
    CFG1[0],
    CFG1[1],
    "overhead",
    `${OH3}; 336,400 26/7 ACSR phases, 4/0 6/1 ACSR neutral`,
    "IEEE 123",
  ),
  ...Object.entries(C123_ROT).map(([id, [r, x]]) =>
    code(id, 3, "kft", r, x, "overhead", `${OH3}; phase rotation of configuration 1`, "IEEE 123"),
  ),
  code(
    "7",
    2,
    "kft",
    [0.086666667, 0.02907197, 0.087405303],
    [0.204166667, 0.072897727, 0.201723485],
    "overhead",
    "overhead 2-ph, spacing 505; 336,400 26/7 ACSR phases, 4/0 6/1 ACSR neutral",
    "IEEE 123",
  ),
  code(
    "8",
    2,
    "kft",
    [0.086666667, 0.02907197, 0.087405303],
    [0.204166667, 0.072897727, 0.201723485],
    "overhead",
    "overhead 2-ph, spacing 505; 336,400 26/7 ACSR phases, 4/0 6/1 ACSR neutral",
    "IEEE 123",
  ),
  ...["9", "10", "11"].map((id) =>
    code(
      id,
      1,
      "kft",
      [0.251742424],
      [0.255208333],
      "overhead",
      "overhead 1-ph, spacing 510; 1/0 ACSR phase and neutral",
      "IEEE 123",
    ),
  ),
  code(
    "12",
    3,
    "kft",
    [0.288049242, 0.09844697, 0.29032197, 0.093257576, 0.09844697, 0.288049242],
    [0.142443182, 0.052556818, 0.135643939, 0.040852273, 0.052556818, 0.142443182],
    "underground",
    "underground 3-ph, spacing 515; 1/0 AA concentric-neutral cable",
    "IEEE 123",
  ),
  code(
    "300",
    3,
    "kft",
    [0.253181818, 0.039791667, 0.250719697, 0.040340909, 0.039128788, 0.251780303],
    [0.252708333, 0.109450758, 0.256988636, 0.094981061, 0.086950758, 0.255132576],
    "overhead",
    "overhead 3-ph, spacing 500; 1/0 ACSR phases and neutral",
    "IEEE 34",
  ),
  code(
    "301",
    3,
    "kft",
    [0.365530303, 0.04407197, 0.36282197, 0.04467803, 0.043333333, 0.363996212],
    [0.267329545, 0.122007576, 0.270473485, 0.107784091, 0.099204545, 0.269109848],
    "overhead",
    "overhead 3-ph, spacing 500; #2 6/1 ACSR phases and neutral",
    "IEEE 34",
  ),
  code(
    "302",
    1,
    "kft",
    [0.530208],
    [0.281345],
    "overhead",
    "overhead 1-ph, spacing 510; #4 6/1 ACSR",
    "IEEE 34",
  ),
  code(
    "303",
    1,
    "kft",
    [0.530208],
    [0.281345],
    "overhead",
    "overhead 1-ph, spacing 510; #4 6/1 ACSR",
    "IEEE 34",
  ),
  code(
    "304",
    1,
    "kft",
    [0.363958],
    [0.269167],
    "overhead",
    "overhead 1-ph, spacing 510; #2 6/1 ACSR",
    "IEEE 34",
  ),
  code(
    "601",
    3,
    "kft",
    [0.065625, 0.029545455, 0.063920455, 0.029924242, 0.02907197, 0.064659091],
    [0.192784091, 0.095018939, 0.19844697, 0.080227273, 0.072897727, 0.195984848],
    "overhead",
    "overhead 3-ph, spacing 500; 556,500 26/7 ACSR phases, 4/0 6/1 ACSR neutral",
    "IEEE 13",
  ),
  code(
    "602",
    3,
    "kft",
    [0.142537879, 0.029924242, 0.14157197, 0.029545455, 0.02907197, 0.140833333],
    [0.22375, 0.080227273, 0.226950758, 0.095018939, 0.072897727, 0.229393939],
    "overhead",
    "overhead 3-ph, spacing 500; 4/0 6/1 ACSR phases and neutral",
    "IEEE 13",
  ),
  code(
    "603",
    2,
    "kft",
    [0.251780303, 0.039128788, 0.250719697],
    [0.255132576, 0.086950758, 0.256988636],
    "overhead",
    "overhead 2-ph, spacing 505; 1/0 ACSR phases and neutral",
    "IEEE 13",
  ),
  code(
    "604",
    2,
    "kft",
    [0.250719697, 0.039128788, 0.251780303],
    [0.256988636, 0.086950758, 0.255132576],
    "overhead",
    "overhead 2-ph, spacing 505; 1/0 ACSR phases and neutral",
    "IEEE 13",
  ),
  code(
    "605",
    1,
    "kft",
    [0.251742424],
    [0.255208333],
    "overhead",
    "overhead 1-ph, spacing 510; 1/0 ACSR",
    "IEEE 13",
  ),
  code(
    "606",
    3,
    "kft",
    [0.151174242, 0.060454545, 0.149450758, 0.053958333, 0.060454545, 0.151174242],
    [0.084526515, 0.006212121, 0.076534091, -0.002708333, 0.006212121, 0.084526515],
    "underground",
    "underground 3-ph, spacing 515; 250 kcmil AA 1/3 concentric-neutral cable",
    "IEEE 13",
  ),
  code(
    "607",
    1,
    "kft",
    [0.254261364],
    [0.097045455],
    "underground",
    "underground 1-ph, spacing 520; 1/0 AA tape-shielded cable, 1/0 Cu neutral",
    "IEEE 13",
  ),
  code(
    "721",
    3,
    "kft",
    [0.055416667, 0.012746212, 0.050113636, 0.006382576, 0.012746212, 0.055416667],
    [0.037367424, -0.006969697, 0.035984848, -0.007897727, -0.006969697, 0.037367424],
    "underground",
    "underground 3-ph, spacing 515; 1,000 kcmil AA concentric-neutral cable",
    "IEEE 37",
  ),
  code(
    "722",
    3,
    "kft",
    [0.089981061, 0.030852273, 0.085, 0.023371212, 0.030852273, 0.089981061],
    [0.056306818, -0.006174242, 0.050719697, -0.011496212, -0.006174242, 0.056306818],
    "underground",
    "underground 3-ph, spacing 515; 500 kcmil AA concentric-neutral cable",
    "IEEE 37",
  ),
  code(
    "723",
    3,
    "kft",
    [0.245, 0.092253788, 0.246628788, 0.086837121, 0.092253788, 0.245],
    [0.127140152, 0.039981061, 0.119810606, 0.028806818, 0.039981061, 0.127140152],
    "underground",
    "underground 3-ph, spacing 515; 2/0 AA concentric-neutral cable",
    "IEEE 37",
  ),
  code(
    "724",
    3,
    "kft",
    [0.396818182, 0.098560606, 0.399015152, 0.093295455, 0.098560606, 0.396818182],
    [0.146931818, 0.051856061, 0.140113636, 0.040208333, 0.051856061, 0.146931818],
    "underground",
    "underground 3-ph, spacing 515; #2 AA concentric-neutral cable",
    "IEEE 37",
  ),
];

/** The local matrix codes of IEEE13Nodeckt.dss (ohm per mile; 606 as corrected by R. Dugan, 2016). */
export const IEEE13_MTX_CODES: readonly PhaseLineCode[] = [
  code(
    "mtx601",
    3,
    "mi",
    [0.3465, 0.156, 0.3375, 0.158, 0.1535, 0.3414],
    [1.0179, 0.5017, 1.0478, 0.4236, 0.3849, 1.0348],
    "overhead",
    "overhead 3-ph, config 601: 556,500 26/7 ACSR phases, 4/0 6/1 ACSR neutral (spacing 500)",
    "IEEE 13",
  ),
  code(
    "mtx602",
    3,
    "mi",
    [0.7526, 0.158, 0.7475, 0.156, 0.1535, 0.7436],
    [1.1814, 0.4236, 1.1983, 0.5017, 0.3849, 1.2112],
    "overhead",
    "overhead 3-ph, config 602: 4/0 6/1 ACSR phases and neutral (spacing 500)",
    "IEEE 13",
  ),
  code(
    "mtx603",
    2,
    "mi",
    [1.3238, 0.2066, 1.3294],
    [1.3569, 0.4591, 1.3471],
    "overhead",
    "overhead 2-ph, config 603: 1/0 ACSR phases and neutral (spacing 505)",
    "IEEE 13",
  ),
  code(
    "mtx604",
    2,
    "mi",
    [1.3238, 0.2066, 1.3294],
    [1.3569, 0.4591, 1.3471],
    "overhead",
    "overhead 2-ph, config 604: 1/0 ACSR phases and neutral (spacing 505)",
    "IEEE 13",
  ),
  code(
    "mtx605",
    1,
    "mi",
    [1.3292],
    [1.3475],
    "overhead",
    "overhead 1-ph, config 605: 1/0 ACSR (spacing 510)",
    "IEEE 13",
  ),
  code(
    "mtx606",
    3,
    "mi",
    [0.791721, 0.318476, 0.781649, 0.28345, 0.318476, 0.791721],
    [0.438352, 0.0276838, 0.396697, -0.0184204, 0.0276838, 0.438352],
    "underground",
    "underground 3-ph, config 606: 250 kcmil AA 1/3 concentric-neutral cable (spacing 515)",
    "IEEE 13",
  ),
  code(
    "mtx607",
    1,
    "mi",
    [1.3425],
    [0.5124],
    "underground",
    "underground 1-ph, config 607: 1/0 AA tape-shielded cable, 1/0 Cu neutral (spacing 520)",
    "IEEE 13",
  ),
];

export const KM_PER_KFT = 0.3048;
export const KM_PER_MILE = 1.609344;

/**
 * Positive-sequence series impedance z1 = zs − zm per km: zs = mean of the diagonal, zm = mean of the
 * off-diagonal of the phase matrix (exact for a transposed line); a 1-phase code uses its self impedance.
 */
export function positiveSequencePerKm(lc: PhaseLineCode): { r: number; x: number } {
  const perKm = 1 / (lc.units === "kft" ? KM_PER_KFT : KM_PER_MILE);
  const n = lc.nphases;
  const expected = (n * (n + 1)) / 2;
  if (lc.rmatrix.length !== expected || lc.xmatrix.length !== expected)
    throw new RangeError(`line code ${lc.id}: expected ${expected} lower-triangle entries for ${n} phases`);
  const reduce = (m: readonly number[]): number => {
    if (n === 1) return m[0];
    let diag = 0;
    let off = 0;
    let idx = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) {
        if (i === j) diag += m[idx];
        else off += m[idx];
        idx++;
      }
    return diag / n - off / ((n * (n - 1)) / 2);
  };
  return { r: reduce(lc.rmatrix) * perKm, x: reduce(lc.xmatrix) * perKm };
}
