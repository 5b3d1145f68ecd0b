// Benchmark fitness for the parallel-evaluation cell: a deliberately costly deterministic function of the
// genome (REPEAT passes of a sum of squares), standing in for a model evaluation.
const REPEAT = Number(process.env.BENCH_FITNESS_REPEAT ?? 20);
export default function costly(genome) {
  let s = 0;
  for (let r = 0; r < REPEAT; r++) {
    let t = 0;
    for (let i = r; i < genome.length; i += 1) t += genome[i] * genome[i];
    s += t / (r + 1);
  }
  return -s;
}
