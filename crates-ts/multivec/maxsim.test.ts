import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { maxSimDistance, maxSimDistanceOf, multiQuery, rowVectors } from './maxsim.js';
import { normalizeMulti, isStoredMulti, fitsMultiColumn, MAX_MULTI_VECTORS } from './vector.js';
import { isElaxError } from '../core/index.js';

const f32 = fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }).map((x) => Math.fround(x) + 0);
const multi = (dims: number) => fc.array(fc.array(f32, { minLength: dims, maxLength: dims }), { minLength: 1, maxLength: 6 });

/** Brute force, written independently: MaxSim = Σ_q max_d sim(q, d) with sim = cos (or −l2²); $dist from it. */
function bruteDist(q: number[][], row: number[][], metric: 'cosine_distance' | 'euclidean_squared'): number {
  let total = 0;
  for (const a of q) {
    let best = -Infinity;
    for (const b of row) {
      let sim: number;
      if (metric === 'euclidean_squared') sim = -a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0);
      else {
        const dot = a.reduce((s, x, i) => s + x * b[i]!, 0);
        const na = Math.hypot(...a);
        const nb = Math.hypot(...b);
        sim = na === 0 || nb === 0 ? 0 : dot / (na * nb);
      }
      best = Math.max(best, sim);
    }
    total += metric === 'euclidean_squared' ? -best : 1 - best;
  }
  return total;
}

describe('MaxSim', () => {
  for (const metric of ['cosine_distance', 'euclidean_squared'] as const) {
    it(`should equal brute force for ${metric} (Σ_q min_d dist = |Q| − MaxSim for cosine)`, () => {
      fc.assert(
        fc.property(multi(5), multi(5), (q, row) => {
          const mq = multiQuery(q.map((v) => Float32Array.from(v)), metric);
          const got = maxSimDistanceOf(mq, row);
          const want = bruteDist(q, row, metric);
          // Cosine distances are clamped to [0, 2] by the kernels; brute force may land a hair outside by rounding.
          expect(Math.abs(got - want)).toBeLessThan(1e-9 * Math.max(1, Math.abs(want)));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('should not depend on the order of the row\'s vectors, and one vector against one is the plain distance', () => {
    const q = multiQuery([Float32Array.of(1, 0), Float32Array.of(0, 1)], 'cosine_distance');
    const row = [[1, 1], [0, 2], [-1, 0]];
    const a = maxSimDistance(q, rowVectors(row));
    const b = maxSimDistance(q, rowVectors([...row].reverse()));
    expect(a).toBe(b);
    // q0 best: (1,1) at 1 − 1/√2; q1 best: (0,2) at 0.
    expect(a).toBeCloseTo(1 - Math.SQRT1_2, 12);
    const one = multiQuery([Float32Array.of(3, 4)], 'euclidean_squared');
    expect(maxSimDistanceOf(one, [[0, 0]])).toBe(25);
  });
});

describe('multi-vector values', () => {
  const err = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (isElaxError(e)) return `${e.code}: ${e.message}`;
      throw e;
    }
    return 'no error';
  };
  it('should normalise to fresh f32-rounded arrays and refuse malformed values naming the problem', () => {
    const src = [[0.1, 2], [3, -4]];
    const out = normalizeMulti(src, 2, 'w');
    expect(out).toEqual([[Math.fround(0.1), 2], [3, -4]]);
    expect(out[0]).not.toBe(src[0]);
    expect(isStoredMulti(out, 2)).toBe(true);
    expect(isStoredMulti(out, 3)).toBe(false);
    expect(fitsMultiColumn(out)).toBe(true);
    expect(fitsMultiColumn([[0.1, 2]])).toBe(false);
    expect(err(() => normalizeMulti([], 2, 'w'))).toMatch(/ELAX_ERR_INVALID_VECTOR: w: .*at least one vector/);
    expect(err(() => normalizeMulti([[1]], 2, 'w'))).toMatch(/vector 0 has 1 dimensions/);
    expect(err(() => normalizeMulti([[1, NaN]], 2, 'w'))).toMatch(/vector 0 element 1 must be a finite number/);
    expect(err(() => normalizeMulti([[1, 1e39]], 2, 'w'))).toMatch(/outside the float32 range/);
    expect(err(() => normalizeMulti({}, 2, 'w'))).toMatch(/must be an array/);
    expect(err(() => normalizeMulti(Array.from({ length: MAX_MULTI_VECTORS + 1 }, () => [0, 1]), 2, 'w'))).toMatch(/at most 4096 vectors/);
  });
});
