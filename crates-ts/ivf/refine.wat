;; SIMD kernel of the refine codes' distances (crates-ts/ivf/refine.ts; RFC-0008 "Refine codes"). Source of
;; crates-ts/ivf/refine-wasm.ts: after editing, run `node scripts/build-wasm.mjs`.
;;
;; (e = s − step·c and acc += e² are written inline: a call per four lanes cost about a third of the kernel.)
;; In f32 with four lanes: refine.ts widens the bounds by the kernel's error bound, so they stay sure.
;;
;; Memory: the query's offsets s (f32, $dims16 of them, zero-padded to a multiple of 16) at $s, the cluster's steps
;; (f32, zero-padded likewise) at $step, $n codes (u8, $dims16 bytes each, zero-padded) at $codes, and the $n
;; squared distances Σ_d (s_d − step_d·code_d)² (f32) at $out.
(module
  (import "env" "memory" (memory 1))

  (func $hsum (param $a v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a)) (f32x4.extract_lane 1 (local.get $a)))
      (f32.add (f32x4.extract_lane 2 (local.get $a)) (f32x4.extract_lane 3 (local.get $a)))))

  (func (export "sqdists") (param $dims16 i32) (param $s i32) (param $step i32) (param $codes i32) (param $n i32) (param $out i32)
    (local $v i32) (local $d i32) (local $p i32) (local $f i32)
    (local $acc v128) (local $c v128) (local $lo v128) (local $hi v128) (local $e v128)
    (block $done (loop $vectors
      (br_if $done (i32.ge_u (local.get $v) (local.get $n)))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $codes) (i32.mul (local.get $v) (local.get $dims16))))
      (local.set $d (i32.const 0))
      (block $row_done (loop $row
        (br_if $row_done (i32.ge_u (local.get $d) (local.get $dims16)))
        (local.set $c (v128.load (i32.add (local.get $p) (local.get $d))))
        (local.set $lo (i16x8.extend_low_i8x16_u (local.get $c)))
        (local.set $hi (i16x8.extend_high_i8x16_u (local.get $c)))
        ;; byte offset of dimension d in the f32 arrays
        (local.set $f (i32.shl (local.get $d) (i32.const 2)))
        (local.set $e (f32x4.sub
          (v128.load (i32.add (local.get $s) (local.get $f)))
          (f32x4.mul (v128.load (i32.add (local.get $step) (local.get $f))) (f32x4.convert_i32x4_u (i32x4.extend_low_i16x8_u (local.get $lo))))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $e) (local.get $e))))
        (local.set $e (f32x4.sub
          (v128.load offset=16 (i32.add (local.get $s) (local.get $f)))
          (f32x4.mul (v128.load offset=16 (i32.add (local.get $step) (local.get $f))) (f32x4.convert_i32x4_u (i32x4.extend_high_i16x8_u (local.get $lo))))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $e) (local.get $e))))
        (local.set $e (f32x4.sub
          (v128.load offset=32 (i32.add (local.get $s) (local.get $f)))
          (f32x4.mul (v128.load offset=32 (i32.add (local.get $step) (local.get $f))) (f32x4.convert_i32x4_u (i32x4.extend_low_i16x8_u (local.get $hi))))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $e) (local.get $e))))
        (local.set $e (f32x4.sub
          (v128.load offset=48 (i32.add (local.get $s) (local.get $f)))
          (f32x4.mul (v128.load offset=48 (i32.add (local.get $step) (local.get $f))) (f32x4.convert_i32x4_u (i32x4.extend_high_i16x8_u (local.get $hi))))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $e) (local.get $e))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (br $row)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $v) (i32.const 2))) (call $hsum (local.get $acc)))
      (local.set $v (i32.add (local.get $v) (i32.const 1)))
      (br $vectors))))
)
