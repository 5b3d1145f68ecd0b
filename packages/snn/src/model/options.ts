import { SnnConfigError } from "../errors.js";
import { CADE_LIF, type NeuronSpec, SPIKINGJELLY_LIF } from "../neuron/config.js";
import { asIs, type OptionName } from "../options.js";
import type { SurrogateSpec } from "../surrogate/index.js";
import { type ConnectFunction, type ModelSpec, type StageSpec, sewMlp, sewResNet } from "./spec.js";

/** The named neurons a model can start from: CADE's LIF, spikingjelly's LIF, and IF with CADE's threshold and reset. */
export const NEURON_PRESETS: Readonly<Record<"cade-lif" | "spikingjelly-lif" | "if", NeuronSpec>> = {
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

export type NeuronPreset = keyof typeof NEURON_PRESETS;

/** Fields that replace a preset's (undefined: the preset's). `vReset: null` is a soft reset. */
export interface NeuronOverrides {
  readonly tau?: number;
  readonly decayInput?: boolean;
  readonly vThreshold?: number;
  readonly vReset?: number | null;
  readonly detachReset?: boolean;
  readonly surrogate?: SurrogateSpec["kind"];
  /** The surrogate's sharpness; required when `surrogate` differs from the preset's. */
  readonly alpha?: number;
}

/**
 * The neuron of a preset with overrides. `tau` and `decayInput` exist only for LIF presets, and a surrogate other
 * than the preset's needs its `alpha`: otherwise {@link SnnConfigError} (`name` says how the message names the
 * options).
 */
export function neuronFromPreset(
  preset: NeuronPreset,
  o: NeuronOverrides = {},
  name: OptionName = asIs,
): NeuronSpec {
  const base = NEURON_PRESETS[preset];
  if (!base) throw new SnnConfigError(`unknown neuron preset ${JSON.stringify(preset)}`);
  if (base.kind === "if" && (o.tau !== undefined || o.decayInput !== undefined))
    throw new SnnConfigError(
      `${name("tau")} and ${name("decayInput")} apply to LIF neurons, not ${name("neuron")} ${preset}`,
    );
  const surrogate = {
    kind: o.surrogate ?? base.surrogate.kind,
    alpha: o.alpha ?? (o.surrogate && o.surrogate !== base.surrogate.kind ? undefined : base.surrogate.alpha),
  };
  if (surrogate.alpha === undefined)
    throw new SnnConfigError(`${name("surrogate")} ${o.surrogate} needs ${name("alpha")}`);
  const common = {
    vThreshold: o.vThreshold ?? base.vThreshold,
    vReset: o.vReset === undefined ? base.vReset : o.vReset,
    detachReset: o.detachReset ?? base.detachReset,
    surrogate: surrogate as SurrogateSpec,
  };
  return base.kind === "lif"
    ? { kind: "lif", tau: o.tau ?? base.tau, decayInput: o.decayInput ?? base.decayInput, ...common }
    : { kind: "if", ...common };
}

/** A model by kind, architecture fields and neuron preset; undefined fields take {@link sewMlp} / {@link sewResNet}'s. */
export interface ModelSpecOptions extends NeuronOverrides {
  readonly model: ModelSpec["kind"];
  /** Default: cade-lif. */
  readonly neuron?: NeuronPreset;
  /** SEW-MLP only. */
  readonly hidden?: number;
  /** SEW-MLP only. */
  readonly blocks?: number;
  /** SEW ResNet only. */
  readonly stemChannels?: number;
  /** SEW ResNet only. */
  readonly stages?: readonly StageSpec[];
  readonly timeSteps?: number;
  readonly connect?: ConnectFunction;
}

const ONLY: Record<ModelSpec["kind"], readonly (keyof ModelSpecOptions)[]> = {
  "sew-mlp": ["hidden", "blocks"],
  "sew-resnet": ["stemChannels", "stages"],
};

/**
 * The validated model spec of `o` for `classes` classes. A field of the other architecture is refused
 * ({@link SnnConfigError}, as are the neuron's and the spec's rules; `name` says how messages name the options).
 */
export function modelSpecOf(o: ModelSpecOptions, classes: number, name: OptionName = asIs): ModelSpec {
  const other = o.model === "sew-mlp" ? "sew-resnet" : "sew-mlp";
  const wrong = ONLY[other].find((k) => o[k] !== undefined);
  if (wrong) throw new SnnConfigError(`${name(wrong)} does not apply to ${name("model")} ${o.model}`);
  const defined = <T extends object>(x: T): Partial<T> =>
    Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as Partial<T>;
  const common = {
    classes,
    ...defined({ timeSteps: o.timeSteps, connect: o.connect }),
    neuron: neuronFromPreset(o.neuron ?? "cade-lif", o, name),
  };
  return o.model === "sew-mlp"
    ? sewMlp({ ...defined({ hidden: o.hidden, blocks: o.blocks }), ...common })
    : sewResNet({ ...defined({ stemChannels: o.stemChannels, stages: o.stages }), ...common });
}
