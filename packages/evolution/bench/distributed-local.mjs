// The local contender of the distributed benchmark, in its own fresh process like each worker: loads the
// evaluator and times `X_REPS` sequential passes over the same genomes; prints one line of JSON (ms per pass).
import { Rng } from "@x/tensor-core";
import { loadEvaluator } from "../dist/index.js";

const spec = JSON.parse(process.env.X_SPEC);
const m = Number(process.env.X_M);
const d = Number(process.env.X_D);
const r = new Rng(1);
const gs = Array.from({ length: m }, () => r.fillUniform(new Float32Array(d), -1, 1));
const { fitness } = await loadEvaluator(spec);
for (let k = 0; k < 4; k++) await fitness(gs[k % m], { target: k, generation: -5 }); // warm up like the workers
const t = performance.now();
for (let k = 0; k < m; k++) await fitness(gs[k], { target: k, generation: 0 });
process.stdout.write(`${JSON.stringify({ ms: performance.now() - t })}\n`);
