// zoo, evolve, bench and safetensors from the built binary: results as text and --json, the output policy, bad
// input; on a terminal and piped where they show progress.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mergeBackbone, mergeInputs } from "@x/experiments";
import { backboneKeys, buildZoo, quickZooConfig, readBackbone, type Zoo } from "@x/zoo";
import { beforeAll, describe, expect, it } from "vitest";
import { built, lines, SCORER as scorer, tempDir, tinyModel, x, xTty } from "./helpers.js";

const root = tempDir("x-cli-commands-");
describe.skipIf(!built)("x evolve (built binary)", () => {
  let cfg = "";
  beforeAll(async () => {
    await tinyModel(join(root, "evo", "base"), 100, 0.5);
    for (let i = 0; i < 3; i++) await tinyModel(join(root, "evo", `e${i}`), i, 0.4);
    cfg = join(root, "evo", "ta.yml");
    writeFileSync(
      cfg,
      `mode: merge\npopulation: [e0, e1, e2]\nbase: base\nmerge: { method: ta, lambda: 0.3 }\ngenerations: 2\nseed: 5\nevaluator:\n  command: ["${process.execPath}", "${scorer}", "{model}"]\n`,
    );
  });

  it("--example prints a config that loads", () => {
    const r = x(["evolve", "--example"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^mode: merge/m);
  });

  it("runs piped with --json, on a terminal with a progress bar, and resumes to the same model", () => {
    const out = join(root, "evo", "out-json");
    const r = x(["evolve", cfg, out, "--json"]);
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({ mode: "merge", modelDir: join(out, "model") });
    expect(doc.outputScore).toBe(Math.max(...doc.scores, doc.outputScore));
    const tty = xTty(["evolve", cfg, join(root, "evo", "out-tty")]);
    expect(tty.code, tty.out).toBe(0);
    expect(tty.out).toMatch(/evolve \[#+-*\] .*100%/);
    expect(tty.out).toMatch(/^dev score .* wrote /m);
    const piped = x(["evolve", cfg, join(root, "evo", "out-piped")]);
    expect(piped.err).toMatch(/^evolve: .*100%/m);
    const quiet = x(["evolve", cfg, join(root, "evo", "out-quiet"), "--quiet"]);
    expect(quiet.err).toBe("");
    const model = readFileSync(join(out, "model", "model.safetensors"));
    expect(readFileSync(join(root, "evo", "out-tty", "model", "model.safetensors")).equals(model)).toBe(true);
    const resumed = x(["evolve", cfg, out, "--resume", "--quiet"]);
    expect(resumed.code, resumed.err).toBe(0);
    expect(readFileSync(join(out, "model", "model.safetensors")).equals(model)).toBe(true);
  });

  it("refuses a non-empty OUT_DIR without --overwrite or --resume, an OUT_DIR inside an input, and bad configs", () => {
    const refused = x(["evolve", cfg, join(root, "evo", "out-json")]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/exists and is not empty \(pass --overwrite/);
    const inside = x(["evolve", cfg, join(root, "evo", "e0", "out")]);
    expect(inside.code).toBe(2);
    expect(inside.err).toMatch(/lies inside the input/);
    const noCkpt = x(["evolve", cfg, join(root, "evo", "fresh"), "--resume"]);
    expect(noCkpt.code).toBe(2);
    expect(noCkpt.err).toMatch(/no checkpoint to resume from/);
    const bad = join(root, "evo", "bad.yml");
    writeFileSync(bad, "population: [e0]\nevaluator: { command: 'x {model}' }\n");
    const r = x(["evolve", bad, join(root, "evo", "out-bad")]);
    expect(r.code).toBe(1);
    expect(lines(r.err)).toEqual([
      expect.stringMatching(/^x evolve: EvolveConfigError: .*bad\.yml: population: /),
    ]);
  });
});

describe.skipIf(!built)("x zoo, and x merge on zoo models (built binary)", () => {
  let zoo: Zoo;
  beforeAll(async () => {
    const cfg = { ...quickZooConfig(3, 2), sizes: { train: 120, val: 40, test: 60, pretrainPerSource: 100 } };
    zoo = await buildZoo(cfg, { root: join(root, "zoo-cache"), workers: 0 });
  });

  it("x zoo eval prints per-task accuracy, and the same numbers with --json", () => {
    const text = x(["zoo", "eval", join(zoo.dir, "joint"), "--split", "val"]);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/mnist-digits\s+\d+\.\d%/);
    const json = x(["zoo", "eval", join(zoo.dir, "joint"), "--json"]);
    const doc = JSON.parse(json.out);
    expect(doc.headSource).toBe("model");
    expect(doc.tasks.map((t: { accuracy: number }) => t.accuracy)).toEqual(
      zoo.summary.tasks.map((t) => t.jointTest),
    );
  });

  it("zoo model directories feed x merge; its PCB output equals the experiment's merge of the same experts", async () => {
    const out = join(root, "zoo-merged");
    const experts = ["mnist-digits", "fashion-classes"].map((t) => join(zoo.dir, "experts", t));
    const r = x([
      "merge",
      "--method",
      "pcb",
      "--base",
      join(zoo.dir, "pretrained"),
      "--models",
      ...experts,
      "--out",
      out,
      "--ratio",
      "0.2",
      "--lambda",
      "0.5",
      "--quiet",
    ]);
    expect(r.code, r.err).toBe(0);
    const viaCli = await readBackbone(out, zoo.config.arch);
    const viaExperiment = mergeBackbone(mergeInputs(zoo, [0, 1]), {
      method: "pcb",
      params: { ratio: 0.2, lambda: 0.5 },
    });
    for (const k of backboneKeys(zoo.config.arch)) {
      const a = viaCli.get(k)!.data;
      const b = viaExperiment.get(k)!.data;
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-6);
    }
    const merged = x(["zoo", "eval", out, "--zoo", zoo.dir, "--json"]);
    expect(merged.code, merged.err).toBe(0);
    expect(JSON.parse(merged.out).headSource).toBe("expert");
  });

  it("x evolve with the zoo evaluator scores candidates on the zoo's validation split", () => {
    const cfg = join(root, "zoo-evolve.yml");
    const e = (t: string) => join(zoo.dir, "experts", t);
    writeFileSync(
      cfg,
      `mode: merge\npopulation: ["${e("mnist-digits")}", "${e("fashion-classes")}"]\nbase: "${join(zoo.dir, "pretrained")}"\nmerge: { method: ta, lambda: 0.5 }\ninclude: "^backbone\\\\."\ngenerations: 1\nevaluator: { zoo: "${zoo.dir}" }\n`,
    );
    const out = join(root, "zoo-evolve-out");
    const r = x(["evolve", cfg, out, "--json"]);
    expect(r.code, r.err).toBe(0);
    const run = JSON.parse(r.out);
    const val = JSON.parse(
      x(["zoo", "eval", join(out, "model"), "--zoo", zoo.dir, "--split", "val", "--json"]).out,
    );
    expect(val.average).toBe(run.outputScore);
  });

  it("x zoo build trains a 1-task zoo, then loads it from the cache", () => {
    const cache = join(root, "zoo-build");
    const first = x(["zoo", "build", "--tasks", "1", "--workers", "0", "--cache", cache, "--json"]);
    expect(first.code, first.err).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ cached: false, tasks: [{ name: "mnist-digits" }] });
    const again = x(["zoo", "build", "--tasks", "1", "--cache", cache]);
    expect(again.out).toMatch(/^zoo loaded from cache: /m);
    expect(again.out).toMatch(/^mnist-digits +10 /m);
  }, 600_000);
});

describe.skipIf(!built)("x bench (built binary)", () => {
  it("x bench grid --quick writes its results, refuses to replace them without --overwrite, reruns one part", () => {
    const out = join(root, "bench");
    const r = x(["bench", "grid", "--quick", "--out", out, "--json", "--quiet"]);
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.name).toBe("grid-quick");
    expect(JSON.parse(readFileSync(join(out, "grid-quick.json"), "utf8")).cells).toEqual(doc.cells);
    expect(readFileSync(join(out, "grid-quick.md"), "utf8")).toMatch(
      /constant-power \(PQ\) loads, every bus metered/,
    );
    const again = x(["bench", "grid", "--quick", "--out", out]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/grid-quick\.json exists and is not empty \(pass --overwrite/);
    const lp = x(["bench", "grid", "--quick", "--out", out, "--only", "lp", "--quiet"]);
    expect(lp.code, lp.err).toBe(0);
    expect(lp.out).toMatch(/LP solvers on the LAD branch problems/);
    const none = x(["bench", "grid", "--quick", "--out", join(root, "empty"), "--only", "lp"]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/--only lp needs an earlier/);
  });

  it("x bench merging --quick on a subset of methods records the command and only those rows", () => {
    const out = join(root, "bench-m");
    const r = x([
      "bench",
      "merging",
      "--quick",
      "--methods",
      "averaging,task_arithmetic",
      "--no-es",
      "--no-curve",
      "--workers",
      "0",
      "--cache",
      join(root, "bench-zoo"),
      "--out",
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^\| Task arithmetic \|/m);
    const report = JSON.parse(readFileSync(join(out, "merging-quick.json"), "utf8"));
    expect(report.command).toMatch(/^x bench merging --quick --methods averaging,task_arithmetic/);
    expect(Object.keys(report.perSeed[0].rows)).toEqual([
      "expert",
      "pretrained",
      "joint",
      "averaging",
      "task_arithmetic",
    ]);
  }, 600_000);
});

describe.skipIf(!built)("x bench evolver --render (built binary)", () => {
  it("re-renders the markdown and the plot of a committed report next to it", () => {
    const committed = fileURLToPath(
      new URL("../../../../bench/results/evolver-lambda-check.json", import.meta.url),
    );
    const copy = join(root, "render", "report.json");
    mkdirSync(join(root, "render"));
    copyFileSync(committed, copy);
    const r = x(["bench", "evolver", "--render", copy]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/wrote .*report\.md/);
    const md = readFileSync(join(root, "render", "report.md"), "utf8");
    expect(md).toMatch(/^# Evolver experiment/);
    expect(md).toMatch(/\| Evolver B \+ ta \| random search \+ ta \|/);
    expect(readFileSync(join(root, "render", "report-curves.svg"), "utf8")).toMatch(/^<svg /);
  });
});

describe.skipIf(!built)("x safetensors (built binary)", () => {
  it("convert: refuses an existing output and the input itself; inspect --json", async () => {
    const dir = join(root, "st");
    await tinyModel(dir, 1, 0.1);
    const file = join(dir, "model.safetensors");
    const out = join(root, "st-bf16.safetensors");
    expect(x(["safetensors", "convert", file, out, "--dtype", "bf16", "--quiet"]).code).toBe(0);
    const again = x(["safetensors", "convert", file, out, "--dtype", "bf16"]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/exists and is not empty/);
    expect(x(["safetensors", "convert", file, out, "--dtype", "f16", "--overwrite", "--quiet"]).code).toBe(0);
    const self = x(["safetensors", "convert", file, file, "--dtype", "bf16", "--overwrite"]);
    expect(self.code).toBe(2);
    expect(self.err).toMatch(/is the input/);
    const doc = JSON.parse(x(["safetensors", "inspect", out, "--json"]).out);
    // float tensors converted, the integer one untouched
    const dtypes = Object.fromEntries(
      doc.tensors.map((t: { name: string; dtype: string }) => [t.name, t.dtype]),
    );
    expect(dtypes).toEqual({ "layer.weight": "F16", "layer.bias": "F16", "layer.step": "I64" });
  });
});
