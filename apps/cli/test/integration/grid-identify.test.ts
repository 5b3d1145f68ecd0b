import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { built, simulateGrid, tempDir, x } from "./helpers.js";

const tmp = { path: tempDir("x-cli-grid-id-") };

const run = async (args: string[]) => x(args);
/** `x grid simulate` on the 13-bus feeder, every bus metered, 0.1 %-class |V| meters. */
const simulate13 = (out: string, samples: number, seed: number, extra: string[] = []) =>
  simulateGrid("ieee13", samples, seed, out, extra);

describe.skipIf(!built)("x grid identify / evaluate", () => {
  it("identifies the 13-bus feeder from simulated 0.1 %-class meter data and evaluates it", async () => {
    const csv = join(tmp.path, "sm13.csv");
    const sim = await simulate13(csv, 2000, 3);
    expect(sim.code).toBe(0);
    const model = join(tmp.path, "model.json");
    const id = await run(["grid", "identify", csv, "--out", model, "--json"]);
    expect(id.err).toBe("");
    expect(id.code).toBe(0);
    const summary = JSON.parse(id.out);
    expect(summary).toMatchObject({ feeder: "ieee13", branches: 13, method: "lad", solver: "highs" });
    const doc = JSON.parse(await readFile(model, "utf8"));
    expect(doc.format).toBe("x-grid-model/1");
    expect(doc.branches).toHaveLength(13);

    const ev = await run(["grid", "evaluate", model, "--truth", "ieee13", "--json"]);
    expect(ev.code).toBe(0);
    const m = JSON.parse(ev.out);
    // 680 is an unloaded leaf (identical voltage to 671), so one edge may be ambiguous.
    expect(m.edgeAccuracy).toBeGreaterThanOrEqual(11 / 12);
    expect(m.medianApeZ).toBeLessThan(10);

    const text = await run(["grid", "evaluate", model, "--truth", "ieee13"]);
    expect(text.out).toMatch(/edge accuracy/);
    expect(text.out).toMatch(/median \|z\| error/);
  });

  it("LS and the conductor library run from the CLI; library mode reports conductor accuracy", async () => {
    const csv = join(tmp.path, "sm37.csv");
    expect(
      (
        await run([
          "grid",
          "simulate",
          "--feeder",
          "ieee37",
          "--samples",
          "1200",
          "--meters",
          "all",
          "--out",
          csv,
        ])
      ).code,
    ).toBe(0);
    const ls = join(tmp.path, "ls.json");
    expect((await run(["grid", "identify", csv, "--out", ls, "--method", "ls"])).code).toBe(0);
    const lib = join(tmp.path, "lib.json");
    expect((await run(["grid", "identify", csv, "--out", lib, "--library"])).code).toBe(0);
    const ev = await run(["grid", "evaluate", lib, "--truth", "ieee37", "--json"]);
    const m = JSON.parse(ev.out);
    expect(m.conductorAccuracy).not.toBeNull();
    expect(m.conductorAccuracy).toBeGreaterThan(0.5);
  }, 300_000);

  it("rejects bad usage and bad input with clear errors", async () => {
    expect((await run(["grid", "identify", "nope.csv"])).code).toBe(2);
    expect((await run(["grid", "identify", "x.csv", "--out", "m.json", "--method", "l1"])).code).toBe(2);
    const missing = await run([
      "grid",
      "identify",
      join(tmp.path, "absent.csv"),
      "--out",
      join(tmp.path, "m.json"),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/absent\.csv/);
    const badModel = join(tmp.path, "sm13.csv");
    const ev = await run(["grid", "evaluate", badModel, "--truth", "ieee13"]);
    expect(ev.code).toBe(1);
    expect(ev.err).toMatch(/not a readable model JSON|not an x-grid-model/);
  });
});

describe.skipIf(!built)("x grid identify: unmetered junctions", () => {
  it("names the unmetered buses; --hidden-junctions places the 13-bus junctions 632 and 684 and gives the exact tree", async () => {
    const csv = join(tmp.path, "sm13-load-metered.csv");
    // Meters at the loads only (the later --meters wins): 632, 633, 680 and 684 are unmetered.
    const sim = simulateGrid("ieee13", 2880, 1, csv, ["--meters", "load"]);
    expect(sim.code).toBe(0);
    const plain = await run(["grid", "identify", csv, "--out", join(tmp.path, "m-plain.json"), "-q"]);
    expect(plain.code).toBe(0);
    expect(plain.out).toContain(
      "unmetered buses left out: 632, 633, 680, 684 (the tree joins the metered buses directly; the branches around an unmetered junction are approximations; --hidden-junctions looks for such junctions)",
    );
    const model = join(tmp.path, "m-hidden.json");
    const id = await run(["grid", "identify", csv, "--out", model, "--hidden-junctions", "--json"]);
    expect(id.code).toBe(0);
    const s = JSON.parse(id.out);
    expect(s.hiddenJunctions.map((j: { children: string[] }) => [...j.children].sort())).toEqual(
      expect.arrayContaining([
        ["611", "652"],
        ["634", "645", "670"],
      ]),
    );
    const ev = await run(["grid", "evaluate", model, "--truth", "ieee13", "--json"]);
    expect(ev.code).toBe(0);
    expect(JSON.parse(ev.out)).toMatchObject({ exactTree: true, edgeAccuracy: 1 });
  }, 120_000);
});

describe.skipIf(!built)("x grid identify: bad data, uncertain edges, export", () => {
  const csv = join(tmp.path, "sm13-bad.csv");
  const model = join(tmp.path, "model13-bad.json");

  it("names the readings the bad-data steps rejected and the uncertain edges; the tree stays exact", async () => {
    const sim = await simulate13(csv, 2880, 1, [
      "--junction-load",
      "2%",
      "--missing",
      "5%",
      "--outliers",
      "1%",
    ]);
    expect(sim.code).toBe(0);
    const id = await run(["grid", "identify", csv, "--out", model]);
    expect(id.code).toBe(0);
    const lines = id.out.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      /^bad data: \d+ reading\(s\) rejected \(spike test \d+, residual test \d+; \|V\| \d+, P \d+, Q \d+\)/,
    );
    expect(lines[2]).toMatch(/^uncertain edges: \d+-\d+ \(0\.\d\d\)/);

    const json = await run(["grid", "identify", csv, "--out", model, "--overwrite", "--json"]);
    const s = JSON.parse(json.out);
    const doc = JSON.parse(await readFile(model, "utf8"));
    expect(s.badData.flagged).toBe(doc.badData.readings.length);
    expect(s.badData.flagged).toBeGreaterThan(0);
    expect(s.badData.byTest.spike + s.badData.byTest.residual).toBe(s.badData.flagged);
    expect(s.badData.byQuantity.v + s.badData.byQuantity.p + s.badData.byQuantity.q).toBe(s.badData.flagged);
    expect(s.uncertainEdges.map((u: { edge: string }) => u.edge)).toEqual(doc.uncertainEdges);
    for (const u of s.uncertainEdges) expect(u.confidence).toBeLessThan(0.99);

    const ev = await run(["grid", "evaluate", model, "--truth", "ieee13", "--json"]);
    expect(ev.code).toBe(0);
    expect(JSON.parse(ev.out)).toMatchObject({ exactTree: true, edgeAccuracy: 1 });
    const worst = JSON.parse(ev.out).worstBranches[0];
    const text = await run(["grid", "evaluate", model, "--truth", "ieee13"]);
    expect(text.out).not.toMatch(/wrong edges|missed true edges/);
    expect(text.out).toContain(`worst |z| errors   ${worst.from}-${worst.to} ${worst.apeZ.toFixed(2)} %`);
  }, 120_000);

  it("--matpower / --dss / --feeder-json write the identified feeder; each reads back to the same tree and impedances", async () => {
    const { parseFeederJson, parseMatpower, parseOpenDss } = await import("@x/grid-model");
    const m = join(tmp.path, "id13.m");
    const dss = join(tmp.path, "id13.dss");
    const fj = join(tmp.path, "id13-feeder.json");
    const out = join(tmp.path, "model13-export.json");
    const id = await run([
      "grid",
      "identify",
      csv,
      "--out",
      out,
      "--matpower",
      m,
      "--dss",
      dss,
      "--feeder-json",
      fj,
    ]);
    expect(id.err).toMatch(/^(identify ieee13: .*\n)+$/); // piped: plain progress lines only
    expect(id.code).toBe(0);
    const doc = JSON.parse(await readFile(out, "utf8"));
    for (const f of [
      parseMatpower(await readFile(m, "utf8"), { file: m }),
      parseOpenDss(await readFile(dss, "utf8"), { file: dss }),
      parseFeederJson(await readFile(fj, "utf8"), fj),
    ]) {
      expect(f.buses[0]!.name).toBe(doc.root);
      expect(f.branches).toHaveLength(doc.branches.length);
      for (const br of doc.branches) {
        const to = f.buses.find((b) => b.name === br.to)!;
        const fb = f.branches[to.id - 1]!;
        expect(f.buses[fb.from]!.name).toBe(br.from);
        expect(fb.rPu).toBeCloseTo(Math.max(br.rPu, 0), 9);
        expect(fb.xPu).toBeCloseTo(Math.max(br.xPu, 0), 9);
      }
    }
    // The exported case is a feeder the other commands take: the model against it is the exact tree.
    for (const truth of [m, fj]) {
      const ev = await run(["grid", "evaluate", out, "--truth", truth, "--json"]);
      expect(ev.code).toBe(0);
      expect(JSON.parse(ev.out)).toMatchObject({ exactTree: true, edgeAccuracy: 1 });
      expect(JSON.parse(ev.out).medianApeZ).toBeLessThan(1e-6);
    }

    const again = await run(["grid", "identify", csv, "--out", join(tmp.path, "m2.json"), "--dss", dss]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/exists.*--overwrite/);
    const intoInput = await run([
      "grid",
      "identify",
      csv,
      "--out",
      join(tmp.path, "m3.json"),
      "--matpower",
      csv,
    ]);
    expect(intoInput.code).toBe(2);
    expect(intoInput.err).toMatch(/is the input/);
    const same = await run(["grid", "identify", csv, "--out", m, "--matpower", m, "--overwrite"]);
    expect(same.code).toBe(2);
    expect(same.err).toMatch(/different files/);
  }, 120_000);
});

describe.skipIf(!built)("x grid evaluate: exact up to contraction", () => {
  it("prints it next to the plain exact tree; a bus misplaced across a sub-noise stub is forgiven only there", async () => {
    const { case69 } = await import("@x/grid-model");
    const f = case69();
    // The true 69-bus tree with bus 46 hung from 44 instead of 45 (45-46 is a 1.5 mΩ stub).
    const branches = f.branches.map((b) => ({
      from: f.buses[b.to]!.name === "46" ? "44" : f.buses[b.from]!.name,
      to: f.buses[b.to]!.name,
      rPu: b.rPu,
      xPu: b.xPu,
    }));
    const model = join(tmp.path, "model69.json");
    await writeFile(model, JSON.stringify({ format: "x-grid-model/1", feeder: "ieee69", branches }));
    const ev = await run(["grid", "evaluate", model, "--truth", "ieee69", "--json"]);
    expect(ev.code).toBe(0);
    const m = JSON.parse(ev.out);
    expect(m.exactTree).toBe(false);
    expect(m.edgeAccuracy).toBeCloseTo(67 / 68, 12);
    expect(m.contracted).toMatchObject({
      exactTree: true,
      edgeAccuracy: 1,
      contractedBranches: 23,
      edges: 45,
    });
    const text = await run(["grid", "evaluate", model, "--truth", "ieee69"]);
    expect(text.out).toMatch(/exact tree +no/);
    expect(text.out).toMatch(
      /up to contraction +edges 100\.0 % \(45\/45\), exact yes \[23 true branches contracted: nominal drop/,
    );
    // The text names the misplaced edge, the true edge it replaced, and the worst |z| errors.
    expect(m.wrongEdges).toEqual([{ from: "44", to: "46" }]);
    expect(m.missedEdges).toEqual([{ from: "45", to: "46" }]);
    expect(text.out).toMatch(/^ {2}wrong edges +44-46$/m);
    expect(text.out).toMatch(/^ {2}missed true edges +45-46$/m);
    expect(text.out).toMatch(/^ {2}worst \|z\| errors +\d+-\d+ 0\.00 %/m);
    const off = await run(["grid", "evaluate", model, "--truth", "ieee69", "--contract-drop", "0"]);
    expect(off.out).toMatch(/up to contraction +n\/a/);
    const bad = await run(["grid", "evaluate", model, "--truth", "ieee69", "--contract-drop", "-1"]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--contract-drop/);
  });
});
