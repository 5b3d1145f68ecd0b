import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import {
  cadeS2,
  cadeS3,
  cadeS4,
  cadeS5,
  constant,
  cosine,
  linear,
  type Schedule,
  ScheduledControl,
  ShadeControl,
  sum,
  uniformJitter,
} from "../src/index.js";

function run(
  s: Schedule,
  gens: number,
  rng = new Rng(1),
  successes: (g: number) => number = () => 0,
): number[] {
  const out: number[] = [];
  for (let g = 0; g < gens; g++) out.push(s.next({ generation: g, successes: successes(g), rng }));
  return out;
}

describe("basic schedules", () => {
  it("constant and linear", () => {
    expect(run(constant(0.5), 3)).toEqual([0.5, 0.5, 0.5]);
    expect(run(linear(1, 0, 5), 6)).toEqual([1, 0.75, 0.5, 0.25, 0, 0]);
  });
  it("cosine: high at 0, low at the half-period, high again at the period", () => {
    const v = run(cosine({ high: 1, low: 0, halfPeriod: 4 }), 9);
    expect(v[0]).toBe(1);
    expect(v[2]).toBeCloseTo(0.5, 15);
    expect(v[4]).toBeCloseTo(0, 15);
    expect(v[8]).toBeCloseTo(1, 15);
  });
  it("uniform jitter uses numpy's low + (high - low) u, also for low > high", () => {
    const rng = new Rng(3);
    const u = rng.clone().uniform();
    expect(uniformJitter(1e-6, 1e-9).next({ generation: 0, successes: 0, rng })).toBe(
      1e-6 + (1e-9 - 1e-6) * u,
    );
  });
  it("sum evaluates parts left to right", () => {
    const rng = new Rng(4);
    const probe = rng.clone();
    const a = probe.uniform();
    const b = probe.uniform();
    const s = sum(uniformJitter(0, 1), uniformJitter(10, 20));
    expect(s.next({ generation: 0, successes: 0, rng })).toBe(a + (10 + 10 * b));
  });
});

describe("CADE schedules (worked values of the CADE code)", () => {
  it("S3 with the active F0 = 1e-9: g=0 uses F0; the curve rises to Fmin = 1e-6 at e = 40 and falls back at e = 80", () => {
    const rng = new Rng(11);
    const probe = rng.clone();
    const v = run(cadeS3(1e-9), 100, rng);
    expect(v[0]).toBe(1e-9);
    for (let e = 1; e < 100; e++) {
      const det = 1e-6 + ((1e-9 - 1e-6) * (1 + Math.cos((Math.PI * e) / 40))) / 2;
      const jitter = 1e-6 + (1e-9 - 1e-6) * probe.uniform();
      expect(v[e]).toBe(det + jitter);
      expect(jitter).toBeGreaterThanOrEqual(1e-9);
      expect(jitter).toBeLessThanOrEqual(1e-6);
    }
    // deterministic part at e = 40 is exactly Fmin; at e = 80 it is back to F0
    expect(v[40]).toBeGreaterThanOrEqual(1e-6 + 1e-9 - 1e-21);
    expect(v[40]).toBeLessThanOrEqual(2e-6);
    expect(v[80]).toBeLessThanOrEqual(1e-9 + 1e-6 + 1e-21);
  });
  it("S3 with the commented F0 = 1e-5: a true decay to 1e-6 at e = 40 (before jitter)", () => {
    const rng = new Rng(12);
    const probe = rng.clone();
    const v = run(cadeS3(1e-5), 41, rng);
    const u = (): number => 1e-6 + (1e-5 - 1e-6) * probe.uniform();
    for (let e = 1; e < 20; e++) u();
    expect(v[20]).toBeCloseTo(5.5e-6 + u(), 18);
    for (let e = 21; e < 40; e++) u();
    expect(v[40]).toBeCloseTo(1e-6 + u(), 18);
  });
  it("S2: pure cosine to Fmin = 1e-9 at e = 40", () => {
    const v = run(cadeS2(1e-5), 81);
    expect(v[0]).toBe(1e-5);
    expect(v[20]).toBeCloseTo(1e-9 + (1e-5 - 1e-9) / 2, 18);
    expect(v[40]).toBeCloseTo(1e-9, 18);
    expect(v[80]).toBeCloseTo(1e-5, 18);
  });
  it("S5: no '+1', so it goes negative: at e = 5 it is Fmin - (F0 - Fmin)/2", () => {
    const v = run(cadeS5(1e-5), 11);
    expect(v[5]).toBeCloseTo(1e-6 - (1e-5 - 1e-6) / 2, 18);
    expect(v[5]).toBeLessThan(0);
    expect(v[10]).toBeCloseTo(1e-6 + (1e-5 - 1e-6) / 2, 18);
  });
  it("S4: holds while more than one individual improves, then cosine(half-period 5) at e - counter plus jitter", () => {
    const rng = new Rng(13);
    const probe = rng.clone();
    const s = cadeS4(1e-5);
    const succ = [0, 0, 3, 2, 0, 1];
    const v = run(s, 6, rng, (g) => succ[g]);
    const low = 1e-9;
    const cosAt = (e: number): number => low + ((1e-5 - low) * (1 + Math.cos((Math.PI * e) / 5))) / 2;
    expect(v[0]).toBe(1e-5);
    const j1 = low + (1e-5 - low) * probe.uniform();
    expect(v[1]).toBe(cosAt(1) + j1);
    expect(v[2]).toBe(v[1]); // 3 improved: hold, counter = 1
    expect(v[3]).toBe(v[1]); // 2 improved: hold, counter = 2
    const j4 = low + (1e-5 - low) * probe.uniform();
    expect(v[4]).toBe(cosAt(4 - 2) + j4); // e - counter = 2, counter reset
    const j5 = low + (1e-5 - low) * probe.uniform();
    expect(v[5]).toBe(cosAt(5) + j5);
    const state = s.state();
    const s2 = cadeS4(1e-5);
    s2.restore(state);
    expect(s2.next({ generation: 6, successes: 5, rng })).toBe(v[5]);
  });
  it("ScheduledControl draws F's jitter before CR's, and counts successes for S4", () => {
    const rng = new Rng(14);
    const probe = rng.clone();
    const c = new ScheduledControl(cadeS3(1e-9), cadeS3(1e-9));
    c.begin(0, rng);
    expect(c.sample()).toEqual({ f: 1e-9, cr: 1e-9 });
    c.end();
    c.begin(1, rng);
    const det = 1e-6 + ((1e-9 - 1e-6) * (1 + Math.cos(Math.PI / 40))) / 2;
    const jf = 1e-6 + (1e-9 - 1e-6) * probe.uniform();
    const jc = 1e-6 + (1e-9 - 1e-6) * probe.uniform();
    expect(c.sample()).toEqual({ f: det + jf, cr: det + jc });
  });
});

describe("SHADE success history", () => {
  it("samples CR in [0,1] and F in (0,1], and updates memory with the weighted (Lehmer) means", () => {
    const rng = new Rng(21);
    const c = new ShadeControl({ memory: 3 });
    c.begin();
    for (let i = 0; i < 50; i++) {
      const p = c.sample(i, rng);
      expect(p.cr).toBeGreaterThanOrEqual(0);
      expect(p.cr).toBeLessThanOrEqual(1);
      expect(p.f).toBeGreaterThan(0);
      expect(p.f).toBeLessThanOrEqual(1);
    }
    c.report(0, { f: 0.2, cr: 0.9 }, true, 1);
    c.report(1, { f: 0.8, cr: 0.1 }, true, 3);
    c.report(2, { f: 0.5, cr: 0.5 }, false, 0);
    c.end();
    const m = c.memories();
    // weights 0.25 / 0.75
    expect(m.cr[0]).toBeCloseTo(0.25 * 0.9 + 0.75 * 0.1, 12);
    expect(m.f[0]).toBeCloseTo((0.25 * 0.04 + 0.75 * 0.64) / (0.25 * 0.2 + 0.75 * 0.8), 12);
    expect(m.next).toBe(1);
    expect(m.f[1]).toBe(0.5);
    // a generation without successes leaves memory unchanged
    c.begin();
    c.end();
    expect(c.memories().next).toBe(1);
    const c2 = new ShadeControl({ memory: 3 });
    c2.restore(c.state());
    expect(c2.memories()).toEqual(c.memories());
  });
});
