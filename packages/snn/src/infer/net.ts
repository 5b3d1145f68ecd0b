import { SnnConfigError } from "../errors.js";
import { SnnModel } from "../genome/layout.js";
import { buildGraph, type ConnectFunction, INPUT_SIZE, type ModelSpec } from "../model/spec.js";
import { type FoldedUnit, foldUnit, NeuronLayer } from "./layers.js";
import { SimdMlpEngine, simdAvailable } from "./simd-mlp.js";

/**
 * "simd": WebAssembly SIMD, float32 (SEW-MLP only); "float64": plain typed arrays in float64 (every model);
 * "auto" (default): simd for the SEW-MLP where WebAssembly SIMD runs, else float64.
 */
export type InferenceEngine = "auto" | "simd" | "float64";

interface BlockPlan {
  u1: FoldedUnit;
  n1: NeuronLayer;
  u2: FoldedUnit;
  n2: NeuronLayer;
  down: FoldedUnit | null;
  nd: NeuronLayer | null;
  /** Size of the block's output (and of its shortcut). */
  size: number;
}

/** Spikes and membrane potentials of one neuron layer over the T steps of one image (`FastSnn.trace`). */
export interface LayerTrace {
  /** "stem.sn", "<block>.sn1", "<block>.sn2", "<block>.downsample_sn" (spikingjelly's names for the neuron layers). */
  readonly layer: string;
  readonly neurons: number;
  readonly timeSteps: number;
  /** For each step, the indices of the neurons that fired. */
  readonly spikes: number[][];
  /** H_t (after charging, before reset) for each step and neuron, row-major [T, neurons]. */
  readonly h: Float64Array;
}

/** Scratch buffers for one layer's output: values, and the indices of the non-zero ones. */
class Activity {
  readonly values: Float64Array;
  readonly active: Int32Array;
  n = 0;
  constructor(size: number) {
    this.values = new Float64Array(size);
    this.active = new Int32Array(size);
  }
}

/**
 * Forward-only inference on typed arrays, for fitness evaluation. Evaluation-mode BN is folded into the
 * synapses, synapses accumulate only over non-zero inputs (spikes are sparse), and under direct encoding the
 * stem current, identical at every time step, is computed once per image. All arithmetic is float64.
 * Logits are the head applied to the spikes averaged over T (the average over T of per-step logits).
 */
export class FastSnn {
  readonly spec: ModelSpec;
  readonly classes: number;
  private readonly stem: FoldedUnit;
  private readonly stemNeurons: NeuronLayer;
  private readonly blocks: BlockPlan[];
  private readonly connect: ConnectFunction;
  private readonly fcW: Float64Array;
  private readonly fcB: Float64Array;
  private readonly features: number;
  private readonly poolSize: number;
  private readonly timeSteps: number;
  // scratch
  private readonly input: Activity;
  private readonly stemCurrent: Float64Array;
  private readonly current: Float64Array;
  private readonly acts: Activity[];
  private readonly counts: Float64Array;
  private recorder: Map<NeuronLayer, LayerTrace> | null = null;
  private readonly simd: SimdMlpEngine | null;
  /** The engine that runs this model. */
  readonly engine: "simd" | "float64";

  constructor(model: SnnModel, engine: InferenceEngine = "auto") {
    const spec = model.spec;
    const useSimd = spec.kind === "sew-mlp" && engine !== "float64" && simdAvailable();
    if (engine === "simd" && !useSimd) {
      throw new SnnConfigError(
        spec.kind === "sew-mlp"
          ? "WebAssembly SIMD is unavailable here"
          : "the simd engine runs the SEW-MLP only",
      );
    }
    this.simd = useSimd ? new SimdMlpEngine(model) : null;
    this.engine = useSimd ? "simd" : "float64";
    const g = buildGraph(spec);
    this.spec = spec;
    this.classes = spec.classes;
    this.connect = spec.connect;
    this.timeSteps = spec.timeSteps;
    this.features = g.features;
    this.poolSize = g.poolSize;
    this.stem = foldUnit(model, g.stem);
    this.stemNeurons = new NeuronLayer(spec.neuron, g.stem.size);
    this.blocks = g.blocks.map((b) => ({
      u1: foldUnit(model, b.unit1),
      n1: new NeuronLayer(spec.neuron, b.unit1.size),
      u2: foldUnit(model, b.unit2),
      n2: new NeuronLayer(spec.neuron, b.unit2.size),
      down: b.down ? foldUnit(model, b.down) : null,
      nd: b.down ? new NeuronLayer(spec.neuron, b.down.size) : null,
      size: b.unit2.size,
    }));
    const fw = model.tensor("fc.weight");
    this.fcW = Float64Array.from(fw);
    this.fcB = Float64Array.from(model.tensor("fc.bias"));
    let maxSize = g.stem.size;
    for (const b of this.blocks) maxSize = Math.max(maxSize, b.size, b.u1.size);
    this.input = new Activity(INPUT_SIZE);
    this.stemCurrent = new Float64Array(g.stem.size);
    this.current = new Float64Array(maxSize);
    // per block: hidden spikes, branch output, shortcut, block output (the next block's input)
    this.acts = [new Activity(g.stem.size)];
    for (const b of this.blocks)
      this.acts.push(
        new Activity(b.u1.size),
        new Activity(b.size),
        new Activity(b.size),
        new Activity(b.size),
      );
    this.counts = new Float64Array(g.features);
  }

  /** Compiles a model (spec + genome) for inference; the genome is read once and may change afterwards. */
  static compile(spec: ModelSpec, genome: Float32Array, engine: InferenceEngine = "auto"): FastSnn {
    return new FastSnn(new SnnModel(spec, genome), engine);
  }

  /** Logits of one image (784 values) into `out` (length ≥ classes), float64. */
  forwardOne(image: Float32Array, out: Float64Array): void {
    if (this.simd && !this.recorder) {
      this.simd.forwardOne(image, out);
      return;
    }
    const inp = this.input;
    let n = 0;
    for (let i = 0; i < INPUT_SIZE; i++) {
      const v = image[i];
      inp.values[i] = v;
      if (v !== 0) inp.active[n++] = i;
    }
    this.stem.accumulate(inp.values, inp.active, n, this.stemCurrent);
    this.stemNeurons.reset();
    for (const b of this.blocks) {
      b.n1.reset();
      b.n2.reset();
      b.nd?.reset();
    }
    const counts = this.counts;
    counts.fill(0);
    const cur = this.current;
    const connect = this.connect;
    const F = this.features;
    for (let t = 0; t < this.timeSteps; t++) {
      let x = this.acts[0];
      x.n = this.fire(this.stemNeurons, this.stemCurrent, x, t);
      let k = 1;
      for (const b of this.blocks) {
        const h = this.acts[k];
        const a = this.acts[k + 1];
        const sc = this.acts[k + 2];
        const o = this.acts[k + 3];
        k += 4;
        b.u1.accumulate(x.values, x.active, x.n, cur);
        h.n = this.fire(b.n1, cur, h, t);
        b.u2.accumulate(h.values, h.active, h.n, cur);
        a.n = this.fire(b.n2, cur, a, t);
        let s = x;
        if (b.down && b.nd) {
          b.down.accumulate(x.values, x.active, x.n, cur);
          sc.n = this.fire(b.nd, cur, sc, t);
          s = sc;
        }
        const av = a.values;
        const sv = s.values;
        const ov = o.values;
        let m = 0;
        for (let i = 0; i < b.size; i++) {
          const r =
            connect === "ADD" ? av[i] + sv[i] : connect === "AND" ? av[i] * sv[i] : (1 - av[i]) * sv[i];
          ov[i] = r;
          if (r !== 0) o.active[m++] = i;
        }
        o.n = m;
        x = o;
      }
      const xv = x.values;
      const xa = x.active;
      for (let j = 0; j < x.n; j++) {
        const i = xa[j];
        counts[i % F] += xv[i];
      }
    }
    const C = this.classes;
    const scale = 1 / (this.timeSteps * this.poolSize);
    for (let c = 0; c < C; c++) {
      let s = 0;
      const base = c * F;
      for (let f = 0; f < F; f++) s += this.fcW[base + f] * counts[f];
      out[c] = s * scale + this.fcB[c];
    }
  }

  private fire(layer: NeuronLayer, current: Float64Array, out: Activity, t: number): number {
    const rec = this.recorder?.get(layer);
    if (!rec) return layer.step(current, out.values, out.active);
    const h = rec.h.subarray(t * rec.neurons, (t + 1) * rec.neurons);
    const n = layer.step(current, out.values, out.active, h);
    rec.spikes.push(Array.from(out.active.subarray(0, n)));
    return n;
  }

  /**
   * One image's spikes and membrane potentials in every neuron layer, with its logits (float64 engine; for
   * plots and debugging).
   */
  trace(image: Float32Array): { logits: number[]; layers: LayerTrace[] } {
    const g = buildGraph(this.spec);
    const T = this.timeSteps;
    const entries: [NeuronLayer, LayerTrace][] = [];
    const add = (layer: NeuronLayer, name: string) =>
      entries.push([
        layer,
        { layer: name, neurons: layer.size, timeSteps: T, spikes: [], h: new Float64Array(T * layer.size) },
      ]);
    add(this.stemNeurons, "stem.sn");
    this.blocks.forEach((b, k) => {
      add(b.n1, `${g.blocks[k].name}.sn1`);
      add(b.n2, `${g.blocks[k].name}.sn2`);
      if (b.nd) add(b.nd, `${g.blocks[k].name}.downsample_sn`);
    });
    this.recorder = new Map(entries);
    const out = new Float64Array(this.classes);
    try {
      this.forwardOne(image, out);
    } finally {
      this.recorder = null;
    }
    return { logits: Array.from(out), layers: entries.map(([, r]) => r) };
  }

  /** Logits of `count` images (row-major, 784 each) as a [count, classes] float64 array. */
  logits(images: Float32Array, count: number = images.length / INPUT_SIZE): Float64Array {
    checkImages(images, count);
    const C = this.classes;
    const out = new Float64Array(count * C);
    const row = new Float64Array(C);
    for (let i = 0; i < count; i++) {
      this.forwardOne(images.subarray(i * INPUT_SIZE, (i + 1) * INPUT_SIZE), row);
      out.set(row, i * C);
    }
    return out;
  }

  /** Predicted class per image (argmax of the logits; the first maximum on ties). */
  predict(
    images: Float32Array,
    count: number = images.length / INPUT_SIZE,
    out = new Uint8Array(count),
  ): Uint8Array {
    checkImages(images, count);
    const C = this.classes;
    const row = new Float64Array(C);
    for (let i = 0; i < count; i++) {
      this.forwardOne(images.subarray(i * INPUT_SIZE, (i + 1) * INPUT_SIZE), row);
      out[i] = argmax(row, C);
    }
    return out;
  }

  /** Top-1 accuracy in [0, 1]. */
  accuracy(images: Float32Array, labels: Uint8Array, count: number = labels.length): number {
    checkImages(images, count);
    const C = this.classes;
    const row = new Float64Array(C);
    let correct = 0;
    for (let i = 0; i < count; i++) {
      this.forwardOne(images.subarray(i * INPUT_SIZE, (i + 1) * INPUT_SIZE), row);
      if (argmax(row, C) === labels[i]) correct++;
    }
    return correct / count;
  }
}

/** Index of the largest value (the first on ties; NaN never wins). */
export function argmax(row: ArrayLike<number>, n: number = row.length): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (row[c] > row[best] || Number.isNaN(row[best])) best = c;
  return best;
}

function checkImages(images: Float32Array, count: number): void {
  if (!(Number.isInteger(count) && count >= 0 && images.length >= count * INPUT_SIZE)) {
    throw new SnnConfigError(
      `images hold ${images.length / INPUT_SIZE} images of 784 values, ${count} requested`,
    );
  }
}
