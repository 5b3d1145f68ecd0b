// x merge from the built binary: every mode (PCB reference / per-tensor / streaming-global fast and general path,
// a tensor-scope method) on a terminal and piped, with and without --quiet; methods listing; the output policy.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { listMethods, mergeCheckpoints, parseMergeConfig } from "@x/merging";
import { openCheckpoint, Tensor, writeShardedSafetensors } from "@x/tensor-core";
import { beforeAll, describe, expect, it } from "vitest";
import { built, lines, SHAPES, tempDir, writeModel, writeModels, x, xTty } from "./helpers.js";

const root = tempDir("x-cli-merge-");
let base = "";
let models: string[] = [];

async function readAll(dir: string): Promise<Record<string, Float32Array>> {
  const ck = await openCheckpoint(dir);
  const out: Record<string, Float32Array> = {};
  for (const n of ck.names()) out[n] = await ck.readFloat32(n);
  await ck.close();
  return out;
}

/** The library's merge of the same inputs with these parameters (the reference the CLI must equal). */
async function viaApi(
  method: string,
  params: Record<string, unknown>,
  name: string,
): Promise<Record<string, Float32Array>> {
  const out = join(root, `api-${name}`);
  const cfg = parseMergeConfig(
    `merge_method: ${method}\nbase_model: ${base}\nmodels: [${models.map((m) => `{model: ${m}}`).join(", ")}]\nparameters: ${JSON.stringify(params)}\n`,
  );
  await mergeCheckpoints(cfg, out, {});
  return readAll(out);
}

beforeAll(async () => {
  ({ base, models } = await writeModels(root, 3));
});

const MODES: {
  name: string;
  method: string;
  flags: string[];
  params: Record<string, unknown>;
  note?: RegExp;
}[] = [
  { name: "pcb-reference", method: "pcb", flags: ["--mode", "reference"], params: { mode: "reference" } },
  {
    name: "pcb-per-tensor",
    method: "pcb",
    // 4-entry tensors can keep no entry of a task: nan_guard gives that task weight 0
    flags: ["--mode", "per-tensor", "--param", "nan_guard=on"],
    params: { mode: "per-tensor", nan_guard: "on" },
  },
  {
    name: "pcb-streaming-fast",
    method: "pcb",
    flags: ["--mode", "streaming-global"],
    params: { mode: "streaming-global" },
  },
  {
    name: "pcb-streaming-general",
    method: "pcb",
    flags: ["--mode", "streaming-global", "--param", "memory_budget=1000"],
    params: { mode: "streaming-global", memory_budget: 1000 },
    note: /^note: pcb fast path: .*general path/m,
  },
  { name: "pcb-default", method: "pcb", flags: [], params: {} },
  { name: "task-arithmetic", method: "task_arithmetic", flags: ["--lambda", "0.7"], params: { lambda: 0.7 } },
];

describe.skipIf(!built)("x merge (built binary)", () => {
  for (const mode of MODES) {
    for (const terminal of [false, true]) {
      for (const quiet of [false, true]) {
        const label = `${mode.name}, ${terminal ? "terminal" : "piped"}${quiet ? ", --quiet" : ""}`;
        it(label, async () => {
          const out = join(root, `out-${mode.name}-${terminal}-${quiet}`);
          const args = [
            "merge",
            "--method",
            mode.method,
            "--base",
            base,
            "--models",
            ...models,
            "--out",
            out,
            ...mode.flags,
          ];
          if (quiet) args.push("--quiet");
          const r = terminal ? xTty(args) : x(args);
          const all = r.out + r.err;
          expect(r.code, all).toBe(0);
          expect(all).not.toMatch(/TypeError|at .*\.js:\d+/);
          if (quiet) {
            expect(all).not.toMatch(/\d+%/);
            expect(all).not.toMatch(/^merged /m);
          } else {
            expect(all).toMatch(/^merged \d+ tensors/m);
            // progress: a redrawn bar with percent on a terminal, plain lines when piped
            if (terminal) expect(all).toMatch(/\[#+-*\] .*100%/);
            else expect(r.err).toMatch(/^merge.*: .*100% .*tensors$/m);
          }
          if (mode.note && !quiet) expect(all).toMatch(mode.note);
          expect(await readAll(out)).toEqual(
            await viaApi(mode.method, mode.params, `${mode.name}-${terminal}-${quiet}`),
          );
        });
      }
    }
  }

  it("merges from a YAML config; --json prints the summary as JSON", async () => {
    const cfg = join(root, "ta.yml");
    writeFileSync(
      cfg,
      `merge_method: task_arithmetic\nbase_model: ${base}\nmodels:\n${models.map((m) => `  - model: ${m}\n    parameters: {weight: 0.5}`).join("\n")}\nout_dtype: float32\n`,
    );
    const out = join(root, "out-yaml");
    const r = x(["merge", cfg, out, "--out-shard-size", "200", "--seed", "1", "--json"]);
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({ method: "task_arithmetic", scope: "tensor", tensorsMerged: 4 });
    expect(readdirSync(out)).toEqual(
      expect.arrayContaining(["model.safetensors.index.json", "config.json", "mergekit_config.yml"]),
    );
  });

  it("x merge methods and --list-methods list every registered method with its parameters", () => {
    const registered = listMethods();
    const json = x(["merge", "methods", "--json"]);
    expect(json.code, json.err).toBe(0);
    const docs = JSON.parse(json.out) as {
      name: string;
      params: { name: string; default: unknown }[];
      auxFiles: unknown[];
    }[];
    expect(docs.map((d) => d.name)).toEqual(registered.map((m) => m.name));
    for (const m of registered) {
      const doc = docs.find((d) => d.name === m.name)!;
      expect(doc.params.map((p) => p.name)).toEqual(m.params.map((p) => p.name));
      for (const p of m.params)
        expect(doc.params.find((q) => q.name === p.name)!.default).toEqual(p.default ?? null);
    }
    const text = x(["merge", "--list-methods"]);
    expect(text.code).toBe(0);
    for (const m of registered) expect(text.out).toMatch(new RegExp(`^${m.name}: `, "m"));
    expect(text.out).toMatch(/^ {2}name +scope +type +default +range +description$/m);
    // Methods that read per-model statistics name their files.
    const withAux = docs.filter((d) => d.auxFiles.length > 0).map((d) => d.name);
    expect(withAux).toEqual(["fisher", "regmean"]);
    expect(text.out).toMatch(/^fisher: .*; needs fisher\.safetensors beside each model \(x zoo stats\)\)$/m);
    expect(text.out).toMatch(/^regmean: .*; reads gram\.safetensors beside each model \(x zoo stats\)\)$/m);
    const pcb = x(["merge", "methods", "pcb"]);
    expect(pcb.out).toMatch(/^ {2}mode +global +string +"[a-z-]+" +reference\|/m);
    const help = x(["merge", "--help"]);
    expect(help.out).toMatch(/--mode <mode> +PCB's mode \(default [a-z-]+\)/);
  });

  it("refuses a non-empty output unless --overwrite, and never writes into or over an input", async () => {
    const out = join(root, "out-policy");
    mkdirSync(out);
    writeFileSync(join(out, "keep.txt"), "x");
    const quick = (o: string, ...more: string[]) => [
      "merge",
      "--method",
      "task_arithmetic",
      "--base",
      base,
      "--models",
      ...models,
      "--out",
      o,
      "--quiet",
      ...more,
    ];
    const refused = x(quick(out));
    expect(refused.code).toBe(2);
    expect(lines(refused.err)).toEqual([
      expect.stringMatching(/^x merge: .*out-policy exists and is not empty \(pass --overwrite/),
    ]);
    expect(x(quick(out, "--overwrite")).code).toBe(0);
    for (const [o, why] of [
      [models[0]!, /is the input/],
      [join(models[0]!, "sub"), /lies inside the input/],
      [root, /contains the input/],
    ] as const) {
      const r = x(quick(o, "--overwrite"));
      expect(r.code, o).toBe(2);
      expect(r.err).toMatch(why);
    }
    expect(existsSync(join(models[0]!, "sub"))).toBe(false);
  });

  it("bad input: one line each, exit 2 for usage, 1 for what fails at run time", () => {
    const cases: [string[], number, RegExp][] = [
      [["merge", join(root, "nope.yml"), join(root, "o1")], 2, /^x merge: cannot read config .*nope\.yml/],
      [
        ["merge", "--method", "nosuch", "--models", models[0]!, "--out", join(root, "o2")],
        2,
        /unknown method 'nosuch'/,
      ],
      [["merge", "--method", "pcb", "--models", models[0]!], 2, /needs --out/],
      [
        [
          "merge",
          "--method",
          "pcb",
          "--models",
          ...models,
          "--base",
          base,
          "--out",
          join(root, "o3"),
          "--ratio",
          "abc",
        ],
        2,
        /--ratio.*'abc' is invalid/,
      ],
      [
        ["merge", "--method", "pcb", "--mode", "fast", "--models", models[0]!, "--out", join(root, "o4")],
        2,
        /--mode.*Allowed choices/,
      ],
      [["merge", "--frobnicate"], 2, /unknown option '--frobnicate'/],
      [["merge", "methods", "nosuch"], 2, /unknown method 'nosuch'/],
    ];
    for (const [args, code, msg] of cases) {
      const r = x(args);
      expect(r.code, args.join(" ")).toBe(code);
      expect(lines(r.err), args.join(" ")).toHaveLength(1);
      expect(r.err).toMatch(msg);
    }
    const bad = join(root, "bad.yml");
    writeFileSync(bad, `merge_method: linear\nmodels: [{model: ${models[0]}}]\nweights: 1\n`);
    const runtime = x(["merge", bad, join(root, "o5")]);
    expect(runtime.code).toBe(1);
    expect(lines(runtime.err)).toEqual([
      expect.stringMatching(/^x merge: MergeConfigError: .*bad\.yml: unknown key 'weights'/),
    ]);
    const verbose = x(["merge", bad, join(root, "o5"), "--verbose"]);
    expect(verbose.code).toBe(1);
    expect(verbose.err).toMatch(/\n\s+at /);
    for (const o of ["o1", "o2", "o3", "o4", "o5"]) expect(existsSync(join(root, o))).toBe(false);
  });

  it("non-finite inputs: an error naming model, tensor and count, nothing written; --allow-nonfinite merges and says what", async () => {
    // A copy of model 1 with 2 NaN and 1 +Inf in one tensor.
    const bad = join(root, "m-nonfinite");
    const data = await writeModel(join(root, "m-nonfinite-src"), 11);
    const up = data["model.layers.1.mlp.up_proj.weight"]!;
    up[0] = Number.NaN;
    up[5] = Number.NaN;
    up[9] = Number.POSITIVE_INFINITY;
    await writeShardedSafetensors(
      bad,
      Object.entries(SHAPES).map(([name, shape]) => ({ name, dtype: "F32" as const, shape })),
      Object.entries(data).map(([n, d]) => [n, Tensor.fromFloat32("F32", SHAPES[n]!, d)] as const),
    );
    const quick = (method: string, out: string, ...more: string[]) => [
      "merge",
      "--method",
      method,
      "--base",
      base,
      "--models",
      models[0]!,
      bad,
      "--out",
      out,
      "--quiet",
      ...more,
    ];
    for (const method of ["task_arithmetic", "ties", "pcb"]) {
      const out = join(root, `nonfinite-${method}`);
      const refused = x(quick(method, out));
      expect(refused.code, method).toBe(1);
      expect(lines(refused.err), method).toEqual([
        expect.stringMatching(
          /^x merge: NonFiniteInputError: .*m-nonfinite: tensor 'model\.layers\.1\.mlp\.up_proj\.weight' has 3 non-finite values \(NaN or ±Inf\);.*--allow-nonfinite/,
        ),
      ]);
      expect(existsSync(out), method).toBe(false);
      expect(readdirSync(root).filter((e) => e.startsWith(`.nonfinite-${method}.`))).toEqual([]);

      const allowed = x(quick(method, out, "--allow-nonfinite"));
      expect(allowed.code, allowed.err).toBe(0);
      expect(allowed.err).toMatch(
        /^note: --allow-nonfinite: merged 3 non-finite input value\(s\) .* in 1 tensor\(s\) \(.*m-nonfinite 'model\.layers\.1\.mlp\.up_proj\.weight': 3\)/m,
      );
      expect(
        existsSync(join(out, "model.safetensors")) || existsSync(join(out, "model.safetensors.index.json")),
      ).toBe(true);
    }
    const text = x(
      quick("task_arithmetic", join(root, "nonfinite-text"), "--allow-nonfinite").filter(
        (a) => a !== "--quiet",
      ),
    );
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/, 3 non-finite input value\(s\) merged as they are$/m);
    const json = x(quick("task_arithmetic", join(root, "nonfinite-json"), "--allow-nonfinite", "--json"));
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out).nonFinite).toEqual([
      { model: bad, tensor: "model.layers.1.mlp.up_proj.weight", count: 3 },
    ]);
    // Task arithmetic keeps them where they were: NaN, NaN, +Inf at the same places of the output.
    const merged = (await readAll(join(root, "nonfinite-json")))["model.layers.1.mlp.up_proj.weight"]!;
    expect([merged[0], merged[5], merged[9]]).toEqual([Number.NaN, Number.NaN, Number.POSITIVE_INFINITY]);
    expect(merged.filter((v) => !Number.isFinite(v))).toHaveLength(3);
    // On a terminal: the bar, the note, the summary; from a YAML config the same.
    const tty = xTty(
      quick("pcb", join(root, "nonfinite-tty"), "--allow-nonfinite").filter((a) => a !== "--quiet"),
    );
    expect(tty.code, tty.out).toBe(0);
    expect(tty.out).toMatch(/merge \(\d\/\d\) \[#+\] .*100%/);
    expect(tty.out).toMatch(/^note: --allow-nonfinite: merged 3 non-finite input value\(s\)/m);
    expect(tty.out).toMatch(
      /^merged \d+ tensors with pcb .*, 3 non-finite input value\(s\) merged as they are$/m,
    );
    const yml = join(root, "nonfinite.yml");
    writeFileSync(
      yml,
      `merge_method: ties\nbase_model: ${base}\nmodels: [{model: ${models[0]}}, {model: ${bad}}]\n`,
    );
    expect(x(["merge", yml, join(root, "nonfinite-yaml"), "--quiet"]).code).toBe(1);
    const yaml = x(["merge", yml, join(root, "nonfinite-yaml"), "--quiet", "--allow-nonfinite", "--json"]);
    expect(yaml.code, yaml.err).toBe(0);
    expect(JSON.parse(yaml.out).nonFinite).toEqual([
      { model: bad, tensor: "model.layers.1.mlp.up_proj.weight", count: 3 },
    ]);
  });

  it("--memory-budget sets PCB's memory_budget in either form (same tensors; below the fast path's need, the general path)", async () => {
    const quick = (out: string, ...more: string[]) => [
      "merge",
      "--method",
      "pcb",
      "--base",
      base,
      "--models",
      ...models,
      "--out",
      join(root, out),
      ...more,
    ];
    const plain = x(quick("budget-default", "--quiet"));
    expect(plain.code, plain.err).toBe(0);
    const small = x(quick("budget-small", "--quiet", "--memory-budget", "1KB"));
    expect(small.code, small.err).toBe(0);
    expect(lines(small.err)).toEqual([
      expect.stringMatching(
        /^note: pcb fast path: needs ≈ .*, memory_budget is 0\.0 MB; taking the general path/,
      ),
    ]);
    const yml = join(root, "budget.yml");
    writeFileSync(
      yml,
      `merge_method: pcb\nbase_model: ${base}\nmodels: [${models.map((m) => `{model: ${m}}`).join(", ")}]\n`,
    );
    const fromYaml = x(["merge", yml, join(root, "budget-yaml"), "--quiet", "--memory-budget", "1e3"]);
    expect(fromYaml.code, fromYaml.err).toBe(0);
    expect(fromYaml.err).toMatch(/memory_budget is 0\.0 MB; taking the general path/);
    const ref = await readAll(join(root, "budget-default"));
    for (const out of ["budget-small", "budget-yaml"]) {
      const got = await readAll(join(root, out));
      for (const [n, t] of Object.entries(ref)) expect(got[n], `${out} ${n}`).toEqual(t);
    }
    for (const [args, msg] of [
      [["--memory-budget", "lots"], /--memory-budget: cannot parse size 'lots'/],
      [["--memory-budget", "0"], /--memory-budget: must be a positive size|'0' is invalid/],
    ] as const) {
      const r = x(quick("budget-bad", ...args));
      expect(r.code, args.join(" ")).toBe(2);
      expect(lines(r.err)).toEqual([expect.stringMatching(msg)]);
    }
    const ties = x([
      "merge",
      "--method",
      "ties",
      "--base",
      base,
      "--models",
      ...models,
      "--out",
      join(root, "budget-ties"),
      "--memory-budget",
      "1GB",
    ]);
    expect(ties.code).toBe(2);
    expect(lines(ties.err)).toEqual([
      "x merge: --memory-budget applies to methods with a memory_budget parameter (pcb), not ties (see x merge --help)",
    ]);
    for (const o of ["budget-bad", "budget-ties"]) expect(existsSync(join(root, o))).toBe(false);
  });
});
