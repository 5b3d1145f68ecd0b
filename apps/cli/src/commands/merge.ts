// `x merge`: merge checkpoints from a mergekit-style YAML config, or the quick PCB / TA form from flags.

import { readFile } from "node:fs/promises";
import {
  type MergeCheckpointsResult,
  type MergeConfig,
  type MergeProgressEvent,
  mergeCheckpoints,
  parseByteSize,
  parseDTypeName,
  parseMergeConfig,
  type ScalarSetting,
} from "@x/merging";
import { type Command, UsageError } from "../command.js";
import { formatBytes, ProgressBar } from "../progress.js";

const USAGE = [
  "x merge CONFIG.yml OUT_DIR [--out-shard-size 5GB] [--seed N] [--threads N] [--strict] [--overwrite] [--quiet]",
  "               [--no-copy-tokenizer] [--no-model-card]",
  "       x merge --method pcb --base DIR --models DIR DIR ... --out DIR [--ratio 0.1] [--lambda 1.0]",
  "               [--mode reference|streaming-global|per-tensor] [--param key=value ...] [--dtype float32]",
  "               [--out-dtype bfloat16] [--out-shard-size 5GB] [--seed N] [--strict] [--overwrite]",
].join("\n");

const VALUE_FLAGS = new Set([
  "--out-shard-size",
  "--seed",
  "--threads",
  "--method",
  "--base",
  "--out",
  "--ratio",
  "--lambda",
  "--mode",
  "--param",
  "--dtype",
  "--out-dtype",
]);
const BOOL_FLAGS = new Set(["--strict", "--overwrite", "--quiet", "--no-copy-tokenizer", "--no-model-card"]);

interface Parsed {
  positional: string[];
  values: Map<string, string[]>;
  bools: Set<string>;
  models: string[];
}

function parseArgs(argv: string[]): Parsed {
  const p: Parsed = { positional: [], values: new Map(), bools: new Set(), models: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (flag === "--models") {
      // Every following non-flag argument is a model.
      while (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) p.models.push(argv[++i]!);
      if (p.models.length === 0) throw new UsageError("--models needs at least one directory");
    } else if (VALUE_FLAGS.has(flag)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      p.values.set(flag, [...(p.values.get(flag) ?? []), v]);
    } else if (BOOL_FLAGS.has(a)) {
      p.bools.add(a);
    } else if (a.startsWith("--")) {
      throw new UsageError(`unknown option ${a}`);
    } else {
      p.positional.push(a);
    }
  }
  return p;
}

function one(p: Parsed, flag: string): string | undefined {
  const v = p.values.get(flag);
  if (v && v.length > 1) throw new UsageError(`${flag} given more than once`);
  return v?.[0];
}

function intFlag(p: Parsed, flag: string): number | undefined {
  const v = one(p, flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`${flag} must be a non-negative integer, got '${v}'`);
  return n;
}

function numberFlag(p: Parsed, flag: string): number | undefined {
  const v = one(p, flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number, got '${v}'`);
  return n;
}

/** `key=value` with YAML-like scalars: numbers, true/false, otherwise a string. */
function parseParam(text: string): [string, ScalarSetting] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`--param expects key=value, got '${text}'`);
  const key = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  if (raw === "true" || raw === "false") return [key, raw === "true"];
  const n = Number(raw);
  return [key, raw.trim() !== "" && Number.isFinite(n) ? n : raw];
}

/** The config of the quick form (`--method ... --base ... --models ...`). */
export function quickConfig(p: Parsed): MergeConfig {
  const method = one(p, "--method");
  if (!method) throw new UsageError("the quick form needs --method (e.g. pcb, task_arithmetic, ties)");
  if (p.models.length === 0) throw new UsageError("the quick form needs --models DIR [DIR ...]");
  const parameters: Record<string, ScalarSetting> = {};
  const ratio = numberFlag(p, "--ratio");
  if (ratio !== undefined) parameters.ratio = ratio;
  const lambda = numberFlag(p, "--lambda");
  if (lambda !== undefined) parameters.lambda = lambda;
  const mode = one(p, "--mode");
  if (mode !== undefined) parameters.mode = mode;
  for (const kv of p.values.get("--param") ?? []) {
    const [k, v] = parseParam(kv);
    parameters[k] = v;
  }
  const config: MergeConfig = {
    mergeMethod: method,
    models: p.models.map((model) => ({ model, parameters: {} })),
    parameters,
  };
  const base = one(p, "--base");
  if (base !== undefined) config.baseModel = base;
  const dtype = one(p, "--dtype");
  if (dtype !== undefined) config.dtype = parseDTypeName(dtype, "--dtype");
  const outDtype = one(p, "--out-dtype");
  if (outDtype !== undefined) config.outDtype = parseDTypeName(outDtype, "--out-dtype");
  return config;
}

/** A progress bar per phase (statistics passes, then the merge), in bytes with a tensor count. */
function progressReporter(quiet: boolean): (e: MergeProgressEvent) => void {
  let bar: ProgressBar | undefined;
  let phase = -1;
  return (e) => {
    if (quiet) return;
    if (e.phaseIndex !== phase) {
      bar?.finish();
      phase = e.phaseIndex;
      const label = e.phaseCount > 1 ? `${e.label} ${e.phaseIndex}/${e.phaseCount}` : e.label;
      bar = new ProgressBar({ label, total: e.bytesTotal, format: formatBytes });
    }
    bar!.update(e.bytesDone, `${e.tensorsDone}/${e.tensorsTotal} tensors`);
    if (e.tensorsDone === e.tensorsTotal) {
      bar!.finish(`${e.tensorsDone}/${e.tensorsTotal} tensors`);
      bar = undefined;
    }
  };
}

function summary(r: MergeCheckpointsResult): string {
  return (
    `merged ${r.tensorsMerged} tensors` +
    (r.tensorsCopied ? `, kept ${r.tensorsCopied}` : "") +
    ` with ${r.method} (${r.scope} scope) into ${r.outDir}: ${formatBytes(r.outputBytes)} in ${r.seconds.toFixed(1)}s` +
    (r.warnings.length ? `, ${r.warnings.length} warning(s)` : "")
  );
}

export async function runMerge(argv: string[]): Promise<number> {
  const p = parseArgs(argv);
  let config: MergeConfig;
  let outDir: string;
  if (one(p, "--method") !== undefined || p.models.length > 0) {
    if (p.positional.length > 0)
      throw new UsageError(`unexpected argument '${p.positional[0]}' in the quick form`);
    config = quickConfig(p);
    const out = one(p, "--out");
    if (!out) throw new UsageError("the quick form needs --out DIR");
    outDir = out;
  } else {
    if (p.positional.length !== 2) throw new UsageError("expected CONFIG.yml and OUT_DIR");
    for (const f of [
      "--base",
      "--out",
      "--ratio",
      "--lambda",
      "--mode",
      "--param",
      "--dtype",
      "--out-dtype",
    ]) {
      if (p.values.has(f))
        throw new UsageError(`${f} belongs to the quick form; set it in the YAML config instead`);
    }
    const [configPath, out] = p.positional as [string, string];
    let text: string;
    try {
      text = await readFile(configPath, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read config ${configPath}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    config = parseMergeConfig(text, configPath);
    outDir = out;
  }
  const shard = one(p, "--out-shard-size");
  const quiet = p.bools.has("--quiet");
  const threads = intFlag(p, "--threads");
  const result = await mergeCheckpoints(config, outDir, {
    outShardSize: shard !== undefined ? parseByteSize(shard) : undefined,
    seed: intFlag(p, "--seed"),
    threads: threads === 0 ? undefined : threads,
    strict: p.bools.has("--strict"),
    overwrite: p.bools.has("--overwrite"),
    copyTokenizer: !p.bools.has("--no-copy-tokenizer"),
    writeModelCard: !p.bools.has("--no-model-card"),
    onProgress: progressReporter(quiet),
    onWarning: (w) => console.error(`warning: ${w.message}`),
    onNotice: (m) => console.error(`note: ${m}`),
  });
  if (!quiet) console.log(summary(result));
  return 0;
}

const command: Command = {
  name: "merge",
  summary:
    "Merge model checkpoints (safetensors, Hugging Face layout) with PCB, TIES, DARE, task arithmetic and more.\n" +
    "CONFIG.yml is mergekit's YAML subset (models, base_model, merge_method, parameters, dtype, out_dtype).\n" +
    "--threads N uses N threads: task arithmetic splits each piece of a tensor over them (no extra memory),\n" +
    "other tensor-scope methods merge whole tensors on N workers (memory grows N-fold); PCB streaming-global\n" +
    "runs its passes on N threads (all cores without --threads; its `threads` parameter takes precedence);\n" +
    "--strict turns skipped tensors into errors.",
  usage: USAGE,
  run: runMerge,
};

export default command;
