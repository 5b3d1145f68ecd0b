;; SIMD kernels for the 16-bit float codecs and the dense linear merge (fused task arithmetic).
;; Hand-written; compiled to simd-wasm.ts by scripts/build-wasm.mjs (test/simd-wasm.test.ts checks it is
;; up to date). Pointers are byte offsets into the exported memory, n counts elements; callers lay out
;; the buffers (see simd.ts). Every result is bit-identical to the JavaScript code in half.ts and to
;; merging's denseLinearMerge: f32 differences, then f64 products and sums rounded once to f32.
(module
  (memory (export "memory") 4)

  ;; bfloat16 bits -> float32: a 16-bit left shift.
  (func (export "bf16_to_f32") (param $src i32) (param $dst i32) (param $n i32)
    (local $i i32) (local $v v128)
    (block $done
      (loop $simd
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $n)))
        (local.set $v (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))
        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
          (i32x4.shl (i32x4.extend_low_i16x8_u (local.get $v)) (i32.const 16)))
        (v128.store offset=16 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
          (i32x4.shl (i32x4.extend_high_i16x8_u (local.get $v)) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $simd)))
    (block $end
      (loop $tail
        (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
          (i32.shl (i32.load16_u (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1))))
            (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  ;; float32 bit pattern -> bfloat16 bits: round to nearest even, NaN made quiet (top mantissa bit set).
  (func $bf16_one (param $b i32) (result i32)
    (if (result i32) (i32.gt_u (i32.and (local.get $b) (i32.const 0x7fffffff)) (i32.const 0x7f800000))
      (then (i32.or (i32.shr_u (local.get $b) (i32.const 16)) (i32.const 0x40)))
      (else (i32.shr_u
        (i32.add (i32.add (local.get $b) (i32.const 0x7fff))
          (i32.and (i32.shr_u (local.get $b) (i32.const 16)) (i32.const 1)))
        (i32.const 16)))))

  ;; float32 -> bfloat16 bits.
  (func (export "f32_to_bf16") (param $src i32) (param $dst i32) (param $n i32)
    (local $i i32) (local $p i32) (local $a v128) (local $b v128)
    (local $quiet v128) (local $half v128) (local $one v128) (local $abs v128) (local $inf v128)
    (local.set $quiet (i32x4.splat (i32.const 0x40)))
    (local.set $half (i32x4.splat (i32.const 0x7fff)))
    (local.set $one (i32x4.splat (i32.const 1)))
    (local.set $abs (i32x4.splat (i32.const 0x7fffffff)))
    (local.set $inf (i32x4.splat (i32.const 0x7f800000)))
    (block $done
      (loop $simd
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $n)))
        (local.set $p (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))
        ;; $bf16x4 written out twice (calls are not inlined by every engine).
        (local.set $a (v128.load (local.get $p)))
        (local.set $b (v128.load offset=16 (local.get $p)))
        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))
          (i16x8.narrow_i32x4_u
            (v128.bitselect
              (v128.or (i32x4.shr_u (local.get $a) (i32.const 16)) (local.get $quiet))
              (i32x4.shr_u
                (i32x4.add (i32x4.add (local.get $a) (local.get $half))
                  (v128.and (i32x4.shr_u (local.get $a) (i32.const 16)) (local.get $one)))
                (i32.const 16))
              (i32x4.gt_u (v128.and (local.get $a) (local.get $abs)) (local.get $inf)))
            (v128.bitselect
              (v128.or (i32x4.shr_u (local.get $b) (i32.const 16)) (local.get $quiet))
              (i32x4.shr_u
                (i32x4.add (i32x4.add (local.get $b) (local.get $half))
                  (v128.and (i32x4.shr_u (local.get $b) (i32.const 16)) (local.get $one)))
                (i32.const 16))
              (i32x4.gt_u (v128.and (local.get $b) (local.get $abs)) (local.get $inf)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $simd)))
    (block $end
      (loop $tail
        (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store16 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))
          (call $bf16_one (i32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  ;; acc[k] = f32(acc[k] + w * (m[k] - b[k])) with the difference in float32 and the rest in float64,
  ;; as JavaScript's `acc[k] += w * Math.fround(m[k] - b[k])` on Float32Arrays.
  (func (export "axpy_delta") (param $acc i32) (param $m i32) (param $b i32) (param $w f64) (param $n i32)
    (local $i i32) (local $o i32) (local $d v128) (local $a v128) (local $wv v128)
    (local.set $wv (f64x2.splat (local.get $w)))
    (block $done
      (loop $simd
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $d (f32x4.sub
          (v128.load (i32.add (local.get $m) (local.get $o)))
          (v128.load (i32.add (local.get $b) (local.get $o)))))
        (local.set $a (v128.load (i32.add (local.get $acc) (local.get $o))))
        (v128.store (i32.add (local.get $acc) (local.get $o))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero
              (f64x2.add (f64x2.promote_low_f32x4 (local.get $a))
                (f64x2.mul (local.get $wv) (f64x2.promote_low_f32x4 (local.get $d)))))
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $a) (local.get $a)))
                (f64x2.mul (local.get $wv)
                  (f64x2.promote_low_f32x4
                    (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $d) (local.get $d))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $simd)))
    (block $end
      (loop $tail
        (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (f32.store (i32.add (local.get $acc) (local.get $o))
          (f32.demote_f64
            (f64.add (f64.promote_f32 (f32.load (i32.add (local.get $acc) (local.get $o))))
              (f64.mul (local.get $w)
                (f64.promote_f32 (f32.sub
                  (f32.load (i32.add (local.get $m) (local.get $o)))
                  (f32.load (i32.add (local.get $b) (local.get $o)))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  ;; acc[k] = f32(b[k] + s * acc[k]) in float64, as `acc[k] = b[k] + s * acc[k]` on Float32Arrays.
  (func (export "add_scaled") (param $acc i32) (param $b i32) (param $s f64) (param $n i32)
    (local $i i32) (local $o i32) (local $a v128) (local $bb v128) (local $sv v128)
    (local.set $sv (f64x2.splat (local.get $s)))
    (block $done
      (loop $simd
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $a (v128.load (i32.add (local.get $acc) (local.get $o))))
        (local.set $bb (v128.load (i32.add (local.get $b) (local.get $o))))
        (v128.store (i32.add (local.get $acc) (local.get $o))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero
              (f64x2.add (f64x2.promote_low_f32x4 (local.get $bb))
                (f64x2.mul (local.get $sv) (f64x2.promote_low_f32x4 (local.get $a)))))
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $bb) (local.get $bb)))
                (f64x2.mul (local.get $sv)
                  (f64x2.promote_low_f32x4
                    (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $a) (local.get $a))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $simd)))
    (block $end
      (loop $tail
        (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (f32.store (i32.add (local.get $acc) (local.get $o))
          (f32.demote_f64
            (f64.add (f64.promote_f32 (f32.load (i32.add (local.get $b) (local.get $o))))
              (f64.mul (local.get $s) (f64.promote_f32 (f32.load (i32.add (local.get $acc) (local.get $o))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  ;; acc[k] = f32(acc[k] + (m[k] - b[k])) with m given as bfloat16 bits: the weight-1 case of axpy_delta.
  ;; With w = 1 the float64 product is the float32 difference itself, and a float32 sum rounded once
  ;; through float64 equals the float32 sum, so plain float32 arithmetic gives the same bits.
  (func (export "add_delta_bf16") (param $acc i32) (param $m i32) (param $b i32) (param $n i32)
    (local $i i32) (local $o i32) (local $v v128)
    (block $done
      (loop $simd
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $v (v128.load (i32.add (local.get $m) (i32.shl (local.get $i) (i32.const 1)))))
        (v128.store (i32.add (local.get $acc) (local.get $o))
          (f32x4.add (v128.load (i32.add (local.get $acc) (local.get $o)))
            (f32x4.sub (i32x4.shl (i32x4.extend_low_i16x8_u (local.get $v)) (i32.const 16))
              (v128.load (i32.add (local.get $b) (local.get $o))))))
        (v128.store offset=16 (i32.add (local.get $acc) (local.get $o))
          (f32x4.add (v128.load offset=16 (i32.add (local.get $acc) (local.get $o)))
            (f32x4.sub (i32x4.shl (i32x4.extend_high_i16x8_u (local.get $v)) (i32.const 16))
              (v128.load offset=16 (i32.add (local.get $b) (local.get $o))))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $simd)))
    (block $end
      (loop $tail
        (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (f32.store (i32.add (local.get $acc) (local.get $o))
          (f32.add (f32.load (i32.add (local.get $acc) (local.get $o)))
            (f32.sub
              (f32.reinterpret_i32 (i32.shl
                (i32.load16_u (i32.add (local.get $m) (i32.shl (local.get $i) (i32.const 1)))) (i32.const 16)))
              (f32.load (i32.add (local.get $b) (local.get $o))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  ;; binary16 bits -> float32, bit-exact with half.ts's table: exponent and mantissa shifted into place
  ;; and scaled by 2^112 (exact, also for subnormals, which become normal float32); Inf/NaN keep their
  ;; payload under an all-ones exponent; the sign is or-ed back.
  (func $f16x4 (param $h v128) (result v128)
    (local $em v128)
    (local.set $em (i32x4.shl (v128.and (local.get $h) (i32x4.splat (i32.const 0x7fff))) (i32.const 13)))
    (v128.or
      (i32x4.shl (v128.and (local.get $h) (i32x4.splat (i32.const 0x8000))) (i32.const 16))
      (v128.bitselect
        (v128.or (local.get $em) (i32x4.splat (i32.const 0x7f800000)))
        (f32x4.mul (local.get $em) (i32x4.splat (i32.const 0x77800000)))
        (i32x4.eq (v128.and (local.get $h) (i32x4.splat (i32.const 0x7c00))) (i32x4.splat (i32.const 0x7c00))))))

  (func (export "f16_to_f32") (param $src i32) (param $dst i32) (param $n i32)
    (local $i i32) (local $v v128) (local $p i32)
    (block $done
      (loop $simd
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $n)))
        (local.set $v (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $p (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))))
        (v128.store (local.get $p) (call $f16x4 (i32x4.extend_low_i16x8_u (local.get $v))))
        (v128.store offset=16 (local.get $p) (call $f16x4 (i32x4.extend_high_i16x8_u (local.get $v))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $simd)))
    (block $end
      (loop $tail
        (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
          (i32x4.extract_lane 0 (call $f16x4 (i32x4.splat
            (i32.load16_u (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  ;; Four float32 bit patterns -> binary16 bits (low 16 bits of each lane), as half.ts's bitsToF16:
  ;; round to nearest even; >= 65520 -> Inf; NaN quiet with the top payload bits; subnormals rounded by
  ;; adding 0.5 in float32 (its ulp is 2^-24, the binary16 subnormal step).
  (func $f16enc4 (param $b v128) (result v128)
    (local $abs v128) (local $v v128) (local $r v128)
    (local.set $abs (v128.and (local.get $b) (i32x4.splat (i32.const 0x7fffffff))))
    (local.set $v (i32x4.sub (local.get $abs) (i32x4.splat (i32.const 0x38000000))))
    (local.set $r (i32x4.shr_u
      (i32x4.add (i32x4.add (local.get $v) (i32x4.splat (i32.const 0xfff)))
        (v128.and (i32x4.shr_u (local.get $v) (i32.const 13)) (i32x4.splat (i32.const 1))))
      (i32.const 13)))
    (local.set $r (v128.bitselect
      (i32x4.sub (f32x4.add (local.get $abs) (i32x4.splat (i32.const 0x3f000000))) (i32x4.splat (i32.const 0x3f000000)))
      (local.get $r)
      (i32x4.lt_u (local.get $abs) (i32x4.splat (i32.const 0x38800000)))))
    (local.set $r (v128.bitselect
      (i32x4.splat (i32.const 0x7c00))
      (local.get $r)
      (i32x4.ge_u (local.get $abs) (i32x4.splat (i32.const 0x477ff000)))))
    (local.set $r (v128.bitselect
      (v128.or (i32x4.splat (i32.const 0x7e00))
        (v128.and (i32x4.shr_u (local.get $abs) (i32.const 13)) (i32x4.splat (i32.const 0x3ff))))
      (local.get $r)
      (i32x4.gt_u (local.get $abs) (i32x4.splat (i32.const 0x7f800000)))))
    (v128.or (local.get $r)
      (v128.and (i32x4.shr_u (local.get $b) (i32.const 16)) (i32x4.splat (i32.const 0x8000)))))

  (func (export "f32_to_f16") (param $src i32) (param $dst i32) (param $n i32)
    (local $i i32) (local $p i32)
    (block $done
      (loop $simd
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $n)))
        (local.set $p (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))
        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))
          (i16x8.narrow_i32x4_u
            (call $f16enc4 (v128.load (local.get $p)))
            (call $f16enc4 (v128.load offset=16 (local.get $p)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $simd)))
    (block $end
      (loop $tail
        (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store16 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))
          (i32x4.extract_lane 0 (call $f16enc4 (i32x4.splat
            (i32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))
)
