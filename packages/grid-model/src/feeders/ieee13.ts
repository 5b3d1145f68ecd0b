import { IEEE13_MTX_CODES } from "../conductors/linecodes.js";
import type { Feeder } from "../feeder.js";
import { type LineRow, type LoadRow, reduceUnbalancedFeeder } from "./reduce.js";

/**
 * IEEE 13-node test feeder, positive-sequence single-phase equivalent reduced here from the published data
 * (line-code phase matrices, lengths, spot loads) as given in the OpenDSS test case
 * dss-extensions/electricdss-tst @ 3b208397160213cae4a9e2d0a7d1aa3528ce26e1,
 * `Version8/Distrib/IEEETestCases/13Bus/IEEE13Nodeckt.dss`.
 */

// [name, from, to, line code, length ft]
const LINES: readonly LineRow[] = [
  ["650632", "650", "632", "mtx601", 2000],
  ["632670", "632", "670", "mtx601", 667],
  ["670671", "670", "671", "mtx601", 1333],
  ["671680", "671", "680", "mtx601", 1000],
  ["632633", "632", "633", "mtx602", 500],
  ["632645", "632", "645", "mtx603", 500],
  ["645646", "645", "646", "mtx603", 300],
  ["692675", "692", "675", "mtx606", 500],
  ["671684", "671", "684", "mtx604", 300],
  ["684611", "684", "611", "mtx605", 300],
  ["684652", "684", "652", "mtx607", 800],
];

// [name, bus, phases, model (1 PQ, 2 Z, 5 I), kW, kvar]
const LOADS: readonly LoadRow[] = [
  ["671", "671", "abc", 1, 1155, 660],
  ["634a", "634", "a", 1, 160, 110],
  ["634b", "634", "b", 1, 120, 90],
  ["634c", "634", "c", 1, 120, 90],
  ["645", "645", "b", 1, 170, 125],
  ["646", "646", "bc", 2, 230, 132],
  ["692", "692", "ca", 5, 170, 151],
  ["675a", "675", "a", 1, 485, 190],
  ["675b", "675", "b", 1, 68, 60],
  ["675c", "675", "c", 1, 290, 212],
  ["611", "611", "c", 5, 170, 80],
  ["652", "652", "a", 2, 128, 86],
  ["670a", "670", "a", 1, 17, 10],
  ["670b", "670", "b", 1, 66, 38],
  ["670c", "670", "c", 1, 117, 68],
];

/** Build the IEEE 13-node positive-sequence equivalent (root 650 at 1.0 pu). */
export function ieee13(): Feeder {
  return reduceUnbalancedFeeder({
    id: "ieee13",
    name: "IEEE 13-node test feeder, positive-sequence equivalent",
    baseKvLl: 4.16,
    baseMva: 1,
    frequencyHz: 60,
    root: "650",
    buses: ["650", "632", "633", "645", "670", "634", "646", "671", "680", "684", "692", "611", "652", "675"],
    lines: LINES,
    codes: IEEE13_MTX_CODES,
    transformers: [
      {
        name: "XFM1",
        from: "633",
        to: "634",
        kva: 500,
        rPercent: 1.1,
        xPercent: 2,
        description: "500 kVA 4.16/0.48 kV Gr.Y-Gr.Y, R 0.55 % per winding, XHL 2 %",
      },
    ],
    switches: [["671692", "671", "692", 1e-4]],
    loads: LOADS,
    capacitors: [
      ["675", 600],
      ["611", 100],
    ],
    source: {
      description: "IEEE PES 13-node test feeder (Kersting), OpenDSS model IEEE13Nodeckt.dss",
      repo: "dss-extensions/electricdss-tst",
      commit: "3b208397160213cae4a9e2d0a7d1aa3528ce26e1",
      path: "Version8/Distrib/IEEETestCases/13Bus/IEEE13Nodeckt.dss",
    },
    notes: [
      "Lines: z1 = zs − zm of the phase matrix (2-phase codes from their 2×2 matrix; 1-phase codes 605/607 use the self impedance); shunt capacitance ignored.",
      "Substation transformer (impedance /1000 in the source) dropped; regulator 650→RG60 ideal, RG60 merged into root 650 at 1.0 pu (≈1.06 mimics the published taps).",
      "XFM1 633→634 kept as a series branch referred to 4.16 kV; switch 671→692 kept as 1e-4 Ω (merge it for identification).",
      "Per-phase loads (constant Z / I / PQ, wye and delta) summed to three-phase constant-PQ totals; the distributed load 632–671 is the spot load at 670 as in the source.",
      "Capacitors: 675 600 kvar (3-ph), 611 100 kvar (phase c), rated at nominal voltage (constant impedance).",
    ],
  });
}
