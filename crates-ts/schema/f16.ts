/**
 * IEEE 754 half precision helpers. Node 20 has no Math.f16round, so rounding is done arithmetically on the
 * double: scale by a power of two (exact), round half to even, scale back. The result is exactly representable
 * in f32, so storing it in a Float32Array loses nothing.
 */

/** Largest finite f16 value. */
export const F16_MAX = 65504;
/** Magnitudes at or above this round to infinity (halfway between 65504 and 2^16, ties to even → inf). */
const F16_OVERFLOW = 65520;
const MIN_NORMAL = 2 ** -14;
const SUBNORMAL_QUANTUM = 2 ** -24;

function roundHalfEven(y: number): number {
  const f = Math.floor(y);
  const d = y - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The f16 value nearest to x (ties to even); ±Infinity when x overflows f16; NaN stays NaN. */
export function f16round(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x);
  let r: number;
  if (a >= F16_OVERFLOW) {
    r = Infinity;
  } else if (a < MIN_NORMAL) {
    r = roundHalfEven(a / SUBNORMAL_QUANTUM) * SUBNORMAL_QUANTUM;
  } else {
    let e = Math.floor(Math.log2(a));
    // log2 can be off by one near powers of two; fix the exponent exactly.
    if (2 ** e > a) e--;
    else if (2 ** (e + 1) <= a) e++;
    const q = 2 ** (e - 10); // 10 mantissa bits
    r = roundHalfEven(a / q) * q;
  }
  return x < 0 ? -r : r;
}

/** Decode one f16 given its 16 raw bits. */
export function f16FromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * SUBNORMAL_QUANTUM;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
