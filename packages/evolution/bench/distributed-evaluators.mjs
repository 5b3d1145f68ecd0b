// Evaluator module for the distributed benchmark (see distributed.bench.mjs).
/** Cheap: the negative sphere, O(D). */
export function cheap() {
  return (genome) => {
    let s = 0;
    for (let i = 0; i < genome.length; i++) s += genome[i] * genome[i];
    return -s;
  };
}

/** Expensive: `passes` deterministic passes over the genome (CPU-bound, standing in for a model evaluation). */
export function expensive(options) {
  const passes = options.passes;
  return (genome) => {
    let s = 0;
    for (let p = 0; p < passes; p++) {
      let t = 0;
      for (let i = 0; i < genome.length; i++) t += Math.sin(genome[i] * (p + 1));
      s += t / (p + 1);
    }
    return s;
  };
}

/**
 * Waiting: the sphere after `delayMs` of waiting without using the CPU, standing in for an evaluation that
 * waits on a GPU or an external process (lets several workers overlap on a machine with few cores).
 */
export function waiting(options) {
  const center = options.center ?? 0;
  return async (genome) => {
    await new Promise((r) => setTimeout(r, options.delayMs));
    let s = 0;
    for (let i = 0; i < genome.length; i++) s += (genome[i] - center) ** 2;
    return -s;
  };
}
