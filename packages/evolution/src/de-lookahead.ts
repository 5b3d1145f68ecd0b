import { Rng, type RngState } from "@x/tensor-core";
import type { ParameterControl, Params } from "./control.js";
import { type CrossoverSpec, crossoverStream } from "./crossover.js";
import { evaluateOne, type FitnessFunction } from "./fitness.js";
import { buildChild, type Strategy, strategyTerms } from "./mutation.js";
import type { Population } from "./population.js";
import { InFlight, Leases } from "./speculation.js";

/** What one asynchronous DE generation with lookahead needs from the engine. */
export interface AsyncGenerationContext {
  readonly pop: Population;
  readonly fit: Float64Array;
  readonly rng: Rng;
  readonly n: number;
  readonly dim: number;
  readonly generation: number;
  readonly strategy: Strategy;
  readonly crossover: CrossoverSpec;
  readonly control: ParameterControl;
  readonly fitness: FitnessFunction;
  readonly skipIdentical: boolean;
  readonly reevaluateParents: boolean;
  readonly lookahead: number;
  /** F and CR per target, filled here (the engine reports the first in its history). */
  readonly params: Params[];
  readonly bestIndex: () => number;
  /** The engine's greedy decision; swaps the child from `slot` into `target` when it wins. */
  readonly decide: (target: number, slot: number, childFit: number, parentFit: number) => void;
  readonly counts: { evaluations: number; skipped: number };
}

/** State shared by the generations of one run (spare-slot leases, versions, evaluations in flight). */
export interface LookaheadState {
  readonly inflight: InFlight;
  readonly leases: Leases;
  /** Per slot: how often its contents changed (an accepted child). */
  readonly slotVersion: Uint32Array;
}

export function lookaheadState(n: number, lookahead: number): LookaheadState {
  return {
    inflight: new InFlight(),
    leases: new Leases(Array.from({ length: 3 * lookahead }, (_, k) => n + k)),
    slotVersion: new Uint32Array(n),
  };
}

const usesBest = (s: Strategy): boolean => s === "best/1" || s === "current-to-best/1";

interface Entry {
  readonly target: number;
  /** RNG state after the parameter draws: replaying from here rebuilds the child with the same draws. */
  readonly drawState: RngState;
  slot: number;
  refs: number[];
  refVersions: number[];
  best: number;
  bestVersion: number;
  changed: boolean;
  child: Promise<number> | null;
  parent: Promise<number> | null;
}

/**
 * One generation of asynchronous ("in place") DE that evaluates up to `lookahead` children at once. Children
 * are drawn in target order, so the RNG stream is exactly the one-at-a-time stream (no draw depends on a
 * decision: indices exclude only the target, crossover draws only depend on D and CR, and the controls sample
 * from state fixed for the generation). A child whose inputs an earlier decision changed (a referenced
 * individual replaced, or, for best/1 and current-to-best/1, another best) is rebuilt from its saved draws and
 * evaluated again; decisions are taken in order with valid children only, so the run is bit-identical to
 * lookahead 1. Requires a parameter control whose `sample` does not depend on the same generation's reports
 * (true for `ScheduledControl` and `ShadeControl`).
 */
export async function asyncGenerationWithLookahead(
  c: AsyncGenerationContext,
  st: LookaheadState,
): Promise<void> {
  const { pop, fit, n, dim, strategy } = c;
  const trackBest = usesBest(strategy);
  const build = (e: Entry, rng: Rng): void => {
    const best = c.bestIndex();
    const refs: number[] = [];
    const terms = strategyTerms(
      strategy,
      rng,
      (k) => pop.genome(k),
      n,
      e.target,
      best,
      c.params[e.target].f,
      refs,
    );
    const stream = crossoverStream(c.crossover, rng, dim, c.params[e.target].cr);
    e.changed = buildChild(pop.genome(e.slot), pop.genome(e.target), terms, stream).changed;
    e.refs = [...refs];
    e.refVersions = e.refs.map((r) => st.slotVersion[r]);
    e.best = best;
    e.bestVersion = st.slotVersion[best];
    e.child = null;
    e.parent = null;
    if (c.skipIdentical && !e.changed) return;
    const info = { target: e.target, generation: c.generation };
    const child = pop.genome(e.slot);
    e.child = st.inflight.track(evaluateOne(c.fitness, child, info));
    e.child.catch(() => {});
    if (c.reevaluateParents) {
      e.parent = st.inflight.track(evaluateOne(c.fitness, pop.genome(e.target), info));
      e.parent.catch(() => {});
    }
  };
  const valid = (e: Entry): boolean => {
    for (let k = 0; k < e.refs.length; k++) if (st.slotVersion[e.refs[k]] !== e.refVersions[k]) return false;
    if (!trackBest) return true;
    return c.bestIndex() === e.best && st.slotVersion[e.best] === e.bestVersion;
  };
  const readers = (e: Entry): Promise<number>[] => (e.child ? [e.child] : []);
  const dispatch = async (t: number): Promise<Entry> => {
    const slot = await st.leases.take();
    c.params[t] = c.control.sample(t, c.rng);
    const e: Entry = {
      target: t,
      drawState: c.rng.state(),
      slot,
      refs: [],
      refVersions: [],
      best: -1,
      bestVersion: 0,
      changed: false,
      child: null,
      parent: null,
    };
    build(e, c.rng);
    return e;
  };
  const rebuild = async (e: Entry): Promise<void> => {
    if (e.child) st.inflight.discarded++;
    st.leases.release(e.slot, readers(e));
    e.slot = await st.leases.take();
    build(e, Rng.fromState(e.drawState));
  };

  const window: Entry[] = [];
  let next = 0;
  const fill = async (): Promise<void> => {
    while (window.length < c.lookahead && next < n) window.push(await dispatch(next++));
  };
  await fill();
  while (window.length > 0) {
    const e = window[0];
    if (!valid(e)) await rebuild(e);
    const i = e.target;
    if (c.skipIdentical && !e.changed) {
      c.counts.skipped++;
      c.control.report(i, c.params[i], false, 0);
      st.leases.release(e.slot);
      window.shift();
      await fill();
      continue;
    }
    const childFit = await e.child!;
    const parentFit = e.parent ? await e.parent : fit[i];
    c.counts.evaluations += e.parent ? 2 : 1;
    const before = fit[i];
    const slotBefore = pop.genome(i);
    c.decide(i, e.slot, childFit, parentFit);
    const won = pop.genome(i) !== slotBefore;
    if (won) {
      st.slotVersion[i]++;
      st.leases.release(e.slot, st.inflight.all); // the old x_i is now in that spare slot
    } else st.leases.release(e.slot, readers(e));
    window.shift();
    // an accepted child, or a re-evaluated parent, can change the best individual
    if (won || !Object.is(before, fit[i])) for (const w of window) if (!valid(w)) await rebuild(w);
    await fill();
  }
}
