import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  buildFeeder,
  builtinFeeder,
  type Feeder,
  FeederError,
  feederToJson,
  loadFeeder,
  parseFeederJson,
  parseMatpower,
  solvePowerFlow,
} from "../src/index.js";
import { parseMatpowerCase } from "../src/io/matpower.js";

const dir = mkdtempSync(join(tmpdir(), "grid-io-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Render a feeder as a MATPOWER case: v2 style (ohm / kW + conversion statements) or plain pu / MW. */
function toMatpower(f: Feeder, style: "v2" | "pu"): string {
  const kv = f.baseKvLl;
  const zb = f.zBaseOhm;
  const lines = [
    "function mpc = testcase",
    "%TESTCASE  generated for the reader test",
    "mpc.version = '2';",
    `mpc.baseMVA = ${f.baseMva};`,
    "%\tbus_i\ttype\tPd\tQd\tGs\tBs\tarea\tVm\tVa\tbaseKV\tzone\tVmax\tVmin",
    "mpc.bus = [ %% loads",
  ];
  const s = style === "v2" ? 1 : 1e-3;
  for (const b of f.buses)
    lines.push(
      `\t${b.name}\t${b.id === 0 ? 3 : 1}\t${b.pKw * s}\t${b.qKvar * s}\t0\t${b.shuntCapKvar / 1000}\t1\t1\t0\t${kv}\t1\t1.1\t0.9;`,
    );
  lines.push("];", "", "mpc.gen = [", `\t${f.buses[0].name}\t0\t0\t10\t-10\t1\t100\t1\t10\t0;`, "];", "");
  lines.push("mpc.branch = [");
  f.branches.forEach((br, k) => {
    const r = style === "v2" ? br.rOhm : br.rOhm / zb;
    const x = style === "v2" ? br.xOhm : br.xOhm / zb;
    // Alternate separators and a continuation to exercise the tokenizer.
    const row = `${f.buses[br.from].name}, ${f.buses[br.to].name}\t${r}\t${x}\t0\t0\t0\t0\t0\t0\t1\t-360\t360`;
    lines.push(k % 7 === 3 ? `\t${row.replace("\t0\t0\t0", " ...\n\t0 0 0")};` : `\t${row}; % branch ${k}`);
  });
  // An out-of-service tie line: must be skipped (it would close a loop).
  lines.push(
    `\t${f.buses[1].name}\t${f.buses[f.buses.length - 1].name}\t1\t1\t0\t0\t0\t0\t0\t0\t0\t-360\t360;`,
  );
  lines.push("];");
  if (style === "v2")
    lines.push(
      "[PQ, PV, REF, NONE, BUS_I, BUS_TYPE, PD, QD, GS, BS, BUS_AREA, VM, ...",
      "    VA, BASE_KV, ZONE, VMAX, VMIN, LAM_P, LAM_Q, MU_VMAX, MU_VMIN] = idx_bus;",
      "Vbase = mpc.bus(1, BASE_KV) * 1e3;      %% in Volts",
      "Sbase = mpc.baseMVA * 1e6;              %% in VA",
      "mpc.branch(:, [BR_R BR_X]) = mpc.branch(:, [BR_R BR_X]) / (Vbase^2 / Sbase);",
      "mpc.bus(:, [PD, QD]) = mpc.bus(:, [PD, QD]) / 1e3;",
    );
  return lines.join("\n");
}

function sameFeeder(a: Feeder, b: Feeder): void {
  expect(b.buses.map((x) => x.name)).toEqual(a.buses.map((x) => x.name));
  expect(Array.from(b.parent)).toEqual(Array.from(a.parent));
  a.branches.forEach((br, k) => {
    expect(b.branches[k].rOhm).toBeCloseTo(br.rOhm, 10);
    expect(b.branches[k].xOhm).toBeCloseTo(br.xOhm, 10);
  });
  a.buses.forEach((bus, k) => {
    expect(b.buses[k].pKw).toBeCloseTo(bus.pKw, 9);
    expect(b.buses[k].qKvar).toBeCloseTo(bus.qKvar, 9);
    expect(b.buses[k].shuntCapKvar).toBeCloseTo(bus.shuntCapKvar, 9);
  });
}

describe("MATPOWER reader", () => {
  it.each(["v2", "pu"] as const)(
    "reads the 69-bus case (%s units) and reproduces its power flow",
    (style) => {
      const ref = builtinFeeder("ieee69");
      const f = parseMatpower(toMatpower(ref, style), { file: "case69.m" });
      expect(f.id).toBe("case69");
      expect(f.baseKvLl).toBe(12.66);
      sameFeeder(ref, f);
      const pf = solvePowerFlow(f);
      expect(Math.min(...pf.vm)).toBeCloseTo(0.90919, 4);
      expect(pf.lossP * 1e4).toBeCloseTo(224.99, 1);
    },
  );

  it("keeps shunt capacitors (BS) of the 13-bus equivalent", () => {
    const ref = builtinFeeder("ieee13");
    const f = parseMatpower(toMatpower(ref, "v2"), { file: "ieee13.m" });
    sameFeeder(ref, f);
  });

  it("treats generators at non-root buses as negative loads and drops isolated buses", () => {
    const ref = builtinFeeder("ieee13");
    let text = toMatpower(ref, "pu");
    // A 0.2 MW / 0.05 MVAr generator at 675 and an isolated extra bus 999 with a branch to it.
    text = text.replace("mpc.gen = [\n", "mpc.gen = [\n\t675\t0.2\t0.05\t1\t-1\t1\t100\t1\t1\t0;\n");
    text = text.replace(
      "mpc.bus = [ %% loads\n",
      "mpc.bus = [ %% loads\n\t999\t4\t0\t0\t0\t0\t1\t1\t0\t4.16\t1\t1.1\t0.9;\n",
    );
    text = text.replace(
      "mpc.branch = [\n",
      "mpc.branch = [\n\t675\t999\t0.01\t0.01\t0\t0\t0\t0\t0\t0\t1\t-360\t360;\n",
    );
    const f = parseMatpower(text, { file: "dg.m" });
    expect(f.buses.length).toBe(14);
    const b675 = f.buses.find((b) => b.name === "675")!;
    expect(b675.pKw).toBeCloseTo(843 - 200, 9);
    expect(b675.qKvar).toBeCloseTo(462 - 50, 9);
    expect(f.notes.join(" ")).toMatch(/1 generator\(s\) at non-root buses.*isolated buses dropped: 999/);
  });

  it("reports bad input with file and line", () => {
    const good = toMatpower(builtinFeeder("ieee13"), "pu");
    expect(() =>
      parseMatpower(good.replace("\t1\t3\t", "\t1\t3\t").replace(/\n\t632\t1\t/, "\n\t632\t3\t")),
    ).toThrow(/exactly one reference bus.*650, 632/);
    expect(() => parseMatpower(good.replace("mpc.baseMVA = 1;", ""), { file: "x.m" })).toThrow(
      /x\.m: mpc\.baseMVA/,
    );
    expect(() => parseMatpowerCase("mpc.baseMVA = 1;\nmpc.bus = [\n 1 3 0;\n 2 1 abc;\n];", "y.m")).toThrow(
      /y\.m:4: mpc\.bus: "abc" is not a number/,
    );
    expect(() => parseMatpowerCase("mpc.baseMVA = 1;\nmpc.bus = [\n 1 3 0;\n 2 1;\n];", "y.m")).toThrow(
      /y\.m:4: .*2 columns/,
    );
    expect(() => parseMatpower(`${good}\nmpc.branch(:, 3) = 2 * mpc.branch(:, 3);`, { file: "z.m" })).toThrow(
      /unsupported statement/,
    );
    // A closed loop: re-enable the tie line.
    expect(() =>
      parseMatpower(good.replace(/\t1\t1\t0\t0\t0\t0\t0\t0\t0\t-360/, "\t1\t1\t0\t0\t0\t0\t0\t0\t1\t-360")),
    ).toThrow(/not radial/);
    expect(() => parseMatpower(good.replace(/\n\t(675)\t1\t/, "\n\t999\t1\t"))).toThrow(FeederError);
  });
});

type Row = { name: string; [k: string]: unknown };
type Doc = { buses: Row[]; branches: Row[]; [k: string]: unknown };
const byName = (rows: Row[], name: string): Row => rows.find((r) => r.name === name)!;

describe("feeder JSON format", () => {
  it("round-trips every built-in feeder", () => {
    for (const id of ["ieee13", "ieee37", "ieee69"]) {
      const f = builtinFeeder(id);
      const g = parseFeederJson(JSON.stringify(feederToJson(f)), `${id}.json`);
      sameFeeder(f, g);
      expect(g.id).toBe(f.id);
      expect(g.notes).toEqual(f.notes);
    }
  });

  it("rejects malformed documents naming the file and the field", () => {
    const doc = feederToJson(builtinFeeder("ieee13")) as Record<string, unknown>;
    const bad = (mut: (d: Doc) => void) => {
      const d = JSON.parse(JSON.stringify(doc));
      mut(d);
      return () => parseFeederJson(JSON.stringify(d), "my.json");
    };
    expect(() => parseFeederJson("{", "my.json")).toThrow(/my\.json: invalid JSON/);
    expect(bad((d) => delete d.baseKvLl)).toThrow(/my\.json: feeder is missing "baseKvLl"/);
    expect(bad((d) => (byName(d.buses, "645").pKw = "12"))).toThrow(
      /bus "645" "pKw" must be a finite number/,
    );
    expect(bad((d) => (byName(d.branches, "632645").rOhm = -1))).toThrow(
      /my\.json: .*branch "632645".*non-negative/,
    );
    expect(bad((d) => (d.format = "other"))).toThrow(/format is "other"/);
    expect(
      bad((d) =>
        d.branches.splice(
          d.branches.findIndex((b) => b.name === "692675"),
          1,
        ),
      ),
    ).toThrow(/not connected.*"675"/);
  });
});

describe("MATPOWER reader (property)", () => {
  it("random radial feeders survive a MATPOWER round trip in both unit conventions", () => {
    const arb = fc.integer({ min: 2, max: 30 }).chain((n) =>
      fc.record({
        parents: fc.tuple(...Array.from({ length: n - 1 }, (_, k) => fc.integer({ min: 0, max: k }))),
        z: fc.array(
          fc.tuple(fc.double({ min: 1e-3, max: 2, noNaN: true }), fc.double({ min: 0, max: 2, noNaN: true })),
          {
            minLength: n - 1,
            maxLength: n - 1,
          },
        ),
        load: fc.array(
          fc.tuple(
            fc.double({ min: 0, max: 500, noNaN: true }),
            fc.double({ min: 0, max: 300, noNaN: true }),
          ),
          {
            minLength: n,
            maxLength: n,
          },
        ),
      }),
    );
    fc.assert(
      fc.property(
        arb,
        fc.constantFrom("v2", "pu") as fc.Arbitrary<"v2" | "pu">,
        ({ parents, z, load }, style) => {
          const f = buildFeeder({
            id: "rnd",
            baseKvLl: 11,
            baseMva: 5,
            root: "1",
            buses: load.map(([p, q], i) => ({
              name: String(i + 1),
              pKw: i === 0 ? 0 : p,
              qKvar: i === 0 ? 0 : q,
            })),
            branches: parents.map((p, k) => ({
              from: String(p + 1),
              to: String(k + 2),
              rOhm: z[k][0],
              xOhm: z[k][1],
            })),
          });
          sameFeeder(f, parseMatpower(toMatpower(f, style), { file: "rnd.m" }));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("loadFeeder", () => {
  it("loads built-ins, JSON and MATPOWER files; unknown names are a FeederError", async () => {
    expect((await loadFeeder("ieee37")).buses.length).toBe(37);
    const j = join(dir, "f.json");
    writeFileSync(j, JSON.stringify(feederToJson(builtinFeeder("ieee13"))));
    expect((await loadFeeder(j)).id).toBe("ieee13");
    const m = join(dir, "mycase.m");
    writeFileSync(m, toMatpower(builtinFeeder("ieee69"), "v2"));
    expect((await loadFeeder(m)).id).toBe("mycase");
    await expect(loadFeeder("nope")).rejects.toThrow(/unknown feeder "nope"/);
    await expect(loadFeeder(join(dir, "missing.json"))).rejects.toThrow(/cannot read feeder file \(ENOENT\)/);
  });
});
