import { existsSync, readFileSync } from "node:fs";
import { inverse, Matrix } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { IEEE_LINE_CODES, IEEE13_MTX_CODES } from "../src/conductors/linecodes.js";
import {
  branchImpedancesPu,
  builtinFeeder,
  builtinFeederNames,
  busIndex,
  distflowResidual,
  type Feeder,
  FeederError,
  linDistFlow,
  nominalLoadsPu,
  pathSumMatrices,
  positiveSequencePerKm,
  solvePowerFlow,
} from "../src/index.js";

const SHARED = new URL("../../../../shared/data/feeders/", import.meta.url);

function minVoltage(f: Feeder, vm: Float64Array): { name: string; v: number } {
  let j = 0;
  for (let k = 1; k < vm.length; k++) if (vm[k] < vm[j]) j = k;
  return { name: f.buses[j].name, v: vm[j] };
}

describe("line-code reduction z1 = zs − zm", () => {
  it("IEEE 13 config 601 → 0.1860 + j0.5968 Ω/mi = 0.1156 + j0.3708 Ω/km (spec §7.1)", () => {
    const z = positiveSequencePerKm(IEEE13_MTX_CODES.find((c) => c.id === "mtx601")!);
    expect(z.r).toBeCloseTo(0.1156, 4);
    expect(z.x).toBeCloseTo(0.3708, 4);
    expect(z.r * 1.609344).toBeCloseTo(0.186, 3);
  });
  it("a 1-phase code uses its self impedance; a 2-phase code zs − zm of the 2×2 matrix", () => {
    const c605 = IEEE13_MTX_CODES.find((c) => c.id === "mtx605")!;
    expect(positiveSequencePerKm(c605).r).toBeCloseTo(1.3292 / 1.609344, 12);
    const c603 = IEEE13_MTX_CODES.find((c) => c.id === "mtx603")!;
    expect(positiveSequencePerKm(c603).r).toBeCloseTo(((1.3238 + 1.3294) / 2 - 0.2066) / 1.609344, 12);
  });
});

// Spec §7.1 validation table (own sweep, root 1.0 pu, constant PQ, capacitors constant Z);
// lin: LinDistFlow max |ΔV| vs AC at base load (spec §1; capacitors at rated kvar in LinDistFlow).
const CASES = [
  {
    id: "ieee13",
    buses: 14,
    vmin: 0.9355,
    at: "652",
    lin: 0.0069,
    p: 3576.6,
    q: 1820.8,
    loss: 110.55,
    ref: "ieee13.json",
  },
  {
    id: "ieee37",
    buses: 37,
    vmin: 0.95725,
    at: "740",
    lin: 0.0006,
    p: 2515.9,
    q: 1254.4,
    loss: 58.86,
    ref: "ieee37.json",
  },
  {
    id: "ieee69",
    buses: 69,
    vmin: 0.90919,
    at: "65",
    lin: 0.0039,
    p: 4027.1,
    q: 2796.9,
    loss: 224.99,
    ref: "case69.json",
  },
] as const;

describe.each(CASES)("built-in feeder $id", (c) => {
  const f = builtinFeeder(c.id);
  const loads = nominalLoadsPu(f);
  const pf = solvePowerFlow(f, loads, { tol: 1e-13 });
  const kw = f.baseMva * 1000;

  it("is radial with the published bus count and documented provenance", () => {
    expect(f.buses.length).toBe(c.buses);
    expect(f.branches.length).toBe(c.buses - 1);
    expect(f.source?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(f.notes.length).toBeGreaterThan(0);
  });

  it("reproduces the spec's base-case power flow", () => {
    const m = minVoltage(f, pf.vm);
    expect(m.name).toBe(c.at);
    expect(m.v).toBeCloseTo(c.vmin, 4);
    expect(pf.rootP * kw).toBeCloseTo(c.p, 0);
    expect(pf.rootQ * kw).toBeCloseTo(c.q, 0);
    expect(pf.lossP * kw).toBeCloseTo(c.loss, 1);
    expect(distflowResidual(f, pf, loads)).toBeLessThan(1e-12);
  });

  it("LinDistFlow error vs AC matches the spec, and inv(R) is the tree Laplacian", () => {
    const qNet = loads.q.map((q, j) => q - loads.qCap[j]);
    const lin = linDistFlow(f, loads.p, qNet, 1);
    let worst = 0;
    for (let j = 0; j < f.buses.length; j++)
      worst = Math.max(worst, Math.abs(Math.sqrt(lin.v[j]) - pf.vm[j]));
    expect(worst).toBeCloseTo(c.lin, 3);
    const { m, R } = pathSumMatrices(f);
    const L = inverse(
      new Matrix(Array.from({ length: m }, (_, i) => Array.from(R.subarray(i * m, (i + 1) * m)))),
    );
    const { r } = branchImpedancesPu(f);
    for (let i = 1; i <= m; i++)
      for (let k = 1; k <= m; k++) {
        const v = L.get(i - 1, k - 1);
        const edge = i !== k && (f.parent[i] === k || f.parent[k] === i);
        if (edge) expect(v / (-1 / r[Math.max(i, k)])).toBeCloseTo(1, 5);
        else if (i !== k) expect(Math.abs(v) * r[i]).toBeLessThan(1e-6);
      }
  });

  const ref = new URL(c.ref, SHARED);
  it.skipIf(!existsSync(ref))("matches the reference JSON (impedances, loads, capacitors, tree)", () => {
    const data = JSON.parse(readFileSync(ref, "utf8"));
    expect(f.baseKvLl).toBe(data.base_kv_ll);
    expect(f.baseMva).toBe(data.base_mva);
    for (const b of data.buses) {
      const j = busIndex(f, b.name);
      expect(f.buses[j].pKw).toBeCloseTo(b.p_kw, 9);
      expect(f.buses[j].qKvar).toBeCloseTo(b.q_kvar, 9);
      expect(f.buses[j].shuntCapKvar).toBeCloseTo(b.shunt_cap_kvar, 9);
    }
    for (const br of data.branches) {
      const j = busIndex(f, data.buses[br.to].name);
      const mine = f.branches[j - 1];
      expect(f.buses[mine.from].name).toBe(data.buses[br.from].name);
      expect(mine.kind).toBe(br.kind);
      expect(mine.rOhm).toBeCloseTo(br.r_ohm, 6);
      expect(mine.xOhm).toBeCloseTo(br.x_ohm, 6);
      if (br.length_km) expect(mine.lengthKm).toBeCloseTo(br.length_km, 9);
    }
  });
});

describe("built-in registry", () => {
  it("lists the three feeders (and the reduced 69-bus) and accepts aliases", () => {
    expect(builtinFeederNames()).toEqual(["ieee13", "ieee37", "ieee69", "ieee69-merged"]);
    expect(builtinFeeder("case69").id).toBe("ieee69");
    expect(builtinFeeder("13").id).toBe("ieee13");
    expect(() => builtinFeeder("ieee123")).toThrow(FeederError);
  });
  it("every IEEE line code has a well-formed lower triangle", () => {
    for (const lc of [...IEEE_LINE_CODES, ...IEEE13_MTX_CODES]) {
      const z = positiveSequencePerKm(lc);
      expect(z.r).toBeGreaterThan(0);
      expect(z.x).toBeGreaterThan(0);
    }
  });
});
