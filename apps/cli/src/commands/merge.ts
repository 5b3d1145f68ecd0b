// `x merge`: merge checkpoints from a mergekit-style YAML config, or the quick form from flags; `x merge methods`
// lists the registered methods with their parameters.
import { readFile } from "node:fs/promises";
import {
  applyMemoryBudget,
  describeMethod,
  formatMergeSummary,
  formatMethodDocs,
  getMethod,
  hasMethod,
  listMethods,
  type MergeConfig,
  MergeConfigError,
  MergeOptionError,
  mergeCheckpoints,
  parseByteSize,
  parseMergeConfig,
  parseParamSetting,
  quickMergeConfig,
  refuseQuickOptions,
  type ScalarSetting,
} from "@x/merging";
import { formatBytes } from "@x/tensor-core";
import { type Command, InvalidArgumentError } from "commander";
import {
  addOptions,
  checkOutput,
  defineCommand,
  exitOnInterrupt,
  integer,
  jsonOption,
  number,
  type OptionsOf,
  options,
  overwriteOption,
  parsedBy,
  printResult,
  quietOption,
  UsageError,
} from "../kit.js";
import { createProgress } from "../progress.js";

/** --param key=value (numbers, true / false, otherwise a string), repeatable. */
const param = parsedBy(
  (text: string, prev: [string, ScalarSetting][] = []) => [...prev, parseParamSetting(text)],
  MergeConfigError,
);
const byteSize = (what: string) => parsedBy((v: string) => parseByteSize(v, what), MergeConfigError);

function methodName(v: string): string {
  if (!hasMethod(v)) throw new InvalidArgumentError(`unknown method '${v}' (x merge methods lists them)`);
  return v;
}

type MergeOpts = OptionsOf<ReturnType<typeof mergeOptions>>;

async function yamlConfig(configPath: string): Promise<MergeConfig> {
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read config ${configPath}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return parseMergeConfig(text, configPath);
}

async function runMerge(config: string | undefined, outArg: string | undefined, o: MergeOpts): Promise<void> {
  if (o.listMethods) return printMethods(undefined, o.json);
  let cfg: MergeConfig;
  let outDir: string;
  try {
    if (o.method !== undefined || o.models !== undefined) {
      if (config !== undefined) throw new UsageError(`unexpected argument '${config}' in the quick form`);
      cfg = quickMergeConfig(o);
      if (!o.out) throw new UsageError("the quick form needs --out DIR");
      outDir = o.out;
    } else {
      if (config === undefined || outArg === undefined)
        throw new UsageError("expected CONFIG.yml and OUT_DIR (or the quick form: --method --models --out)");
      refuseQuickOptions(o);
      cfg = await yamlConfig(config);
      outDir = outArg;
    }
    applyMemoryBudget(cfg, o.memoryBudget);
  } catch (e) {
    if (e instanceof MergeOptionError) throw new UsageError(e.message);
    throw e;
  }
  const inputs = [...cfg.models.map((m) => m.model), ...(cfg.baseModel ? [cfg.baseModel] : [])];
  checkOutput(outDir, { overwrite: o.overwrite, inputs });
  const progress = createProgress(o.quiet === true || o.json === true);
  // The merge cannot be cancelled midway: Ctrl-C / SIGTERM end the process, and the library's exit hooks remove
  // the partial output (.OUT.partial-*) and the lock.
  const release = exitOnInterrupt(
    "x merge",
    `removed the partial output and the lock; nothing was written to ${outDir}`,
    () => progress.stop(),
  );
  try {
    const result = await mergeCheckpoints(cfg, outDir, {
      outShardSize: o.outShardSize,
      seed: o.seed,
      threads: o.threads === 0 ? undefined : o.threads,
      strict: o.strict === true,
      allowNonfinite: o.allowNonfinite === true,
      overwrite: o.overwrite === true,
      copyTokenizer: o.copyTokenizer,
      writeModelCard: o.modelCard,
      onProgress: (e) => {
        const label = e.phaseCount > 1 ? `${e.label} (${e.phaseIndex}/${e.phaseCount})` : e.label;
        progress.update(
          label,
          e.bytesDone,
          e.bytesTotal,
          `${e.tensorsDone}/${e.tensorsTotal} tensors`,
          formatBytes,
        );
      },
      onWarning: (w) => console.error(`warning: ${w.message}`),
      onNotice: (m) => console.error(`note: ${m.replace(/^allowNonfinite:/, "--allow-nonfinite:")}`),
    });
    progress.finish();
    if (!o.quiet || o.json) printResult(o.json, result, () => formatMergeSummary(result));
  } finally {
    release();
    progress.stop();
  }
}

// ---------------------------------------------------------------- x merge methods

function printMethods(name: string | undefined, json: boolean | undefined): void {
  const methods = (name ? [getMethod(name)] : listMethods()).map(describeMethod);
  printResult(json, name ? methods[0] : methods, () => formatMethodDocs(methods));
}

export function build(): Command {
  const methods = defineCommand(
    "methods",
    "list every registered merge method with its parameters (name, scope, type, default, range, description)",
    ["x merge methods", "x merge methods pcb", "x merge methods --json"],
  ).argument("[method]", "only this method", methodName);
  addOptions(methods, [jsonOption()])
    // --json may land on `x merge` (which has one too) when it follows the subcommand: read both.
    .action((name: string | undefined, _o: unknown, cmd: Command) =>
      printMethods(name, cmd.optsWithGlobals().json),
    );
  const cmd = defineCommand(
    "merge",
    "merge model checkpoints (safetensors, Hugging Face layout) with PCB, TIES, DARE, task arithmetic and more",
    [
      "x merge config.yml merged/",
      "x merge --method pcb --base base/ --models a/ b/ c/ --out merged/ --ratio 0.1 --lambda 1",
      "x merge --method pcb --base base/ --models a/ b/ --out merged/ --mode reference --quiet",
      "x merge --method ties --base base/ --models a/ b/ --out merged/ --param density=0.2 --json",
      "x merge --method fisher --models a/ b/ --out merged/   # a/fisher.safetensors, b/fisher.safetensors",
      "x merge methods pcb",
    ],
  )
    .description(
      "Merge checkpoints. CONFIG.yml is mergekit's YAML subset (models, base_model, merge_method, parameters, dtype, " +
        "out_dtype); the quick form takes --method, --base, --models and --out instead. Method parameters not given " +
        "keep the method's defaults (x merge methods lists them). --threads N: task arithmetic splits each piece of a " +
        "tensor over N threads, other tensor-scope methods merge whole tensors on N workers (memory grows N-fold), " +
        "PCB streaming-global runs its passes on N threads. The output directory must not be, contain or lie inside " +
        "an input, and a non-empty one is refused unless --overwrite; it is locked while a merge writes it. NaN / ±Inf " +
        "in an input is an error naming the model, tensor and count unless --allow-nonfinite. Ctrl-C (SIGTERM) removes " +
        "the partial output and the lock and exits 130 (143); temporaries of killed merges are removed by the next " +
        "run. fisher reads fisher.safetensors and regmean gram.safetensors beside each model (M/fisher.safetensors, " +
        "or P/name.fisher.safetensors beside a single file; x zoo stats writes them for the zoo's experts); regmean " +
        "without Gram matrices is an error unless --param missing_gram=average.",
    )
    .argument("[config]", "mergekit-style YAML config")
    .argument("[out]", "output directory");
  return addOptions(cmd, mergeOptions()).action(runMerge).addCommand(methods);
}

function mergeOptions() {
  const pcb = Object.fromEntries(getMethod("pcb").params.map((p) => [p.name, p]));
  return options([
    ["--method <name>", "merge method of the quick form (x merge methods)", methodName],
    ["--base <dir>", "base model θ0 of the quick form"],
    ["--models <dir...>", "the models to merge (quick form)"],
    ["--out <dir>", "output directory of the quick form"],
    ["--ratio <r>", `PCB's ratio (default ${String(pcb.ratio?.default)})`, number(0, 1)],
    [
      "--lambda <λ>",
      `scaling of the merged task vector (PCB default ${String(pcb.lambda?.default)})`,
      number(),
    ],
    ["--mode <mode>", `PCB's mode (default ${String(pcb.mode?.default)})`, pcb.mode?.choices ?? []],
    ["--param <key=value>", "any method parameter, repeatable", param],
    ["--dtype <dtype>", "compute dtype (quick form)"],
    ["--out-dtype <dtype>", "output dtype (quick form)"],
    [
      "--out-shard-size <size>",
      "largest output shard, e.g. 5GB (default: the library's, as mergekit)",
      byteSize("--out-shard-size"),
    ],
    [
      "--memory-budget <size>",
      "memory the merge may hold, e.g. 4GB (PCB streaming-global: the fast path keeps what fits and re-reads the rest in each pass, the general path spills its task store to a temp file; default: a quarter of the machine's memory); overrides memory_budget of a config",
      byteSize("--memory-budget"),
    ],
    ["--seed <n>", "seed of the randomized methods (default: the library's)", integer(0)],
    ["--threads <n>", "threads (0 = the library's choice)", integer(0, 256)],
    ["--strict", "turn skipped tensors into errors"],
    [
      "--allow-nonfinite",
      "merge NaN / ±Inf input values as they are (default: an error naming the model, tensor and count); a note lists what was merged",
    ],
    overwriteOption(),
    quietOption(),
    ["--no-copy-tokenizer", "do not copy tokenizer files from the first model"],
    ["--no-model-card", "do not write README.md"],
    jsonOption(),
    ["--list-methods", "list the merge methods and their parameters (same as x merge methods)"],
  ]);
}
