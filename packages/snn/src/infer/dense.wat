;; Event-driven dense accumulation for the fast inference path, WebAssembly SIMD (f32x4).
;; Hand-written; compiled to dense-wasm.ts by scripts/build-wasm.mjs (test/wasm.test.ts checks that the
;; committed bytes are up to date). Pointers are byte offsets into the exported memory; rows hold n16
;; float32 (the layer width rounded up to a multiple of 16, padded with zeros).
(module
  (memory (export "memory") 1)

  ;; out[0..n16) = bias[0..n16) + sum over k < count of x[i_k] * W[i_k, 0..n16), i_k = active[k].
  ;; Rows of inputs equal to 1 (spikes) are added without the multiply.
  (func (export "accumulate")
    (param $w i32) (param $bias i32) (param $x i32) (param $active i32) (param $count i32)
    (param $out i32) (param $n16 i32)
    (local $bytes i32) (local $o i32) (local $k i32) (local $i i32) (local $row i32)
    (local $v f32) (local $vv v128) (local $p i32) (local $q i32)
    (local.set $bytes (i32.shl (local.get $n16) (i32.const 2)))
    (block $d0
      (loop $l0
        (br_if $d0 (i32.ge_u (local.get $o) (local.get $bytes)))
        (v128.store (i32.add (local.get $out) (local.get $o))
          (v128.load (i32.add (local.get $bias) (local.get $o))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $l0)))
    (block $d1
      (loop $l1
        (br_if $d1 (i32.ge_u (local.get $k) (local.get $count)))
        (local.set $i (i32.load (i32.add (local.get $active) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $v (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $row (i32.add (local.get $w) (i32.mul (local.get $i) (local.get $bytes))))
        (local.set $o (i32.const 0))
        (if (f32.eq (local.get $v) (f32.const 1))
          (then
            (block $d2
              (loop $l2
                (br_if $d2 (i32.ge_u (local.get $o) (local.get $bytes)))
                (local.set $p (i32.add (local.get $out) (local.get $o)))
                (local.set $q (i32.add (local.get $row) (local.get $o)))
                (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p)) (v128.load (local.get $q))))
                (v128.store offset=16 (local.get $p)
                  (f32x4.add (v128.load offset=16 (local.get $p)) (v128.load offset=16 (local.get $q))))
                (v128.store offset=32 (local.get $p)
                  (f32x4.add (v128.load offset=32 (local.get $p)) (v128.load offset=32 (local.get $q))))
                (v128.store offset=48 (local.get $p)
                  (f32x4.add (v128.load offset=48 (local.get $p)) (v128.load offset=48 (local.get $q))))
                (local.set $o (i32.add (local.get $o) (i32.const 64)))
                (br $l2))))
          (else
            (local.set $vv (f32x4.splat (local.get $v)))
            (block $d3
              (loop $l3
                (br_if $d3 (i32.ge_u (local.get $o) (local.get $bytes)))
                (local.set $p (i32.add (local.get $out) (local.get $o)))
                (local.set $q (i32.add (local.get $row) (local.get $o)))
                (v128.store (local.get $p)
                  (f32x4.add (v128.load (local.get $p)) (f32x4.mul (local.get $vv) (v128.load (local.get $q)))))
                (v128.store offset=16 (local.get $p)
                  (f32x4.add (v128.load offset=16 (local.get $p))
                    (f32x4.mul (local.get $vv) (v128.load offset=16 (local.get $q)))))
                (v128.store offset=32 (local.get $p)
                  (f32x4.add (v128.load offset=32 (local.get $p))
                    (f32x4.mul (local.get $vv) (v128.load offset=32 (local.get $q)))))
                (v128.store offset=48 (local.get $p)
                  (f32x4.add (v128.load offset=48 (local.get $p))
                    (f32x4.mul (local.get $vv) (v128.load offset=48 (local.get $q)))))
                (local.set $o (i32.add (local.get $o) (i32.const 64)))
                (br $l3)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $l1))))
)
