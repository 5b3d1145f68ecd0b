import type { SnnModel } from "../genome/layout.js";
import { BN_EPS, buildGraph, INPUT_SIZE, type Unit } from "../model/spec.js";
import { chargeCoefficients, initialPotential } from "../neuron/config.js";
import { DENSE_WASM_BASE64 } from "./dense-wasm.js";

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
interface Exports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  accumulate(
    w: number,
    bias: number,
    x: number,
    active: number,
    count: number,
    out: number,
    n32: number,
  ): void;
  fire(
    cur: number,
    v: number,
    vals: number,
    idx: number,
    n: number,
    a: number,
    vth: number,
    vReset: number,
    soft: number,
  ): number;
  connect(a: number, s: number, out: number, idx: number, n: number, kind: number): number;
  nonzero(vals: number, idx: number, n: number): number;
}

let compiled: object | null | undefined;

/** The compiled kernel module, or null where WebAssembly SIMD is unavailable. */
function wasmModule(): object | null {
  if (compiled !== undefined) return compiled;
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    compiled = wasm
      ? new wasm.Module(Uint8Array.from(atob(DENSE_WASM_BASE64), (c) => c.charCodeAt(0)))
      : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/** Whether the WebAssembly SIMD kernel can run here. */
export function simdAvailable(): boolean {
  return wasmModule() !== null;
}

const pad32 = (n: number) => Math.ceil(n / 32) * 32;

interface Layer {
  w: number;
  bias: number;
  n: number;
  n32: number;
  out: number;
  /** Membrane potentials (float32, in wasm memory). */
  vAt: number;
  v: Float32Array;
}

interface Act {
  x: number;
  active: number;
  values: Float32Array;
  idx: Int32Array;
  n: number;
}

/**
 * The SEW-MLP forward on WebAssembly SIMD: the same folded evaluation-time network as the float64 engine
 * (BN and the neuron's input scaling folded into the synapses, stem current once per image, accumulation
 * over non-zero inputs only), with float32 weights and accumulators four lanes at a time. Neuron updates and
 * connect functions run in WebAssembly too (float32 membrane potentials, four neurons at a time).
 */
export class SimdMlpEngine {
  private readonly ex: Exports;
  private readonly mem: ArrayBuffer;
  private readonly stem: Layer;
  private readonly blocks: { l1: Layer; l2: Layer }[];
  private readonly input: Act;
  private readonly acts: Act[];
  private readonly a: number;
  private readonly vth: number;
  private readonly vReset: number;
  private readonly soft: boolean;
  private readonly v0: number;
  private readonly connectKind: number;
  private readonly steps: number;
  private readonly fcW: Float64Array;
  private readonly fcB: Float64Array;
  private readonly counts: Float64Array;
  readonly classes: number;

  constructor(model: SnnModel) {
    const mod = wasmModule();
    if (!mod) throw new Error("WebAssembly SIMD is unavailable");
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    this.ex = new wasm.Instance(mod).exports as Exports;
    const spec = model.spec;
    const g = buildGraph(spec);
    const { a, b, c } = chargeCoefficients(spec.neuron);
    this.a = a;
    this.vth = spec.neuron.vThreshold;
    this.soft = spec.neuron.vReset === null;
    this.vReset = spec.neuron.vReset ?? 0;
    this.v0 = initialPotential(spec.neuron);
    this.connectKind = spec.connect === "ADD" ? 0 : spec.connect === "AND" ? 1 : 2;
    this.steps = spec.timeSteps;
    this.classes = spec.classes;
    // bump allocation of every buffer in wasm memory, 16-byte aligned
    const units: Unit[] = [g.stem, ...g.blocks.flatMap((bk) => [bk.unit1, bk.unit2])];
    let bytes = 0;
    const alloc = (n: number) => {
      const at = bytes;
      bytes += Math.ceil((n * 4) / 64) * 64;
      return at;
    };
    const plan = units.map((u) => {
      const s = u.synapse as Extract<Unit["synapse"], { kind: "dense" }>;
      const n32 = pad32(s.outF);
      return { u, s, n32, w: alloc(s.inF * n32), bias: alloc(n32), out: alloc(n32), vAt: alloc(n32) };
    });
    const width = pad32(g.features);
    // index lists get 16 spare slots: the branch-free compaction writes up to 3 past the last index
    const mkAct = (n: number) => ({ x: alloc(n), active: alloc(n + 16), n: 0 });
    const inputAt = mkAct(INPUT_SIZE);
    const actAt = [mkAct(width)];
    for (let k = 0; k < g.blocks.length; k++) actAt.push(mkAct(width), mkAct(width), mkAct(width));
    const pages = Math.ceil(bytes / 65536);
    const have = this.ex.memory.buffer.byteLength / 65536;
    if (pages > have) this.ex.memory.grow(pages - have);
    this.mem = this.ex.memory.buffer;
    const f32 = new Float32Array(this.mem);
    const layers = plan.map(({ u, s, n32, w, bias, out, vAt }) => {
      const gamma = model.tensor(`${u.bn}.weight`);
      const beta = model.tensor(`${u.bn}.bias`);
      const mean = model.tensor(`${u.bn}.running_mean`);
      const variance = model.tensor(`${u.bn}.running_var`);
      const wt = model.tensor(s.weight);
      for (let o = 0; o < s.outF; o++) {
        const sc = gamma[o] / Math.sqrt(variance[o] + BN_EPS);
        f32[bias / 4 + o] = b * (beta[o] - mean[o] * sc) + c;
        const k = b * sc;
        for (let i = 0; i < s.inF; i++) f32[w / 4 + i * n32 + o] = wt[o * s.inF + i] * k;
      }
      return {
        w,
        bias,
        n: s.outF,
        n32,
        out,
        vAt,
        v: new Float32Array(this.mem, vAt, n32),
      };
    });
    this.stem = layers[0];
    this.blocks = [];
    for (let k = 0; k < g.blocks.length; k++)
      this.blocks.push({ l1: layers[1 + 2 * k], l2: layers[2 + 2 * k] });
    const view = (p: { x: number; active: number }, n: number): Act => ({
      x: p.x,
      active: p.active,
      values: new Float32Array(this.mem, p.x, n),
      idx: new Int32Array(this.mem, p.active, n + 16),
      n: 0,
    });
    this.input = view(inputAt, INPUT_SIZE);
    this.acts = actAt.map((p) => view(p, width));
    this.fcW = Float64Array.from(model.tensor("fc.weight"));
    this.fcB = Float64Array.from(model.tensor("fc.bias"));
    this.counts = new Float64Array(g.features);
  }

  private fire(l: Layer, cur: number, out: Act): void {
    out.n = this.ex.fire(
      cur,
      l.vAt,
      out.x,
      out.active,
      l.n,
      this.a,
      this.vth,
      this.vReset,
      this.soft ? 1 : 0,
    );
  }

  private run(l: Layer, x: Act): void {
    this.ex.accumulate(l.w, l.bias, x.x, x.active, x.n, l.out, l.n32);
  }

  forwardOne(image: Float32Array, out: Float64Array): void {
    const inp = this.input;
    inp.values.set(image.subarray(0, INPUT_SIZE));
    inp.n = this.ex.nonzero(inp.x, inp.active, INPUT_SIZE);
    this.run(this.stem, inp);
    this.stem.v.fill(this.v0);
    for (const b of this.blocks) {
      b.l1.v.fill(this.v0);
      b.l2.v.fill(this.v0);
    }
    const counts = this.counts;
    counts.fill(0);
    for (let t = 0; t < this.steps; t++) {
      let x = this.acts[0];
      this.fire(this.stem, this.stem.out, x);
      let k = 1;
      for (const b of this.blocks) {
        const h = this.acts[k];
        const aa = this.acts[k + 1];
        const o = this.acts[k + 2];
        k += 3;
        this.run(b.l1, x);
        this.fire(b.l1, b.l1.out, h);
        this.run(b.l2, h);
        this.fire(b.l2, b.l2.out, aa);
        o.n = this.ex.connect(aa.x, x.x, o.x, o.active, b.l2.n, this.connectKind);
        x = o;
      }
      const xv = x.values;
      const xi = x.idx;
      for (let j = 0; j < x.n; j++) counts[xi[j]] += xv[xi[j]];
    }
    const F = counts.length;
    const scale = 1 / this.steps;
    for (let c = 0; c < this.classes; c++) {
      let s = 0;
      for (let f = 0; f < F; f++) s += this.fcW[c * F + f] * counts[f];
      out[c] = s * scale + this.fcB[c];
    }
  }
}
