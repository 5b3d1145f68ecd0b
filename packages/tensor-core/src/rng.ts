/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna) seeded through splitmix32.
 * 32-bit arithmetic only (Math.imul), so it is fast in V8 and bit-identical on every platform.
 * The whole state is four uint32 words plus the cached Box-Muller spare, so it serializes exactly.
 */

export interface RngState {
  readonly algorithm: "xoshiro128**";
  readonly s: [number, number, number, number];
  /** Cached second normal deviate from the last Box-Muller pair, or null. */
  readonly spare: number | null;
}

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  /** Seed with any finite number (integers up to 2^53 use both halves) or a string. */
  constructor(seed: number | string = 0) {
    let lo: number;
    let hi: number;
    if (typeof seed === "string") {
      // FNV-1a over the UTF-16 code units, two lanes.
      lo = 0x811c9dc5;
      hi = 0x01000193;
      for (let i = 0; i < seed.length; i++) {
        lo = Math.imul(lo ^ seed.charCodeAt(i), 0x01000193) >>> 0;
        hi = Math.imul(hi ^ seed.charCodeAt(i), 0x811c9dc5) >>> 0;
      }
    } else {
      if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be finite, got ${seed}`);
      const t = Math.trunc(Math.abs(seed));
      lo = t >>> 0;
      hi = Math.floor(t / TWO_POW_32) >>> 0;
      if (seed < 0) hi ^= 0x80000000;
    }
    const sm = splitmix32(lo ^ Math.imul(hi, 0x9e3779b1));
    this.s0 = sm();
    this.s1 = sm() ^ hi;
    this.s2 = sm();
    this.s3 = sm();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  static fromState(state: RngState): Rng {
    if (state.algorithm !== "xoshiro128**" || state.s.length !== 4) {
      throw new TypeError(`Unsupported RNG state: ${JSON.stringify(state)}`);
    }
    const r = new Rng(0);
    [r.s0, r.s1, r.s2, r.s3] = state.s.map((v) => v >>> 0) as [number, number, number, number];
    r.spare = state.spare;
    return r;
  }

  /** A plain-JSON snapshot; `Rng.fromState(rng.state())` continues the exact same stream. */
  state(): RngState {
    return { algorithm: "xoshiro128**", s: [this.s0, this.s1, this.s2, this.s3], spare: this.spare };
  }

  clone(): Rng {
    return Rng.fromState(this.state());
  }

  /** Next uniform uint32. */
  nextU32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 = s2 ^ s0;
    this.s3 = s3 ^ s1;
    this.s1 = s1 ^ this.s2;
    this.s0 = s0 ^ this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextU32() >>> 5; // 27 bits
    const b = this.nextU32() >>> 6; // 26 bits
    return (a * 67108864 + b) / TWO_POW_53;
  }

  /** Uniform double in [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Unbiased integer in [0, n) (rejection sampling, n <= 2^32). */
  int(n: number): number {
    if (!(n >= 1 && n <= TWO_POW_32) || !Number.isInteger(n)) throw new RangeError(`Rng.int: bad bound ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal deviate (Box-Muller, polar-free form, second deviate cached). */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return mean + std * z;
    }
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * v;
    this.spare = r * Math.sin(theta);
    return mean + std * r * Math.cos(theta);
  }

  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Fill `out` with uniforms in [lo, hi); returns `out` (its own type). */
  fillUniform<T extends Float32Array | Float64Array>(out: T, lo = 0, hi = 1): T {
    const w = hi - lo;
    for (let i = 0; i < out.length; i++) out[i] = lo + w * this.uniform();
    return out;
  }

  /** Fill `out` with normal deviates; returns `out` (its own type). */
  fillNormal<T extends Float32Array | Float64Array>(out: T, mean = 0, std = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
    return out;
  }

  /** Bernoulli keep-mask: out[i] = 1 with probability p, else 0. */
  bernoulliMask(out: Uint8Array, p: number): Uint8Array {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform() < p ? 1 : 0;
    return out;
  }

  /** Uniform random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    this.shuffle(p);
    return p;
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** k distinct indices from [0, n), in random order (Floyd's algorithm for small k). */
  sampleWithoutReplacement(n: number, k: number): Uint32Array {
    if (k > n) throw new RangeError(`cannot sample ${k} of ${n} without replacement`);
    const out = new Uint32Array(k);
    const seen = new Set<number>();
    let w = 0;
    for (let j = n - k; j < n; j++) {
      const t = this.int(j + 1);
      const v = seen.has(t) ? j : t;
      seen.add(v);
      out[w++] = v;
    }
    return this.shuffle(out);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
