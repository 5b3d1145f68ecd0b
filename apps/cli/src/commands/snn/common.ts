/**
 * What `x snn train | cade | eval` share: the model and neuron flags (defaults read from @x/snn), the data flags
 * and the per-class split, and the mapping of @x/snn's errors to exit codes.
 */
import { dirname, resolve } from "node:path";
import {
  CONNECT_FUNCTIONS,
  describeNeuron,
  formatStages,
  type ModelSpecOptions,
  NEURON_PRESETS,
  type NeuronPreset,
  type NeuronSpec,
  neuronFromPreset,
  parseStages,
  SnnConfigError,
  sewMlp,
  sewResNet,
} from "@x/snn";
import { removeDeadTemporaries } from "@x/tensor-core";
import { type Command, InvalidArgumentError } from "commander";
import {
  checkOutput,
  given,
  integer,
  list,
  number,
  type OptionsOf,
  options,
  outputOptions,
  parsedBy,
  UsageError,
} from "../../kit.js";

export const MLP = sewMlp();
export const RESNET = sewResNet();

// ---------------------------------------------------------------- parsers

export const classList = (v: string): number[] => {
  const cs = list(integer(0, 255))(v);
  if (new Set(cs).size !== cs.length) throw new InvalidArgumentError(`a class is listed twice in '${v}'`);
  return cs;
};

/** "8x1/2,16x1/2": channels x blocks / stride per stage. */
const stageList = parsedBy(parseStages, SnnConfigError);

const vReset = (v: string): number | null => (v === "soft" ? null : number()(v));

export type NeuronOpts = OptionsOf<ReturnType<typeof neuronOptions>>;
export type ModelOpts = OptionsOf<ReturnType<typeof modelOptions>>;

/** --neuron and its overrides (a preset, then any field). */
export const neuronOptions = () =>
  options([
    [
      "--neuron <preset>",
      `spiking neuron: ${Object.entries(NEURON_PRESETS)
        .map(([k, n]) => `${k} = ${describeNeuron(n)}`)
        .join("; ")}`,
      Object.keys(NEURON_PRESETS) as NeuronPreset[],
      "cade-lif",
    ],
    ["--tau <τ>", "LIF membrane time constant (default: the preset's)", number(1)],
    ["--decay-input", "LIF: the input decays with 1/τ too (spikingjelly's decay_input)"],
    ["--no-decay-input", "LIF: H = (1 − 1/τ)·V + X (CADE's)"],
    ["--v-threshold <v>", "firing threshold V_th (default: the preset's)", number()],
    ["--v-reset <v|soft>", "hard reset to this potential, or soft (subtract V_th)", vReset],
    ["--detach-reset", "no gradient through the reset (detach_reset)"],
    ["--no-detach-reset", "gradient through the reset"],
    ["--surrogate <fn>", "surrogate gradient of the spike (default: the preset's)", ["sigmoid", "atan"]],
    ["--alpha <α>", "surrogate sharpness α (default: the preset's)", number(0, Infinity, true)],
  ]);

/** The architecture flags of both models (a checkpoint given to --init or --source brings its own). */
export const modelOptions = () =>
  options([
    ["--model <kind>", "architecture", ["sew-mlp", "sew-resnet"], MLP.kind],
    ["--hidden <H>", "SEW-MLP: neurons per layer", integer(1, 65536), MLP.hidden],
    ["--blocks <K>", "SEW-MLP: SEW blocks", integer(0, 64), MLP.blocks],
    ["--stem-channels <C>", "SEW ResNet: channels of the stem conv", integer(1, 4096), RESNET.stemChannels],
    [
      "--stages <list>",
      "SEW ResNet: stages as CHANNELSxBLOCKS/STRIDE",
      stageList,
      RESNET.stages,
      formatStages(RESNET.stages),
    ],
    [
      "-T, --time-steps <T>",
      "time steps (direct encoding: the image at every step)",
      integer(1, 1024),
      MLP.timeSteps,
    ],
    ["--connect <fn>", "SEW connect function (IAND = (1 − A)·S)", CONNECT_FUNCTIONS, MLP.connect],
    ...neuronOptions(),
  ]);

/** How @x/snn's messages name an option: its flag. */
export const flag = (key: string) => `--${kebab(key)}`;

/** The neuron of --neuron with its overrides. */
export const neuronFrom = (o: NeuronOpts): NeuronSpec => neuronFromPreset(o.neuron, o, flag);

/** The model settings of the flags (@x/snn's ModelSpecOptions); flags of the other architecture only when typed. */
export function modelFrom(o: ModelOpts, cmd: Command): ModelSpecOptions {
  const typed = (["hidden", "blocks", "stemChannels", "stages"] as const).map((k) => [
    k,
    given(cmd, k) ? o[k] : undefined,
  ]);
  return { ...o, ...Object.fromEntries(typed) };
}

export const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

// ---------------------------------------------------------------- data

export const dataOption = () =>
  [
    "--data <name|file>",
    "mnist, fashion-mnist, or a safetensors file with images [N, 784] and labels [N]",
    undefined,
    "fashion-mnist",
  ] as const;
export const classesOption = () =>
  [
    "--classes <list>",
    "keep these classes, relabelled 0..k−1 in the order given (default: all)",
    classList,
  ] as const;

/** --data, --classes and the per-class split (validation held out of the training data). */
export const dataOptions = (valPerClass: { min: number; default: number }) =>
  options([
    dataOption(),
    classesOption(),
    ["--train-per-class <n>", "training images per class (default: all but the validation ones)", integer(1)],
    [
      "--val-per-class <n>",
      "validation images per class, held out of the training data",
      integer(valPerClass.min),
      valPerClass.default,
    ],
  ]);

// ---------------------------------------------------------------- outputs

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
export const runOutputOptions = (out: string, state: string) =>
  options([
    ["-o, --out <file>", `${out} (safetensors; required)`],
    ["--checkpoint-dir <dir>", `keep ${state} here (resumable)`],
    ["--resume", "continue the run in --checkpoint-dir (the same flags; nothing is redone)"],
    ...outputOptions(),
  ]);

// ---------------------------------------------------------------- errors

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

export const backendOption = () =>
  [
    "--backend <name>",
    "TensorFlow.js backend: auto = tfjs-node when installed, else wasm, else cpu",
    ["auto", "tensorflow", "wasm", "cpu"],
    "auto",
  ] as const;

export const engineOption = () =>
  [
    "--engine <engine>",
    "fast inference engine: auto = WebAssembly SIMD for the SEW-MLP when available",
    ["auto", "simd", "float64"],
    "auto",
  ] as const;
