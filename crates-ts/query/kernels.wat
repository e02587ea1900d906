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

  ;; Codes one row (crates-ts/query/code-scan.ts encodeRow): m = max|y_i| (NaN if some y_i is); unless
;; $lo ≤ m ≤ $hi returns 0 and writes nothing. Else s = m / 127, c_i = clamp(nearest(y_i·127/m), ±127) at $codes,
;; and at $outp: s, Σ (y_i − s·c_i)², Σ c_i² (f64); returns 1.
  (func (export "encode") (param $dims i32) (param $row i32) (param $codes i32) (param $lo f64) (param $hi f64) (param $outp i32) (result i32)
    (local $i i32) (local $m f64) (local $s f64) (local $inv f64) (local $y f64) (local $c f64) (local $e f64) (local $ee f64) (local $cc f64)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $dims)))
      (local.set $m (f64.max (local.get $m)
        (f64.abs (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2))))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (if (i32.eqz (i32.and (f64.ge (local.get $m) (local.get $lo)) (f64.le (local.get $m) (local.get $hi))))
      (then (return (i32.const 0))))
    (local.set $s (f64.div (local.get $m) (f64.const 127)))
    (local.set $inv (f64.div (f64.const 127) (local.get $m)))
    (local.set $i (i32.const 0))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $dims)))
      (local.set $y (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $c (f64.min (f64.const 127) (f64.max (f64.const -127) (f64.nearest (f64.mul (local.get $y) (local.get $inv))))))
      (i32.store8 (i32.add (local.get $codes) (local.get $i)) (i32.trunc_f64_s (local.get $c)))
      (local.set $e (f64.sub (local.get $y) (f64.mul (local.get $s) (local.get $c))))
      (local.set $ee (f64.add (local.get $ee) (f64.mul (local.get $e) (local.get $e))))
      (local.set $cc (f64.add (local.get $cc) (f64.mul (local.get $c) (local.get $c))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l2)))
    (f64.store (local.get $outp) (local.get $s))
    (f64.store offset=8 (local.get $outp) (local.get $ee))
    (f64.store offset=16 (local.get $outp) (local.get $cc))
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
