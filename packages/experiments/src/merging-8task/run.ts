/**
 * The 8-task merging benchmark: for each zoo seed, every method tuned on validation and scored on test with the
 * task's own expert head; plus each expert alone, the pretrained backbone, joint multi-task training, PCB with
 * per-task λ from CMA-ES, and the average accuracy vs the number of merged tasks.
 */
import { minimizeCmaEs } from "@x/evolution";
import { pcbPrepare } from "@x/merging";
import { Rng } from "@x/tensor-core";
import type { ZooConfig } from "@x/zoo";
import {
  type BuildOptions,
  buildZoo,
  flattenBackbone,
  gramWithRidge,
  type Params,
  unflattenBackbone,
  type Zoo,
} from "@x/zoo";
import { Evaluator } from "./evaluator.js";
import type { MergeInputs } from "./merge.js";
import { CURVE_METHODS, PCB_ES, PLANS } from "./plan.js";
import { mean, type TunedResult, tuneMethod } from "./tune.js";

export interface RowResult {
  readonly params?: Record<string, unknown>;
  readonly val?: number[];
  readonly test: number[];
  readonly testAvg: number;
  /** test / expert test, per task, and its mean. */
  readonly normalized: number[];
  readonly normalizedAvg: number;
  readonly candidates?: number;
  readonly seconds?: number;
}

export interface SeedResult {
  readonly seed: number;
  readonly zooHash: string;
  readonly zooBuildSeconds: number;
  readonly zooCached: boolean;
  readonly tasks: string[];
  readonly rows: Record<string, RowResult>;
  /** k -> method -> {tasks, testAvg, normalizedAvg}. */
  readonly curve: Record<
    string,
    Record<
      string,
      { tasks: string[]; testAvg: number; normalizedAvg: number; params: Record<string, unknown> }
    >
  >;
  readonly seconds: number;
  /** Per expert: ‖τ‖₂ and the share of ‖τ‖₂² held by its largest 5 % / 20 % entries (what trimming keeps). */
  readonly taskVectors: { name: string; l2: number; top5: number; top20: number }[];
}

export interface BenchOptions {
  readonly seeds: readonly number[];
  readonly zooConfig: (seed: number) => ZooConfig;
  readonly build?: Omit<BuildOptions, "progress">;
  /** Plan ids to run (default: all). */
  readonly methods?: readonly string[];
  readonly es?: { readonly budget: number } | false;
  /** λ grid of every λ-method (default: each plan's own, `LAMBDA_ALL`); PCB+ES's lower bound follows its minimum. */
  readonly lambdas?: readonly number[];
  /** Task counts for the curve (default 2..n); empty to skip. */
  readonly curveKs?: readonly number[];
  readonly log?: (msg: string) => void;
  readonly progress?: BuildOptions["progress"];
}

export async function runSeed(opts: BenchOptions, seed: number): Promise<SeedResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const cfg = opts.zooConfig(seed);
  const zoo = await buildZoo(cfg, { ...opts.build, progress: opts.progress });
  const n = zoo.experts.length;
  log(`seed ${seed}: zoo ${zoo.summary.hash} (${zoo.summary.buildSeconds.toFixed(1)} s build)`);
  const all = Array.from({ length: n }, (_, k) => k);
  const ev = new Evaluator(zoo, all);
  const expertTest = zoo.summary.tasks.map((t) => t.expertTest);
  const rows: Record<string, RowResult> = {};
  const row = (test: number[], extra: Partial<RowResult> = {}, ref = expertTest): RowResult => {
    const normalized = test.map((a, i) => a / ref[i]!);
    return { ...extra, test, testAvg: mean(test), normalized, normalizedAvg: mean(normalized) };
  };

  rows.expert = row(expertTest, { val: zoo.summary.tasks.map((t) => t.expertVal) });
  rows.pretrained = row(await ev.accuracy(zoo.pretrained.backbone, "test"));
  rows.joint = row(await ev.accuracy(zoo.joint.backbone, "test", zoo.joint.heads));

  const inputs = mergeInputs(zoo, all);
  const plans = PLANS.filter((p) => !opts.methods || opts.methods.includes(p.id));
  for (const plan of plans) {
    const r = await tuneMethod(plan, inputs, ev, seed, opts.lambdas);
    rows[plan.id] = row(r.test, tunedExtra(r));
    log(
      `seed ${seed}: ${plan.id.padEnd(16)} test avg ${(100 * r.testAvg).toFixed(1)} (val ${(100 * r.valAvg).toFixed(1)}, ${JSON.stringify(r.params)}, ${r.candidates} candidates, ${r.seconds.toFixed(1)} s)`,
    );
  }
  if (opts.es !== false && rows.pcb) {
    const lower = opts.lambdas ? Math.min(...opts.lambdas) : PCB_ES.lower;
    const r = await pcbWithEs(inputs, ev, rows.pcb, seed, opts.es?.budget ?? PCB_ES.budget, lower);
    rows.pcb_es = row(r.test, tunedExtra(r));
    log(
      `seed ${seed}: pcb_es           test avg ${(100 * r.testAvg).toFixed(1)} (val ${(100 * r.valAvg).toFixed(1)}, ${r.candidates} evaluations, ${r.seconds.toFixed(1)} s)`,
    );
  }

  const curve: SeedResult["curve"] = {};
  const order = new Rng(`merging-curve-${seed}`).permutation(n);
  for (const k of opts.curveKs ?? Array.from({ length: n - 1 }, (_, i) => i + 2)) {
    if (k < 2 || k > n) continue;
    const subset = [...order.subarray(0, k)].sort((a, b) => a - b);
    curve[k] = {};
    const curvePlans = PLANS.filter(
      (p) => CURVE_METHODS.includes(p.id) && (!opts.methods || opts.methods.includes(p.id)),
    );
    if (k === n) {
      // All tasks: the main table already has these runs.
      for (const plan of curvePlans) {
        const r = rows[plan.id]!;
        curve[k]![plan.id] = {
          tasks: subset.map((i) => zoo.experts[i]!.name),
          testAvg: r.testAvg,
          normalizedAvg: r.normalizedAvg,
          params: r.params ?? {},
        };
      }
    } else {
      const sev = new Evaluator(zoo, subset);
      const sInputs = mergeInputs(zoo, subset);
      const ref = subset.map((i) => expertTest[i]!);
      for (const plan of curvePlans) {
        const r = await tuneMethod(plan, sInputs, sev, seed, opts.lambdas);
        const normalized = r.test.map((a, i) => a / ref[i]!);
        curve[k]![plan.id] = {
          tasks: subset.map((i) => zoo.experts[i]!.name),
          testAvg: r.testAvg,
          normalizedAvg: mean(normalized),
          params: r.params,
        };
      }
    }
    log(
      `seed ${seed}: curve k=${k} ${Object.entries(curve[k]!)
        .map(([m, v]) => `${m} ${(100 * v.testAvg).toFixed(1)}`)
        .join(", ")}`,
    );
  }
  const base = flattenBackbone(zoo.config.arch, zoo.pretrained.backbone);
  const taskVectors = zoo.experts.map((e) => ({
    name: e.name,
    ...concentration(flattenBackbone(zoo.config.arch, e.backbone), base),
  }));
  return {
    seed,
    taskVectors,
    zooHash: zoo.summary.hash,
    zooBuildSeconds: zoo.summary.buildSeconds,
    zooCached: zoo.cached,
    tasks: zoo.experts.map((e) => e.name),
    rows,
    curve,
    seconds: (performance.now() - t0) / 1000,
  };
}

function tunedExtra(r: TunedResult): Partial<RowResult> {
  return { params: r.params, val: r.val, candidates: r.candidates, seconds: r.seconds };
}

export function mergeInputs(zoo: Zoo, subset: readonly number[]): MergeInputs {
  return {
    arch: zoo.config.arch,
    base: zoo.pretrained.backbone,
    models: subset.map((k) => zoo.experts[k]!.backbone),
    fisher: subset.map((k) => zoo.experts[k]!.fisher),
    grams: subset.map((k) => withRidge(zoo.experts[k]!.grams)),
  };
}

const ridgeCache = new WeakMap<Params, Params>();

/** Every Gram matrix of a model with the relative ridge of `gramWithRidge` (cached per input map). */
export function withRidge(grams: Params): Params {
  const cached = ridgeCache.get(grams);
  if (cached) return cached;
  const out: Params = new Map();
  for (const [k, g] of grams) out.set(k, { shape: g.shape, data: gramWithRidge(g.data, g.shape[0]!) });
  ridgeCache.set(grams, out);
  return out;
}

/**
 * PCB with one λ per task (inside the weighted average, no outer λ; docs/merging-8task.md), searched by CMA-ES on
 * mean validation accuracy, started from the best grid point (r, λ): with every λ_i = λ the per-task form
 * equals the grid form, and the start point's validation score counts as already seen, so the search can only
 * keep or improve the grid choice on validation. The best point seen on validation is reported on test.
 */
async function pcbWithEs(
  inputs: MergeInputs,
  ev: Evaluator,
  grid: RowResult,
  seed: number,
  budget: number,
  lower: number,
): Promise<TunedResult> {
  const t0 = performance.now();
  const n = inputs.models.length;
  const ratio = grid.params!.ratio as number;
  const lambda0 = grid.params!.lambda as number;
  const directions = pcbTaskDirections(inputs, ratio);
  const path = await ev.path("val", inputs.base, directions);
  let evaluations = 0;
  let best = { x: new Float64Array(n).fill(lambda0), valAvg: mean(grid.val!), val: grid.val! };
  try {
    await minimizeCmaEs(
      (x: Float64Array) => {
        const val = path.accuracy(x);
        evaluations++;
        const v = mean(val);
        if (v > best.valAvg) best = { x: Float64Array.from(x), valAvg: v, val };
        return -v;
      },
      {
        x0: new Float64Array(n).fill(lambda0),
        sigma0: PCB_ES.sigma0,
        seed: `pcb-es-${seed}`,
        bounds: {
          lower: new Float64Array(n).fill(lower),
          upper: new Float64Array(n).fill(PCB_ES.upper),
        },
        maxEvaluations: budget,
      },
    );
  } finally {
    path.dispose();
  }
  const test = await ev.accuracy(combineDirections(inputs.base, directions, best.x), "test");
  return {
    params: { ratio, lambdas: [...best.x].map((v) => Math.round(v * 1000) / 1000) },
    val: best.val,
    valAvg: best.valAvg,
    test,
    testAvg: mean(test),
    candidates: evaluations,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * PCB's per-task merge directions for a fixed r: τ_m(λ) = Σ_i λ_i U_i with U_i = T̃_i ⊙ W_i / Σ_j W_j. The balance
 * weights and clamped task vectors are computed once (`pcbPrepare`); U_i = combine(e_i).
 */
export function pcbTaskDirections(inputs: MergeInputs, ratio: number): Params[] {
  const base = flattenBackbone(inputs.arch, inputs.base);
  const tasks = inputs.models.map((m) => {
    const t = flattenBackbone(inputs.arch, m);
    for (let i = 0; i < t.length; i++) t[i]! -= base[i]!;
    return t;
  });
  const prepared = pcbPrepare(tasks, { ratio });
  return tasks.map((_, i) => {
    const onehot = new Float64Array(tasks.length);
    onehot[i] = 1;
    return unflattenBackbone(inputs.arch, prepared.combine(onehot));
  });
}

/** θ₀ + Σ_j c_j D_j (fresh arrays). */
export function combineDirections(base: Params, dirs: readonly Params[], c: ArrayLike<number>): Params {
  const out: Params = new Map();
  for (const [k, b] of base) {
    const o = b.data.slice();
    dirs.forEach((d, j) => {
      const dd = d.get(k)!.data;
      const cj = c[j]!;
      for (let i = 0; i < o.length; i++) o[i]! += cj * dd[i]!;
    });
    out.set(k, { shape: b.shape, data: o });
  }
  return out;
}

/** ‖θ − θ₀‖₂ and the fraction of its squared norm in the top 5 % and 20 % entries by magnitude. */
export function concentration(
  theta: Float32Array,
  base: Float32Array,
): { l2: number; top5: number; top20: number } {
  const sq = new Float64Array(theta.length);
  let total = 0;
  for (let i = 0; i < sq.length; i++) {
    const d = theta[i]! - base[i]!;
    sq[i] = d * d;
    total += sq[i]!;
  }
  sq.sort().reverse();
  const share = (f: number) => {
    let s = 0;
    const k = Math.floor(f * sq.length);
    for (let i = 0; i < k; i++) s += sq[i]!;
    return total > 0 ? s / total : 0;
  };
  return { l2: Math.sqrt(total), top5: share(0.05), top20: share(0.2) };
}
