;; SIMD kernels of SPFresh's split and reassignment (crates-ts/ivf/split-kernel.ts, used by cluster-set.ts and
;; balance.ts). Source of crates-ts/ivf/split-wasm.ts: after editing, run `node scripts/build-wasm.mjs`.
;;
;; Exact: in f64, two lanes, every result is the one kernels.ts computes in JS, bit for bit. dotAt and sqDistAt keep
;; four accumulators s0..s3 (s_m sums the terms of dimensions i ≡ m mod 4, then the dims mod 4 last terms go to s0)
;; and return ((s0 + s1) + s2) + s3; here the lanes of $a01 are s0, s1 and those of $a23 are s2, s3, each term is the
;; f64 product (or difference) of the same f32 values, added in the same order. Lanes only run independent sums side
;; by side; no fused multiply-add. accumulate's sums are per dimension, rows in order, as kmeans.ts's loops.
;;
;; Memory (the caller's layout, split-kernel.ts): a batch of rows (f32, `dims` each, one after another), vectors to
;; score them against (f64: the f32 values of centroids, `dims` each), their squared norms (f64), outputs (f64),
;; labels (u8).
(module
  (import "env" "memory" (memory 1))

  ;; ((s0 + s1) + s2) + s3 of the lanes [s0, s1], [s2, s3], with the tail terms of dimensions [$from, $dims) of the
  ;; row at $r (f32) and the vector at $x (f64) added to s0 first.
  (func $finish (param $a01 v128) (param $a23 v128) (param $r i32) (param $x i32) (param $from i32) (param $dims i32) (result f64)
    (local $s0 f64) (local $i i32)
    (local.set $s0 (f64x2.extract_lane 0 (local.get $a01)))
    (local.set $i (local.get $from))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $dims)))
      (local.set $s0 (f64.add (local.get $s0)
        (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2)))))
          (f64.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 3)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (f64.add (f64.add (f64.add (local.get $s0) (f64x2.extract_lane 1 (local.get $a01)))
      (f64x2.extract_lane 0 (local.get $a23))) (f64x2.extract_lane 1 (local.get $a23))))

  ;; The same for sqDistAt: tail terms (r_i − x_i)².
  (func $finishSq (param $a01 v128) (param $a23 v128) (param $r i32) (param $x i32) (param $from i32) (param $dims i32) (result f64)
    (local $s0 f64) (local $i i32) (local $d f64)
    (local.set $s0 (f64x2.extract_lane 0 (local.get $a01)))
    (local.set $i (local.get $from))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $dims)))
      (local.set $d (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2)))))
        (f64.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 3))))))
      (local.set $s0 (f64.add (local.get $s0) (f64.mul (local.get $d) (local.get $d))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (f64.add (f64.add (f64.add (local.get $s0) (f64x2.extract_lane 1 (local.get $a01)))
      (f64x2.extract_lane 0 (local.get $a23))) (f64x2.extract_lane 1 (local.get $a23))))

  ;; out[j·m + q] = csq[q] − 2·dotAt(row j, x_q) for rows j < $count (f32 at $rows) and vectors q < $m (f64 at $xs,
  ;; squared norms at $csq): kernels.ts nearestAmong's score. Two vectors per pass share each row load.
  (func (export "scores") (param $dims i32) (param $rows i32) (param $count i32) (param $xs i32) (param $m i32) (param $csq i32) (param $out i32)
    (local $j i32) (local $q i32) (local $i i32) (local $r i32) (local $x0 i32) (local $x1 i32) (local $o i32)
    (local $main i32) (local $xstride i32) (local $ri i32) (local $xi0 i32) (local $xi1 i32)
    (local $v01 v128) (local $v23 v128) (local $a01 v128) (local $a23 v128) (local $b01 v128) (local $b23 v128)
    (local.set $main (i32.and (local.get $dims) (i32.const -4)))
    (local.set $xstride (i32.shl (local.get $dims) (i32.const 3)))
    (local.set $o (local.get $out))
    (block $rows_done (loop $rows_l
      (br_if $rows_done (i32.ge_u (local.get $j) (local.get $count)))
      (local.set $r (i32.add (local.get $rows) (i32.mul (local.get $j) (i32.shl (local.get $dims) (i32.const 2)))))
      (local.set $q (i32.const 0))
      (block $pairs_done (loop $pairs
        (br_if $pairs_done (i32.gt_u (i32.add (local.get $q) (i32.const 2)) (local.get $m)))
        (local.set $x0 (i32.add (local.get $xs) (i32.mul (local.get $q) (local.get $xstride))))
        (local.set $x1 (i32.add (local.get $x0) (local.get $xstride)))
        (local.set $a01 (v128.const i32x4 0 0 0 0))
        (local.set $a23 (v128.const i32x4 0 0 0 0))
        (local.set $b01 (v128.const i32x4 0 0 0 0))
        (local.set $b23 (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $d_done (loop $d
          (br_if $d_done (i32.ge_u (local.get $i) (local.get $main)))
          (local.set $ri (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2))))
          (local.set $xi0 (i32.add (local.get $x0) (i32.shl (local.get $i) (i32.const 3))))
          (local.set $xi1 (i32.add (local.get $x1) (i32.shl (local.get $i) (i32.const 3))))
          (local.set $v01 (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $ri))))
          (local.set $v23 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $ri))))
          (local.set $a01 (f64x2.add (local.get $a01) (f64x2.mul (local.get $v01) (v128.load (local.get $xi0)))))
          (local.set $a23 (f64x2.add (local.get $a23) (f64x2.mul (local.get $v23) (v128.load offset=16 (local.get $xi0)))))
          (local.set $b01 (f64x2.add (local.get $b01) (f64x2.mul (local.get $v01) (v128.load (local.get $xi1)))))
          (local.set $b23 (f64x2.add (local.get $b23) (f64x2.mul (local.get $v23) (v128.load offset=16 (local.get $xi1)))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br $d)))
        (f64.store (local.get $o)
          (f64.sub (f64.load (i32.add (local.get $csq) (i32.shl (local.get $q) (i32.const 3))))
            (f64.mul (f64.const 2) (call $finish (local.get $a01) (local.get $a23) (local.get $r) (local.get $x0) (local.get $main) (local.get $dims)))))
        (f64.store offset=8 (local.get $o)
          (f64.sub (f64.load offset=8 (i32.add (local.get $csq) (i32.shl (local.get $q) (i32.const 3))))
            (f64.mul (f64.const 2) (call $finish (local.get $b01) (local.get $b23) (local.get $r) (local.get $x1) (local.get $main) (local.get $dims)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $q (i32.add (local.get $q) (i32.const 2)))
        (br $pairs)))
      ;; an odd last vector alone
      (if (i32.lt_u (local.get $q) (local.get $m))
        (then
          (local.set $x0 (i32.add (local.get $xs) (i32.mul (local.get $q) (local.get $xstride))))
          (local.set $a01 (v128.const i32x4 0 0 0 0))
          (local.set $a23 (v128.const i32x4 0 0 0 0))
          (local.set $i (i32.const 0))
          (block $e_done (loop $e
            (br_if $e_done (i32.ge_u (local.get $i) (local.get $main)))
            (local.set $ri (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $xi0 (i32.add (local.get $x0) (i32.shl (local.get $i) (i32.const 3))))
            (local.set $a01 (f64x2.add (local.get $a01)
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $ri))) (v128.load (local.get $xi0)))))
            (local.set $a23 (f64x2.add (local.get $a23)
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $ri))) (v128.load offset=16 (local.get $xi0)))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $e)))
          (f64.store (local.get $o)
            (f64.sub (f64.load (i32.add (local.get $csq) (i32.shl (local.get $q) (i32.const 3))))
              (f64.mul (f64.const 2) (call $finish (local.get $a01) (local.get $a23) (local.get $r) (local.get $x0) (local.get $main) (local.get $dims)))))
          (local.set $o (i32.add (local.get $o) (i32.const 8)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $rows_l))))

  ;; out[j] = sqDistAt(row j, x) for rows j < $count (f32 at $rows) and the vector at $x (f64). Two rows per pass.
  (func (export "sqdists") (param $dims i32) (param $rows i32) (param $count i32) (param $x i32) (param $out i32)
    (local $j i32) (local $i i32) (local $r0 i32) (local $r1 i32) (local $main i32) (local $rstride i32) (local $xi i32)
    (local $x01 v128) (local $x23 v128) (local $d v128)
    (local $a01 v128) (local $a23 v128) (local $b01 v128) (local $b23 v128)
    (local.set $main (i32.and (local.get $dims) (i32.const -4)))
    (local.set $rstride (i32.shl (local.get $dims) (i32.const 2)))
    (block $pairs_done (loop $pairs
      (br_if $pairs_done (i32.gt_u (i32.add (local.get $j) (i32.const 2)) (local.get $count)))
      (local.set $r0 (i32.add (local.get $rows) (i32.mul (local.get $j) (local.get $rstride))))
      (local.set $r1 (i32.add (local.get $r0) (local.get $rstride)))
      (local.set $a01 (v128.const i32x4 0 0 0 0))
      (local.set $a23 (v128.const i32x4 0 0 0 0))
      (local.set $b01 (v128.const i32x4 0 0 0 0))
      (local.set $b23 (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $d_done (loop $dl
        (br_if $d_done (i32.ge_u (local.get $i) (local.get $main)))
        (local.set $xi (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $x01 (v128.load (local.get $xi)))
        (local.set $x23 (v128.load offset=16 (local.get $xi)))
        (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $r0) (i32.shl (local.get $i) (i32.const 2))))) (local.get $x01)))
        (local.set $a01 (f64x2.add (local.get $a01) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $r0) (i32.shl (local.get $i) (i32.const 2))))) (local.get $x23)))
        (local.set $a23 (f64x2.add (local.get $a23) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $r1) (i32.shl (local.get $i) (i32.const 2))))) (local.get $x01)))
        (local.set $b01 (f64x2.add (local.get $b01) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $r1) (i32.shl (local.get $i) (i32.const 2))))) (local.get $x23)))
        (local.set $b23 (f64x2.add (local.get $b23) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $dl)))
      (f64.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3)))
        (call $finishSq (local.get $a01) (local.get $a23) (local.get $r0) (local.get $x) (local.get $main) (local.get $dims)))
      (f64.store offset=8 (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3)))
        (call $finishSq (local.get $b01) (local.get $b23) (local.get $r1) (local.get $x) (local.get $main) (local.get $dims)))
      (local.set $j (i32.add (local.get $j) (i32.const 2)))
      (br $pairs)))
    ;; an odd last row alone
    (if (i32.lt_u (local.get $j) (local.get $count))
      (then
        (local.set $r0 (i32.add (local.get $rows) (i32.mul (local.get $j) (local.get $rstride))))
        (local.set $a01 (v128.const i32x4 0 0 0 0))
        (local.set $a23 (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $e_done (loop $el
          (br_if $e_done (i32.ge_u (local.get $i) (local.get $main)))
          (local.set $xi (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 3))))
          (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $r0) (i32.shl (local.get $i) (i32.const 2))))) (v128.load (local.get $xi))))
          (local.set $a01 (f64x2.add (local.get $a01) (f64x2.mul (local.get $d) (local.get $d))))
          (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $r0) (i32.shl (local.get $i) (i32.const 2))))) (v128.load offset=16 (local.get $xi))))
          (local.set $a23 (f64x2.add (local.get $a23) (f64x2.mul (local.get $d) (local.get $d))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br $el)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3)))
          (call $finishSq (local.get $a01) (local.get $a23) (local.get $r0) (local.get $x) (local.get $main) (local.get $dims))))))

  ;; sums[labels[j]·dims + d] += row j's d-th value, rows j < $count in order (f32 at $rows, u8 labels at $labels, f64
  ;; sums at $sums): kmeans.ts trainKMeans's and meanInto's sums. Two dimensions per lane pair.
  (func (export "accumulate") (param $dims i32) (param $rows i32) (param $count i32) (param $labels i32) (param $sums i32)
    (local $j i32) (local $i i32) (local $r i32) (local $s i32) (local $main i32) (local $p i32)
    (local.set $main (i32.and (local.get $dims) (i32.const -2)))
    (block $rows_done (loop $rows_l
      (br_if $rows_done (i32.ge_u (local.get $j) (local.get $count)))
      (local.set $r (i32.add (local.get $rows) (i32.mul (local.get $j) (i32.shl (local.get $dims) (i32.const 2)))))
      (local.set $s (i32.add (local.get $sums)
        (i32.mul (i32.load8_u (i32.add (local.get $labels) (local.get $j))) (i32.shl (local.get $dims) (i32.const 3)))))
      (local.set $i (i32.const 0))
      (block $d_done (loop $dl
        (br_if $d_done (i32.ge_u (local.get $i) (local.get $main)))
        (local.set $p (i32.add (local.get $s) (i32.shl (local.get $i) (i32.const 3))))
        (v128.store (local.get $p) (f64x2.add (v128.load (local.get $p))
          (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 2)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $dl)))
      (if (i32.lt_u (local.get $main) (local.get $dims))
        (then
          (local.set $p (i32.add (local.get $s) (i32.shl (local.get $main) (i32.const 3))))
          (f64.store (local.get $p) (f64.add (f64.load (local.get $p))
            (f64.promote_f32 (f32.load (i32.add (local.get $r) (i32.shl (local.get $main) (i32.const 2)))))))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $rows_l)))))
