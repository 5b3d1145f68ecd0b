import type { SnnModel } from "../genome/layout.js";
import { BN_EPS, type Unit } from "../model/spec.js";
import { chargeCoefficients, initialPotential, type NeuronSpec } from "../neuron/config.js";

/**
 * Evaluation-time form of a synapse + BatchNorm + neuron input scaling, in float64: with
 * s_o = γ_o / √(running_var_o + ε) and the charge H = a·V + b·X + c,
 *   I_o = b·(s_o·Σ_i W[o,i]·x_i + β_o − running_mean_o·s_o) + c = Σ_i Wf[i,o]·x_i + bf_o,
 * so the neuron only computes H = a·V + I. Weights are stored input-major (a row per input, or per kernel tap
 * and input channel), which makes event-driven accumulation a contiguous add per non-zero input.
 */
export interface FoldedUnit {
  /** Neurons per time step. */
  readonly size: number;
  /** out := bf, then out += x_i·row_i for every non-zero input x_i listed in `active`. */
  accumulate(x: Float64Array, active: Int32Array, nActive: number, out: Float64Array): void;
}

function bnScaleShift(
  model: SnnModel,
  bn: string,
  b: number,
  c: number,
): { scale: Float64Array; shift: Float64Array } {
  const gamma = model.tensor(`${bn}.weight`);
  const beta = model.tensor(`${bn}.bias`);
  const mean = model.tensor(`${bn}.running_mean`);
  const variance = model.tensor(`${bn}.running_var`);
  const n = gamma.length;
  const scale = new Float64Array(n);
  const shift = new Float64Array(n);
  for (let o = 0; o < n; o++) {
    const s = gamma[o] / Math.sqrt(variance[o] + BN_EPS);
    scale[o] = b * s;
    shift[o] = b * (beta[o] - mean[o] * s) + c;
  }
  return { scale, shift };
}

class DenseFolded implements FoldedUnit {
  readonly size: number;
  private readonly w: Float64Array;
  private readonly bias: Float64Array;
  constructor(model: SnnModel, u: Unit, neuron: NeuronSpec) {
    const s = u.synapse as Extract<Unit["synapse"], { kind: "dense" }>;
    const { b, c } = chargeCoefficients(neuron);
    const { scale, shift } = bnScaleShift(model, u.bn, b, c);
    const w = model.tensor(s.weight);
    const nIn = s.inF;
    const nOut = s.outF;
    this.size = nOut;
    this.w = new Float64Array(nIn * nOut);
    for (let o = 0; o < nOut; o++) {
      const so = scale[o];
      for (let i = 0; i < nIn; i++) this.w[i * nOut + o] = w[o * nIn + i] * so;
    }
    this.bias = shift;
  }
  accumulate(x: Float64Array, active: Int32Array, nActive: number, out: Float64Array): void {
    const n = this.size;
    const w = this.w;
    out.set(this.bias);
    for (let k = 0; k < nActive; k++) {
      const i = active[k];
      const v = x[i];
      const base = i * n;
      if (v === 1) for (let o = 0; o < n; o++) out[o] += w[base + o];
      else for (let o = 0; o < n; o++) out[o] += v * w[base + o];
    }
  }
}

/**
 * Convolution as a scatter: a non-zero input at (y, x, ci) adds v·W[ky, kx, ci, :] to every output (oy, ox)
 * with oy·stride − pad + ky = y (and likewise for x). Activations are channel-last (HWC).
 */
class ConvFolded implements FoldedUnit {
  readonly size: number;
  private readonly w: Float64Array;
  private readonly bias: Float64Array;
  private readonly inC: number;
  private readonly outC: number;
  private readonly k: number;
  private readonly stride: number;
  private readonly pad: number;
  private readonly inSide: number;
  private readonly outSide: number;
  constructor(model: SnnModel, u: Unit, neuron: NeuronSpec) {
    const s = u.synapse as Extract<Unit["synapse"], { kind: "conv" }>;
    const { b, c } = chargeCoefficients(neuron);
    const { scale, shift } = bnScaleShift(model, u.bn, b, c);
    const w = model.tensor(s.weight);
    this.inC = s.inC;
    this.outC = s.outC;
    this.k = s.k;
    this.stride = s.stride;
    this.pad = s.pad;
    this.inSide = s.inSide;
    this.outSide = s.outSide;
    this.size = u.size;
    const kk = s.k * s.k;
    this.w = new Float64Array(kk * s.inC * s.outC);
    for (let co = 0; co < s.outC; co++) {
      for (let ci = 0; ci < s.inC; ci++) {
        for (let t = 0; t < kk; t++) {
          this.w[(t * s.inC + ci) * s.outC + co] = w[(co * s.inC + ci) * kk + t] * scale[co];
        }
      }
    }
    this.bias = new Float64Array(u.size);
    for (let p = 0; p < s.outSide * s.outSide; p++) this.bias.set(shift, p * s.outC);
  }
  accumulate(x: Float64Array, active: Int32Array, nActive: number, out: Float64Array): void {
    const { w, inC, outC, k, stride, pad, inSide, outSide } = this;
    out.set(this.bias);
    for (let a = 0; a < nActive; a++) {
      const idx = active[a];
      const v = x[idx];
      const ci = idx % inC;
      const pos = (idx - ci) / inC;
      const xx = pos % inSide;
      const y = (pos - xx) / inSide;
      for (let ky = 0; ky < k; ky++) {
        const ty = y + pad - ky;
        if (ty < 0 || ty % stride !== 0) continue;
        const oy = ty / stride;
        if (oy >= outSide) continue;
        for (let kx = 0; kx < k; kx++) {
          const tx = xx + pad - kx;
          if (tx < 0 || tx % stride !== 0) continue;
          const ox = tx / stride;
          if (ox >= outSide) continue;
          const wb = ((ky * k + kx) * inC + ci) * outC;
          const ob = (oy * outSide + ox) * outC;
          if (v === 1) for (let co = 0; co < outC; co++) out[ob + co] += w[wb + co];
          else for (let co = 0; co < outC; co++) out[ob + co] += v * w[wb + co];
        }
      }
    }
  }
}

export function foldUnit(model: SnnModel, u: Unit): FoldedUnit {
  return u.synapse.kind === "dense"
    ? new DenseFolded(model, u, model.spec.neuron)
    : new ConvFolded(model, u, model.spec.neuron);
}

/** The membrane state of one layer of neurons, stepped with pre-folded input currents. */
export class NeuronLayer {
  readonly v: Float64Array;
  private readonly a: number;
  private readonly vth: number;
  private readonly vReset: number;
  private readonly soft: boolean;
  private readonly v0: number;
  constructor(
    neuron: NeuronSpec,
    readonly size: number,
  ) {
    this.v = new Float64Array(size);
    this.a = chargeCoefficients(neuron).a;
    this.vth = neuron.vThreshold;
    this.soft = neuron.vReset === null;
    this.vReset = neuron.vReset ?? 0;
    this.v0 = initialPotential(neuron);
  }
  reset(): void {
    this.v.fill(this.v0);
  }
  /** One time step: H = a·V + I; S = [H ≥ V_th]; reset. Writes spikes (0/1) and their indices; returns the count. */
  step(current: Float64Array, spikes: Float64Array, active: Int32Array, hOut?: Float64Array): number {
    const { v, a, vth, vReset, soft } = this;
    let n = 0;
    for (let o = 0; o < this.size; o++) {
      const h = a * v[o] + current[o];
      if (hOut) hOut[o] = h;
      if (h - vth >= 0) {
        spikes[o] = 1;
        active[n++] = o;
        v[o] = soft ? h - vth : vReset;
      } else {
        spikes[o] = 0;
        v[o] = h;
      }
    }
    return n;
  }
}
