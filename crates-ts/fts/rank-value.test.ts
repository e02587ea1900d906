/**
 * The numeric rank operators against turbopuffer's documented formulas, written out here:
 *   Saturate(x) = x^exponent / (x^exponent + midpoint^exponent)   ("implicitly takes the max of attribute values with zero")
 *   Decay(x)    = midpoint^exponent / (x^exponent + midpoint^exponent)
 *   Dist        = the distance between the origin and the value
 * and the duration strings a datetime midpoint may be given as (units s, m, h, d, w; elax also takes ms).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decay, dist, parseDuration, saturate } from './rank-value.js';

const documentedSaturate = (x: number, m: number, e: number) => Math.max(x, 0) ** e / (Math.max(x, 0) ** e + m ** e);
const documentedDecay = (x: number, m: number, e: number) => m ** e / (Math.max(x, 0) ** e + m ** e);

describe('Saturate / Decay / Dist', () => {
  it('should follow the documented formulas', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e3, max: 1e6, noNaN: true }),
        fc.double({ min: 1e-3, max: 1e4, noNaN: true }),
        fc.constantFrom(1, 0.5, 2, 3.7),
        (x, m, e) => {
          expect(saturate(x, m, e)).toBeCloseTo(documentedSaturate(x, m, e), 12);
          expect(decay(x, m, e)).toBeCloseTo(documentedDecay(x, m, e), 12);
          // Complements at the same midpoint and exponent (for x > 0).
          if (x > 0) expect(saturate(x, m, e) + decay(x, m, e)).toBeCloseTo(1, 12);
        },
      ),
    );
  });

  it('should give 0.5 at the midpoint, 0 / 1 at and below zero, and stay in range where the naive formula overflows', () => {
    expect(saturate(100, 100, 1)).toBe(0.5);
    expect(decay(2, 2, 3)).toBe(0.5);
    expect(saturate(0, 5, 1)).toBe(0);
    expect(saturate(-7, 5, 1)).toBe(0); // clamped at 0, as documented
    expect(decay(0, 5, 2)).toBe(1);
    expect(decay(-7, 5, 2)).toBe(1); // elax clamps Decay's input too
    expect(saturate(30, 10, 1)).toBe(0.75);
    expect(decay(30, 10, 1)).toBe(0.25);
    expect(saturate(9, 3, 2)).toBeCloseTo(81 / 90, 15);
    // x^e overflows to Infinity in the naive form (Infinity / Infinity = NaN); the result must still be in [0, 1].
    expect(saturate(1e300, 1, 2)).toBe(1);
    expect(decay(1e300, 1, 2)).toBe(0);
  });

  it('should measure Dist as the absolute difference', () => {
    expect(dist(3, 10)).toBe(7);
    expect(dist(-4, 1)).toBe(5);
    expect(dist(Date.UTC(2026, 0, 2), Date.UTC(2026, 0, 1, 18))).toBe(6 * 3_600_000);
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['6h', 21_600_000],
    ['1d', 86_400_000],
    ['2w', 1_209_600_000],
    ['1.5h', 5_400_000],
    ['1d12h', 129_600_000],
  ])('should read %s as %d ms', (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
  });

  it.each(['', '6', 'h', '6 h', '6hours', '-1h', '1y', 'h6', '1.h'])('should reject %j', (s) => {
    expect(parseDuration(s)).toBeNull();
  });
});
