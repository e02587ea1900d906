;; SIMD kernel of the fast rotation (crates-ts/ivf/rotation.ts FhtRotation.apply: random sign flips and normalised
;; Walsh–Hadamard transforms, RaBitQ's rotation). Source of crates-ts/ivf/rotation-wasm.ts: after editing, run
;; `node scripts/build-wasm.mjs`.
;;
;; In f64, two lanes: every butterfly computes the same sums, differences and products as rotation.ts's fwht (lanes
;; only run independent butterflies side by side), so the result is bit for bit the JS one (rotation.test.ts checks).
;;
;; Memory: `mult` and `pre` (f64, rounds × padded each, as FhtRotation's), and the vector x (f64, padded) that
;; `rotate` transforms in place; the caller has written round 0's products x[i] = v[i]·mult[i] and zero padding.
;; `rabitq_rows` (rabitq.ts encodeCluster's per-vector loop) reads $n rows of $dims f32 at $rows, the centroid (f64,
;; its f32 values) at $c and the rotated centroid (f64, padded) at $crot, and writes each row's code (padded/8
;; bytes) at $codes and its ‖o‖², Σ|(Po)_i| and Σ_{b_i=1}(Pc)_i (f64) at $stats.
(module
  (import "env" "memory" (memory 1))

  ;; x[i] ← x[i]·m[i] for i in [from, to): the entries outside a round's block.
  (func $mul (param $x i32) (param $m i32) (param $from i32) (param $to i32)
    (local $i i32) (local $a i32)
    (local.set $i (local.get $from))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
      (local.set $a (i32.shl (local.get $i) (i32.const 3)))
      (f64.store (i32.add (local.get $x) (local.get $a))
        (f64.mul (f64.load (i32.add (local.get $x) (local.get $a))) (f64.load (i32.add (local.get $m) (local.get $a)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))

  ;; fwht of rotation.ts: x[start, start + n) (n a power of two ≥ 8) times m (at $m: the entry of x[start]), then
  ;; transformed, the last stage's outputs times $scale.
  (func $fwht (param $x i32) (param $start i32) (param $n i32) (param $m i32) (param $scale f64)
    (local $p i32) (local $q i32) (local $end i32) (local $h i32) (local $hb i32) (local $i i32) (local $j i32) (local $jend i32)
    (local $v0 v128) (local $v1 v128) (local $s v128) (local $t v128) (local $u v128) (local $w v128)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $sc v128)
    (local.set $p (i32.add (local.get $x) (i32.shl (local.get $start) (i32.const 3))))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 3))))
    (local.set $q (local.get $m))
    ;; Strides 1 and 2, with the multiply: x[i..i+3] = a, b, c, d (times m) → p0 + p1, q0 + q1, p0 − p1, q0 − q1
    ;; with p0 = a + b, q0 = a − b, p1 = c + d, q1 = c − d.
    (block $a_done (loop $a_loop
      (br_if $a_done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $v0 (f64x2.mul (v128.load (local.get $p)) (v128.load (local.get $q))))
      (local.set $v1 (f64x2.mul (v128.load offset=16 (local.get $p)) (v128.load offset=16 (local.get $q))))
      ;; [a, c] ± [b, d] = [p0, p1], [q0, q1]
      (local.set $a (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $v0) (local.get $v1)))
      (local.set $b (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $v0) (local.get $v1)))
      (local.set $s (f64x2.add (local.get $a) (local.get $b)))
      (local.set $t (f64x2.sub (local.get $a) (local.get $b)))
      ;; [p0, q0] ± [p1, q1]
      (local.set $u (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s) (local.get $t)))
      (local.set $w (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $s) (local.get $t)))
      (v128.store (local.get $p) (f64x2.add (local.get $u) (local.get $w)))
      (v128.store offset=16 (local.get $p) (f64x2.sub (local.get $u) (local.get $w)))
      (local.set $p (i32.add (local.get $p) (i32.const 32)))
      (local.set $q (i32.add (local.get $q) (i32.const 32)))
      (br $a_loop)))
    ;; Strides h and 2h together, the pass whose outputs are final (4h ≥ n) times $scale.
    (local.set $h (i32.const 4))
    (block $b_done (loop $b_loop
      (br_if $b_done (i32.ge_u (i32.shl (local.get $h) (i32.const 1)) (local.get $n)))
      (local.set $sc (f64x2.splat (select (local.get $scale) (f64.const 1) (i32.ge_u (i32.shl (local.get $h) (i32.const 2)) (local.get $n)))))
      (local.set $hb (i32.shl (local.get $h) (i32.const 3)))
      (local.set $i (i32.add (local.get $x) (i32.shl (local.get $start) (i32.const 3))))
      (block $i_done (loop $i_loop
        (br_if $i_done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $j (local.get $i))
        (local.set $jend (i32.add (local.get $i) (local.get $hb)))
        (block $j_done (loop $j_loop
          (br_if $j_done (i32.ge_u (local.get $j) (local.get $jend)))
          (local.set $a (v128.load (local.get $j)))
          (local.set $b (v128.load (i32.add (local.get $j) (local.get $hb))))
          (local.set $c (v128.load (i32.add (local.get $j) (i32.shl (local.get $hb) (i32.const 1)))))
          (local.set $d (v128.load (i32.add (local.get $j) (i32.mul (local.get $hb) (i32.const 3)))))
          (local.set $s (f64x2.add (local.get $a) (local.get $b)))
          (local.set $t (f64x2.sub (local.get $a) (local.get $b)))
          (local.set $u (f64x2.add (local.get $c) (local.get $d)))
          (local.set $w (f64x2.sub (local.get $c) (local.get $d)))
          (v128.store (local.get $j) (f64x2.mul (f64x2.add (local.get $s) (local.get $u)) (local.get $sc)))
          (v128.store (i32.add (local.get $j) (local.get $hb)) (f64x2.mul (f64x2.add (local.get $t) (local.get $w)) (local.get $sc)))
          (v128.store (i32.add (local.get $j) (i32.shl (local.get $hb) (i32.const 1))) (f64x2.mul (f64x2.sub (local.get $s) (local.get $u)) (local.get $sc)))
          (v128.store (i32.add (local.get $j) (i32.mul (local.get $hb) (i32.const 3))) (f64x2.mul (f64x2.sub (local.get $t) (local.get $w)) (local.get $sc)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $j_loop)))
        (local.set $i (i32.add (local.get $i) (i32.shl (local.get $hb) (i32.const 2))))
        (br $i_loop)))
      (local.set $h (i32.shl (local.get $h) (i32.const 2)))
      (br $b_loop)))
    ;; A last stage of stride n/2 when the stage count left was odd.
    (if (i32.lt_u (local.get $h) (local.get $n))
      (then
        (local.set $sc (f64x2.splat (local.get $scale)))
        (local.set $hb (i32.shl (local.get $h) (i32.const 3)))
        (local.set $j (i32.add (local.get $x) (i32.shl (local.get $start) (i32.const 3))))
        (local.set $jend (i32.add (local.get $j) (local.get $hb)))
        (block $c_done (loop $c_loop
          (br_if $c_done (i32.ge_u (local.get $j) (local.get $jend)))
          (local.set $a (v128.load (local.get $j)))
          (local.set $b (v128.load (i32.add (local.get $j) (local.get $hb))))
          (v128.store (local.get $j) (f64x2.mul (f64x2.add (local.get $a) (local.get $b)) (local.get $sc)))
          (v128.store (i32.add (local.get $j) (local.get $hb)) (f64x2.mul (f64x2.sub (local.get $a) (local.get $b)) (local.get $sc)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $c_loop))))))

  ;; FhtRotation.apply after round 0's multiply: `rounds` rounds over x (at $x, padded f64), round r's block at 0 on
  ;; even rounds and at padded − block on odd ones, the entries outside it times mult first (rounds > 0).
  (func $rotate (export "rotate") (param $x i32) (param $mult i32) (param $pre i32) (param $padded i32) (param $block i32) (param $rounds i32) (param $scale f64)
    (local $r i32) (local $so i32) (local $start i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $r) (local.get $rounds)))
      (local.set $so (i32.shl (i32.mul (local.get $r) (local.get $padded)) (i32.const 3)))
      (local.set $start (select (i32.const 0) (i32.sub (local.get $padded) (local.get $block)) (i32.eqz (i32.and (local.get $r) (i32.const 1)))))
      (if (i32.gt_u (local.get $r) (i32.const 0))
        (then
          (call $mul (local.get $x) (i32.add (local.get $mult) (local.get $so)) (i32.const 0) (local.get $start))
          (call $mul (local.get $x) (i32.add (local.get $mult) (local.get $so)) (i32.add (local.get $start) (local.get $block)) (local.get $padded))))
      (call $fwht (local.get $x) (local.get $start) (local.get $block)
        (i32.add (local.get $pre) (i32.add (local.get $so) (i32.shl (local.get $start) (i32.const 3))))
        (select (local.get $scale) (f64.const 1) (i32.eq (local.get $r) (i32.sub (local.get $rounds) (i32.const 1)))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $l))))
;; encodeCluster's loop over its vectors up to the factors: the residual o = x − c and ‖o‖² (in dimension
  ;; order), round 0's products, the rotation, then the sign bits with Σ|(Po)_i| and Σ_{b_i=1}(Pc)_i in bit order: the
  ;; JS loop's operations in its order (rabitq.test.ts compares the codes).
  (func (export "rabitq_rows") (param $x i32) (param $mult i32) (param $pre i32) (param $padded i32) (param $block i32) (param $rounds i32) (param $scale f64)
    (param $dims i32) (param $rows i32) (param $n i32) (param $c i32) (param $crot i32) (param $codes i32) (param $stats i32)
    (local $j i32) (local $i i32) (local $rp i32) (local $cp i32) (local $by i32) (local $t i32) (local $b i32) (local $a i32)
    (local $norm2 f64) (local $d f64) (local $v f64) (local $sumAbs f64) (local $dotC f64)
    (block $rows_done (loop $row
      (br_if $rows_done (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $rp (i32.add (local.get $rows) (i32.shl (i32.mul (local.get $j) (local.get $dims)) (i32.const 2))))
      (local.set $norm2 (f64.const 0))
      (local.set $i (i32.const 0))
      (block $res_done (loop $res
        (br_if $res_done (i32.ge_u (local.get $i) (local.get $dims)))
        (local.set $a (i32.shl (local.get $i) (i32.const 3)))
        (local.set $d (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $rp) (i32.shl (local.get $i) (i32.const 2)))))
          (f64.load (i32.add (local.get $c) (local.get $a)))))
        (local.set $norm2 (f64.add (local.get $norm2) (f64.mul (local.get $d) (local.get $d))))
        (f64.store (i32.add (local.get $x) (local.get $a)) (f64.mul (local.get $d) (f64.load (i32.add (local.get $mult) (local.get $a)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $res)))
      (block $pad_done (loop $pad
        (br_if $pad_done (i32.ge_u (local.get $i) (local.get $padded)))
        (f64.store (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 3))) (f64.const 0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $pad)))
      (call $rotate (local.get $x) (local.get $mult) (local.get $pre) (local.get $padded) (local.get $block) (local.get $rounds) (local.get $scale))
      (local.set $sumAbs (f64.const 0))
      (local.set $dotC (f64.const 0))
      (local.set $cp (i32.add (local.get $codes) (i32.mul (local.get $j) (i32.shr_u (local.get $padded) (i32.const 3)))))
      (local.set $i (i32.const 0))
      (local.set $by (i32.const 0))
      (block $bytes_done (loop $bytes
        (br_if $bytes_done (i32.ge_u (local.get $i) (local.get $padded)))
        (local.set $b (i32.const 0))
        (local.set $t (i32.const 0))
        (block $bits_done (loop $bits
          (br_if $bits_done (i32.ge_u (local.get $t) (i32.const 8)))
          (local.set $a (i32.shl (local.get $i) (i32.const 3)))
          (local.set $v (f64.load (i32.add (local.get $x) (local.get $a))))
          (if (f64.gt (local.get $v) (f64.const 0))
            (then
              (local.set $b (i32.or (local.get $b) (i32.shl (i32.const 1) (local.get $t))))
              (local.set $sumAbs (f64.add (local.get $sumAbs) (local.get $v)))
              (local.set $dotC (f64.add (local.get $dotC) (f64.load (i32.add (local.get $crot) (local.get $a))))))
            (else (local.set $sumAbs (f64.sub (local.get $sumAbs) (local.get $v)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br $bits)))
        (i32.store8 (i32.add (local.get $cp) (local.get $by)) (local.get $b))
        (local.set $by (i32.add (local.get $by) (i32.const 1)))
        (br $bytes)))
      (local.set $a (i32.add (local.get $stats) (i32.mul (local.get $j) (i32.const 24))))
      (f64.store (local.get $a) (local.get $norm2))
      (f64.store offset=8 (local.get $a) (local.get $sumAbs))
      (f64.store offset=16 (local.get $a) (local.get $dotC))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $row))))
)
