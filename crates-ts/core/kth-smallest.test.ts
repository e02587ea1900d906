import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KthSmallest } from './kth-smallest.js';

describe('KthSmallest', () => {
  it('should give the k-th smallest value offered (Infinity until k were), like sorting', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { maxLength: 60 }), (k, values) => {
        const h = new KthSmallest(k);
        values.forEach((v, i) => {
          h.offer(v);
          const seen = values.slice(0, i + 1).sort((a, b) => a - b);
          expect(h.full).toBe(seen.length >= k);
          expect(h.bound).toBe(seen.length >= k ? seen[k - 1] : Infinity);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('should bound nothing when k is 0 and ignore NaN', () => {
    const none = new KthSmallest(0);
    none.offer(1);
    expect(none.full).toBe(false);
    expect(none.bound).toBe(Infinity);
    const h = new KthSmallest(1);
    h.offer(NaN);
    expect(h.bound).toBe(Infinity);
    h.offer(3);
    h.offer(NaN);
    expect(h.bound).toBe(3);
  });
});
