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

  ;; Appends o + lane to idx for each set bit of the 4-bit mask (branch-free); returns the new count.
  (func $compact (param $bits i32) (param $o i32) (param $idx i32) (param $m i32) (result i32)
    (i32.store (i32.add (local.get $idx) (i32.shl (local.get $m) (i32.const 2))) (local.get $o))
    (local.set $m (i32.add (local.get $m) (i32.and (local.get $bits) (i32.const 1))))
    (i32.store (i32.add (local.get $idx) (i32.shl (local.get $m) (i32.const 2))) (i32.add (local.get $o) (i32.const 1)))
    (local.set $m (i32.add (local.get $m) (i32.and (i32.shr_u (local.get $bits) (i32.const 1)) (i32.const 1))))
    (i32.store (i32.add (local.get $idx) (i32.shl (local.get $m) (i32.const 2))) (i32.add (local.get $o) (i32.const 2)))
    (local.set $m (i32.add (local.get $m) (i32.and (i32.shr_u (local.get $bits) (i32.const 2)) (i32.const 1))))
    (i32.store (i32.add (local.get $idx) (i32.shl (local.get $m) (i32.const 2))) (i32.add (local.get $o) (i32.const 3)))
    (i32.add (local.get $m) (i32.and (i32.shr_u (local.get $bits) (i32.const 3)) (i32.const 1))))

  ;; Lanes of the 4-wide group starting at o that lie below n, as a 4-bit mask.
  (func $valid (param $o i32) (param $n i32) (result i32)
    (if (result i32) (i32.ge_u (i32.add (local.get $o) (i32.const 4)) (local.get $n))
      (then (i32.sub (i32.shl (i32.const 1) (i32.sub (local.get $n) (local.get $o))) (i32.const 1)))
      (else (i32.const 15))))

  ;; One neuron step for n neurons: H = a·V + I; S = [H >= V_th]; V = hard ? (S ? V_reset : H) : H − V_th·S.
  ;; Writes spikes (0/1) to vals and their indices to idx; returns the number of spikes. idx needs n + 4 slots.
  (func (export "fire")
    (param $cur i32) (param $v i32) (param $vals i32) (param $idx i32) (param $n i32)
    (param $a f32) (param $vth f32) (param $vreset f32) (param $soft i32) (result i32)
    (local $o i32) (local $m i32) (local $p i32) (local $h v128) (local $mask v128) (local $s v128)
    (local $av v128) (local $tv v128) (local $rv v128) (local $one v128) (local $bits i32)
    (local.set $av (f32x4.splat (local.get $a)))
    (local.set $tv (f32x4.splat (local.get $vth)))
    (local.set $rv (f32x4.splat (local.get $vreset)))
    (local.set $one (f32x4.splat (f32.const 1)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $o) (local.get $n)))
        (local.set $p (i32.shl (local.get $o) (i32.const 2)))
        (local.set $h (f32x4.add (f32x4.mul (local.get $av) (v128.load (i32.add (local.get $v) (local.get $p))))
          (v128.load (i32.add (local.get $cur) (local.get $p)))))
        (local.set $mask (f32x4.ge (local.get $h) (local.get $tv)))
        (local.set $s (v128.and (local.get $mask) (local.get $one)))
        (v128.store (i32.add (local.get $vals) (local.get $p)) (local.get $s))
        (v128.store (i32.add (local.get $v) (local.get $p))
          (if (result v128) (local.get $soft)
            (then (f32x4.sub (local.get $h) (f32x4.mul (local.get $s) (local.get $tv))))
            (else (v128.bitselect (local.get $rv) (local.get $h) (local.get $mask)))))
        (local.set $bits (i32.and (i32x4.bitmask (local.get $mask)) (call $valid (local.get $o) (local.get $n))))
        (if (local.get $bits)
          (then (local.set $m (call $compact (local.get $bits) (local.get $o) (local.get $idx) (local.get $m)))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $l)))
    (local.get $m))

  ;; SEW connect over n values: kind 0 ADD a + s, 1 AND a·s, 2 IAND (1 − a)·s; writes out and the indices of
  ;; its non-zero values; returns their number.
  (func (export "connect")
    (param $a i32) (param $s i32) (param $out i32) (param $idx i32) (param $n i32) (param $kind i32) (result i32)
    (local $o i32) (local $m i32) (local $p i32) (local $x v128) (local $y v128) (local $r v128) (local $bits i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $o) (local.get $n)))
        (local.set $p (i32.shl (local.get $o) (i32.const 2)))
        (local.set $x (v128.load (i32.add (local.get $a) (local.get $p))))
        (local.set $y (v128.load (i32.add (local.get $s) (local.get $p))))
        (local.set $r
          (if (result v128) (i32.eqz (local.get $kind))
            (then (f32x4.add (local.get $x) (local.get $y)))
            (else (if (result v128) (i32.eq (local.get $kind) (i32.const 1))
              (then (f32x4.mul (local.get $x) (local.get $y)))
              (else (f32x4.mul (f32x4.sub (f32x4.splat (f32.const 1)) (local.get $x)) (local.get $y)))))))
        (v128.store (i32.add (local.get $out) (local.get $p)) (local.get $r))
        (local.set $bits (i32.and (i32x4.bitmask (f32x4.ne (local.get $r) (f32x4.splat (f32.const 0))))
          (call $valid (local.get $o) (local.get $n))))
        (if (local.get $bits)
          (then (local.set $m (call $compact (local.get $bits) (local.get $o) (local.get $idx) (local.get $m)))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $l)))
    (local.get $m))

  ;; Indices of the non-zero values among n (n a multiple of 4 or padded with zeros); returns their number.
  (func (export "nonzero") (param $vals i32) (param $idx i32) (param $n i32) (result i32)
    (local $o i32) (local $m i32) (local $bits i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $o) (local.get $n)))
        (local.set $bits (i32.and
          (i32x4.bitmask (f32x4.ne (v128.load (i32.add (local.get $vals) (i32.shl (local.get $o) (i32.const 2))))
            (f32x4.splat (f32.const 0))))
          (call $valid (local.get $o) (local.get $n))))
        (if (local.get $bits)
          (then (local.set $m (call $compact (local.get $bits) (local.get $o) (local.get $idx) (local.get $m)))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $l)))
    (local.get $m))
)
