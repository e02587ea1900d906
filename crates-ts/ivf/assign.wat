;; SIMD kernel of the vector-to-centroid assignment (crates-ts/ivf/assign-kernel.ts; RFC-0008 "Build rate"). Source of
;; crates-ts/ivf/assign-wasm.ts: after editing, run `node scripts/build-wasm.mjs`.
;;
;; In f32 with four lanes, so it is fast but not exact: assign-kernel.ts re-scores in f64 every centroid whose f32
;; score lies within the kernel's error bound of the best one, so the centroid chosen is the one the exact JS scan
;; picks.
;;
;; Memory: the row at $x (f32, $dims4 of them, zero-padded to a multiple of 4), the centroids at $cents (f32, centroid
;; c at $cents + c·dims4·4, zero-padded likewise), their squared norms at $csq (f32; +∞ for a retired centroid), and
;; the k scores (f32) at $out.
(module
  (import "env" "memory" (memory 1))

  ;; Σ of the four lanes of an f32x4.
  (func $hsum (param $a v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a)) (f32x4.extract_lane 1 (local.get $a)))
      (f32.add (f32x4.extract_lane 2 (local.get $a)) (f32x4.extract_lane 3 (local.get $a)))))

  ;; out[c] = csq[c] − 2·⟨x, cent_c⟩ for c < k, four centroids per pass (each load of x serves four dot products).
  (func (export "scores") (param $dims4 i32) (param $x i32) (param $cents i32) (param $csq i32) (param $k i32) (param $out i32)
    (local $c i32) (local $i i32) (local $stride i32) (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $xv v128)
    (local.set $stride (i32.shl (local.get $dims4) (i32.const 2)))
    (block $quads_done (loop $quads
      (br_if $quads_done (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $k)))
      (local.set $p0 (i32.add (local.get $cents) (i32.mul (local.get $c) (local.get $stride))))
      (local.set $p1 (i32.add (local.get $p0) (local.get $stride)))
      (local.set $p2 (i32.add (local.get $p1) (local.get $stride)))
      (local.set $p3 (i32.add (local.get $p2) (local.get $stride)))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $dims_done (loop $dims
        (br_if $dims_done (i32.ge_u (local.get $i) (local.get $stride)))
        (local.set $xv (v128.load (i32.add (local.get $x) (local.get $i))))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $xv) (v128.load (i32.add (local.get $p0) (local.get $i))))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $xv) (v128.load (i32.add (local.get $p1) (local.get $i))))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $xv) (v128.load (i32.add (local.get $p2) (local.get $i))))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $xv) (v128.load (i32.add (local.get $p3) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $dims)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
        (f32.sub (f32.load (i32.add (local.get $csq) (i32.shl (local.get $c) (i32.const 2))))
          (f32.mul (f32.const 2) (call $hsum (local.get $a0)))))
      (f32.store offset=4 (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
        (f32.sub (f32.load offset=4 (i32.add (local.get $csq) (i32.shl (local.get $c) (i32.const 2))))
          (f32.mul (f32.const 2) (call $hsum (local.get $a1)))))
      (f32.store offset=8 (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
        (f32.sub (f32.load offset=8 (i32.add (local.get $csq) (i32.shl (local.get $c) (i32.const 2))))
          (f32.mul (f32.const 2) (call $hsum (local.get $a2)))))
      (f32.store offset=12 (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
        (f32.sub (f32.load offset=12 (i32.add (local.get $csq) (i32.shl (local.get $c) (i32.const 2))))
          (f32.mul (f32.const 2) (call $hsum (local.get $a3)))))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $quads)))
    ;; the last k mod 4 centroids, one at a time
    (block $rest_done (loop $rest
      (br_if $rest_done (i32.ge_u (local.get $c) (local.get $k)))
      (local.set $p0 (i32.add (local.get $cents) (i32.mul (local.get $c) (local.get $stride))))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $d1_done (loop $d1
        (br_if $d1_done (i32.ge_u (local.get $i) (local.get $stride)))
        (local.set $a0 (f32x4.add (local.get $a0)
          (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $i))) (v128.load (i32.add (local.get $p0) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $d1)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
        (f32.sub (f32.load (i32.add (local.get $csq) (i32.shl (local.get $c) (i32.const 2))))
          (f32.mul (f32.const 2) (call $hsum (local.get $a0)))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $rest)))))
