;; SIMD scan kernels over vectors kept in WebAssembly memory (crates-ts/query/vector-arena.ts; RFC-0004 §5, the
;; tail scan). Source of crates-ts/query/kernels-wasm.ts: after editing, run `node scripts/build-wasm.mjs`.
;;
;; Each kernel reproduces the summation order of crates-ts/query/distance.ts exactly, so a row's distance is
;; bit-identical whichever kernel computes it: four f64 accumulators (dimension i goes to accumulator i mod 4; here
;; lanes 0-1 of $a01 and lanes 0-1 of $a23), summed ((s0 + s1) + s2) + s3, then the dims mod 4 remainder in order.
;; Every f32 is widened to f64 (exact) and each product and sum is rounded as in JS (no fused multiply-add).
;;
;; Memory: the query as f64 at $q, the rows (f32, row r at $data + r·dims·4), a selection of row ordinals (i32) at
;; $sel and the results (f64) at $out.
(module
  (import "env" "memory" (memory 1))

  ;; Σ q[i]·y[i] over one row.
  (func $dot (param $dims i32) (param $q i32) (param $row i32) (result f64)
    (local $i i32) (local $n4 i32) (local $a01 v128) (local $a23 v128) (local $y v128) (local $qi i32) (local $s f64)
    (local.set $n4 (i32.and (local.get $dims) (i32.const -4)))
    (block $vd (loop $v
      (br_if $vd (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $y (v128.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $qi (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 3))))
      (local.set $a01 (f64x2.add (local.get $a01)
        (f64x2.mul (v128.load (local.get $qi)) (f64x2.promote_low_f32x4 (local.get $y)))))
      (local.set $a23 (f64x2.add (local.get $a23)
        (f64x2.mul (v128.load offset=16 (local.get $qi))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $y) (local.get $y))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $v)))
    (local.set $s (f64.add (f64.add (f64.add
      (f64x2.extract_lane 0 (local.get $a01)) (f64x2.extract_lane 1 (local.get $a01)))
      (f64x2.extract_lane 0 (local.get $a23))) (f64x2.extract_lane 1 (local.get $a23))))
    (block $rd (loop $r
      (br_if $rd (i32.ge_u (local.get $i) (local.get $dims)))
      (local.set $s (f64.add (local.get $s)
        (f64.mul (f64.load (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 3))))
          (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2))))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $r)))
    (local.get $s))

  ;; Σ (q[i] - y[i])² over one row.
  (func $l2 (param $dims i32) (param $q i32) (param $row i32) (result f64)
    (local $i i32) (local $n4 i32) (local $a01 v128) (local $a23 v128) (local $y v128) (local $d v128) (local $qi i32)
    (local $s f64) (local $e f64)
    (local.set $n4 (i32.and (local.get $dims) (i32.const -4)))
    (block $vd (loop $v
      (br_if $vd (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $y (v128.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $qi (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 3))))
      (local.set $d (f64x2.sub (v128.load (local.get $qi)) (f64x2.promote_low_f32x4 (local.get $y))))
      (local.set $a01 (f64x2.add (local.get $a01) (f64x2.mul (local.get $d) (local.get $d))))
      (local.set $d (f64x2.sub (v128.load offset=16 (local.get $qi))
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $y) (local.get $y)))))
      (local.set $a23 (f64x2.add (local.get $a23) (f64x2.mul (local.get $d) (local.get $d))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $v)))
    (local.set $s (f64.add (f64.add (f64.add
      (f64x2.extract_lane 0 (local.get $a01)) (f64x2.extract_lane 1 (local.get $a01)))
      (f64x2.extract_lane 0 (local.get $a23))) (f64x2.extract_lane 1 (local.get $a23))))
    (block $rd (loop $r
      (br_if $rd (i32.ge_u (local.get $i) (local.get $dims)))
      (local.set $e (f64.sub (f64.load (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 3))))
        (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))))
      (local.set $s (f64.add (local.get $s) (f64.mul (local.get $e) (local.get $e))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $r)))
    (local.get $s))

  ;; Σ qc[i]·c[i] over one row of int8 codes (the tail's compact codes, crates-ts/query/code-scan.ts): exact in i32
;; (|Σ| ≤ 127²·dims < 2^31 for dims < 133,000).
(func $idot (param $dims i32) (param $qc i32) (param $row i32) (result i32)
    (local $i i32) (local $n16 i32) (local $acc v128) (local $a v128) (local $b v128) (local $s i32)
    (local.set $n16 (i32.and (local.get $dims) (i32.const -16)))
    (block $vd (loop $v
      (br_if $vd (i32.ge_u (local.get $i) (local.get $n16)))
      (local.set $a (v128.load (i32.add (local.get $qc) (local.get $i))))
      (local.set $b (v128.load (i32.add (local.get $row) (local.get $i))))
      (local.set $acc (i32x4.add (local.get $acc)
        (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $a)) (i16x8.extend_low_i8x16_s (local.get $b)))))
      (local.set $acc (i32x4.add (local.get $acc)
        (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $a)) (i16x8.extend_high_i8x16_s (local.get $b)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $v)))
    (local.set $s (i32.add (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
    (block $rd (loop $r
      (br_if $rd (i32.ge_u (local.get $i) (local.get $dims)))
      (local.set $s (i32.add (local.get $s)
        (i32.mul (i32.load8_s (i32.add (local.get $qc) (local.get $i))) (i32.load8_s (i32.add (local.get $row) (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $r)))
    (local.get $s))

  ;; out[j] = Σ qc·codes(sel[j]) for j < count (row r's codes at $codes + r·dims).
  (func (export "idots") (param $dims i32) (param $qc i32) (param $codes i32) (param $sel i32) (param $count i32) (param $out i32)
    (local $j i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $j) (local.get $count)))
      (f64.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3)))
        (f64.convert_i32_s (call $idot (local.get $dims) (local.get $qc)
          (i32.add (local.get $codes)
            (i32.mul (i32.load (i32.add (local.get $sel) (i32.shl (local.get $j) (i32.const 2)))) (local.get $dims))))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $l))))

  ;; Codes one row (crates-ts/query/code-scan.ts encodeRow): m = max|y_i| (NaN if some y_i is), and Σ y_i² at $outp+24
;; in f64 exactly as query/distance.ts sqNormAt sums it (four accumulators for i mod 4, added in order, then the
;; dims mod 4 remainder one by one: the same operations in the same order, so the same bits). Unless $lo ≤ m ≤ $hi
;; returns 0 and writes nothing else. Else s = m / 127, c_i = clamp(nearest(y_i·127/m), ±127) at $codes,
;; and at $outp: s, Σ (y_i − s·c_i)², Σ c_i² (f64, in any order: the bounds do not depend on it); returns 1.
;; Four lanes at a time (f32 → f64 for the products), then the dims mod 4 remainder. Rounded to nearest as
;; (t + 1.5·2^52) − 1.5·2^52 (exact for |t| < 2^51): f64.nearest and Math.round measured ≈ 75 ns here (a runtime call).
  (func (export "encode") (param $dims i32) (param $row i32) (param $codes i32) (param $lo f64) (param $hi f64) (param $outp i32) (result i32)
    (local $i i32) (local $n4 i32) (local $m4 v128) (local $mf f32) (local $m f64) (local $s f64) (local $inv f64)
    (local $y4 v128) (local $ylo v128) (local $yhi v128) (local $clo v128) (local $chi v128) (local $e v128)
    (local $ee v128) (local $cc v128) (local $s2 v128) (local $inv2 v128)
    (local $y f64) (local $c f64) (local $es f64) (local $ees f64) (local $ccs f64)
    (local $yy01 v128) (local $yy23 v128) (local $yy f64)
    (local.set $n4 (i32.and (local.get $dims) (i32.const -4)))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $y4 (v128.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $m4 (f32x4.max (local.get $m4) (f32x4.abs (local.get $y4))))
      (local.set $ylo (f64x2.promote_low_f32x4 (local.get $y4)))
      (local.set $yhi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $y4) (local.get $y4))))
      (local.set $yy01 (f64x2.add (local.get $yy01) (f64x2.mul (local.get $ylo) (local.get $ylo))))
      (local.set $yy23 (f64x2.add (local.get $yy23) (f64x2.mul (local.get $yhi) (local.get $yhi))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l)))
    (local.set $mf (f32.max (f32.max (f32x4.extract_lane 0 (local.get $m4)) (f32x4.extract_lane 1 (local.get $m4)))
      (f32.max (f32x4.extract_lane 2 (local.get $m4)) (f32x4.extract_lane 3 (local.get $m4)))))
    (local.set $yy (f64.add (f64.add (f64.add (f64x2.extract_lane 0 (local.get $yy01)) (f64x2.extract_lane 1 (local.get $yy01)))
      (f64x2.extract_lane 0 (local.get $yy23))) (f64x2.extract_lane 1 (local.get $yy23))))
    (block $rd (loop $r
      (br_if $rd (i32.ge_u (local.get $i) (local.get $dims)))
      (local.set $mf (f32.max (local.get $mf)
        (f32.abs (f32.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))))
      (local.set $y (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $yy (f64.add (local.get $yy) (f64.mul (local.get $y) (local.get $y))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $r)))
    (f64.store offset=24 (local.get $outp) (local.get $yy))
    (local.set $m (f64.promote_f32 (local.get $mf)))
    (if (i32.eqz (i32.and (f64.ge (local.get $m) (local.get $lo)) (f64.le (local.get $m) (local.get $hi))))
      (then (return (i32.const 0))))
    (local.set $s (f64.div (local.get $m) (f64.const 127)))
    (local.set $inv (f64.div (f64.const 127) (local.get $m)))
    (local.set $s2 (f64x2.splat (local.get $s)))
    (local.set $inv2 (f64x2.splat (local.get $inv)))
    (local.set $i (i32.const 0))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $y4 (v128.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $ylo (f64x2.promote_low_f32x4 (local.get $y4)))
      (local.set $yhi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $y4) (local.get $y4))))
      (local.set $clo (f64x2.min (v128.const f64x2 127 127) (f64x2.max (v128.const f64x2 -127 -127)
        (f64x2.sub (f64x2.add (f64x2.mul (local.get $ylo) (local.get $inv2)) (v128.const f64x2 6755399441055744 6755399441055744)) (v128.const f64x2 6755399441055744 6755399441055744)))))
      (local.set $chi (f64x2.min (v128.const f64x2 127 127) (f64x2.max (v128.const f64x2 -127 -127)
        (f64x2.sub (f64x2.add (f64x2.mul (local.get $yhi) (local.get $inv2)) (v128.const f64x2 6755399441055744 6755399441055744)) (v128.const f64x2 6755399441055744 6755399441055744)))))
      ;; [c0 c1 0 0] and [c2 c3 0 0] as i32 → [c0 c1 c2 c3] → i16 → i8, the low 4 bytes stored.
      (v128.store32_lane 0 (i32.add (local.get $codes) (local.get $i))
        (i8x16.narrow_i16x8_s
          (i16x8.narrow_i32x4_s
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (i32x4.trunc_sat_f64x2_s_zero (local.get $clo)) (i32x4.trunc_sat_f64x2_s_zero (local.get $chi)))
            (v128.const i32x4 0 0 0 0))
          (v128.const i32x4 0 0 0 0)))
      (local.set $e (f64x2.sub (local.get $ylo) (f64x2.mul (local.get $s2) (local.get $clo))))
      (local.set $ee (f64x2.add (local.get $ee) (f64x2.mul (local.get $e) (local.get $e))))
      (local.set $e (f64x2.sub (local.get $yhi) (f64x2.mul (local.get $s2) (local.get $chi))))
      (local.set $ee (f64x2.add (local.get $ee) (f64x2.mul (local.get $e) (local.get $e))))
      (local.set $cc (f64x2.add (local.get $cc) (f64x2.add (f64x2.mul (local.get $clo) (local.get $clo)) (f64x2.mul (local.get $chi) (local.get $chi)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l2)))
    (local.set $ees (f64.add (f64x2.extract_lane 0 (local.get $ee)) (f64x2.extract_lane 1 (local.get $ee))))
    (local.set $ccs (f64.add (f64x2.extract_lane 0 (local.get $cc)) (f64x2.extract_lane 1 (local.get $cc))))
    (block $d3 (loop $l3
      (br_if $d3 (i32.ge_u (local.get $i) (local.get $dims)))
      (local.set $y (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $c (f64.min (f64.const 127) (f64.max (f64.const -127) (f64.sub (f64.add (f64.mul (local.get $y) (local.get $inv)) (f64.const 6755399441055744)) (f64.const 6755399441055744)))))
      (i32.store8 (i32.add (local.get $codes) (local.get $i)) (i32.trunc_f64_s (local.get $c)))
      (local.set $es (f64.sub (local.get $y) (f64.mul (local.get $s) (local.get $c))))
      (local.set $ees (f64.add (local.get $ees) (f64.mul (local.get $es) (local.get $es))))
      (local.set $ccs (f64.add (local.get $ccs) (f64.mul (local.get $c) (local.get $c))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l3)))
    (f64.store (local.get $outp) (local.get $s))
    (f64.store offset=8 (local.get $outp) (local.get $ees))
    (f64.store offset=16 (local.get $outp) (local.get $ccs))
    (i32.const 1))

  ;; out[j] = Σ q·row(sel[j]) for j < count.
  (func (export "dots") (param $dims i32) (param $q i32) (param $data i32) (param $sel i32) (param $count i32) (param $out i32)
    (local $j i32) (local $stride i32)
    (local.set $stride (i32.shl (local.get $dims) (i32.const 2)))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $j) (local.get $count)))
      (f64.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3)))
        (call $dot (local.get $dims) (local.get $q)
          (i32.add (local.get $data)
            (i32.mul (i32.load (i32.add (local.get $sel) (i32.shl (local.get $j) (i32.const 2)))) (local.get $stride)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $l))))

  ;; out[j] = Σ (q - row(sel[j]))² for j < count.
  (func (export "l2s") (param $dims i32) (param $q i32) (param $data i32) (param $sel i32) (param $count i32) (param $out i32)
    (local $j i32) (local $stride i32)
    (local.set $stride (i32.shl (local.get $dims) (i32.const 2)))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $j) (local.get $count)))
      (f64.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3)))
        (call $l2 (local.get $dims) (local.get $q)
          (i32.add (local.get $data)
            (i32.mul (i32.load (i32.add (local.get $sel) (i32.shl (local.get $j) (i32.const 2)))) (local.get $stride)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $l)))))
