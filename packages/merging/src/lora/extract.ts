// LoRA extraction (mergekit-extract-lora): the difference between a fine-tuned model and its base,
// per linear layer, truncated to rank r by SVD and written as a PEFT adapter
// (`adapter_model.safetensors` + `adapter_config.json`) that `PeftModel.from_pretrained(base, dir)`
// loads. One layer is in memory at a time: its two float32 copies and the sketch matrices; the
// factors go to a spill file in the output's temporary directory, and the adapter file is assembled
// from it once every rank is known (`svEpsilon` can lower ranks). The output directory appears only
// when complete.

import { open, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import {
  type DType,
  dtypeInfo,
  isFloatDType,
  SafetensorsWriter,
  Tensor,
  type TensorReader,
  type TensorSpec,
} from "@x/tensor-core";
import { StagedOutput } from "../io/output-dir.js";
import { openAnyCheckpoint } from "../io/source.js";

export { openAnyCheckpoint };

import { type SvdOptions, type TruncatedSvd, truncatedSvd } from "./linalg.js";
import { type ModuleKind, type PlannedModule, planModules } from "./modules.js";

export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";
export const ADAPTER_CONFIG_FILE = "adapter_config.json";

/** Bad inputs or options of a LoRA extraction; the message names the model, tensor and problem. */
export class LoraExtractionError extends Error {
  override name = "LoraExtractionError";
}

export interface ExtractLoraOptions {
  /** The fine-tuned model: a safetensors model directory or file, or a PyTorch `.bin` checkpoint. */
  readonly model: string;
  /** Its base model (same layout). */
  readonly base: string;
  /** Output directory of the adapter. */
  readonly out: string;
  /** Maximum rank per module (mergekit's `--max-rank`; default 128). */
  readonly rank?: number;
  /** Keep only singular values above this (mergekit's `--sv-epsilon`; default 0 = keep `rank`). */
  readonly svEpsilon?: number;
  /** Split √σ between A and B (default true); false puts σ in A and leaves B = U. */
  readonly distributeScale?: boolean;
  /** Decompose the embeddings too instead of saving them at full rank (default false). */
  readonly embedLora?: boolean;
  /** Modules (full names or last components, e.g. "lm_head") saved at full rank. */
  readonly modulesToSave?: readonly string[];
  /** Only modules matching one of these regular expressions are decomposed (default: all). */
  readonly include?: readonly (string | RegExp)[];
  /** Modules matching one of these are left out. */
  readonly exclude?: readonly (string | RegExp)[];
  /** Leave out modules without a LoRA form (norms, convolutions) instead of saving them at full rank. */
  readonly skipUndecomposable?: boolean;
  /** dtype of the factors (F32, F16 or BF16); default: each weight's stored dtype in the fine-tuned model. */
  readonly dtype?: DType;
  /** `base_model_name_or_path` written to the config (default: `base` as given). */
  readonly baseModelName?: string;
  /** Randomized-SVD settings (oversampling, power iterations, seed). */
  readonly svd?: SvdOptions;
  /** Replace a non-empty output directory (default false). */
  readonly overwrite?: boolean;
  readonly onProgress?: (event: { module: string; done: number; total: number }) => void;
}

export interface LoraModuleReport {
  readonly name: string;
  readonly kind: ModuleKind;
  readonly shape: readonly number[];
  /** Rank written (LoRA modules; 0 for full-rank ones). */
  readonly rank: number;
  /** ‖Δ‖_F of the module's weight change. */
  readonly deltaNorm: number;
  /**
   * ‖Δ − B·A‖_F / ‖Δ‖_F of the float64 factors, from the singular values (exact for both SVD paths:
   * the kept part is an orthogonal projection). 0 for full-rank modules.
   */
  readonly relativeError: number;
  readonly svd?: TruncatedSvd["method"];
  readonly reason?: string;
}

export interface ExtractLoraResult {
  readonly out: string;
  /** Largest rank written (the config's `r`). */
  readonly rank: number;
  readonly modules: readonly LoraModuleReport[];
  readonly targetModules: readonly string[];
  readonly modulesToSave: readonly string[];
  /** Tensors that belong to no module (not in the adapter). */
  readonly ignored: readonly string[];
  readonly skipped: readonly string[];
}

interface SpilledTensor {
  readonly spec: TensorSpec;
  readonly offset: number;
  readonly bytes: number;
}

const toRegExp = (r: string | RegExp) => (typeof r === "string" ? new RegExp(r) : r);
const lastComponent = (module: string) => module.slice(module.lastIndexOf(".") + 1);

/** Extracts a PEFT LoRA adapter from `model − base`. */
export async function extractLora(options: ExtractLoraOptions): Promise<ExtractLoraResult> {
  const maxRank = options.rank ?? 128;
  if (!Number.isInteger(maxRank) || maxRank < 1)
    throw new LoraExtractionError(`rank must be a positive integer, got ${maxRank}`);
  const svEpsilon = options.svEpsilon ?? 0;
  if (!(svEpsilon >= 0)) throw new LoraExtractionError(`svEpsilon must be ≥ 0, got ${svEpsilon}`);
  if (options.dtype !== undefined && !["F32", "F16", "BF16"].includes(options.dtype)) {
    throw new LoraExtractionError(`dtype must be F32, F16 or BF16, got ${options.dtype}`);
  }
  const distribute = options.distributeScale ?? true;
  const out = resolve(options.out);
  for (const input of [options.model, options.base]) {
    const abs = resolve(input);
    if (out === abs || out === dirname(abs) || abs.startsWith(`${out}${sep}`)) {
      throw new LoraExtractionError(`the output ${options.out} would overwrite the input ${input}`);
    }
  }
  const model = await openAnyCheckpoint(options.model);
  let base: TensorReader | undefined;
  let staged: StagedOutput | undefined;
  try {
    base = await openAnyCheckpoint(options.base);
    const shapes = new Map(model.names().map((n) => [n, model.info(n)?.shape ?? []] as const));
    const baseShapes = new Map(base.names().map((n) => [n, base?.info(n)?.shape ?? []] as const));
    const plan = planModules(shapes, baseShapes, {
      embedLora: options.embedLora ?? false,
      modulesToSave: options.modulesToSave ?? [],
      include: (options.include ?? []).map(toRegExp),
      exclude: (options.exclude ?? []).map(toRegExp),
      skipUndecomposable: options.skipUndecomposable ?? false,
    });
    for (const m of plan.modules) {
      if (m.kind === "full") continue;
      for (const t of [m.weight, m.bias]) {
        if (t === undefined) continue;
        const want = shapes.get(t) as readonly number[];
        const got = baseShapes.get(t);
        if (got === undefined)
          throw new LoraExtractionError(`${options.base}: tensor '${t}' is missing from the base model`);
        if (got.length !== want.length || got.some((v, i) => v !== want[i])) {
          throw new LoraExtractionError(
            `tensor '${t}': base shape [${got.join(", ")}] differs from the fine-tuned model's [${want.join(", ")}]`,
          );
        }
      }
    }
    staged = await StagedOutput.create(options.out, options.overwrite ?? false);
    const tmp = staged.dir;
    const spillPath = join(tmp, ".lora-factors.spill");
    const spill = await open(spillPath, "w+");
    const spilled: SpilledTensor[] = [];
    const reports: LoraModuleReport[] = [];
    let spillEnd = 0;
    const put = async (spec: TensorSpec, bytes: Uint8Array) => {
      await spill.write(bytes, 0, bytes.byteLength, spillEnd);
      spilled.push({ spec, offset: spillEnd, bytes: bytes.byteLength });
      spillEnd += bytes.byteLength;
    };
    const outDtype = (t: string): DType => {
      if (options.dtype !== undefined) return options.dtype;
      const stored = model.info(t)?.dtype as DType;
      return isFloatDType(stored) ? stored : "F32";
    };
    try {
      let done = 0;
      for (const m of plan.modules) {
        if (m.kind === "full") {
          reports.push({
            name: m.name,
            kind: m.kind,
            shape: m.shape,
            rank: 0,
            deltaNorm: 0,
            relativeError: 0,
            reason: m.reason,
          });
        } else {
          reports.push(
            await decompose(m, model, base, {
              maxRank,
              svEpsilon,
              distribute,
              svd: options.svd,
              outDtype,
              put,
            }),
          );
        }
        options.onProgress?.({ module: m.name, done: ++done, total: plan.modules.length });
      }
      await writeAdapter(join(tmp, ADAPTER_WEIGHTS_FILE), plan.modules, spilled, spill, model, options.dtype);
    } finally {
      await spill.close();
      await rm(spillPath, { force: true });
    }
    const loraReports = reports.filter((r) => r.kind !== "full");
    const rank = loraReports.reduce((r, m) => Math.max(r, m.rank), 0);
    const targetModules = [...new Set(loraReports.map((r) => lastComponent(r.name)))].sort();
    const modulesToSave = [
      ...new Set(plan.modules.filter((m) => m.kind === "full").map((m) => lastComponent(m.name))),
    ].sort();
    const rankPattern = Object.fromEntries(
      loraReports.filter((r) => r.rank !== rank).map((r) => [r.name, r.rank]),
    );
    const hasBias = plan.modules.some((m) => m.kind === "lora" && m.bias !== undefined);
    const config = {
      base_model_name_or_path: options.baseModelName ?? options.base,
      peft_type: "LORA",
      task_type: "CAUSAL_LM",
      r: rank,
      lora_alpha: rank,
      rank_pattern: rankPattern,
      alpha_pattern: rankPattern,
      target_modules: targetModules,
      modules_to_save: modulesToSave,
      lora_dropout: 0,
      fan_in_fan_out: false,
      use_rslora: false,
      inference_mode: true,
      ...(hasBias ? { lora_bias: true } : {}),
    };
    await writeFile(join(tmp, ADAPTER_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
    await writeFile(join(tmp, "README.md"), modelCard(options, rank, reports));
    await staged.commit();
    return {
      out: options.out,
      rank,
      modules: reports,
      targetModules,
      modulesToSave,
      ignored: plan.ignored,
      skipped: plan.skipped,
    };
  } finally {
    await staged?.discard();
    await model.close();
    await base?.close();
  }
}

interface DecomposeContext {
  readonly maxRank: number;
  readonly svEpsilon: number;
  readonly distribute: boolean;
  readonly svd?: SvdOptions;
  readonly outDtype: (tensor: string) => DType;
  readonly put: (spec: TensorSpec, bytes: Uint8Array) => Promise<void>;
}

/** Decomposes one module's weight change and spills its factors (and bias change). */
async function decompose(
  m: PlannedModule,
  model: TensorReader,
  base: TensorReader,
  ctx: DecomposeContext,
): Promise<LoraModuleReport> {
  const [rows, cols] = m.shape;
  const delta = await model.readFloat32(m.weight);
  const b0 = await base.readFloat32(m.weight);
  let normSq = 0;
  for (let k = 0; k < delta.length; k++) {
    const d = delta[k] - b0[k];
    delta[k] = d;
    normSq += d * d;
  }
  // PEFT's embedding LoRA factors ΔWᵀ (dim × vocab): A [r, vocab], B [dim, r].
  let mat = delta;
  let [mRows, mCols] = [rows, cols];
  if (m.kind === "embedding") {
    mat = b0; // reuse: the base copy is no longer needed
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mat[j * rows + i] = delta[i * cols + j];
    [mRows, mCols] = [cols, rows];
  }
  const svd = truncatedSvd(mat, mRows, mCols, ctx.maxRank, {
    ...ctx.svd,
    seed: `${ctx.svd?.seed ?? 0}:${m.name}`,
  });
  // mergekit's rank: min(rank, min(rows, cols)), or the singular values above svEpsilon. An exactly
  // rank-deficient change is padded with zero directions (same shapes as mergekit); with svEpsilon, a
  // module keeping nothing gets rank-1 zero factors (PEFT refuses rank 0; B·A = 0 adds nothing).
  const full = Math.min(ctx.maxRank, mRows, mCols);
  const written =
    ctx.svEpsilon > 0 ? Math.max(1, Math.min(full, svd.s.filter((s) => s > ctx.svEpsilon).length)) : full;
  const rank = Math.min(
    written,
    svd.k,
    ctx.svEpsilon > 0 ? svd.s.filter((s) => s > ctx.svEpsilon).length : svd.k,
  );
  const a = new Float32Array(written * mCols);
  const bm = new Float32Array(mRows * written);
  let kept = 0;
  for (let c = 0; c < rank; c++) {
    const s = svd.s[c];
    kept += s * s;
    const sa = ctx.distribute ? Math.sqrt(s) : s;
    const sb = ctx.distribute ? Math.sqrt(s) : 1;
    for (let j = 0; j < mCols; j++) a[c * mCols + j] = sa * svd.v[j * svd.k + c];
    for (let i = 0; i < mRows; i++) bm[i * written + c] = sb * svd.u[i * svd.k + c];
  }
  const dtype = ctx.outDtype(m.weight);
  const prefix = `base_model.model.${m.name}`;
  const [nameA, nameB] =
    m.kind === "embedding"
      ? [`${prefix}.lora_embedding_A`, `${prefix}.lora_embedding_B`]
      : [`${prefix}.lora_A.weight`, `${prefix}.lora_B.weight`];
  await ctx.put(
    { name: nameA, dtype, shape: [written, mCols] },
    Tensor.fromFloat32(dtype, [written, mCols], a).bytes(),
  );
  await ctx.put(
    { name: nameB, dtype, shape: [mRows, written] },
    Tensor.fromFloat32(dtype, [mRows, written], bm).bytes(),
  );
  if (m.kind === "lora" && m.bias !== undefined) {
    const db = await model.readFloat32(m.bias);
    const bb = await base.readFloat32(m.bias);
    for (let k = 0; k < db.length; k++) db[k] -= bb[k];
    const bd = ctx.outDtype(m.bias);
    await ctx.put(
      { name: `${prefix}.lora_B.bias`, dtype: bd, shape: [db.length] },
      Tensor.fromFloat32(bd, [db.length], db).bytes(),
    );
  }
  return {
    name: m.name,
    kind: m.kind,
    shape: m.shape,
    rank: written,
    deltaNorm: Math.sqrt(normSq),
    relativeError: normSq === 0 ? 0 : Math.sqrt(Math.max(0, normSq - kept) / normSq),
    svd: svd.method,
  };
}

/** Assembles the adapter file: spilled factors, then full-rank modules streamed from the model. */
async function writeAdapter(
  path: string,
  modules: readonly PlannedModule[],
  spilled: readonly SpilledTensor[],
  spill: Awaited<ReturnType<typeof open>>,
  model: TensorReader,
  dtype: DType | undefined,
): Promise<void> {
  const full = modules
    .filter((m) => m.kind === "full")
    .flatMap((m) => (m.bias === undefined ? [m.weight] : [m.weight, m.bias]))
    .map((t) => {
      const info = model.info(t) as { dtype: DType; shape: readonly number[] };
      const target = dtype !== undefined && isFloatDType(info.dtype) ? dtype : info.dtype;
      return { source: t, spec: { name: `base_model.model.${t}`, dtype: target, shape: info.shape } };
    });
  const writer = await SafetensorsWriter.create(path, [
    ...spilled.map((s) => s.spec),
    ...full.map((f) => f.spec),
  ]);
  try {
    const chunk = 16 << 20;
    for (const s of spilled) {
      for (let done = 0; done < s.bytes; done += chunk) {
        const len = Math.min(chunk, s.bytes - done);
        const buf = new Uint8Array(len);
        await spill.read(buf, 0, len, s.offset + done);
        await writer.writeChunk(s.spec.name, buf);
      }
    }
    for (const f of full) {
      const from = (model.info(f.source) as { dtype: DType }).dtype;
      for await (const bytes of model.readChunks(f.source, chunk)) {
        await writer.writeChunk(
          f.spec.name,
          from === f.spec.dtype
            ? bytes
            : Tensor.fromBytes(from, [bytes.byteLength / (dtypeInfo(from).bits / 8)], bytes)
                .to(f.spec.dtype)
                .bytes(),
        );
      }
    }
    await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

function modelCard(options: ExtractLoraOptions, rank: number, reports: readonly LoraModuleReport[]): string {
  const lora = reports.filter((r) => r.kind !== "full");
  const worst = lora.reduce((w, r) => Math.max(w, r.relativeError), 0);
  return [
    "---",
    "library_name: peft",
    "tags:",
    "- lora",
    "- extracted",
    "---",
    "",
    "# LoRA extracted with x",
    "",
    `A rank-${rank} LoRA adapter extracted from the difference between \`${options.model}\` and its base`,
    `\`${options.baseModelName ?? options.base}\` by truncated SVD of each linear layer's weight change.`,
    "",
    `- ${lora.length} decomposed modules, ${reports.length - lora.length} saved at full rank`,
    `- largest relative truncation error ‖Δ − B·A‖_F / ‖Δ‖_F: ${worst.toFixed(4)}`,
    "",
    "```python",
    "from peft import PeftModel",
    "from transformers import AutoModelForCausalLM",
    `model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("${options.baseModelName ?? options.base}"), "<this directory>")`,
    "```",
    "",
  ].join("\n");
}
