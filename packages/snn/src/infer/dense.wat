;; Event-driven dense accumulation for the fast inference path, WebAssembly SIMD (f32x4).
;; Hand-written; compiled to dense-wasm.ts by scripts/build-wasm.mjs (test/wasm.test.ts checks that the
;; committed bytes are up to date). Pointers are byte offsets into the exported memory; rows hold n32
;; float32 (the layer width rounded up to a multiple of 32, padded with zeros).
(module
  (memory (export "memory") 1)

  ;; out[0..n32) = bias[0..n32) + sum over k < count of x[i_k] * W[i_k, 0..n32), i_k = active[k].
    ;; The output is processed in tiles of 32 floats held in eight v128 locals (registers) while every active
  ;; row streams past, so each 4 multiply-adds cost one load; rows of inputs equal to 1 (spikes) skip the multiply.
  (func (export "accumulate")
    (param $w i32) (param $bias i32) (param $x i32) (param $active i32) (param $count i32)
    (param $out i32) (param $n32 i32)
    (local $bytes i32) (local $o i32) (local $k i32) (local $i i32) (local $q i32) (local $v f32)
    (local $vv v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local.set $bytes (i32.shl (local.get $n32) (i32.const 2)))
    (block $tiles_done
      (loop $tiles
        (br_if $tiles_done (i32.ge_u (local.get $o) (local.get $bytes)))
        (local.set $a0 (v128.load (i32.add (local.get $bias) (local.get $o))))
        (local.set $a1 (v128.load offset=16 (i32.add (local.get $bias) (local.get $o))))
        (local.set $a2 (v128.load offset=32 (i32.add (local.get $bias) (local.get $o))))
        (local.set $a3 (v128.load offset=48 (i32.add (local.get $bias) (local.get $o))))
        (local.set $a4 (v128.load offset=64 (i32.add (local.get $bias) (local.get $o))))
        (local.set $a5 (v128.load offset=80 (i32.add (local.get $bias) (local.get $o))))
        (local.set $a6 (v128.load offset=96 (i32.add (local.get $bias) (local.get $o))))
        (local.set $a7 (v128.load offset=112 (i32.add (local.get $bias) (local.get $o))))
        (local.set $k (i32.const 0))
        (block $rows_done
          (loop $rows
            (br_if $rows_done (i32.ge_u (local.get $k) (local.get $count)))
            (local.set $i (i32.load (i32.add (local.get $active) (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $v (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $q (i32.add (i32.add (local.get $w) (i32.mul (local.get $i) (local.get $bytes))) (local.get $o)))
            (if (f32.eq (local.get $v) (f32.const 1))
              (then
                (local.set $a0 (f32x4.add (local.get $a0) (v128.load (local.get $q))))
                (local.set $a1 (f32x4.add (local.get $a1) (v128.load offset=16 (local.get $q))))
                (local.set $a2 (f32x4.add (local.get $a2) (v128.load offset=32 (local.get $q))))
                (local.set $a3 (f32x4.add (local.get $a3) (v128.load offset=48 (local.get $q))))
                (local.set $a4 (f32x4.add (local.get $a4) (v128.load offset=64 (local.get $q))))
                (local.set $a5 (f32x4.add (local.get $a5) (v128.load offset=80 (local.get $q))))
                (local.set $a6 (f32x4.add (local.get $a6) (v128.load offset=96 (local.get $q))))
                (local.set $a7 (f32x4.add (local.get $a7) (v128.load offset=112 (local.get $q)))))
              (else
                (local.set $vv (f32x4.splat (local.get $v)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $vv) (v128.load (local.get $q)))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $vv) (v128.load offset=16 (local.get $q)))))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $vv) (v128.load offset=32 (local.get $q)))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $vv) (v128.load offset=48 (local.get $q)))))
                (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $vv) (v128.load offset=64 (local.get $q)))))
                (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $vv) (v128.load offset=80 (local.get $q)))))
                (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $vv) (v128.load offset=96 (local.get $q)))))
                (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $vv) (v128.load offset=112 (local.get $q)))))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $rows)))
        (v128.store (i32.add (local.get $out) (local.get $o)) (local.get $a0))
        (v128.store offset=16 (i32.add (local.get $out) (local.get $o)) (local.get $a1))
        (v128.store offset=32 (i32.add (local.get $out) (local.get $o)) (local.get $a2))
        (v128.store offset=48 (i32.add (local.get $out) (local.get $o)) (local.get $a3))
        (v128.store offset=64 (i32.add (local.get $out) (local.get $o)) (local.get $a4))
        (v128.store offset=80 (i32.add (local.get $out) (local.get $o)) (local.get $a5))
        (v128.store offset=96 (i32.add (local.get $out) (local.get $o)) (local.get $a6))
        (v128.store offset=112 (i32.add (local.get $out) (local.get $o)) (local.get $a7))
        (local.set $o (i32.add (local.get $o) (i32.const 128)))
        (br $tiles))))
)
