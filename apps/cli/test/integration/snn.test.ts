// x snn train | cade | eval and x bench cade from the built binary: default flags, piped and on a terminal,
// --json, checkpoints written elsewhere, bad checkpoints and data, usage errors; toy scale on real Fashion-MNIST.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FastSnn, loadModel } from "@x/snn";
import { openSafetensors, saveSafetensors, Tensor } from "@x/tensor-core";
import { beforeAll, describe, expect, it } from "vitest";
import { built, lines, tempDir, x, xTty } from "./helpers.js";
import { writeFashionFile } from "./snn-helpers.js";

const root = tempDir("x-cli-snn-");
const SOURCE_DATA = join(root, "source.safetensors"); // Fashion classes 5, 7, 8, 9 relabelled 0..3
const TARGET_DATA = join(root, "target.safetensors"); // Fashion classes 0, 1, 2 relabelled 0..2
const TINY = ["--hidden", "16", "--blocks", "1", "--batch-size", "16"];

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
// biome-ignore lint/suspicious/noExplicitAny: the commands' JSON documents, checked field by field
const json = (s: string): Record<string, any> => JSON.parse(s);

beforeAll(async () => {
  await writeFashionFile(SOURCE_DATA, [5, 7, 8, 9], 60, 1);
  await writeFashionFile(TARGET_DATA, [0, 1, 2], 80, 2);
});

describe.skipIf(!built)("x snn train (built binary)", () => {
  it("piped: plain progress lines on stderr, the epoch table on stdout; --json prints the same run's document", () => {
    const out = join(root, "piped.safetensors");
    const r = x(["snn", "train", "--data", SOURCE_DATA, ...TINY, "--val-per-class", "10", "--out", out]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^train: \d+\/\d+ 100% .*epoch 2\/2 step \d+\/\d+ loss \d/m);
    expect(r.err).toMatch(/^epoch 1\/2: validation \d+\.\d\d%$/m);
    expect(r.err.includes("\r") || r.err.includes("\x1b")).toBe(false);
    expect(r.out).toMatch(/^sew-mlp H 16 K 1, T 4, ADD, 4 classes, LIF τ 2, .* \(\d[\d,]* parameters\)$/m);
    expect(r.out).toMatch(/^data: .*source\.safetensors, 200 training images, 40 validation$/m);
    expect(r.out).toMatch(/^2 +\d\.\d{4} +[\d.e-]+ +\d+\.\d\d%$/m);
    const j = x([
      "snn",
      "train",
      "--data",
      SOURCE_DATA,
      ...TINY,
      "--val-per-class",
      "10",
      "--out",
      join(root, "j.safetensors"),
      "--json",
    ]);
    expect(j.code, j.err).toBe(0);
    expect(j.err).toBe(""); // --json: no progress
    const doc = json(j.out);
    expect(doc).toMatchObject({
      trainImages: 200,
      valImages: 40,
      epochs: 2,
      steps: 24,
      resumed: false,
      bestEpoch: null,
    });
    expect(doc.history).toHaveLength(2);
    expect(doc.optimizer).toEqual({ kind: "sgd", lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
    // deterministic: the same flags give the same bytes
    expect(sha(join(root, "j.safetensors"))).toBe(sha(out));
  });

  it("on a terminal: a bar with percent and ETA redrawn in place; default model and data (Fashion-MNIST)", () => {
    const out = join(root, "tty.safetensors");
    const r = xTty([
      "snn",
      "train",
      "--classes",
      "0,1",
      "--train-per-class",
      "400",
      "--batch-size",
      "16",
      "--out",
      out,
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/\rtrain \[#+-*\] \d+\/100 \d+% [\d.]+s eta [\d.]+s epoch/);
    expect(r.out).toMatch(/train \[#{24}\] 100\/100 100%/);
    expect(r.out).toMatch(/^sew-mlp H 128 K 2, T 4, ADD, 2 classes/m);
    expect(r.out).toMatch(/100 steps on (wasm|tensorflow) in /);
  }, 180_000);

  it("--init: a new head when the classes differ (transfer), the file's architecture; a finished state resumes to the same bytes", () => {
    const src = join(root, "src.safetensors");
    expect(x(["snn", "train", "--data", SOURCE_DATA, ...TINY, "--out", src, "-q"]).code).toBe(0);
    const ck = join(root, "tl-ck");
    const out = join(root, "tl.safetensors");
    const args = [
      "snn",
      "train",
      "--init",
      src,
      "--data",
      TARGET_DATA,
      "--epochs",
      "1",
      "--batch-size",
      "16",
      "--checkpoint-dir",
      ck,
      "--out",
      out,
    ];
    const r = x(args);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^new 3-class head on the 4-class model of .*src\.safetensors$/m);
    expect(r.out).toMatch(/^sew-mlp H 16 K 1, T 4, ADD, 3 classes/m);
    const first = sha(out);
    const again = x([...args, "--resume", "--json"]);
    expect(again.code, again.err).toBe(0);
    expect(json(again.out).resumed).toBe(true);
    expect(sha(out)).toBe(first);
    expect(x([...args]).err).toMatch(/exists and is not empty \(pass --overwrite/);
    const typed = x([...args, "--overwrite", "--hidden", "8"]);
    expect(typed.code).toBe(2);
    expect(lines(typed.err)).toEqual([expect.stringMatching(/--hidden cannot change the model of --init/)]);
  });

  it("bad flags are usage errors (exit 2, one line), including the library's configuration errors", () => {
    const cases: [string[], RegExp][] = [
      [
        ["--out", "m.safetensors", "--model", "sew-resnet", "--hidden", "8"],
        /--hidden does not apply to --model sew-resnet/,
      ],
      [
        ["--out", "m.safetensors", "--stages", "8x0/2", "--model", "sew-resnet", "--data", SOURCE_DATA],
        /stages\[0\]\.blocks must be an integer/,
      ],
      [
        ["--out", "m.safetensors", "--data", SOURCE_DATA, "--batch-size", "500"],
        /training set \(240 images\) is smaller than one batch \(500\)/,
      ],
      [
        ["--out", "m.safetensors", "--classes", "1,12"],
        /--classes: fashion-mnist \(train\) has no image of class 12/,
      ],
      [["--out", "m.safetensors", "--resume"], /--resume needs --checkpoint-dir/],
      [["--out", "m.safetensors", "--keep-best"], /--keep-best needs a validation set/],
      [
        ["--out", "m.safetensors", "--optimizer", "adam", "--momentum", "0.5"],
        /--momentum applies to --optimizer sgd/,
      ],
      [
        ["--out", "m.safetensors", "--neuron", "if", "--tau", "3"],
        /--tau and --decay-input apply to LIF neurons/,
      ],
      [["--out", "m.safetensors", "--connect", "OR"], /--connect.*Allowed choices are ADD, AND, IAND/],
      [["--out", "m.safetensors", "--tau", "0.5"], /--tau <τ>.*'0\.5' is invalid/],
      [[], /--out FILE is required/],
    ];
    for (const [args, msg] of cases) {
      const r = x(["snn", "train", ...args], { cwd: root });
      expect(r.code, args.join(" ")).toBe(2);
      expect(lines(r.err), args.join(" ")).toEqual([expect.stringMatching(msg)]);
      expect(r.err).toMatch(/\(see x snn train --help\)$/m);
    }
    expect(existsSync(join(root, "m.safetensors"))).toBe(false);
  });

  it("missing data or checkpoint files are runtime errors naming the file (exit 1); --verbose adds the stack", () => {
    const data = x([
      "snn",
      "train",
      "--data",
      join(root, "nope.safetensors"),
      "--out",
      join(root, "n.safetensors"),
    ]);
    expect(data.code).toBe(1);
    expect(lines(data.err)).toEqual([
      `x snn train: SnnDataError: ${join(root, "nope.safetensors")}: data file does not exist`,
    ]);
    const init = x([
      "snn",
      "train",
      "--init",
      join(root, "none.safetensors"),
      "--data",
      SOURCE_DATA,
      "--out",
      join(root, "n.safetensors"),
    ]);
    expect(init.code).toBe(1);
    expect(lines(init.err)).toEqual([
      expect.stringMatching(/^x snn train: SnnCheckpointError: .*none\.safetensors: cannot open/),
    ]);
    const v = x([
      "snn",
      "train",
      "--data",
      join(root, "nope.safetensors"),
      "--out",
      join(root, "n.safetensors"),
      "--verbose",
    ]);
    expect(v.err).toMatch(/\n\s+at /);
    expect(existsSync(join(root, "n.safetensors"))).toBe(false);
  });
});

describe.skipIf(!built)("x snn eval (built binary)", () => {
  let model = "";
  beforeAll(() => {
    model = join(root, "eval-model.safetensors");
    const r = x(["snn", "train", "--data", SOURCE_DATA, ...TINY, "--out", model, "-q"]);
    expect(r.code, r.err).toBe(0);
  });

  it("prints accuracy and the predictions' SHA-256, the numbers the library computes; --json likewise", async () => {
    const r = x(["snn", "eval", "--model", model, "--data", SOURCE_DATA, "--split", "all"]);
    expect(r.code, r.err).toBe(0);
    const j = x(["snn", "eval", "--model", model, "--data", SOURCE_DATA, "--split", "all", "--json"]);
    const doc = json(j.out);
    const m = await loadModel(model);
    const f = await openSafetensors(SOURCE_DATA);
    const images = await f.readFloat32("images");
    const labels = (await f.read("labels")).toFloat64();
    await f.close();
    const preds = new FastSnn(m).predict(images, labels.length);
    let correct = 0;
    for (let i = 0; i < labels.length; i++) if (preds[i] === labels[i]) correct++;
    expect(doc).toMatchObject({ count: 240, correct, split: "all" });
    expect(doc.predictionsSha256).toBe(createHash("sha256").update(preds).digest("hex"));
    expect(r.out).toContain(
      `accuracy ${((100 * correct) / 240).toFixed(2)}% (${correct}/240) on ${SOURCE_DATA} all`,
    );
    expect(r.out).toContain(`predictions sha256 ${doc.predictionsSha256}`);
  });

  it("default flags: Fashion-MNIST's test split; a checkpoint without metadata (another framework's) gives the same predictions", async () => {
    const m = await loadModel(model);
    const foreign = join(root, "foreign.safetensors");
    await saveSafetensors(
      foreign,
      Object.fromEntries(
        [...m.tensors()].map(([k, v]) => [k, new Tensor("F32", [...m.entry(k)!.shape], v.slice())]),
      ),
    );
    const mine = json(x(["snn", "eval", "--model", model, "--classes", "5,7,8,9", "--json"]).out);
    const theirs = x(["snn", "eval", "--model", foreign, "--classes", "5,7,8,9", "--json"]);
    expect(theirs.code, theirs.err).toBe(0);
    expect(mine).toMatchObject({ data: "fashion-mnist", split: "test", count: 4000 });
    expect(json(theirs.out).predictionsSha256).toBe(mine.predictionsSha256);
    // a different T for a file without metadata changes the model
    const t8 = json(x(["snn", "eval", "--model", foreign, "--classes", "5,7,8,9", "-T", "8", "--json"]).out);
    expect(t8.model.timeSteps).toBe(8);
    const ignored = x(["snn", "eval", "--model", model, "--classes", "5,7,8,9", "-T", "8"]);
    expect(ignored.err).toMatch(/carries its model spec .*--time-steps did not apply/);
  });

  it("bad checkpoints and missing files: one line naming the tensor or file, exit 1", async () => {
    const m = await loadModel(model);
    const tensors = () =>
      Object.fromEntries(
        [...m.tensors()].map(([k, v]) => [k, new Tensor("F32", [...m.entry(k)!.shape], v.slice())]),
      );
    const missing = tensors();
    delete missing["fc.bias"];
    const misshaped = { ...tensors(), "bn1.weight": new Tensor("F32", [3], new Float32Array(3)) };
    const wrongDtype = { ...tensors(), "fc.bias": new Tensor("I32", [4], new Int32Array(4)) };
    const cases: [Record<string, Tensor>, RegExp][] = [
      [missing, /: tensor "fc\.bias": missing \(the sew-mlp model needs shape \[4\]\)$/],
      [misshaped, /: tensor "bn1\.weight": shape \[3\] does not match the model's \[16\]$/],
      [wrongDtype, /: tensor "fc\.bias": dtype I32 cannot be used: the model takes F32, F16, BF16, F64$/],
    ];
    for (const [t, msg] of cases) {
      const file = join(root, "bad.safetensors");
      await saveSafetensors(file, t);
      const r = x(["snn", "eval", "--model", file, "--data", SOURCE_DATA]);
      expect(r.code).toBe(1);
      expect(lines(r.err)).toEqual([
        expect.stringMatching(new RegExp(`^x snn eval: SnnCheckpointError: ${file}${msg.source}`)),
      ]);
    }
    writeFileSync(join(root, "garbage.safetensors"), "not a safetensors file");
    for (const [args, msg] of [
      [["--model", join(root, "garbage.safetensors")], /SnnCheckpointError: .*garbage\.safetensors: /],
      [
        ["--model", join(root, "absent.safetensors")],
        /SnnCheckpointError: .*absent\.safetensors: cannot open/,
      ],
      [
        ["--model", model, "--data", join(root, "no-data.safetensors")],
        /SnnDataError: .*no-data\.safetensors: data file does not exist/,
      ],
      [
        ["--model", model, "--data", "fashion-mnist"],
        /the model has 4 classes but fashion-mnist \(test\) has label 4/,
      ],
    ] as [string[], RegExp][]) {
      const r = x(["snn", "eval", ...args]);
      expect(r.code, args.join(" ")).toBe(1);
      expect(lines(r.err), args.join(" ")).toEqual([expect.stringMatching(msg)]);
    }
    for (const args of [["--model", model, "--split", "val"], ["--model", model, "--classes", "0,12"], []]) {
      const r = x(["snn", "eval", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(lines(r.err)).toHaveLength(1);
    }
  });
});

describe.skipIf(!built)("x snn cade (built binary)", () => {
  let src = "";
  const members = () =>
    [0, 1, 2, 3].map((i) => join(root, "cade-build", "population", `member-${i}.safetensors`));
  const common = [
    "--data",
    TARGET_DATA,
    "--val-per-class",
    "20",
    "--fitness-size",
    "60",
    "--generations",
    "4",
    "--f0",
    "0.05",
  ];
  beforeAll(() => {
    src = join(root, "cade-src.safetensors");
    const r = x(["snn", "train", "--data", SOURCE_DATA, ...TINY, "--out", src, "-q"]);
    expect(r.code, r.err).toBe(0);
  });

  it("builds a transfer-learned population and runs CADE (piped: plain lines); --population of those files gives the same result", () => {
    const out = join(root, "cade-built.safetensors");
    const r = x([
      "snn",
      "cade",
      "--source",
      src,
      "--size",
      "4",
      "--member-epochs",
      "1",
      "--batch-size",
      "16",
      ...common,
      "--checkpoint-dir",
      join(root, "cade-build"),
      "--out",
      out,
      "--json",
    ]);
    expect(r.code, r.err).toBe(0);
    const doc = json(r.out);
    expect(doc.population).toBeUndefined(); // no genomes in the document
    expect(doc).toMatchObject({
      evaluations: 4 + 4 * 4,
      generations: 4,
      data: { train: 180, val: 60, fitness: 60, test: null },
    });
    expect(doc.curve).toHaveLength(5);
    expect(doc.val[doc.selected]).toBe(Math.max(...doc.val));
    expect(doc.selectedScores.val).toBe(doc.val[doc.selected]);
    expect(members().every(existsSync)).toBe(true);
    const piped = x([
      "snn",
      "cade",
      "--population",
      ...members(),
      ...common,
      "--out",
      join(root, "cade-files.safetensors"),
    ]);
    expect(piped.code, piped.err).toBe(0);
    expect(piped.err).toMatch(/^cade: 4\/4 100% .*gen 4\/4 evals 20 best fitness/m);
    expect(piped.err.includes("\r") || piped.err.includes("\x1b")).toBe(false);
    expect(piped.out).toMatch(
      /^selected by validation: +#\d +validation \d+\.\d\d% +test - +fitness \d+\.\d\d%$/m,
    );
    expect(piped.out).toMatch(/^20 fitness evaluations, \d+ children accepted; /m);
    expect(sha(join(root, "cade-files.safetensors"))).toBe(sha(out));
    // the written model is the selected individual: its validation score is what the run reported
    const again = json(
      x([
        "snn",
        "cade",
        "--population",
        ...members(),
        ...common,
        "--out",
        join(root, "cade-files2.safetensors"),
        "--json",
      ]).out,
    );
    for (const k of ["fitness", "val", "selected", "curve", "history", "evaluations"])
      expect(again[k]).toEqual(doc[k]);
  }, 180_000);

  it("on a terminal: population and CADE bars; default data (Fashion-MNIST) reports the selected model's test accuracy", () => {
    const out = join(root, "cade-tty.safetensors");
    const r = xTty([
      "snn",
      "cade",
      "--source",
      src,
      "--classes",
      "0,1,2",
      "--train-per-class",
      "60",
      "--val-per-class",
      "20",
      "--fitness-size",
      "60",
      "--size",
      "4",
      "--member-epochs",
      "1",
      "--batch-size",
      "16",
      "--generations",
      "3",
      "--out",
      out,
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/\rpopulation \[#+-*\] /);
    expect(r.out).toMatch(/cade \[#{24}\] 3\/3 100%/);
    expect(r.out).toMatch(/^data: fitness 60 images, validation 60, test 3000$/m);
    const test = Number(/selected by validation: +#\d +validation [\d.]+% +test ([\d.]+)%/.exec(r.out)![1]);
    const ev = json(x(["snn", "eval", "--model", out, "--classes", "0,1,2", "--json"]).out);
    expect(Math.abs(100 * ev.accuracy - test)).toBeLessThan(0.006);
  }, 180_000);

  it("bad input: too few members, mixed models, changed settings on --resume, outputs over inputs", () => {
    const other = join(root, "other-model.safetensors");
    expect(
      x([
        "snn",
        "train",
        "--data",
        TARGET_DATA,
        "--hidden",
        "8",
        "--blocks",
        "1",
        "--batch-size",
        "16",
        "--epochs",
        "1",
        "--out",
        other,
        "-q",
      ]).code,
    ).toBe(0);
    const m = members();
    const ck = join(root, "cade-ck");
    const first = x([
      "snn",
      "cade",
      ...common,
      "--population",
      ...m,
      "--generations",
      "1",
      "--checkpoint-dir",
      ck,
      "--out",
      join(root, "cade-ck.safetensors"),
      "-q",
    ]);
    expect(first.code, first.err).toBe(0);
    const usage: [string[], RegExp][] = [
      [["--population", m[0]!, m[1]!], /needs at least 4 members, --population gives 2/],
      [["--population", ...m, "--size", "5"], /--size builds a population; --population gives one/],
      [
        ["--population", ...m, "--arm", "linear", "--half-period", "2"],
        /--half-period does not apply to --arm linear/,
      ],
      [
        ["--population", ...m, "--fitness-size", "1000"],
        /--fitness-size 1000 exceeds the 180 training images/,
      ],
      [["--population", ...m, "--lookahead", "2"], /--lookahead goes with --redis/],
      [["--population", ...m, "--redis", "http://localhost"], /--redis: unsupported Redis URL scheme http:/],
      [["--population", ...m, "--out", m[2]!], /is the input/],
      [
        ["--population", ...m, "--generations", "1", "--arm", "constant", "--checkpoint-dir", ck, "--resume"],
        /--resume: .*cade-ck holds a run with other settings \(arm\)/,
      ],
    ];
    for (const [args, msg] of usage) {
      const r = x(["snn", "cade", ...common, "--out", join(root, "cade-bad.safetensors"), ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(lines(r.err), args.join(" ")).toEqual([expect.stringMatching(msg)]);
    }
    const mixed = x([
      "snn",
      "cade",
      ...common,
      "--population",
      m[0]!,
      m[1]!,
      m[2]!,
      other,
      "--out",
      join(root, "cade-bad.safetensors"),
    ]);
    expect(mixed.code).toBe(1);
    expect(lines(mixed.err)).toEqual([
      expect.stringMatching(/SnnCheckpointError: .*other-model\.safetensors: a different model than/),
    ]);
    expect(existsSync(join(root, "cade-bad.safetensors"))).toBe(false);
    expect(readdirSync(root).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

describe.skipIf(!built)("x bench cade (built binary)", () => {
  it("runs experiment C at a toy scale into a temporary directory, --json; refuses to replace the results without --overwrite", () => {
    const out = join(root, "bench");
    const args = [
      "bench",
      "cade",
      "--quick",
      "--set",
      "hidden=16",
      "--set",
      "variantSeeds=",
      "--set",
      "generations=2",
      "--out",
      out,
      "--work",
      join(root, "bench-work"),
    ];
    const r = x([...args, "--json"]);
    expect(r.code, r.err).toBe(0);
    const doc = json(r.out);
    expect(doc.scale).toMatchObject({
      hidden: 16,
      variantSeeds: [],
      generations: 2,
      seeds: [1],
      populationSize: 4,
    });
    expect(doc.tasks.map((t: { task: string }) => t.task)).toEqual(["fashion-split"]);
    expect(json(readFileSync(join(out, "cade.json"), "utf8")).tasks).toEqual(doc.tasks);
    expect(readFileSync(join(out, "cade.md"), "utf8")).toMatch(/CADE/);
    const again = x(args);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/cade\.json exists and is not empty \(pass --overwrite/);
    // the finished seed is reused: aggregation only, and the markdown on stdout
    const md = x([...args, "--overwrite", "--quiet"]);
    expect(md.code, md.err).toBe(0);
    expect(md.out).toBe(`${readFileSync(join(out, "cade.md"), "utf8")}\n`);
    const bad = x(["bench", "cade", "--set", "nope=1"]);
    expect(bad.code).toBe(2);
    expect(lines(bad.err)).toEqual([expect.stringMatching(/--set .*KEY one of hidden, blocks/)]);
    expect(existsSync(join(process.cwd(), ".cade-work"))).toBe(false);
  }, 300_000);
});
