;; SIMD kernel of refine-code encoding (crates-ts/ivf/refine.ts encodeRefine, the per-vector loop; RFC-0008 "Refine
;; codes"). Source of crates-ts/ivf/refine-encode-wasm.ts: after editing, run `node scripts/build-wasm.mjs`.
;;
;; In f64, two dimensions per step: every lane computes what refine.ts's loop computes for its dimension (the same
;; subtractions, products and roundings; Math.round as floor(q) + (q − floor(q) ≥ ½)), and the squared errors are
;; added to the row's sum one dimension after the other, in the JS loop's order, so codes and radii are bit for bit
;; the JS ones (refine.test.ts compares). A code may come out +0 where the JS one is −0: the same byte, and the same
;; squared error (it only changes the sign of a zero error).
;;
;; Memory: at $par, five f64 arrays of $dims (even) entries: step, 1/step (0 where step is 0), the centroid c,
;; lo and c + lo; at $x, $n rows of $dims f32; out: $n × $dims code bytes at $codes, each row's Σ e² (f64) at $err
;; and whether it has a non-zero value (i32) at $nz. $near: refine.ts's NEAR_TIE.
(module
  (import "env" "memory" (memory 1))

  ;; Math.round of both lanes (ties up), for |q| < 2⁵².
  (func $round (param $q v128) (result v128)
    (local $r v128)
    (local.set $r (f64x2.floor (local.get $q)))
    (f64x2.add (local.get $r)
      (v128.and (f64x2.ge (f64x2.sub (local.get $q) (local.get $r)) (f64x2.splat (f64.const 0.5))) (f64x2.splat (f64.const 1)))))

  (func (export "encode") (param $dims i32) (param $par i32) (param $x i32) (param $n i32) (param $codes i32) (param $err i32) (param $nz i32) (param $near f64)
    (local $j i32) (local $d i32) (local $xp i32) (local $cp i32) (local $pp i32) (local $pend i32) (local $stride i32) (local $any i32)
    (local $sum f64)
    (local $xv v128) (local $s v128) (local $o v128) (local $q v128) (local $r v128) (local $g v128) (local $m v128) (local $e v128)
    (local.set $stride (i32.shl (local.get $dims) (i32.const 3)))
    (block $rows_done (loop $rows
      (br_if $rows_done (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $xp (i32.add (local.get $x) (i32.shl (i32.mul (local.get $j) (local.get $dims)) (i32.const 2))))
      (local.set $cp (i32.add (local.get $codes) (i32.mul (local.get $j) (local.get $dims))))
      (local.set $pp (local.get $par))
      (local.set $pend (i32.add (local.get $par) (local.get $stride)))
      (local.set $sum (f64.const 0))
      (local.set $any (i32.const 0))
      (block $dims_done (loop $dl
        (br_if $dims_done (i32.ge_u (local.get $pp) (local.get $pend)))
        (local.set $xv (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $xp))))
        (local.set $any (i32.or (local.get $any) (v128.any_true (f64x2.ne (local.get $xv) (f64x2.splat (f64.const 0))))))
        (local.set $s (v128.load (local.get $pp)))
        ;; o = x − c − lo, q = o·(1/step), rounded; within 2⁻⁴² of a half-integer the quotient o/step decides.
        (local.set $o (f64x2.sub (f64x2.sub (local.get $xv) (v128.load (i32.add (local.get $pp) (i32.shl (local.get $stride) (i32.const 1)))))
          (v128.load (i32.add (local.get $pp) (i32.mul (local.get $stride) (i32.const 3))))))
        (local.set $q (f64x2.mul (local.get $o) (v128.load (i32.add (local.get $pp) (local.get $stride)))))
        (local.set $r (call $round (local.get $q)))
        (local.set $g (f64x2.sub (local.get $q) (local.get $r)))
        (local.set $m (f64x2.ge (f64x2.mul (local.get $g) (local.get $g)) (f64x2.splat (local.get $near))))
        (if (v128.any_true (local.get $m))
          (then (local.set $r (v128.bitselect (call $round (f64x2.div (local.get $o) (local.get $s))) (local.get $r) (local.get $m)))))
        ;; Clamped to [0, 255] (0 where step is 0: q is ±0 there).
        (local.set $r (f64x2.min (f64x2.max (local.get $r) (f64x2.splat (f64.const 0))) (f64x2.splat (f64.const 255))))
        (v128.store16_lane 0 (local.get $cp)
          (i8x16.narrow_i16x8_u
            (i16x8.narrow_i32x4_u (i32x4.trunc_sat_f64x2_u_zero (local.get $r)) (v128.const i32x4 0 0 0 0))
            (v128.const i32x4 0 0 0 0)))
        ;; e = x − (c + lo + step·code); Σ e² in dimension order.
        (local.set $e (f64x2.sub (local.get $xv)
          (f64x2.add (v128.load (i32.add (local.get $pp) (i32.shl (local.get $stride) (i32.const 2)))) (f64x2.mul (local.get $s) (local.get $r)))))
        (local.set $e (f64x2.mul (local.get $e) (local.get $e)))
        (local.set $sum (f64.add (f64.add (local.get $sum) (f64x2.extract_lane 0 (local.get $e))) (f64x2.extract_lane 1 (local.get $e))))
        (local.set $pp (i32.add (local.get $pp) (i32.const 16)))
        (local.set $xp (i32.add (local.get $xp) (i32.const 8)))
        (local.set $cp (i32.add (local.get $cp) (i32.const 2)))
        (br $dl)))
      (f64.store (i32.add (local.get $err) (i32.shl (local.get $j) (i32.const 3))) (local.get $sum))
      (i32.store (i32.add (local.get $nz) (i32.shl (local.get $j) (i32.const 2))) (local.get $any))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $rows))))
)
