// Fisher merging and RegMean from the command line, end to end from the built binary: a tiny zoo, `x zoo stats`
// writing each expert's fisher.safetensors / gram.safetensors beside it (the layout of @x/merging's auxPathOf),
// then `x merge --method fisher` / `--method regmean` over the expert directories. Without the files both methods
// fail naming what is missing (regmean unless --param missing_gram=average asks for the plain average).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { mergeBackbone, mergeInputs } from "@x/experiments";
import { AUX_FILES, auxPathOf } from "@x/merging";
import { openCheckpoint } from "@x/tensor-core";
import { backboneKeys, buildZoo, gramWithRidge, quickZooConfig, type Zoo } from "@x/zoo";
import { beforeAll, describe, expect, it } from "vitest";
import { built, lines, tempDir, x, xTty } from "./helpers.js";

const root = tempDir("x-cli-zoo-stats-");
let zoo: Zoo;
let experts: string[] = [];
const TASKS = ["mnist-digits", "fashion-classes"];

async function readAll(path: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const ck = await openCheckpoint(path);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const n of ck.names()) out.set(n, { shape: [...ck.info(n)!.shape], data: await ck.readFloat32(n) });
  await ck.close();
  return out;
}

/** max |a − b| / max |b| over the entries. */
function relDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / (m || 1);
}

const merge = (method: string, out: string, ...more: string[]) =>
  x(["merge", "--method", method, "--models", ...experts, "--out", join(root, out), "--quiet", ...more]);

beforeAll(async () => {
  // The small settings of the other zoo tests: trains in a few seconds.
  const cfg = { ...quickZooConfig(3, 2), sizes: { train: 120, val: 40, test: 60, pretrainPerSource: 100 } };
  zoo = await buildZoo(cfg, { root: join(root, "zoo-cache"), workers: 0 });
  experts = TASKS.map((t) => join(zoo.dir, "experts", t));
});

describe.skipIf(!built)("x zoo stats, then x merge --method fisher / regmean (built binary)", () => {
  it("without the statistics files: fisher and regmean fail naming the files expected; missing_gram=average averages", async () => {
    const fisher = merge("fisher", "no-fisher");
    expect(fisher.code).toBe(1);
    expect(lines(fisher.err)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^x merge: MergeInputError: model .*mnist-digits: no Fisher weights \\(expected ${join(experts[0]!, "fisher.safetensors")}`,
        ),
      ),
    ]);
    const regmean = merge("regmean", "no-gram");
    expect(regmean.code).toBe(1);
    const expected = experts.map((e) => join(e, AUX_FILES.gram)).join(", ");
    expect(lines(regmean.err)).toEqual([
      `x merge: MergeMethodError: regmean: no Gram matrices were given for any tensor (expected ${expected}: missing); set missing_gram: average (x merge --param missing_gram=average) to merge without them`,
    ]);
    for (const o of ["no-fisher", "no-gram"]) expect(existsSync(join(root, o))).toBe(false);
    const avg = merge("regmean", "gram-average", "--param", "missing_gram=average");
    expect(avg.code, avg.err).toBe(0);
    expect(merge("linear", "linear").code).toBe(0);
    const [a, l] = [await readAll(join(root, "gram-average")), await readAll(join(root, "linear"))];
    for (const [n, t] of l) expect(a.get(n)!.data, n).toEqual(t.data);
  });

  it("x zoo stats writes fisher.safetensors and gram.safetensors beside each expert; a rerun keeps them", async () => {
    const r = x(["zoo", "stats", zoo.dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^zoo stats: 2\/2 100%/m);
    expect(lines(r.out)).toHaveLength(5);
    for (const [k, dir] of experts.entries()) {
      const fisherPath = await auxPathOf(dir, "fisher");
      const gramPath = await auxPathOf(dir, "gram");
      expect(r.out).toContain(`wrote ${fisherPath} (6 tensors)`);
      expect(r.out).toContain(`wrote ${gramPath} (3 tensors)`);
      const model = await readAll(dir);
      const fisher = await readAll(fisherPath);
      const gram = await readAll(gramPath);
      // Fisher: every tensor of the model, same names and shapes, non-negative, not all zero.
      expect([...fisher.keys()].sort()).toEqual([...model.keys()].sort());
      for (const [n, t] of fisher) {
        expect(t.shape, n).toEqual(model.get(n)!.shape);
        expect(t.data.every((v) => v >= 0)).toBe(true);
        expect(t.data.some((v) => v > 0)).toBe(true);
      }
      // Gram: each linear weight [out, in] → [in, in].
      expect([...gram.keys()].sort()).toEqual([...model.keys()].filter((n) => n.endsWith(".weight")).sort());
      for (const [n, t] of gram) expect(t.shape, n).toEqual([model.get(n)!.shape[1], model.get(n)!.shape[1]]);
      // The backbone's statistics are the zoo's own (stats/<task>.safetensors: same code, same training images),
      // the Gram matrices with the zoo's relative ridge.
      const e = zoo.experts[k]!;
      for (const n of backboneKeys(zoo.config.arch))
        expect(relDiff(fisher.get(n)!.data, e.fisher.get(n)!.data), n).toBeLessThan(1e-5);
      for (const [n, g] of e.grams)
        expect(relDiff(gram.get(n)!.data, gramWithRidge(g.data, g.shape[0]!)), n).toBeLessThan(1e-5);
    }
    const again = x(["zoo", "stats", zoo.dir, "--json"]);
    expect(again.code, again.err).toBe(0);
    const doc = JSON.parse(again.out);
    expect(doc.samples).toBe(zoo.config.statsSamples);
    expect(doc.files.map((f: { status: string }) => f.status)).toEqual(["kept", "kept", "kept", "kept"]);
    const tty = xTty(["zoo", "stats", zoo.dir, "--tasks", "mnist-digits"]);
    expect(tty.code, tty.out).toBe(0);
    expect(tty.out).toMatch(/zoo stats \[#+\] 1\/1 100%/);
    expect(tty.out).toMatch(/^kept {2}.*mnist-digits\/fisher\.safetensors \(6 tensors, same settings\)$/m);
    // Other settings: refused unless --overwrite; bad arguments.
    const other = x(["zoo", "stats", zoo.dir, "--samples", "32"]);
    expect(other.code).toBe(2);
    expect(lines(other.err)).toEqual([
      expect.stringMatching(
        /fisher\.safetensors exists and was not computed with these settings \(32 samples.*--overwrite/,
      ),
    ]);
    for (const [args, code, msg] of [
      [["--tasks", "nope"], 2, /no task 'nope' \(the zoo has mnist-digits, fashion-classes\)/],
      [["--samples", "0"], 2, /--samples.*'0' is invalid/],
    ] as const) {
      const bad = x(["zoo", "stats", zoo.dir, ...args]);
      expect(bad.code, args.join(" ")).toBe(code);
      expect(lines(bad.err)).toEqual([expect.stringMatching(msg)]);
    }
    const notZoo = x(["zoo", "stats", root]);
    expect(notZoo.code).toBe(1);
    expect(lines(notZoo.err)).toEqual([
      expect.stringMatching(/^x zoo stats: ZooStoreError: .*: not a zoo directory/),
    ]);
  });

  it("x merge --method fisher / regmean over the experts: the experiment's merges, different from the average", async () => {
    for (const method of ["fisher", "regmean"]) {
      const r = merge(method, method);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toBe("");
      const viaCli = await readAll(join(root, method));
      const viaExperiment = mergeBackbone(mergeInputs(zoo, [0, 1]), { method, params: {} });
      const linear = await readAll(join(root, "linear"));
      let apart = 0;
      for (const n of backboneKeys(zoo.config.arch)) {
        expect(relDiff(viaCli.get(n)!.data, viaExperiment.get(n)!.data), `${method} ${n}`).toBeLessThan(1e-4);
        apart = Math.max(apart, relDiff(viaCli.get(n)!.data, linear.get(n)!.data));
      }
      expect(apart, method).toBeGreaterThan(1e-2);
    }
    const acc = x(["zoo", "eval", join(root, "regmean"), "--zoo", zoo.dir, "--json"]);
    expect(acc.code, acc.err).toBe(0);
    expect(JSON.parse(acc.out).average).toBeGreaterThan(0);
  });
});
