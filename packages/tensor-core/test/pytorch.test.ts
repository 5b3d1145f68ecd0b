// The PyTorch `.bin` reader on files written by PyTorch 1.13 (fixtures/pytorch/make-fixtures.py):
// every dtype, views of shared storages, the legacy format, other zip writers (prefix, ZIP64, deflate),
// sharded indexes, and files that would run code or are malformed.

import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  convertPytorchToSafetensors,
  openCheckpoint,
  openPytorchCheckpoint,
  openPytorchFile,
  PYTORCH_ALLOWED_GLOBALS,
  PytorchError,
  type Tensor,
  UnsafePickleError,
} from "../src/index.js";
import { PyDict } from "../src/pytorch/pickle.js";

const FIXTURES = join(import.meta.dirname, "fixtures", "pytorch");
const fixture = (name: string) => join(FIXTURES, name);

interface Expected {
  readonly dtype: string;
  readonly shape: number[];
  readonly values: (number | string)[];
}

let expected: { state_dict: Record<string, Expected>; module: Record<string, Expected> };
let tmp: string;

beforeAll(async () => {
  expected = JSON.parse(await readFile(fixture("expected.json"), "utf8"));
  tmp = await mkdtemp(join(tmpdir(), "pytorch-test-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function valuesOf(t: Tensor): (number | string)[] {
  if (t.dtype === "I64") return Array.from(t.data as BigInt64Array, (v) => v.toString());
  if (t.dtype === "F64") return Array.from(t.data as Float64Array);
  if (t.dtype === "BOOL" || t.dtype.startsWith("I") || t.dtype.startsWith("U"))
    return Array.from(t.data as ArrayLike<number>);
  return Array.from(t.toFloat32());
}

async function expectStateDict(
  reader: { names(): string[]; read(n: string): Promise<Tensor> },
  want: Record<string, Expected>,
): Promise<void> {
  expect(reader.names()).toEqual(Object.keys(want));
  for (const [name, e] of Object.entries(want)) {
    const t = await reader.read(name);
    expect([name, t.dtype, [...t.shape]]).toEqual([name, e.dtype, e.shape]);
    expect(valuesOf(t), name).toEqual(e.values);
  }
}

describe("PyTorch checkpoint files", () => {
  for (const [file, format] of [
    ["state-dict.bin", "zip"],
    ["legacy.bin", "legacy"],
    ["archive-prefix.bin", "zip"],
    ["zip64.bin", "zip"],
    ["deflated.bin", "zip"],
  ] as const) {
    it(`${file}: every dtype, views and shared storages, as PyTorch reads them`, async () => {
      const f = await openPytorchFile(fixture(file));
      try {
        expect(f.format).toBe(format);
        await expectStateDict(f, expected.state_dict);
        // Views of one storage (transposed, row slice at an offset, strided columns) are recognized.
        const shared = f.sharedStorages().find((g) => g.includes("shared.base"));
        expect(shared).toEqual([
          "shared.base",
          "shared.transposed",
          "shared.rows_1_3",
          "shared.every_other_column",
        ]);
        // Float32 decoding and chunked reads give the same values.
        expect(Array.from(await f.readFloat32("shared.transposed"))).toEqual(
          expected.state_dict["shared.transposed"].values,
        );
        const chunks: number[] = [];
        for await (const c of f.readChunks("f32", 8)) chunks.push(...new Float32Array(c.slice().buffer));
        expect(chunks).toEqual(expected.state_dict.f32.values);
      } finally {
        await f.close();
      }
    });
  }

  it("a module's state dict: _metadata set by BUILD, tied weights share one storage", async () => {
    const f = await openPytorchFile(fixture("module.bin"));
    try {
      await expectStateDict(f, expected.module);
      expect(f.attributes).toBeInstanceOf(PyDict);
      expect([...(f.attributes as PyDict).map.keys()]).toEqual(["_metadata"]);
      expect(f.sharedStorages()).toEqual([["embed.weight", "head.weight"]]);
      const lazy = f.stateDict().get("norm.weight");
      expect(lazy?.shape).toEqual([4]);
    } finally {
      await f.close();
    }
  });

  it("a sharded checkpoint, opened as a directory or through its index", async () => {
    for (const path of [fixture("sharded"), fixture("sharded/pytorch_model.bin.index.json")]) {
      const c = await openPytorchCheckpoint(path);
      try {
        expect(c.files).toHaveLength(2);
        expect(c.indexMetadata).toHaveProperty("total_size");
        expect(new Set(c.names())).toEqual(new Set(Object.keys(expected.module)));
        for (const [name, e] of Object.entries(expected.module))
          expect(valuesOf(await c.read(name))).toEqual(e.values);
      } finally {
        await c.close();
      }
    }
  });

  it("a training checkpoint: refused as a state dict with a hint, read with `entry`", async () => {
    const err = await openPytorchFile(fixture("training-checkpoint.bin")).catch((e) => e);
    expect(err).toBeInstanceOf(PytorchError);
    expect(err.code).toBe("NOT_A_STATE_DICT");
    expect(err.message).toContain("training-checkpoint.bin");
    expect(err.message).toMatch(/key "state_dict" holds an OrderedDict, not a tensor.*entry "state_dict"/);
    const f = await openPytorchFile(fixture("training-checkpoint.bin"), { entry: "state_dict" });
    try {
      await expectStateDict(f, expected.module);
    } finally {
      await f.close();
    }
  });
});

describe("unsafe and malformed files", () => {
  for (const [file, global] of [
    ["malicious.bin", "posix.system"],
    ["malicious-legacy.bin", "posix.system"],
    ["malicious-eval.bin", "builtins.eval"],
  ] as const) {
    it(`${file}: refused at the global ${global}, nothing executed`, async () => {
      const err = await openPytorchFile(fixture(file)).catch((e) => e);
      expect(err).toBeInstanceOf(UnsafePickleError);
      expect(err.code).toBe("UNSAFE");
      expect(err.global).toBe(global);
      expect(err.message).toContain(fixture(file));
      expect(err.message).toContain(`refused global ${global}`);
    });
  }

  it("a refused opcode is named", async () => {
    const err = await openPytorchFile(fixture("inst-opcode.bin")).catch((e) => e);
    expect(err).toBeInstanceOf(UnsafePickleError);
    expect(err.opcode).toBe("INST");
    expect(err.message).toMatch(/inst-opcode\.bin: refused opcode INST at pickle byte 1/);
  });

  it("the allowlist is exactly the tensor-rebuild globals", () => {
    expect([...PYTORCH_ALLOWED_GLOBALS].sort()).toEqual(
      [
        "_codecs.encode",
        "collections.OrderedDict",
        "torch.BFloat16Storage",
        "torch.BoolStorage",
        "torch.ByteStorage",
        "torch.CharStorage",
        "torch.DoubleStorage",
        "torch.FloatStorage",
        "torch.HalfStorage",
        "torch.IntStorage",
        "torch.LongStorage",
        "torch.ShortStorage",
        "torch.Size",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
      ].sort(),
    );
  });

  it("big-endian storages, tensors past their storage, truncated and foreign files get typed errors", async () => {
    const cases: [string, string, RegExp][] = [
      [fixture("big-endian.bin"), "UNSUPPORTED", /big-endian/],
      [
        fixture("bad-extent.bin"),
        "FORMAT",
        /tensor "w": shape \[3\] with stride \[1\] at offset 0 reaches element 3 of a storage of 2/,
      ],
    ];
    const whole = await readFile(fixture("state-dict.bin"));
    const truncated = join(tmp, "truncated.bin");
    await writeFile(truncated, whole.subarray(0, whole.length - 30));
    cases.push([truncated, "FORMAT", /zip/]);
    const legacy = await readFile(fixture("legacy.bin"));
    const legacyCut = join(tmp, "legacy-cut.bin");
    await writeFile(legacyCut, legacy.subarray(0, 600));
    cases.push([legacyCut, "FORMAT", /ends inside its pickles|past the end/]);
    const text = join(tmp, "notes.bin");
    await writeFile(text, "just some text, not a checkpoint\n");
    cases.push([text, "FORMAT", /not a PyTorch checkpoint/]);
    cases.push([join(tmp, "missing.bin"), "NOT_FOUND", /cannot open/]);
    for (const [path, code, message] of cases) {
      const err = await openPytorchFile(path).catch((e) => e);
      expect(err, path).toBeInstanceOf(PytorchError);
      expect(err.code, path).toBe(code);
      expect(err.message, path).toContain(path);
      expect(err.message, path).toMatch(message);
    }
  });
});

describe("convertPytorchToSafetensors", () => {
  it("a sharded .bin model directory becomes a safetensors model directory with its other files", async () => {
    const out = join(tmp, "converted");
    const progress: number[] = [];
    const result = await convertPytorchToSafetensors(fixture("sharded"), out, {
      onProgress: (done) => progress.push(done),
    });
    expect(result.tensors).toBe(Object.keys(expected.module).length);
    expect(result.copied).toEqual(["config.json"]);
    expect(result.indexFile).toBeNull();
    expect((await readdir(out)).sort()).toEqual(["config.json", "model.safetensors"]);
    expect(progress.at(-1)).toBe(result.totalSize);
    const c = await openCheckpoint(out);
    try {
      expect(c.metadata).toEqual({ format: "pt" });
      for (const [name, e] of Object.entries(expected.module))
        expect(valuesOf(await c.read(name))).toEqual(e.values);
    } finally {
      await c.close();
    }
  });

  it("every dtype and view of a single file, sharded output, dtype conversion of floats only", async () => {
    const out = join(tmp, "converted-bf16");
    const result = await convertPytorchToSafetensors(fixture("state-dict.bin"), out, {
      dtype: "BF16",
      maxShardSize: 200,
    });
    expect(result.files.length).toBeGreaterThan(1);
    expect(result.indexFile).not.toBeNull();
    expect(result.copied).toEqual([]);
    expect(result.sharedStorages.some((g) => g.includes("shared.transposed"))).toBe(true);
    const c = await openCheckpoint(out);
    try {
      for (const [name, e] of Object.entries(expected.state_dict)) {
        const t = await c.read(name);
        expect(t.shape).toEqual(e.shape);
        if (["F32", "F16", "F64", "BF16"].includes(e.dtype)) {
          expect(t.dtype, name).toBe("BF16");
          const want = (await (await openPytorchFile(fixture("state-dict.bin"))).read(name)).to("BF16");
          expect(Array.from(t.toFloat32())).toEqual(Array.from(want.toFloat32()));
        } else {
          expect(t.dtype, name).toBe(e.dtype);
          expect(valuesOf(t)).toEqual(e.values);
        }
      }
    } finally {
      await c.close();
    }
  });

  it("refuses unsafe inputs (writing nothing), non-empty outputs and writing into the input", async () => {
    const out = join(tmp, "never");
    await expect(convertPytorchToSafetensors(fixture("malicious.bin"), out)).rejects.toBeInstanceOf(
      UnsafePickleError,
    );
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
    const busy = join(tmp, "busy");
    await convertPytorchToSafetensors(fixture("module.bin"), busy);
    await expect(convertPytorchToSafetensors(fixture("module.bin"), busy)).rejects.toThrow(/not empty/);
    await convertPytorchToSafetensors(fixture("module.bin"), busy, { overwrite: true });
    await expect(convertPytorchToSafetensors(fixture("sharded"), fixture("sharded"))).rejects.toThrow(
      /into the input/,
    );
  });
});
