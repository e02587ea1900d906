import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { cosineWithSqNormAt, distance, distanceAt, distanceTo, norm, sqNormAt } from './distance.js';
import { ScoreTopK, TopK } from './top-k.js';
import { f32ToJsonNumber, decodeBase64Vector, encodeBase64Vector } from './vector-codec.js';
import { naiveDistance, doc } from './test-helpers.js';

const f32 = (xs: number[]) => Float32Array.from(xs);

describe('distance', () => {
  it('should compute cosine distance as 1 - cos_sim and euclidean_squared as Σ(x-y)²', () => {
    expect(distance('cosine_distance', f32([1, 0]), f32([1, 0]))).toBe(0);
    expect(distance('cosine_distance', f32([1, 0]), f32([0, 3]))).toBe(1);
    expect(distance('cosine_distance', f32([1, 0]), f32([-2, 0]))).toBe(2);
    expect(distance('euclidean_squared', f32([1, 2]), f32([4, -2]))).toBe(25);
  });

  it('should give a zero vector cosine distance 1, never NaN', () => {
    expect(distance('cosine_distance', f32([0, 0]), f32([1, 2]))).toBe(1);
    expect(distance('cosine_distance', f32([1, 2]), f32([0, 0]))).toBe(1);
    expect(distance('cosine_distance', f32([0, 0]), f32([0, 0]))).toBe(1);
  });

  it('should reject vectors of different dimensions', () => {
    expect(() => distance('euclidean_squared', f32([1]), f32([1, 2]))).toThrow(RangeError);
  });

  it('should agree with the naive formulas, with and without a hoisted query norm', () => {
    const vec = fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(vec, vec, fc.constantFrom('cosine_distance' as const, 'euclidean_squared' as const), (a, b, m) => {
        const A = f32(a);
        const B = f32(b);
        const want = naiveDistance(m, A, B);
        expect(distance(m, A, B)).toBeCloseTo(want, 9);
        expect(distanceTo(m, A)(B)).toBe(distance(m, A, B));
      }),
    );
  });

  it('should give bit-identical cosine distances from the scan kernel (f64 query, stored Σy²) and the generic one', () => {
    // Results must not change when a row moves from the tail (scan kernel) into a part (generic kernel on candidates).
    const dims = fc.integer({ min: 1, max: 37 });
    fc.assert(
      fc.property(
        dims.chain((d) => fc.tuple(fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), { minLength: d, maxLength: d }), fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), { minLength: 3 * d, maxLength: 3 * d }))),
        ([q, rows]) => {
          const Q = f32(q);
          const data = f32(rows);
          const generic = distanceAt('cosine_distance', Q);
          for (let r = 0; r < 3; r++) {
            const off = r * Q.length;
            expect(cosineWithSqNormAt(Float64Array.from(Q), norm(Q), data, off, sqNormAt(data, off, Q.length))).toBe(generic(data, off));
          }
        },
      ),
    );
  });
});

describe('top-k heaps', () => {
  it('should keep exactly the k best of a full sort, ties by id', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 80 }), fc.integer({ min: 0, max: 90 }), (keys, k) => {
        const items = keys.map((key, i) => ({ key, d: doc((i * 7919) % 1000, null) }));
        const seen = new Set<number>();
        const unique = items.filter((x) => !seen.has(x.d.id as number) && seen.add(x.d.id as number));
        const full = [...unique].sort((a, b) => a.key - b.key || (a.d.id as number) - (b.d.id as number)).slice(0, k);

        const h = new ScoreTopK(k);
        for (const x of unique) h.push(x.key, x.d);
        expect(h.sorted().map((s) => [s.score, s.doc.id])).toEqual(full.map((x) => [x.key, x.d.id]));

        const g = new TopK<(typeof unique)[number]>(k, (a, b) => a.key - b.key || (a.d.id as number) - (b.d.id as number));
        for (const x of unique) g.push(x);
        expect(g.sorted()).toEqual(full);
      }),
      { numRuns: 300 },
    );
  });
});

describe('vector codec', () => {
  it('should print f32 values the way they were written and round-trip every f32', () => {
    expect(f32ToJsonNumber(Math.fround(0.1))).toBe(0.1);
    expect(f32ToJsonNumber(Math.fround(-1.2345678))).toBe(-1.2345678);
    expect(f32ToJsonNumber(0)).toBe(0);
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const y = Math.fround(x);
        expect(Math.fround(f32ToJsonNumber(y))).toBe(y);
        expect(String(f32ToJsonNumber(y)).replace(/^-|e.*$|\./g, '').replace(/^0+/, '').replace(/0+$/, '').length).toBeLessThanOrEqual(9);
      }),
      { numRuns: 2000 },
    );
  });

  it('should round-trip base64 and reject malformed input', () => {
    const v = f32([1.5, -2, 3.25e-7, 1e30]);
    expect(decodeBase64Vector(encodeBase64Vector(v))).toEqual(v);
    expect(decodeBase64Vector('AAAA')).toBeNull(); // 3 bytes
    expect(decodeBase64Vector('AAAAAA==*')).toBeNull();
    expect(decodeBase64Vector('')).toEqual(new Float32Array(0));
  });
});
