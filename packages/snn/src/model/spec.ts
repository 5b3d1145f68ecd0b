import { SnnConfigError } from "../errors.js";
import { CADE_LIF, type NeuronSpec, validateNeuron } from "../neuron/config.js";

/** How a SEW block combines its residual branch A with its input spikes S. */
export type ConnectFunction = "ADD" | "AND" | "IAND";
export const CONNECT_FUNCTIONS: readonly ConnectFunction[] = ["ADD", "AND", "IAND"];

/** Fully connected SEW ResNet: Dense(784→H)+BN+SN, K blocks of two Dense(H→H)+BN+SN, connect, head. */
export interface SewMlpSpec {
  readonly kind: "sew-mlp";
  readonly hidden: number;
  readonly blocks: number;
  readonly classes: number;
  readonly timeSteps: number;
  readonly connect: ConnectFunction;
  readonly neuron: NeuronSpec;
}

export interface StageSpec {
  readonly channels: number;
  readonly blocks: number;
  /** Stride of the stage's first block (1 or 2). */
  readonly stride: number;
}

/** Convolutional SEW ResNet for 1×28×28 images: conv3×3 stem + BN + SN, stages of BasicBlocks, global average pool, FC. */
export interface SewResNetSpec {
  readonly kind: "sew-resnet";
  readonly stemChannels: number;
  readonly stages: readonly StageSpec[];
  readonly classes: number;
  readonly timeSteps: number;
  readonly connect: ConnectFunction;
  readonly neuron: NeuronSpec;
}

export type ModelSpec = SewMlpSpec | SewResNetSpec;

/** Input images: 1 channel, 28×28, values as given (MNIST / Fashion-MNIST in [0, 1]). */
export const INPUT_SIDE = 28;
export const INPUT_SIZE = INPUT_SIDE * INPUT_SIDE;

/** The SEW-MLP with H = 128, K = 2, T = 4, ADD and CADE's LIF, unless overridden. */
export function sewMlp(o: Partial<Omit<SewMlpSpec, "kind">> = {}): SewMlpSpec {
  return validateSpec({
    kind: "sew-mlp",
    hidden: 128,
    blocks: 2,
    classes: 10,
    timeSteps: 4,
    connect: "ADD",
    neuron: CADE_LIF,
    ...o,
  }) as SewMlpSpec;
}

/** The small conv SEW ResNet: stem 8 channels at 28×28, stages 8 (stride 2, 14×14) and 16 (stride 2, 7×7). */
export function sewResNet(o: Partial<Omit<SewResNetSpec, "kind">> = {}): SewResNetSpec {
  return validateSpec({
    kind: "sew-resnet",
    stemChannels: 8,
    stages: [
      { channels: 8, blocks: 1, stride: 2 },
      { channels: 16, blocks: 1, stride: 2 },
    ],
    classes: 10,
    timeSteps: 4,
    connect: "ADD",
    neuron: CADE_LIF,
    ...o,
  }) as SewResNetSpec;
}

const posInt = (name: string, v: unknown, max = 1 << 16): number => {
  if (!(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max)) {
    throw new SnnConfigError(`${name} must be an integer in [1, ${max}], got ${JSON.stringify(v)}`);
  }
  return v as number;
};

/** Checks every field; returns the spec unchanged. */
export function validateSpec(spec: ModelSpec): ModelSpec {
  if (spec?.kind !== "sew-mlp" && spec?.kind !== "sew-resnet") {
    throw new SnnConfigError(
      `model kind must be "sew-mlp" or "sew-resnet", got ${JSON.stringify((spec as { kind?: unknown } | undefined)?.kind)}`,
    );
  }
  posInt("classes", spec.classes, 65536);
  posInt("timeSteps", spec.timeSteps, 1024);
  if (!CONNECT_FUNCTIONS.includes(spec.connect)) {
    throw new SnnConfigError(
      `connect must be one of ${CONNECT_FUNCTIONS.join(", ")}, got ${JSON.stringify(spec.connect)}`,
    );
  }
  validateNeuron(spec.neuron);
  if (spec.kind === "sew-mlp") {
    posInt("hidden", spec.hidden);
    if (!(Number.isInteger(spec.blocks) && spec.blocks >= 0)) {
      throw new SnnConfigError(`blocks must be an integer >= 0, got ${JSON.stringify(spec.blocks)}`);
    }
  } else {
    posInt("stemChannels", spec.stemChannels, 4096);
    if (!Array.isArray(spec.stages) || spec.stages.length === 0) {
      throw new SnnConfigError("stages must be a non-empty array");
    }
    let side = INPUT_SIDE;
    spec.stages.forEach((s, i) => {
      posInt(`stages[${i}].channels`, s.channels, 4096);
      posInt(`stages[${i}].blocks`, s.blocks, 64);
      if (s.stride !== 1 && s.stride !== 2) {
        throw new SnnConfigError(`stages[${i}].stride must be 1 or 2, got ${JSON.stringify(s.stride)}`);
      }
      side = Math.floor((side - 1) / s.stride) + 1;
    });
  }
  return spec;
}

/** A synapse: dense (PyTorch Linear weight [out, in], no bias) or conv (weight [co, ci, k, k], no bias). */
export type Synapse =
  | { readonly kind: "dense"; readonly weight: string; readonly inF: number; readonly outF: number }
  | {
      readonly kind: "conv";
      readonly weight: string;
      readonly inC: number;
      readonly outC: number;
      readonly k: number;
      readonly stride: number;
      readonly pad: number;
      readonly inSide: number;
      readonly outSide: number;
    };

/** Synapse → BatchNorm → spiking neuron; `bn` is the BN's name prefix. */
export interface Unit {
  readonly synapse: Synapse;
  readonly bn: string;
  /** Neurons per time step (outF, or outC·outSide²). */
  readonly size: number;
  /** Channels the BN normalises (outF or outC). */
  readonly channels: number;
}

export interface Block {
  readonly name: string;
  readonly unit1: Unit;
  readonly unit2: Unit;
  /** Present when shape or stride changes: conv1×1 + BN + SN on the shortcut. */
  readonly down: Unit | null;
}

/** The network as the forward passes walk it. */
export interface Graph {
  readonly spec: ModelSpec;
  readonly stem: Unit;
  readonly blocks: readonly Block[];
  /** Features entering the head (after global average pooling for the conv model). */
  readonly features: number;
  /** Spatial positions averaged by the pool (1 for the MLP). */
  readonly poolSize: number;
}

const BN_FIELDS = ["weight", "bias", "running_mean", "running_var"] as const;
export type BnField = (typeof BN_FIELDS)[number];

function denseUnit(prefix: string, w: string, bn: string, inF: number, outF: number): Unit {
  return {
    synapse: { kind: "dense", weight: `${prefix}${w}.weight`, inF, outF },
    bn: `${prefix}${bn}`,
    size: outF,
    channels: outF,
  };
}

function convUnit(
  prefix: string,
  w: string,
  bn: string,
  inC: number,
  outC: number,
  k: number,
  stride: number,
  inSide: number,
): Unit {
  const pad = k === 3 ? 1 : 0;
  const outSide = Math.floor((inSide + 2 * pad - k) / stride) + 1;
  return {
    synapse: { kind: "conv", weight: `${prefix}${w}.weight`, inC, outC, k, stride, pad, inSide, outSide },
    bn: `${prefix}${bn}`,
    size: outC * outSide * outSide,
    channels: outC,
  };
}

/** Builds the graph (units, names, shapes) of a validated spec. */
export function buildGraph(spec: ModelSpec): Graph {
  validateSpec(spec);
  if (spec.kind === "sew-mlp") {
    const h = spec.hidden;
    const blocks: Block[] = [];
    for (let k = 0; k < spec.blocks; k++) {
      const p = `blocks.${k}.`;
      blocks.push({
        name: `blocks.${k}`,
        unit1: denseUnit(p, "fc1", "bn1", h, h),
        unit2: denseUnit(p, "fc2", "bn2", h, h),
        down: null,
      });
    }
    return { spec, stem: denseUnit("", "fc1", "bn1", INPUT_SIZE, h), blocks, features: h, poolSize: 1 };
  }
  const stem = convUnit("", "conv1", "bn1", 1, spec.stemChannels, 3, 1, INPUT_SIDE);
  const blocks: Block[] = [];
  let c = spec.stemChannels;
  let side = INPUT_SIDE;
  spec.stages.forEach((st, s) => {
    for (let b = 0; b < st.blocks; b++) {
      const stride = b === 0 ? st.stride : 1;
      const p = `layer${s + 1}.${b}.`;
      const unit1 = convUnit(p, "conv1", "bn1", c, st.channels, 3, stride, side);
      const unit2 = convUnit(
        p,
        "conv2",
        "bn2",
        st.channels,
        st.channels,
        3,
        1,
        (unit1.synapse as { outSide: number }).outSide,
      );
      const down =
        stride !== 1 || c !== st.channels
          ? convUnit(p, "downsample.0", "downsample.1", c, st.channels, 1, stride, side)
          : null;
      blocks.push({ name: `layer${s + 1}.${b}`, unit1, unit2, down });
      c = st.channels;
      side = (unit1.synapse as { outSide: number }).outSide;
    }
  });
  return { spec, stem, blocks, features: c, poolSize: side * side };
}

/** What a tensor is, for initialisation and documentation. */
export type ParamRole =
  | "weight"
  | "bn.weight"
  | "bn.bias"
  | "bn.running_mean"
  | "bn.running_var"
  | "fc.weight"
  | "fc.bias";

export interface ParamEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: ParamRole;
  /** For synapse weights: fan-in and fan-out (Kaiming init); for BN: whether it is the last BN of a block. */
  readonly fanIn?: number;
  readonly fanOut?: number;
  readonly lastBnOfBlock?: boolean;
}

function unitParams(u: Unit, lastBn: boolean): ParamEntry[] {
  const s = u.synapse;
  const shape = s.kind === "dense" ? [s.outF, s.inF] : [s.outC, s.inC, s.k, s.k];
  const fanIn = s.kind === "dense" ? s.inF : s.inC * s.k * s.k;
  const fanOut = s.kind === "dense" ? s.outF : s.outC * s.k * s.k;
  const out: ParamEntry[] = [{ name: s.weight, shape, role: "weight", fanIn, fanOut }];
  for (const f of BN_FIELDS)
    out.push({ name: `${u.bn}.${f}`, shape: [u.channels], role: `bn.${f}`, lastBnOfBlock: lastBn });
  return out;
}

/** Every tensor of the model in definition order (the checkpoint's names, shapes; all float32). */
export function paramTable(spec: ModelSpec): ParamEntry[] {
  const g = buildGraph(spec);
  const out = unitParams(g.stem, false);
  for (const b of g.blocks) {
    out.push(...unitParams(b.unit1, false), ...unitParams(b.unit2, true));
    if (b.down) out.push(...unitParams(b.down, false));
  }
  out.push(
    {
      name: "fc.weight",
      shape: [spec.classes, g.features],
      role: "fc.weight",
      fanIn: g.features,
      fanOut: spec.classes,
    },
    { name: "fc.bias", shape: [spec.classes], role: "fc.bias", fanIn: g.features },
  );
  return out;
}

/** BatchNorm ε (PyTorch's default). */
export const BN_EPS = 1e-5;
/** Running-statistics momentum (PyTorch's default: new = (1 − m)·old + m·batch). */
export const BN_MOMENTUM = 0.1;
