/**
 * What `x snn train | cade | eval` share: the model and neuron flags (defaults read from @x/snn), the data flags
 * and the per-class split, the mapping of @x/snn's errors to exit codes, and log lines that coexist with a bar.
 */
import { dirname, resolve } from "node:path";
import { classCounts, type ImageSet } from "@x/datasets";
import {
  CADE_LIF,
  CONNECT_FUNCTIONS,
  type ConnectFunction,
  describeNeuron,
  formatStages,
  loadData,
  type ModelSpec,
  type NeuronSpec,
  SnnConfigError,
  SPIKINGJELLY_LIF,
  type SplitName,
  type StageSpec,
  sewMlp,
  sewResNet,
} from "@x/snn";
import { removeDeadTemporaries } from "@x/tensor-core";
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  checkOutput,
  integer,
  jsonOption,
  list,
  number,
  overwriteOption,
  quietOption,
  UsageError,
} from "../../kit.js";
import { ProgressBar } from "../../progress.js";

export const MLP = sewMlp();
export const RESNET = sewResNet();

// ---------------------------------------------------------------- parsers

export const classList = (v: string): number[] => {
  const cs = list(integer(0, 255))(v);
  if (new Set(cs).size !== cs.length) throw new InvalidArgumentError(`a class is listed twice in '${v}'`);
  return cs;
};

/** "8x1/2,16x1/2": channels x blocks / stride per stage. */
export function parseStages(v: string): StageSpec[] {
  return v.split(",").map((part) => {
    const m = /^\s*(\d+)x(\d+)(?:\/([12]))?\s*$/.exec(part);
    if (!m)
      throw new InvalidArgumentError(`bad stage '${part}' (expected CHANNELSxBLOCKS/STRIDE, e.g. 16x1/2)`);
    return { channels: Number(m[1]), blocks: Number(m[2]), stride: Number(m[3] ?? 1) };
  });
}

const vReset = (v: string): number | null => (v === "soft" ? null : number()(v));

// ---------------------------------------------------------------- neuron presets

const NEURON_PRESETS: Record<string, NeuronSpec> = {
  "cade-lif": CADE_LIF,
  "spikingjelly-lif": SPIKINGJELLY_LIF,
  if: {
    kind: "if",
    vThreshold: CADE_LIF.vThreshold,
    vReset: CADE_LIF.vReset,
    detachReset: false,
    surrogate: CADE_LIF.surrogate,
  },
};

export interface NeuronOpts {
  neuron: string;
  tau?: number;
  decayInput?: boolean;
  vThreshold?: number;
  vReset?: number | null;
  detachReset?: boolean;
  surrogate?: "sigmoid" | "atan";
  alpha?: number;
}

export interface ModelOpts extends NeuronOpts {
  model: "sew-mlp" | "sew-resnet";
  hidden: number;
  blocks: number;
  stemChannels: number;
  stages: StageSpec[];
  timeSteps: number;
  connect: ConnectFunction;
}

/** --neuron and its overrides (a preset, then any field). */
export function addNeuronOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        "--neuron <preset>",
        `spiking neuron: ${Object.entries(NEURON_PRESETS)
          .map(([k, n]) => `${k} = ${describeNeuron(n)}`)
          .join("; ")}`,
      )
        .choices(Object.keys(NEURON_PRESETS))
        .default("cade-lif"),
    )
    .option("--tau <τ>", "LIF membrane time constant (default: the preset's)", number(1))
    .option("--decay-input", "LIF: the input decays with 1/τ too (spikingjelly's decay_input)")
    .option("--no-decay-input", "LIF: H = (1 − 1/τ)·V + X (CADE's)")
    .option("--v-threshold <v>", "firing threshold V_th (default: the preset's)", number())
    .option("--v-reset <v|soft>", "hard reset to this potential, or soft (subtract V_th)", vReset)
    .option("--detach-reset", "no gradient through the reset (detach_reset)")
    .option("--no-detach-reset", "gradient through the reset")
    .addOption(
      new Option("--surrogate <fn>", "surrogate gradient of the spike (default: the preset's)").choices([
        "sigmoid",
        "atan",
      ]),
    )
    .option("--alpha <α>", "surrogate sharpness α (default: the preset's)", number(0, Infinity, true));
}

/** The architecture flags of both models (a checkpoint given to --init or --source brings its own). */
export function addModelOptions(cmd: Command): Command {
  cmd
    .addOption(
      new Option("--model <kind>", "architecture").choices(["sew-mlp", "sew-resnet"]).default(MLP.kind),
    )
    .option("--hidden <H>", "SEW-MLP: neurons per layer", integer(1, 65536), MLP.hidden)
    .option("--blocks <K>", "SEW-MLP: SEW blocks", integer(0, 64), MLP.blocks)
    .option(
      "--stem-channels <C>",
      "SEW ResNet: channels of the stem conv",
      integer(1, 4096),
      RESNET.stemChannels,
    )
    .addOption(
      new Option("--stages <list>", "SEW ResNet: stages as CHANNELSxBLOCKS/STRIDE")
        .argParser(parseStages)
        .default(RESNET.stages, formatStages(RESNET.stages)),
    )
    .option(
      "-T, --time-steps <T>",
      "time steps (direct encoding: the image at every step)",
      integer(1, 1024),
      MLP.timeSteps,
    )
    .addOption(
      new Option("--connect <fn>", "SEW connect function (IAND = (1 − A)·S)")
        .choices(CONNECT_FUNCTIONS)
        .default(MLP.connect),
    );
  return addNeuronOptions(cmd);
}

/** Options the user typed (not defaults). */
export const given = (cmd: Command, key: string): boolean => cmd.getOptionValueSource(key) === "cli";

export const ARCHITECTURE_KEYS = [
  "model",
  "hidden",
  "blocks",
  "stemChannels",
  "stages",
  "timeSteps",
  "connect",
];
export const NEURON_KEYS = [
  "neuron",
  "tau",
  "decayInput",
  "vThreshold",
  "vReset",
  "detachReset",
  "surrogate",
  "alpha",
];

/** The neuron of --neuron with its overrides. */
export function neuronFrom(o: NeuronOpts): NeuronSpec {
  const base = NEURON_PRESETS[o.neuron]!;
  if (base.kind === "if" && (o.tau !== undefined || o.decayInput !== undefined))
    throw new UsageError("--tau and --decay-input apply to LIF neurons, not --neuron if");
  const surrogate = {
    kind: o.surrogate ?? base.surrogate.kind,
    alpha: o.alpha ?? (o.surrogate && o.surrogate !== base.surrogate.kind ? undefined : base.surrogate.alpha),
  };
  if (surrogate.alpha === undefined) throw new UsageError(`--surrogate ${o.surrogate} needs --alpha`);
  const common = {
    vThreshold: o.vThreshold ?? base.vThreshold,
    vReset: o.vReset === undefined ? base.vReset : o.vReset,
    detachReset: o.detachReset ?? base.detachReset,
    surrogate: surrogate as NeuronSpec["surrogate"],
  };
  return base.kind === "lif"
    ? { kind: "lif", tau: o.tau ?? base.tau, decayInput: o.decayInput ?? base.decayInput, ...common }
    : { kind: "if", ...common };
}

/** The model spec of the flags; flags of the other architecture are refused when typed. */
export function specFrom(o: ModelOpts, cmd: Command, classes: number): ModelSpec {
  const mlpOnly = ["hidden", "blocks"];
  const resnetOnly = ["stemChannels", "stages"];
  const wrong = (o.model === "sew-mlp" ? resnetOnly : mlpOnly).find((k) => given(cmd, k));
  if (wrong) throw new UsageError(`--${kebab(wrong)} does not apply to --model ${o.model}`);
  const common = { classes, timeSteps: o.timeSteps, connect: o.connect, neuron: neuronFrom(o) };
  return o.model === "sew-mlp"
    ? sewMlp({ hidden: o.hidden, blocks: o.blocks, ...common })
    : sewResNet({ stemChannels: o.stemChannels, stages: o.stages, ...common });
}

export const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

// ---------------------------------------------------------------- data

export const dataOption = () =>
  new Option(
    "--data <name|file>",
    "mnist, fashion-mnist, or a safetensors file with images [N, 784] and labels [N]",
  ).default("fashion-mnist");
export const classesOption = () =>
  new Option(
    "--classes <list>",
    "keep these classes, relabelled 0..k−1 in the order given (default: all)",
  ).argParser(classList);

/**
 * A split of --data with --classes applied; every requested class must have images. `classes` is the class
 * count (--classes' length, else the highest label + 1).
 */
export async function loadPool(
  data: string,
  split: SplitName,
  classes: readonly number[] | undefined,
): Promise<{ set: ImageSet; classes: number }> {
  const set = await loadData(data, split, classes);
  const counts = classCounts(set);
  if (classes) {
    const missing = classes.filter((_, k) => !counts[k]);
    if (missing.length)
      throw new UsageError(`--classes: ${data} (${split}) has no image of class ${missing.join(", ")}`);
  }
  if (set.count === 0) throw new UsageError(`${data} (${split}) has no images`);
  return { set, classes: classes?.length ?? counts.length };
}

/** --data, --classes and the per-class split (validation held out of the training data). */
export function addDataOptions(cmd: Command, valPerClass: { min: number; default: number }): Command {
  return cmd
    .addOption(dataOption())
    .addOption(classesOption())
    .option(
      "--train-per-class <n>",
      "training images per class (default: all but the validation ones)",
      integer(1),
    )
    .option(
      "--val-per-class <n>",
      "validation images per class, held out of the training data",
      integer(valPerClass.min),
      valPerClass.default,
    );
}

// ---------------------------------------------------------------- outputs

export const isBuiltinData = (data: string) => data === "mnist" || data === "fashion-mnist";

/**
 * The output policy of a resumable command: --out is required, --resume needs --checkpoint-dir, neither output
 * may be or hold an input, and an existing one is replaced only with --overwrite or --resume (which continues
 * what is there). Temporaries of killed writers next to --out are removed. Returns the --out path.
 */
export function checkRunOutputs(
  o: { out?: string; checkpointDir?: string; resume?: boolean; overwrite?: boolean },
  what: string,
  inputs: readonly string[],
): string {
  if (!o.out) throw new UsageError(`--out FILE is required (${what})`);
  if (o.resume && !o.checkpointDir) throw new UsageError("--resume needs --checkpoint-dir (the run's state)");
  const overwrite = o.overwrite || o.resume;
  checkOutput(o.out, { overwrite, inputs });
  if (o.checkpointDir) checkOutput(o.checkpointDir, { overwrite, inputs });
  removeDeadTemporaries(dirname(resolve(o.out)));
  return o.out;
}

/** --out, --checkpoint-dir (`state` says what it keeps), --resume and the shared output flags, last in the help. */
export function addRunOutputOptions(cmd: Command, out: string, state: string): Command {
  return cmd
    .option("-o, --out <file>", `${out} (safetensors; required)`)
    .option("--checkpoint-dir <dir>", `keep ${state} here (resumable)`)
    .option("--resume", "continue the run in --checkpoint-dir (the same flags; nothing is redone)")
    .addOption(overwriteOption())
    .addOption(quietOption())
    .addOption(jsonOption());
}

// ---------------------------------------------------------------- errors and log lines

/** Runs an action; an SnnConfigError there comes from flag values: a usage error (exit 2). */
export function snnAction<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof SnnConfigError) throw new UsageError(e.message.split("\n")[0]!);
      throw e;
    }
  };
}

/** A line on stderr that does not break a progress bar on a terminal (the bar redraws below it). */
export function note(quiet: boolean, line: string): void {
  if (quiet) return;
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  process.stderr.write(tty ? `\r\x1b[K${line}\n` : `${line}\n`);
}

/**
 * A bar over the units this process runs: its first report sets the start, so after a resume the bar counts
 * (and the ETA extrapolates) only the remaining work.
 */
export function resumableBar(quiet: boolean, label: string) {
  let bar: ProgressBar | undefined;
  let offset = 0;
  return {
    update(done: number, total: number, extra: string): void {
      if (quiet) return;
      if (!bar) {
        offset = done - 1;
        bar = new ProgressBar({ label, total: total - offset });
      }
      if (done >= total) {
        bar.finish(extra);
        bar = undefined;
      } else bar.update(done - offset, extra);
    },
    stop: () => bar?.stop(),
  };
}

export const backendOption = () =>
  new Option(
    "--backend <name>",
    "TensorFlow.js backend: auto = tfjs-node when installed, else wasm, else cpu",
  )
    .choices(["auto", "tensorflow", "wasm", "cpu"])
    .default("auto");

export const engineOption = () =>
  new Option(
    "--engine <engine>",
    "fast inference engine: auto = WebAssembly SIMD for the SEW-MLP when available",
  )
    .choices(["auto", "simd", "float64"])
    .default("auto");
