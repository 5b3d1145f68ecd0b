/**
 * The tour's spiking-network section: a short CADE run with the CADE experiment's data and steps (Fashion-MNIST
 * footwear/bag source → clothing target, a transfer-learned SEW-MLP population), CADE S3 against plain DE at the
 * same F0 / CR0 and the best initial member, each selected on validation and scored on test; plus the spike
 * raster and membrane traces of one test image through the CADE-selected model (`FastSnn.trace`).
 */
import { join } from "node:path";
import { type CadeArm, FastSnn, SnnModel, sewMlp } from "@x/snn";
import {
  bestByVal,
  type CadeScale,
  DEFAULT_CADE_SCALE,
  loadTaskData,
  memberScores,
  pretrainSource,
  runDeArm,
  transferPopulation,
} from "../cade/experiment.js";
import type { SnnSection, TourCadeSchedule } from "./types.js";

export interface TourSnnOptions {
  readonly seeds: readonly number[];
  readonly scale: Partial<CadeScale>;
  /** Folder for the source model and the population (resumable). */
  readonly workDir: string;
  readonly log?: (message: string) => void;
}

/** Neurons shown in the raster (the first of the layer) and membrane traces drawn. */
const RASTER_NEURONS = 48;
const TRACED_NEURONS = 3;

export interface TourSnnResult {
  readonly section: SnnSection;
  /** CADE S3's schedule with the F / CR the first seed's run drew (the evolution panel shows it). */
  readonly schedule: TourCadeSchedule;
}

export async function tourSnn(o: TourSnnOptions): Promise<TourSnnResult> {
  const s: CadeScale = { ...DEFAULT_CADE_SCALE, ...o.scale };
  const arms: { id: string; label: string; arm: CadeArm | null }[] = [
    { id: "cade-s3", label: "CADE (S3)", arm: { kind: "cade", f0: s.f0, cr0: s.f0 } },
    {
      id: "plain-de",
      label: `plain DE (constant F = CR = ${s.f0})`,
      arm: { kind: "constant", f: s.f0, cr: s.f0 },
    },
    { id: "best-initial", label: "best initial member (no DE)", arm: null },
  ];
  const perArm = arms.map(() => [] as { seed: number; testAccuracy: number; valAccuracy: number }[]);
  let schedule: TourCadeSchedule | undefined;
  let traced: Omit<SnnSection, "status" | "arms"> | undefined;
  for (const seed of o.seeds) {
    const d = await loadTaskData("fashion-split", s, seed);
    const dir = join(o.workDir, `fashion-split-seed${seed}`);
    const source = await pretrainSource(d, s, seed, dir);
    const spec = sewMlp({ hidden: s.hidden, blocks: s.blocks, timeSteps: s.timeSteps, classes: d.classes });
    const pop = await transferPopulation(spec, source, d, s, seed, dir);
    const members = memberScores(spec, pop, d, s.engine);
    for (const [k, a] of arms.entries()) {
      if (a.arm === null) {
        const b = members[bestByVal(members)]!;
        perArm[k]!.push({ seed, testAccuracy: b.test / 100, valAccuracy: b.val / 100 });
        continue;
      }
      const { r, test } = await runDeArm(spec, pop, d, s, a.arm, `demo-tour-${seed}-${a.id}`);
      const chosen = r.population[r.selected]!;
      perArm[k]!.push({ seed, testAccuracy: test / 100, valAccuracy: r.val[r.selected]! / 100 });
      o.log?.(`seed ${seed}: ${a.label} test ${test.toFixed(1)} % (val ${r.val[r.selected]!.toFixed(1)} %)`);
      if (a.id === "cade-s3" && !schedule) {
        schedule = {
          strategy: "S3",
          f0: s.f0,
          cr0: s.f0,
          low: s.f0 / 10,
          halfPeriod: Math.max(1, Math.round(0.4 * s.generations)),
          generations: s.generations,
          recorded: {
            generation: r.history.map((h) => h.generation),
            f: r.history.map((h) => h.f),
            cr: r.history.map((h) => h.cr),
          },
        };
        traced = traceOne(new SnnModel(spec, chosen), d.test, s);
      }
    }
  }
  if (!schedule || !traced) throw new Error("the CADE run needs at least one seed");
  return {
    section: {
      status: "ok",
      ...traced,
      arms: arms.map((a, k) => ({ id: a.id, label: a.label, perSeed: perArm[k]! })),
    },
    schedule,
  };
}

/** Spikes and membrane potentials of the first test image through `model`. */
function traceOne(
  model: SnnModel,
  test: { images: Float32Array; labels: Uint8Array | Int32Array | number[] },
  s: CadeScale,
): Omit<SnnSection, "status" | "arms"> {
  const index = 0;
  const image = test.images.subarray(index * 784, (index + 1) * 784);
  const net = new FastSnn(model, "float64");
  const { logits, layers } = net.trace(image);
  const predicted = logits.indexOf(Math.max(...logits));
  const rasters = layers.map((l) => {
    const neurons = Math.min(RASTER_NEURONS, l.neurons);
    const spikes = Array.from({ length: neurons }, () => [] as number[]);
    l.spikes.forEach((fired, t) => {
      for (const n of fired) if (n < neurons) spikes[n]!.push(t);
    });
    return { layer: l.layer, neurons, timeSteps: l.timeSteps, spikes };
  });
  // Membrane traces of stem neurons that fire at some steps but not all (they show charge, fire and reset),
  // the most active first; neurons that fire at every step come after them.
  const stem = layers[0]!;
  const T = stem.timeSteps;
  const counts = new Array<number>(stem.neurons).fill(0);
  for (const fired of stem.spikes) for (const n of fired) counts[n]!++;
  const rank = (c: number) => (c > 0 && c < T ? 0 : c === T ? 1 : 2);
  const chosen = counts
    .map((c, n) => [c, n] as const)
    .sort((a, b) => rank(a[0]) - rank(b[0]) || b[0] - a[0] || a[1] - b[1])
    .slice(0, TRACED_NEURONS)
    .map(([, n]) => n);
  const membrane = chosen.map((n) => ({
    layer: stem.layer,
    neuron: n,
    v: Array.from({ length: stem.timeSteps }, (_, t) => stem.h[t * stem.neurons + n]!),
  }));
  const neuron = model.spec.neuron as { vThreshold?: number };
  return {
    model: {
      description: `SEW-MLP, ${s.hidden} hidden, ${s.blocks} block${s.blocks === 1 ? "" : "s"}, T = ${s.timeSteps}, LIF neurons`,
      timeSteps: s.timeSteps,
      threshold: neuron.vThreshold ?? 1,
    },
    sample: {
      dataset: "Fashion-MNIST test (clothing classes)",
      index,
      label: Number(test.labels[index]),
      predicted,
    },
    rasters,
    membrane,
  };
}
