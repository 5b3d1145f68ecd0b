import { describe, expect, it } from "vitest";
import { CmaEs, minimizeCmaEs, reflectIntoBox } from "../src/index.js";

const sphere = (x: Float64Array): number => {
  let s = 0;
  for (const v of x) s += v * v;
  return s;
};
const rosenbrock = (x: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) s += 100 * (x[i + 1] - x[i] * x[i]) ** 2 + (1 - x[i]) ** 2;
  return s;
};
const rastrigin = (x: Float64Array): number => {
  let s = 10 * x.length;
  for (const v of x) s += v * v - 10 * Math.cos(2 * Math.PI * v);
  return s;
};

describe("CMA-ES constants (Hansen tutorial defaults)", () => {
  it("n = 10: lambda 10, mu 5, weights sum to 1 and decrease", () => {
    const es = new CmaEs({ x0: new Float64Array(10), sigma0: 1, seed: 1 });
    expect(es.lambda).toBe(10);
    expect(es.mu).toBe(5);
    const w = Array.from(es.weights);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (let i = 1; i < w.length; i++) expect(w[i]).toBeLessThan(w[i - 1]);
    // mu_eff for lambda = 10 is 3.1672 (tutorial table value for default weights)
    expect(es.muEff).toBeCloseTo(3.1672, 3);
    expect(es.chiN).toBeCloseTo(Math.sqrt(10) * (1 - 1 / 40 + 1 / 2100), 12);
  });
});

describe("minimizeCmaEs", () => {
  it("sphere 10-D reaches 1e-10 within 3000 evaluations", async () => {
    const r = await minimizeCmaEs(sphere, {
      x0: new Float64Array(10).fill(3),
      sigma0: 2,
      seed: 7,
      maxEvaluations: 3000,
      target: 1e-10,
    });
    expect(r.f).toBeLessThanOrEqual(1e-10);
    expect(r.evaluations).toBeLessThanOrEqual(3000);
  });

  it("Rosenbrock 8-D converges to the optimum (f < 1e-8, x ~ 1)", async () => {
    const r = await minimizeCmaEs(rosenbrock, {
      x0: new Float64Array(8),
      sigma0: 0.5,
      seed: 3,
      maxEvaluations: 20000,
      target: 1e-8,
    });
    expect(r.f).toBeLessThan(1e-8);
    for (const v of r.x) expect(v).toBeCloseTo(1, 3);
  });

  it("Rastrigin 5-D: IPOP restarts find better optima than a single run (5 seeds)", async () => {
    const lower = new Array(5).fill(-5.12);
    const upper = new Array(5).fill(5.12);
    let single = 0;
    let ipop = 0;
    let ipopSolved = 0;
    for (let seed = 0; seed < 5; seed++) {
      const x0 = new Float64Array(5).fill(3.3);
      const a = await minimizeCmaEs(rastrigin, {
        x0,
        sigma0: 2,
        seed,
        maxEvaluations: 20000,
        bounds: { lower, upper },
      });
      const b = await minimizeCmaEs(rastrigin, {
        x0,
        sigma0: 2,
        seed,
        maxEvaluations: 20000,
        bounds: { lower, upper },
        restarts: "ipop",
        target: 1e-8,
      });
      single += a.f;
      ipop += b.f;
      if (b.f < 1e-8) ipopSolved++;
      expect(b.f).toBeLessThanOrEqual(a.f);
    }
    expect(ipop).toBeLessThan(single);
    expect(ipopSolved).toBeGreaterThanOrEqual(3);
  });

  it("BIPOP restarts improve on their first run on Rastrigin (3 seeds)", async () => {
    const lower = new Array(5).fill(-5.12);
    const upper = new Array(5).fill(5.12);
    let first = 0;
    let final = 0;
    for (const seed of [11, 12, 13]) {
      const r = await minimizeCmaEs(rastrigin, {
        x0: new Float64Array(5).fill(3.3),
        sigma0: 2,
        seed,
        maxEvaluations: 20000,
        bounds: { lower, upper },
        restarts: "bipop",
      });
      expect(r.restarts).toBeGreaterThan(0);
      expect(r.runs.some((run) => run.lambda < r.runs[0].lambda)).toBe(true); // small-regime runs happened
      expect(r.f).toBeLessThanOrEqual(r.runs[0].best);
      first += r.runs[0].best;
      final += r.f;
    }
    expect(final).toBeLessThan(first / 2);
  });

  it("bounded sphere with the optimum outside the box converges to the nearest corner, never leaving the box", async () => {
    const seen: number[][] = [];
    const lower = [1, 1, -2];
    const upper = [3, 3, -1];
    const r = await minimizeCmaEs(
      (x) => {
        seen.push(Array.from(x));
        return sphere(x);
      },
      { x0: [2, 2, -1.5], sigma0: 0.5, seed: 5, maxEvaluations: 3000, bounds: { lower, upper } },
    );
    for (const x of seen) for (let i = 0; i < 3; i++) expect(x[i] >= lower[i] && x[i] <= upper[i]).toBe(true);
    expect(r.x[0]).toBeCloseTo(1, 4);
    expect(r.x[1]).toBeCloseTo(1, 4);
    expect(r.x[2]).toBeCloseTo(-1, 4);
  });

  it("is reproducible for a seed and independent of evaluation concurrency", async () => {
    const slowSphere = async (x: Float64Array): Promise<number> => {
      await new Promise((r) => setTimeout(r, (x[0] * 1000) % 3));
      return sphere(x);
    };
    const base = { x0: [1, 2, 3, 4], sigma0: 1, seed: 42, maxEvaluations: 400 };
    const a = await minimizeCmaEs(sphere, base);
    const b = await minimizeCmaEs(slowSphere, { ...base, concurrency: 4 });
    expect(Array.from(b.x)).toEqual(Array.from(a.x));
    expect(b.f).toBe(a.f);
  });

  it("reflectIntoBox mirrors at the bounds", () => {
    expect(reflectIntoBox(1.2, 0, 1)).toBeCloseTo(0.8, 12);
    expect(reflectIntoBox(-0.3, 0, 1)).toBeCloseTo(0.3, 12);
    expect(reflectIntoBox(2.5, 0, 1)).toBeCloseTo(0.5, 12);
    expect(reflectIntoBox(0.4, 0, 1)).toBe(0.4);
  });
});
