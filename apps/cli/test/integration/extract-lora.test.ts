// `x extract-lora` from the built binary: a PEFT adapter from a fine-tuned model and its base, on a terminal
// (progress bar) and piped (--json with every module's rank and relative error, checked against the adapter's
// own factors), from a PyTorch .bin model too; the output policy and bad input.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openCheckpoint } from "@x/tensor-core";
import { beforeAll, describe, expect, it } from "vitest";
import { built, lines, tempDir, writeModels, x, xTty } from "./helpers.js";

const root = tempDir("x-cli-lora-");
let base = "";
let model = "";

/** ‖Δ − B·A‖_F / ‖Δ‖_F of one module from the written adapter and the two models. */
async function relativeError(adapter: string, module: string): Promise<number> {
  const ad = await openCheckpoint(join(adapter, "adapter_model.safetensors"));
  const a = await ad.readFloat32(`base_model.model.${module}.lora_A.weight`);
  const b = await ad.readFloat32(`base_model.model.${module}.lora_B.weight`);
  const [r, inDim] = ad.info(`base_model.model.${module}.lora_A.weight`)!.shape as number[];
  await ad.close();
  const read = async (dir: string) => {
    const ck = await openCheckpoint(dir);
    const w = await ck.readFloat32(`${module}.weight`);
    await ck.close();
    return w;
  };
  const [wm, wb] = [await read(model), await read(base)];
  let err = 0;
  let norm = 0;
  const out = wm.length / inDim!;
  for (let i = 0; i < out; i++)
    for (let j = 0; j < inDim!; j++) {
      let ba = 0;
      for (let k = 0; k < r!; k++) ba += b[i * r! + k]! * a[k * inDim! + j]!;
      const d = wm[i * inDim! + j]! - wb[i * inDim! + j]!;
      err += (d - ba) ** 2;
      norm += d * d;
    }
  return Math.sqrt(err / norm);
}

describe.skipIf(!built)("x extract-lora (built binary)", () => {
  beforeAll(async () => {
    const m = await writeModels(root, 1);
    base = m.base;
    model = m.models[0]!;
  });

  it("piped with --json: per-module rank and relative error, equal to the adapter's own reconstruction error", async () => {
    const out = join(root, "adapter");
    const r = x(["extract-lora", "--model", model, "--base", base, "--out", out, "--rank", "2", "--json"]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe(""); // --json: no progress lines
    const doc = JSON.parse(r.out);
    expect(doc.rank).toBe(2);
    const ups = doc.modules.filter((m: { name: string }) => /up_proj/.test(m.name));
    expect(ups).toHaveLength(2);
    for (const m of ups) {
      expect(m).toMatchObject({ kind: "lora", rank: 2 });
      expect(m.relativeError).toBeGreaterThan(0);
      expect(Math.abs(m.relativeError - (await relativeError(out, m.name)))).toBeLessThan(1e-4);
    }
    const embed = doc.modules.find((m: { name: string }) => m.name === "model.embed_tokens");
    expect(embed).toMatchObject({ rank: 0 });
    const config = JSON.parse(readFileSync(join(out, "adapter_config.json"), "utf8"));
    expect(config).toMatchObject({ peft_type: "LORA", r: 2, lora_alpha: 2 });
    expect(config.target_modules).toContain("up_proj");
  });

  it("on a terminal: a progress bar and the per-module table; --rank 4 reconstructs exactly; --sv-epsilon lowers ranks", async () => {
    const out = join(root, "adapter-tty");
    const r = xTty(["extract-lora", "--model", model, "--base", base, "--out", out, "--rank", "4"]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/extract-lora \[#+-*\] .*100%/);
    expect(r.out).toMatch(/^wrote .*adapter-tty: 2 LoRA modules \(r = 4\), \d+ at full rank/m);
    expect(r.out).toMatch(
      /model\.layers\.0\.mlp\.up_proj +lora +\[8, 4\] +rank +4 +rel\. error \d\.\d{3}e[-+]\d+/,
    );
    expect(await relativeError(out, "model.layers.0.mlp.up_proj")).toBeLessThan(1e-5);
    const eps = x([
      "extract-lora",
      "--model",
      model,
      "--base",
      base,
      "--out",
      join(root, "adapter-eps"),
      "--rank",
      "4",
      "--sv-epsilon",
      "1e9",
      "--json",
      "-q",
    ]);
    expect(eps.code, eps.err).toBe(0);
    for (const m of JSON.parse(eps.out).modules.filter((m: { kind: string }) => m.kind === "lora"))
      expect(m.rank).toBe(1); // every singular value is below 1e9: at least one direction is kept
  });

  it("reads a PyTorch .bin fine-tune (never executing its pickle); a malicious one is one error line, exit 1", () => {
    const fixtures = join(import.meta.dirname, "../../../../packages/tensor-core/test/fixtures/pytorch");
    const bin = join(fixtures, "sharded");
    const r = x([
      "extract-lora",
      "--model",
      bin,
      "--base",
      bin,
      "--out",
      join(root, "adapter-bin"),
      "--rank",
      "2",
      "--json",
    ]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).modules.length).toBeGreaterThan(0);
    const bad = x([
      "extract-lora",
      "--model",
      join(fixtures, "malicious.bin"),
      "--base",
      bin,
      "--out",
      join(root, "adapter-bad"),
    ]);
    expect(bad.code).toBe(1);
    expect(lines(bad.err)).toEqual([
      expect.stringMatching(
        /^x extract-lora: UnsafePickleError: .*malicious\.bin: refused global posix\.system/,
      ),
    ]);
  });

  it("refuses a non-empty output without --overwrite and an output inside an input; bad values are usage errors", () => {
    const again = x(["extract-lora", "--model", model, "--base", base, "--out", join(root, "adapter")]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/exists and is not empty \(pass --overwrite/);
    const inside = x(["extract-lora", "--model", model, "--base", base, "--out", join(model, "lora")]);
    expect(inside.code).toBe(2);
    expect(inside.err).toMatch(/lies inside the input/);
    const cases: [string[], RegExp][] = [
      [["--rank", "0"], /--rank <r>.*invalid/],
      [["--sv-epsilon", "-1"], /--sv-epsilon <e>.*invalid/],
      [["--dtype", "I8"], /--dtype <dtype>.*expected F32, F16 or BF16/],
      [["--include", "("], /bad regular expression/],
    ];
    for (const [extra, msg] of cases) {
      const r = x(["extract-lora", "--model", model, "--base", base, "--out", join(root, "x"), ...extra]);
      expect(r.code, extra.join(" ")).toBe(2);
      expect(lines(r.err), extra.join(" ")).toEqual([expect.stringMatching(msg)]);
    }
    const missing = x([
      "extract-lora",
      "--model",
      "/nonexistent/ft",
      "--base",
      base,
      "--out",
      join(root, "y"),
    ]);
    expect(missing.code).toBe(1);
    expect(lines(missing.err)).toEqual([expect.stringMatching(/^x extract-lora: .*\/nonexistent\/ft/)]);
  });
});
