import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { F16_MAX, f16FromBits, f16round } from './f16.js';
import { f32ToF16Bits } from './testing.js';

describe('f16round', () => {
  it('should leave every finite f16 value unchanged (all 63488 finite bit patterns)', () => {
    const bad: number[] = [];
    let finite = 0;
    for (let h = 0; h < 0x10000; h++) {
      const v = f16FromBits(h);
      if (!Number.isFinite(v)) continue;
      finite++;
      if (!Object.is(f16round(v), v)) bad.push(h);
    }
    expect(finite).toBe(63488);
    expect(bad).toEqual([]);
  });

  it('should match a bit-level reference conversion on random f32 inputs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
        const x = new Float32Array(new Uint32Array([bits]).buffer)[0]!;
        if (!Number.isFinite(x)) return;
        expect(Object.is(f16round(x), f16FromBits(f32ToF16Bits(x)))).toBe(true);
      }),
      { numRuns: 20000 },
    );
  });

  it('should match the reference near f16 rounding boundaries and subnormals', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7bff }), fc.integer({ min: -3, max: 3 }), fc.boolean(), (h, nudge, neg) => {
        // Midpoint between adjacent f16 values, nudged by a few f32 ulps: exercises ties-to-even.
        const lo = f16FromBits(h);
        const hi = f16FromBits(h + 1);
        const mid = new Float32Array([(lo + hi) / 2]);
        const u = new Uint32Array(mid.buffer);
        u[0] = u[0]! + nudge;
        const x = neg ? -mid[0]! : mid[0]!;
        expect(Object.is(f16round(x), f16FromBits(f32ToF16Bits(x)))).toBe(true);
      }),
      { numRuns: 20000 },
    );
  });

  it('should round half to even and overflow to infinity past the largest f16', () => {
    expect(f16round(1 + 2 ** -11)).toBe(1); // tie between 1 and 1+2^-10 → even (1)
    expect(f16round(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9); // tie → even mantissa
    expect(f16round(0.1)).toBe(0.0999755859375);
    expect(f16round(F16_MAX)).toBe(F16_MAX);
    expect(f16round(65519)).toBe(F16_MAX);
    expect(f16round(65520)).toBe(Infinity);
    expect(f16round(-1e6)).toBe(-Infinity);
    expect(f16round(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal → 0
    expect(f16round(2 ** -25 + 2 ** -40)).toBe(2 ** -24);
  });
});
