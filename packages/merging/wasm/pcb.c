// PCB-Merging streaming-global kernels in WebAssembly SIMD (the fast path of src/pcb/fast/).
//
// Every value that reaches a result is computed with the same float32 operations, in the same order,
// as the JavaScript kernels of src/pcb/score.ts, so the merge stays bit-identical to reference mode.
// Approximations are used only to *classify* elements (certainly below a value window), with a slack
// far above their error; every element that is not certainly below gets the exact computation.
//
// Memory: the module imports one (shared) memory; the JavaScript side lays out the inputs, tables,
// per-thread parameter blocks and buffers (see src/pcb/fast/memory.ts). The code uses no stack and no
// data segments, so several threads can run it on one shared memory.
//
// Build: node scripts/build-pcb-wasm.mjs (needs clang and wasm-ld with the wasm32 target).

#include <stdint.h>
#include <wasm_simd128.h>

#define MAXT 16
#define BLOCK 2048
#define ECACHE_BITS 12
#define ECACHE (1u << ECACHE_BITS)

__attribute__((import_module("env"), import_name("exp"))) double js_exp(double);
__attribute__((import_module("env"), import_name("tanh"))) double js_tanh(double);

/** A value window [a, b] around an order statistic: counts below it, collects the values inside. */
typedef struct {
  float a, b;
  /**
   * Score pass, in units of 2^-23: K such that c·(|T| − mn)²/rg² + L(|T|) + L(|S|) < K proves B < a
   * (c = n·log2 e), where L(x) is the kernel's estimate of log2(x) + 127 from the bit pattern (at most
   * 0.0097 below the truth). −∞ when a ≤ 0: nothing is classified, every element is exact.
   */
  float sureBelow;
  uint32_t below;  // out: #(x < a)
  uint32_t le;     // out: #(x <= b)
  uint32_t coll, cap;
  uint32_t fill;   // out: values of [a, b] met while collecting (the first `cap` stored at `coll`); cap 0: none collected
} Win;

typedef struct {
  uint32_t start, end;  // positions [start, end) of one tensor
  double lambda;        // outer λ (kept a double, as in finishMerged)
  float li[MAXT];       // fround(λ_i)
} Segment;

typedef struct {
  uint32_t fmt;  // 0: inputs are bfloat16 bits, 1: float32, 2: binary16 (F16) bits
  uint32_t n;    // tasks
  uint32_t k0, k1;
  uint32_t in[MAXT + 1];  // base, then the task models
  uint32_t scratch;       // 4 × (BLOCK + 4) floats of this thread
  uint32_t bad;           // out: non-finite |T| (magnitude pass) or NaN score (score pass)
  uint32_t absMaxBits;    // out (magnitude pass): max over bits of |T| (≥ 0x7f800000: non-finite)
  float lo[MAXT], hi[MAXT], mn[MAXT], rg[MAXT];
  uint32_t zr[MAXT];  // nan_guard "on" with a zero range: h = 0
  float nf;           // n as float32
  uint32_t expTab;    // Math.exp(j / 1024), j < expLen (float64)
  double expLen;
  Win win[2 * MAXT];  // magnitude pass: 2 per task (lower, upper clamp rank); score pass: 1 per task
  uint32_t candPos[MAXT], candVal[MAXT], candCap[MAXT], candCount[MAXT];
  float maxB[MAXT];
  float thr[MAXT], denom[MAXT];
  uint32_t drop[MAXT];
  uint32_t seg, nseg;
  uint32_t out, outFmt;  // outFmt 0: bfloat16, 1: float32, 2: binary16
  uint32_t cursor[MAXT];  // merge: next candidate of each task
  uint32_t shuf;          // 16 × 16 bytes: swizzle indices packing the lanes of each 4-bit mask to the front
  uint32_t ecache;        // this thread's intra-factor caches: per task ECACHE keys (u32) then ECACHE values (f32)
} Params;

#define P_FIELDS(X)                                                                                 \
  X(fmt) X(n) X(k0) X(k1) X(in) X(scratch) X(bad) X(absMaxBits) X(lo) X(hi) X(mn) X(rg) X(zr) X(nf) \
      X(expTab) X(expLen) X(win) X(candPos) X(candVal) X(candCap) X(candCount) X(maxB) X(thr)      \
          X(denom) X(drop) X(seg) X(nseg) X(out) X(outFmt) X(cursor) X(shuf) X(ecache)

/** Writes the byte offsets of Params' fields (in P_FIELDS order), then sizeof(Params), sizeof(Win), sizeof(Segment). */
__attribute__((export_name("layout"))) uint32_t layout(uint32_t* o) {
  uint32_t j = 0;
#define OFF(f) o[j++] = (uint32_t)__builtin_offsetof(Params, f);
  P_FIELDS(OFF)
#undef OFF
  o[j++] = sizeof(Params);
  o[j++] = sizeof(Win);
  o[j++] = sizeof(Segment);
  o[j++] = (uint32_t)__builtin_offsetof(Segment, lambda);
  o[j++] = (uint32_t)__builtin_offsetof(Segment, li);
  return j;
}

// binary16 bits (one per 32-bit lane) → float32, exact (as tensor-core's f16ToF32): the bits shifted
// into a float32's exponent and mantissa fields, scaled by 2^(127 − 15), give every finite value
// (subnormals included); exponent 31 (Inf, NaN) maps to 255 with the payload kept.
static inline v128_t f16x4(v128_t h) {
  const v128_t em = wasm_v128_and(h, wasm_i32x4_splat(0x7fff));
  const v128_t sh = wasm_i32x4_shl(em, 13);
  const v128_t finite = wasm_f32x4_mul(sh, wasm_f32x4_splat(0x1p112f));
  const v128_t v = wasm_v128_bitselect(wasm_v128_or(sh, wasm_i32x4_splat(0x7f800000)), finite,
                                       wasm_i32x4_gt(em, wasm_i32x4_splat(0x7bff)));
  return wasm_v128_or(v, wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16));
}

static inline float f16to32(uint32_t h) {
  const uint32_t em = h & 0x7fffu, sh = em << 13;
  const uint32_t v = em > 0x7bffu ? (sh | 0x7f800000u) : __builtin_bit_cast(uint32_t, __builtin_bit_cast(float, sh) * 0x1p112f);
  return __builtin_bit_cast(float, v | ((h & 0x8000u) << 16));
}

static inline v128_t ld4(const int fmt, uint32_t base, uint32_t k) {
  if (fmt == 0) return wasm_i32x4_shl(wasm_u32x4_load16x4((const void*)(uintptr_t)(base + 2 * k)), 16);
  if (fmt == 2) return f16x4(wasm_u32x4_load16x4((const void*)(uintptr_t)(base + 2 * k)));
  return wasm_v128_load((const void*)(uintptr_t)(base + 4 * k));
}

static inline float ld1(const int fmt, uint32_t base, uint32_t k) {
  if (fmt == 0) {
    uint32_t bits = (uint32_t)(*(const uint16_t*)(uintptr_t)(base + 2 * k)) << 16;
    return __builtin_bit_cast(float, bits);
  }
  if (fmt == 2) return f16to32(*(const uint16_t*)(uintptr_t)(base + 2 * k));
  return *(const float*)(uintptr_t)(base + 4 * k);
}

static inline float lane(v128_t v, int j) {
  switch (j) {
    case 0: return wasm_f32x4_extract_lane(v, 0);
    case 1: return wasm_f32x4_extract_lane(v, 1);
    case 2: return wasm_f32x4_extract_lane(v, 2);
    default: return wasm_f32x4_extract_lane(v, 3);
  }
}

static inline uint32_t hsum(v128_t v) {
  return (uint32_t)wasm_i32x4_extract_lane(v, 0) + (uint32_t)wasm_i32x4_extract_lane(v, 1) +
         (uint32_t)wasm_i32x4_extract_lane(v, 2) + (uint32_t)wasm_i32x4_extract_lane(v, 3);
}

static inline v128_t tailMask(uint32_t k, uint32_t k1) {
  v128_t idx = wasm_i32x4_add(wasm_i32x4_splat((int32_t)k), wasm_i32x4_make(0, 1, 2, 3));
  return wasm_u32x4_lt(idx, wasm_i32x4_splat((int32_t)k1));
}

static inline void collect(Win* w, float x) {
  if (w->fill < w->cap) ((float*)(uintptr_t)w->coll)[w->fill] = x;
  w->fill++;
}

// ---------------------------------------------------------------------------------------------
// Magnitude pass: for each task, the windows of its two clamp ranks over |T| = |θ_i − θ₀|.
//
// Blocks of MBLOCK positions: the base, decoded once per block, stays in L1 while every task passes
// over it. |T| has its sign bit cleared, so its bit pattern orders like the value both as unsigned
// and as signed integers (signed compares are one instruction on x86).

#define MBLOCK 1024

__attribute__((always_inline)) static inline void magGroup(v128_t t, v128_t valid, v128_t A0, v128_t A1, v128_t W0,
                                                         v128_t W1, v128_t C0, v128_t C1, v128_t* cnt, v128_t* mx,
                                                         Win* w0, Win* w1) {
  const v128_t m = wasm_v128_and(wasm_v128_and(t, wasm_i32x4_splat(0x7fffffff)), valid);
  *mx = wasm_i32x4_max(*mx, m);
  // a ≤ m ≤ b as one unsigned compare of m − a with b − a.
  const v128_t in0 = wasm_v128_and(wasm_u32x4_le(wasm_i32x4_sub(m, A0), W0), valid);
  const v128_t in1 = wasm_v128_and(wasm_u32x4_le(wasm_i32x4_sub(m, A1), W1), valid);
  // Counters subtract the −1 masks.
  cnt[0] = wasm_i32x4_sub(cnt[0], wasm_v128_and(wasm_i32x4_lt(m, A0), valid));
  cnt[1] = wasm_i32x4_sub(cnt[1], in0);
  cnt[2] = wasm_i32x4_sub(cnt[2], wasm_v128_and(wasm_i32x4_lt(m, A1), valid));
  cnt[3] = wasm_i32x4_sub(cnt[3], in1);
  // Only windows with room collect (a point window a = b is counted, never collected).
  const v128_t k0 = wasm_v128_and(in0, C0), k1 = wasm_v128_and(in1, C1);
  if (wasm_v128_any_true(wasm_v128_or(k0, k1))) {
    const int b0 = wasm_i32x4_bitmask(k0), b1 = wasm_i32x4_bitmask(k1);
    for (int j = 0; j < 4; j++) {
      if ((b0 >> j) & 1) collect(w0, lane(m, j));
      if ((b1 >> j) & 1) collect(w1, lane(m, j));
    }
  }
}

__attribute__((always_inline)) static inline void magBody(const int fmt, Params* P) {
  const uint32_t x0 = P->in[0], k0 = P->k0, k1 = P->k1, n = P->n;
  float* base = (float*)(uintptr_t)P->scratch;
  const v128_t all = wasm_i32x4_splat(-1);
  v128_t mx = wasm_i32x4_splat(0);
  for (uint32_t kb = k0; kb < k1; kb += MBLOCK) {
    const uint32_t ke = kb + MBLOCK < k1 ? kb + MBLOCK : k1;
    const uint32_t kv = ke - (ke - kb) % 4;  // end of the whole groups
    for (uint32_t k = kb; k < ke; k += 4) wasm_v128_store(base + (k - kb), ld4(fmt, x0, k));
    for (uint32_t i = 0; i < n; i++) {
      const uint32_t xi = P->in[1 + i];
      Win* w0 = &P->win[2 * i];
      Win* w1 = &P->win[2 * i + 1];
      const uint32_t a0 = __builtin_bit_cast(uint32_t, w0->a), b0 = __builtin_bit_cast(uint32_t, w0->b);
      const uint32_t a1 = __builtin_bit_cast(uint32_t, w1->a), b1 = __builtin_bit_cast(uint32_t, w1->b);
      const v128_t A0 = wasm_i32x4_splat((int32_t)a0), A1 = wasm_i32x4_splat((int32_t)a1);
      const v128_t W0 = wasm_i32x4_splat((int32_t)(b0 - a0)), W1 = wasm_i32x4_splat((int32_t)(b1 - a1));
      const v128_t C0 = wasm_i32x4_splat(w0->cap ? -1 : 0), C1 = wasm_i32x4_splat(w1->cap ? -1 : 0);
      v128_t cnt[4] = {wasm_i32x4_splat(0), wasm_i32x4_splat(0), wasm_i32x4_splat(0), wasm_i32x4_splat(0)};
      uint32_t k = kb;
      for (; k < kv; k += 4) {
        const v128_t t = wasm_f32x4_sub(ld4(fmt, xi, k), wasm_v128_load(base + (k - kb)));
        magGroup(t, all, A0, A1, W0, W1, C0, C1, cnt, &mx, w0, w1);
      }
      if (k < ke) {
        const v128_t t = wasm_f32x4_sub(ld4(fmt, xi, k), wasm_v128_load(base + (k - kb)));
        magGroup(t, tailMask(k, ke), A0, A1, W0, W1, C0, C1, cnt, &mx, w0, w1);
      }
      const uint32_t below0 = hsum(cnt[0]), below1 = hsum(cnt[2]);
      w0->below += below0;
      w0->le += below0 + hsum(cnt[1]);
      w1->below += below1;
      w1->le += below1 + hsum(cnt[3]);
    }
  }
  uint32_t m = 0;
  for (int j = 0; j < 4; j++) {
    uint32_t v = (uint32_t)(j == 0   ? wasm_i32x4_extract_lane(mx, 0)
                            : j == 1 ? wasm_i32x4_extract_lane(mx, 1)
                            : j == 2 ? wasm_i32x4_extract_lane(mx, 2)
                                     : wasm_i32x4_extract_lane(mx, 3));
    if (v > m) m = v;
  }
  if (m > P->absMaxBits) P->absMaxBits = m;
  if (m >= 0x7f800000u) P->bad++;
}

/** Magnitude windows of positions [k0, k1) (k0 a multiple of 4); adds to the windows' counters. */
__attribute__((export_name("mag_pass"))) void mag_pass(Params* P) {
  if (P->fmt == 0) magBody(0, P);
  else if (P->fmt == 2) magBody(2, P);
  else magBody(1, P);
}

// ---------------------------------------------------------------------------------------------
// Exact scalar score: bit-identical to scoreRow (score.ts) with exp32 (exp32.ts).

static inline float exp32(float yf, const Params* P) {
  const double y = (double)yf;
  const double s = y * 1024.0 + 0.5;
  if (s >= 0.5 && s < P->expLen) {
    const int32_t j = (int32_t)s;
    const double r = y - (double)j * (1.0 / 1024.0);
    const double p = ((const double*)(uintptr_t)P->expTab)[j] * (1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0))));
    const float a = (float)(p * (1.0 - 0x1p-40));
    if (a == (float)(p * (1.0 + 0x1p-40))) return a;
  }
  return (float)js_exp(y);
}

static inline float tanh32(float y) {
  return (y < 0x1p-12f && y > -0x1p-12f) ? y : (float)js_tanh((double)y);
}

// min(max(|t|, lo), hi) for finite t, lo, hi (selects: cheaper than WebAssembly's NaN-aware min/max;
// equal here, where no NaN occurs and |t| is never −0).
static inline float clampMag(float t, float lo, float hi) {
  const float m = __builtin_fabsf(t);
  const float a = m < lo ? lo : m;
  return a > hi ? hi : a;
}

static inline float exactScore(const Params* P, uint32_t i, float t, float s) {
  const float a = clampMag(t, P->lo[i], P->hi[i]);
  const float h = P->zr[i] ? 0.0f : (a - P->mn[i]) / P->rg[i];
  const float e = exp32(P->nf * (h * h), P);
  return e * tanh32(t * s);
}

// exp32 of four lanes at once (two float64x2 halves), bit-identical to the scalar exp32 wherever
// `ok` is set in a lane; the caller recomputes the other lanes with the scalar form.
static inline v128_t exp32Half(v128_t d, const Params* P, v128_t* ok) {
  const v128_t s = wasm_f64x2_add(wasm_f64x2_mul(d, wasm_f64x2_splat(1024.0)), wasm_f64x2_splat(0.5));
  const v128_t inRange = wasm_v128_and(wasm_f64x2_ge(s, wasm_f64x2_splat(0.5)), wasm_f64x2_lt(s, wasm_f64x2_splat(P->expLen)));
  const v128_t j = wasm_i32x4_trunc_sat_f64x2_zero(s);
  const v128_t r = wasm_f64x2_sub(d, wasm_f64x2_mul(wasm_f64x2_convert_low_i32x4(j), wasm_f64x2_splat(1.0 / 1024.0)));
  const double* tab = (const double*)(uintptr_t)P->expTab;
  // Lanes out of range index entry 0 (their result is discarded).
  const v128_t jj = wasm_v128_and(j, wasm_i32x4_shuffle(inRange, inRange, 0, 2, 4, 4));
  v128_t t = wasm_f64x2_make(tab[wasm_i32x4_extract_lane(jj, 0)], tab[wasm_i32x4_extract_lane(jj, 1)]);
  const v128_t one = wasm_f64x2_splat(1.0);
  v128_t q = wasm_f64x2_add(wasm_f64x2_splat(0.5), wasm_f64x2_mul(r, wasm_f64x2_splat(1.0 / 6.0)));
  q = wasm_f64x2_add(one, wasm_f64x2_mul(r, q));
  q = wasm_f64x2_add(one, wasm_f64x2_mul(r, q));
  const v128_t p = wasm_f64x2_mul(t, q);
  const v128_t a = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(p, wasm_f64x2_splat(1.0 - 0x1p-40)));
  const v128_t b = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(p, wasm_f64x2_splat(1.0 + 0x1p-40)));
  // ok per f32 lane 0..1 (lanes 2..3 of a, b are zero and compare equal; masked by the caller).
  *ok = wasm_v128_and(wasm_f32x4_eq(a, b), wasm_i32x4_shuffle(inRange, inRange, 0, 2, 4, 4));
  return a;
}

static inline v128_t exp32x4(v128_t z, const Params* P, v128_t* ok) {
  v128_t ok0, ok1;
  const v128_t e0 = exp32Half(wasm_f64x2_promote_low_f32x4(z), P, &ok0);
  const v128_t e1 = exp32Half(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(z, z, 2, 3, 0, 1)), P, &ok1);
  *ok = wasm_i32x4_shuffle(ok0, ok1, 0, 1, 4, 5);
  return wasm_i32x4_shuffle(e0, e1, 0, 1, 4, 5);
}

// ---------------------------------------------------------------------------------------------
// Score pass: per task, the drop threshold's window, the maximum, and the candidates (every element
// whose score is ≥ the window's low end, with its exact score, in position order).

static inline void scoreLane(Params* P, uint32_t i, Win* w, uint32_t k, float t, float s) {
  const float B = exactScore(P, i, t, s);
  if (B != B) {
    P->bad++;
    return;
  }
  if (B < w->a) {
    w->below++;
    w->le++;
    return;
  }
  if (B <= w->b) {
    w->le++;
    if (w->cap) collect(w, B);
  }
  const uint32_t c = P->candCount[i]++;
  if (c < P->candCap[i]) {
    ((uint32_t*)(uintptr_t)P->candPos[i])[c] = k;
    ((float*)(uintptr_t)P->candVal[i])[c] = B;
  }
  if (!(B <= P->maxB[i])) P->maxB[i] = B;
}

// Exact scores of the compacted unsure lanes of one block and task (positions ascending): window
// counts and collection, candidates (packed to the front with the swizzle table), maximum. A batch
// with a lane that needs a libm call (exp32's rare fallback, tanh outside the identity range) or a
// NaN goes through scoreLane lane by lane, in order, so the candidates stay sorted.
__attribute__((noinline)) static void scoreUnsure(Params* P, uint32_t i, Win* w, const float* Ti, const float* S,
                                                 const uint32_t* Ur, uint32_t nU, uint32_t kb) {
  const v128_t lo = wasm_f32x4_splat(P->lo[i]), hi = wasm_f32x4_splat(P->hi[i]);
  const v128_t mn = wasm_f32x4_splat(P->mn[i]), rg = wasm_f32x4_splat(P->rg[i]);
  const v128_t keepH = wasm_i32x4_splat(P->zr[i] ? 0 : -1);
  const v128_t nf = wasm_f32x4_splat(P->nf);
  const v128_t av = wasm_f32x4_splat(w->a), bv = wasm_f32x4_splat(w->b);
  const v128_t tiny = wasm_f32x4_splat(0x1p-12f);
  v128_t below = wasm_i32x4_splat(0), le = wasm_i32x4_splat(0);
  v128_t mx = wasm_f32x4_splat(-__builtin_inff());
  uint32_t* keys = (uint32_t*)(uintptr_t)(P->ecache + 8 * ECACHE * i);
  float* vals = (float*)(keys + ECACHE);
  for (uint32_t j = 0; j < nU; j += 4) {
    const v128_t valid = tailMask(j, nU);
    // Gathered from the block's T_i and S by the lanes' offsets (lanes past nU read offset 0: the
    // scratch there may hold anything).
    const v128_t r = wasm_v128_and(wasm_v128_load(Ur + j), valid);
    const uint32_t r0 = (uint32_t)wasm_i32x4_extract_lane(r, 0), r1 = (uint32_t)wasm_i32x4_extract_lane(r, 1);
    const uint32_t r2 = (uint32_t)wasm_i32x4_extract_lane(r, 2), r3 = (uint32_t)wasm_i32x4_extract_lane(r, 3);
    const v128_t t = wasm_f32x4_make(Ti[r0], Ti[r1], Ti[r2], Ti[r3]);
    const v128_t s = wasm_f32x4_make(S[r0], S[r1], S[r2], S[r3]);
    // The intra factor E depends on |T| only (for this task's statistics), and |T| of BF16 checkpoints
    // repeats heavily: a direct-mapped cache by its bits, filled with exactly computed values.
    const v128_t key = wasm_v128_and(t, wasm_i32x4_splat(0x7fffffff));
    const v128_t slot = wasm_u32x4_shr(wasm_i32x4_mul(key, wasm_i32x4_splat((int32_t)0x9e3779b1u)), 32 - ECACHE_BITS);
    const uint32_t s0 = (uint32_t)wasm_i32x4_extract_lane(slot, 0), s1 = (uint32_t)wasm_i32x4_extract_lane(slot, 1);
    const uint32_t s2 = (uint32_t)wasm_i32x4_extract_lane(slot, 2), s3 = (uint32_t)wasm_i32x4_extract_lane(slot, 3);
    const v128_t cached = wasm_i32x4_make((int32_t)keys[s0], (int32_t)keys[s1], (int32_t)keys[s2], (int32_t)keys[s3]);
    v128_t ok;
    v128_t e;
    if (wasm_i32x4_all_true(wasm_v128_or(wasm_i32x4_eq(cached, key), wasm_v128_not(valid)))) {
      e = wasm_f32x4_make(vals[s0], vals[s1], vals[s2], vals[s3]);
      ok = wasm_i32x4_splat(-1);
    } else {
      const v128_t a = wasm_f32x4_pmin(wasm_f32x4_pmax(wasm_f32x4_abs(t), lo), hi);
      const v128_t h = wasm_v128_and(wasm_f32x4_div(wasm_f32x4_sub(a, mn), rg), keepH);
      e = exp32x4(wasm_f32x4_mul(nf, wasm_f32x4_mul(h, h)), P, &ok);
      const int fill = wasm_i32x4_bitmask(wasm_v128_and(ok, valid));
      if (fill & 1) keys[s0] = (uint32_t)wasm_i32x4_extract_lane(key, 0), vals[s0] = wasm_f32x4_extract_lane(e, 0);
      if (fill & 2) keys[s1] = (uint32_t)wasm_i32x4_extract_lane(key, 1), vals[s1] = wasm_f32x4_extract_lane(e, 1);
      if (fill & 4) keys[s2] = (uint32_t)wasm_i32x4_extract_lane(key, 2), vals[s2] = wasm_f32x4_extract_lane(e, 2);
      if (fill & 8) keys[s3] = (uint32_t)wasm_i32x4_extract_lane(key, 3), vals[s3] = wasm_f32x4_extract_lane(e, 3);
    }
    const v128_t y = wasm_f32x4_mul(t, s);
    ok = wasm_v128_and(ok, wasm_f32x4_lt(wasm_f32x4_abs(y), tiny));
    const v128_t B = wasm_f32x4_mul(e, y);
    ok = wasm_v128_and(ok, wasm_f32x4_eq(B, B));
    if (wasm_v128_any_true(wasm_v128_andnot(valid, ok))) {
      const uint32_t end = j + 4 < nU ? j + 4 : nU;
      for (uint32_t l = j; l < end; l++) scoreLane(P, i, w, kb + Ur[l], Ti[Ur[l]], S[Ur[l]]);
      continue;
    }
    below = wasm_i32x4_sub(below, wasm_v128_and(valid, wasm_f32x4_lt(B, av)));
    const v128_t inLe = wasm_v128_and(valid, wasm_f32x4_le(B, bv));
    le = wasm_i32x4_sub(le, inLe);
    const v128_t cand = wasm_v128_and(valid, wasm_f32x4_ge(B, av));
    if (w->cap && wasm_v128_any_true(wasm_v128_and(cand, inLe))) {
      const int bits = wasm_i32x4_bitmask(wasm_v128_and(cand, inLe));
      for (int l = 0; l < 4; l++)
        if ((bits >> l) & 1) collect(w, lane(B, l));
    }
    const int cm = wasm_i32x4_bitmask(cand);
    if (cm) {
      const uint32_t c = P->candCount[i];
      if (c < P->candCap[i]) {
        const v128_t idx = wasm_v128_load((const void*)(uintptr_t)(P->shuf + 16 * (uint32_t)cm));
        wasm_v128_store((void*)(uintptr_t)(P->candPos[i] + 4 * c), wasm_i8x16_swizzle(wasm_i32x4_add(r, wasm_i32x4_splat((int32_t)kb)), idx));
        wasm_v128_store((void*)(uintptr_t)(P->candVal[i] + 4 * c), wasm_i8x16_swizzle(B, idx));
      }
      P->candCount[i] = c + (uint32_t)__builtin_popcount((unsigned)cm);
      mx = wasm_f32x4_pmax(mx, wasm_v128_bitselect(B, wasm_f32x4_splat(-__builtin_inff()), cand));
    }
  }
  w->below += hsum(below);
  w->le += hsum(le);
  for (int l = 0; l < 4; l++) {
    const float m = lane(mx, l);
    if (m > P->maxB[i]) P->maxB[i] = m;
  }
}

// L(x) · 2^23 for x ≥ 0 given as bits: log2(x) + 127 ≈ bits·2^-23 + 0.3335·m(1 − m), m the mantissa
// fraction; the estimate is at most 0.0097 below and 0.0054 above the truth (0 for x = 0, which only
// overestimates).
static inline v128_t log2Bits(v128_t bits) {
  const v128_t mf = wasm_f32x4_convert_i32x4(wasm_v128_and(bits, wasm_i32x4_splat(0x7fffff)));
  const v128_t corr = wasm_f32x4_mul(wasm_f32x4_mul(mf, wasm_f32x4_sub(wasm_f32x4_splat(0x1p23f), mf)),
                                     wasm_f32x4_splat(0.3335f * 0x1p-23f));
  return wasm_f32x4_add(wasm_f32x4_convert_i32x4(bits), corr);
}

// Blocks of SBLOCK positions: T_i and S of the block are computed once into the scratch (and stay
// in L1) for the classification of every task.
#define SBLOCK 512
#define SSTRIDE (SBLOCK + 4)

__attribute__((always_inline)) static inline void scoreBody(const int fmt, Params* P) {
  float* S = (float*)(uintptr_t)P->scratch;
  float* Ls = S + SSTRIDE;
  uint32_t* Ur = (uint32_t*)(Ls + SSTRIDE);  // offsets in the block of the unsure lanes
  float* T = (float*)(Ur + SSTRIDE);         // n rows
  const uint32_t x0 = P->in[0], k0 = P->k0, k1 = P->k1, n = P->n;
  const uint32_t shuf = P->shuf;
  const v128_t absMask = wasm_i32x4_splat(0x7fffffff);
  const v128_t iota = wasm_i32x4_make(0, 1, 2, 3);
  for (uint32_t kb = k0; kb < k1; kb += SBLOCK) {
    const uint32_t ke = kb + SBLOCK < k1 ? kb + SBLOCK : k1;
    // T_i = θ_i − θ₀ and S = Σ_i T_i summed in task order from +0 (as the exact score's sums), and L(|S|).
    for (uint32_t k = kb; k < ke; k += 4) {
      const v128_t b = ld4(fmt, x0, k);
      v128_t s = wasm_f32x4_splat(0.0f);
      for (uint32_t i = 0; i < n; i++) {
        const v128_t t = wasm_f32x4_sub(ld4(fmt, P->in[1 + i], k), b);
        wasm_v128_store(T + i * SSTRIDE + (k - kb), t);
        s = wasm_f32x4_add(s, t);
      }
      wasm_v128_store(S + (k - kb), s);
      wasm_v128_store(Ls + (k - kb), log2Bits(wasm_v128_and(s, absMask)));
    }
    for (uint32_t i = 0; i < n; i++) {
      Win* w = &P->win[i];
      const float* Ti = T + i * SSTRIDE;
      // c·h² ≤ c·(|T| − mn)²/rg² for every |T| (the clamp only lowers it), in units of 2^-23; zero range
      // under nan_guard "on": h = 0.
      const float cq = P->zr[i] ? 0.0f : (P->nf * 1.4426950408889634f * 0x1p23f) / (P->rg[i] * P->rg[i]);
      const v128_t cqv = wasm_f32x4_splat(cq), mn = wasm_f32x4_splat(P->mn[i]);
      const v128_t K = wasm_f32x4_splat(w->sureBelow);
      // Opposite signs give B ≤ 0, below a window that starts above 0.
      const v128_t signOk = wasm_i32x4_splat(w->sureBelow > -__builtin_inff() ? -1 : 0);
      uint32_t nU = 0;
      for (uint32_t k = kb; k < ke; k += 4) {
        const v128_t t = wasm_v128_load(Ti + (k - kb));
        const v128_t s = wasm_v128_load(S + (k - kb));
        const v128_t at = wasm_v128_and(t, absMask);
        const v128_t d = wasm_f32x4_sub(at, mn);
        const v128_t u = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(cqv, wasm_f32x4_mul(d, d)), log2Bits(at)),
                                        wasm_v128_load(Ls + (k - kb)));
        v128_t sure = wasm_v128_or(wasm_f32x4_lt(u, K), wasm_v128_and(wasm_i32x4_lt(wasm_v128_xor(t, s), wasm_i32x4_splat(0)), signOk));
        if (k + 4 > ke) sure = wasm_v128_or(sure, wasm_v128_not(tailMask(k, ke)));  // lanes past the end
        // Offsets of the unsure lanes packed to the end of the list, branch-free.
        const int us = wasm_i32x4_bitmask(sure) ^ 15;
        const v128_t idx = wasm_v128_load((const void*)(uintptr_t)(shuf + 16 * (uint32_t)us));
        wasm_v128_store(Ur + nU, wasm_i8x16_swizzle(wasm_i32x4_add(wasm_i32x4_splat((int32_t)(k - kb)), iota), idx));
        nU += (uint32_t)__builtin_popcount((unsigned)us);
      }
      // Sure lanes are below a, so ≤ b too.
      const uint32_t sure = (ke - kb) - nU;
      w->below += sure;
      w->le += sure;
      if (nU) scoreUnsure(P, i, w, Ti, S, Ur, nU, kb);
    }
  }
}

/** Scratch bytes per thread the kernels need for `n` tasks. */
__attribute__((export_name("scratch_bytes"))) uint32_t scratch_bytes(uint32_t n) {
  const uint32_t score = (3 + n) * SSTRIDE * 4, merge = 2 * BLOCK * 4, mag = (MBLOCK + 4) * 4;
  const uint32_t m = score > merge ? score : merge;
  return (m > mag ? m : mag) + 64;
}

/** Score windows, maxima and candidates of positions [k0, k1) (k0 a multiple of 4). */
__attribute__((export_name("score_pass"))) void score_pass(Params* P) {
  if (P->fmt == 0) scoreBody(0, P);
  else if (P->fmt == 2) scoreBody(2, P);
  else scoreBody(1, P);
}

/** Exact scores of every task at positions [k0, k1) into out + 4·(i·(k1 − k0) + k − k0) (samples, fallbacks). */
__attribute__((export_name("score_emit"))) void score_emit(Params* P, float* out) {
  const uint32_t k0 = P->k0, k1 = P->k1, len = k1 - k0;
  float* S = (float*)(uintptr_t)P->scratch;
  for (uint32_t kb = k0; kb < k1; kb += BLOCK) {
    const uint32_t ke = kb + BLOCK < k1 ? kb + BLOCK : k1;
    for (uint32_t k = kb; k < ke; k++) {
      const float b = ld1(P->fmt, P->in[0], k);
      float s = 0.0f;
      for (uint32_t i = 0; i < P->n; i++) s += ld1(P->fmt, P->in[1 + i], k) - b;
      S[k - kb] = s;
    }
    for (uint32_t i = 0; i < P->n; i++) {
      for (uint32_t k = kb; k < ke; k++) {
        const float t = ld1(P->fmt, P->in[1 + i], k) - ld1(P->fmt, P->in[0], k);
        out[i * len + (k - k0)] = exactScore(P, i, t, S[k - kb]);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Merge: τ = Σ_i λ_i T̃_i W_i / max(Σ_i W_i, 1e-12) from the candidates, θ = θ₀ + λ·τ, encoded.

// float32 → binary16 bits, round to nearest even, overflow to ±Inf, NaN quiet (as tensor-core's
// f32ToF16): normal results rebias the exponent and round the 13 dropped bits; below 2^-14 the value
// is counted in units of 2^-24 (exact in float32) and rounded to an even integer.
static inline v128_t f32ToF16x4(v128_t o) {
  const v128_t abs = wasm_v128_and(o, wasm_i32x4_splat(0x7fffffff));
  const v128_t v = wasm_i32x4_sub(abs, wasm_i32x4_splat(0x38000000));
  const v128_t normal = wasm_u32x4_shr(
      wasm_i32x4_add(wasm_i32x4_add(v, wasm_i32x4_splat(0xfff)), wasm_v128_and(wasm_u32x4_shr(v, 13), wasm_i32x4_splat(1))),
      13);
  const v128_t special = wasm_v128_bitselect(
      wasm_v128_or(wasm_i32x4_splat(0x7e00), wasm_v128_and(wasm_u32x4_shr(abs, 13), wasm_i32x4_splat(0x3ff))),
      wasm_i32x4_splat(0x7c00), wasm_i32x4_gt(abs, wasm_i32x4_splat(0x7f800000)));
  const v128_t tiny = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(abs, wasm_f32x4_splat(0x1p24f))));
  const v128_t big = wasm_i32x4_gt(abs, wasm_i32x4_splat(0x477fefff));
  const v128_t small = wasm_i32x4_lt(abs, wasm_i32x4_splat(0x38800000));
  const v128_t r = wasm_v128_bitselect(tiny, wasm_v128_bitselect(special, normal, big), small);
  return wasm_v128_or(r, wasm_u32x4_shr(wasm_v128_and(o, wasm_i32x4_splat((int32_t)0x80000000u)), 16));
}

static inline void storeOut(const Params* P, uint32_t k, float v) {
  if (P->outFmt == 1) {
    ((float*)(uintptr_t)P->out)[k] = v;
    return;
  }
  if (P->outFmt == 2) {
    ((uint16_t*)(uintptr_t)P->out)[k] = (uint16_t)wasm_i32x4_extract_lane(f32ToF16x4(wasm_f32x4_splat(v)), 0);
    return;
  }
  const uint32_t b = __builtin_bit_cast(uint32_t, v);
  ((uint16_t*)(uintptr_t)P->out)[k] = (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

__attribute__((always_inline)) static inline void mergeBody(const int fmt, Params* P) {
  float* num = (float*)(uintptr_t)P->scratch;
  float* den = num + BLOCK;
  const uint32_t x0 = P->in[0], k0 = P->k0, k1 = P->k1, n = P->n;
  uint32_t* cur = P->cursor;  // in the parameter block (zeroed by the caller before a range's first call)
  const Segment* segs = (const Segment*)(uintptr_t)P->seg;
  const float tiny = 1e-12f;
  for (uint32_t g = 0; g < P->nseg; g++) {
    const Segment* sg = &segs[g];
    const uint32_t s0 = sg->start > k0 ? sg->start : k0;
    const uint32_t s1 = sg->end < k1 ? sg->end : k1;
    if (s0 >= s1) continue;
    for (uint32_t kb = s0; kb < s1; kb += BLOCK) {
      const uint32_t ke = kb + BLOCK < s1 ? kb + BLOCK : s1;
      const uint32_t len = ke - kb;
      for (uint32_t k = 0; k < len; k++) {
        num[k] = 0.0f;
        den[k] = 0.0f;
      }
      for (uint32_t i = 0; i < n; i++) {
        const uint32_t* pos = (const uint32_t*)(uintptr_t)P->candPos[i];
        const float* val = (const float*)(uintptr_t)P->candVal[i];
        const uint32_t count = P->candCount[i];
        uint32_t c = cur[i];
        while (c < count && pos[c] < kb) c++;  // candidates of skipped positions (none in order)
        const float thr = P->thr[i], dn = P->denom[i], lo = P->lo[i], hi = P->hi[i], li = sg->li[i];
        const uint32_t xi = P->in[1 + i];
        const int dropped = P->drop[i];
        if (dropped) {  // W = 0 everywhere: skip the task's candidates of this block
          while (c < count && pos[c] < ke) c++;
          cur[i] = c;
          continue;
        }
        // Four candidates at a time while all four lie in this block. A score at or below the
        // threshold gets w = +0, and adding +0 or ±0 leaves den and num (never −0) unchanged, exactly as
        // skipping it does.
        const v128_t thrv = wasm_f32x4_splat(thr), dnv = wasm_f32x4_splat(dn), liv = wasm_f32x4_splat(li);
        const v128_t lov = wasm_f32x4_splat(lo), hiv = wasm_f32x4_splat(hi);
        for (; c + 4 <= count && pos[c + 3] < ke; c += 4) {
          const v128_t B = wasm_v128_load(val + c);
          const uint32_t q0 = pos[c], q1 = pos[c + 1], q2 = pos[c + 2], q3 = pos[c + 3];
          const v128_t t = wasm_f32x4_sub(wasm_f32x4_make(ld1(fmt, xi, q0), ld1(fmt, xi, q1), ld1(fmt, xi, q2), ld1(fmt, xi, q3)),
                                          wasm_f32x4_make(ld1(fmt, x0, q0), ld1(fmt, x0, q1), ld1(fmt, x0, q2), ld1(fmt, x0, q3)));
          const v128_t a = wasm_f32x4_pmin(wasm_f32x4_pmax(wasm_f32x4_abs(t), lov), hiv);
          // sign(T)·a, with sign(0) = 0
          const v128_t tc = wasm_v128_and(wasm_v128_or(a, wasm_v128_and(t, wasm_i32x4_splat((int32_t)0x80000000u))),
                                          wasm_f32x4_ne(t, wasm_f32x4_splat(0.0f)));
          const v128_t w = wasm_v128_and(wasm_f32x4_div(wasm_f32x4_sub(B, thrv), dnv), wasm_f32x4_gt(B, thrv));
          const v128_t term = wasm_f32x4_mul(liv, wasm_f32x4_mul(tc, w));
          den[q0 - kb] += wasm_f32x4_extract_lane(w, 0);
          num[q0 - kb] += wasm_f32x4_extract_lane(term, 0);
          den[q1 - kb] += wasm_f32x4_extract_lane(w, 1);
          num[q1 - kb] += wasm_f32x4_extract_lane(term, 1);
          den[q2 - kb] += wasm_f32x4_extract_lane(w, 2);
          num[q2 - kb] += wasm_f32x4_extract_lane(term, 2);
          den[q3 - kb] += wasm_f32x4_extract_lane(w, 3);
          num[q3 - kb] += wasm_f32x4_extract_lane(term, 3);
        }
        for (; c < count && pos[c] < ke; c++) {
          const float B = val[c];
          if (!(B > thr)) continue;
          const uint32_t k = pos[c];
          const float t = ld1(fmt, xi, k) - ld1(fmt, x0, k);
          const float a = clampMag(t, lo, hi);
          const float tc = t > 0.0f ? a : t < 0.0f ? -a : 0.0f;
          const float w = (B - thr) / dn;
          den[k - kb] = den[k - kb] + w;
          num[k - kb] = num[k - kb] + li * (tc * w);
        }
        cur[i] = c;
      }
      const double lam = sg->lambda;
      uint32_t k = 0;
      const v128_t tv = wasm_f32x4_splat(tiny);
      const v128_t lamv = wasm_f64x2_splat(lam);
      const int unit = lam == 1.0;  // λ·τ rounds to τ itself: skip the float64 step
      for (; k + 4 <= len; k += 4) {
        const v128_t tau = wasm_f32x4_div(wasm_v128_load(num + k), wasm_f32x4_max(wasm_v128_load(den + k), tv));
        v128_t step = tau;
        if (!unit) {
          const v128_t lo2 = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(lamv, wasm_f64x2_promote_low_f32x4(tau)));
          const v128_t hi2 = wasm_f32x4_demote_f64x2_zero(
              wasm_f64x2_mul(lamv, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(tau, tau, 2, 3, 0, 1))));
          step = wasm_i32x4_shuffle(lo2, hi2, 0, 1, 4, 5);
        }
        const v128_t o = wasm_f32x4_add(ld4(fmt, x0, kb + k), step);
        if (P->outFmt == 1) {
          wasm_v128_store((void*)(uintptr_t)(P->out + 4 * (kb + k)), o);
        } else {
          v128_t r = P->outFmt == 2 ? f32ToF16x4(o)
                                    : wasm_u32x4_shr(wasm_i32x4_add(wasm_i32x4_add(o, wasm_i32x4_splat(0x7fff)),
                                                                    wasm_v128_and(wasm_u32x4_shr(o, 16), wasm_i32x4_splat(1))),
                                                     16);
          r = wasm_u16x8_narrow_i32x4(r, r);
          wasm_v128_store64_lane((void*)(uintptr_t)(P->out + 2 * (kb + k)), r, 0);
        }
      }
      for (; k < len; k++) {
        const float d = den[k];
        const float tau = num[k] / (d > tiny ? d : tiny);
        storeOut(P, kb + k, ld1(fmt, x0, kb + k) + (float)(lam * (double)tau));
      }
    }
  }
}

/** Merged, encoded output of positions [k0, k1) over the segments (tensors) given; consecutive calls continue the cursors. */
__attribute__((export_name("merge_pass"))) void merge_pass(Params* P) {
  if (P->fmt == 0) mergeBody(0, P);
  else if (P->fmt == 2) mergeBody(2, P);
  else mergeBody(1, P);
}
