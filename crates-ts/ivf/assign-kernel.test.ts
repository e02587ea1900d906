import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CentroidAssigner } from './assign-kernel.js';
import { nearestAmong, nearestCentroid, squaredNorms } from './kernels.js';
import { assignRows } from './kmeans.js';

const f32 = fc.float({ noNaN: true, noDefaultInfinity: true, min: -1000, max: 1000 });

describe('CentroidAssigner', () => {
  it('should pick the centroid the exact f64 scan picks, near-ties and retired centroids included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 20 }),
        fc.infiniteStream(f32),
        fc.infiniteStream(fc.integer({ min: 0, max: 9 })),
        (dims, k, rows, values, picks) => {
          const v = values[Symbol.iterator]();
          const p = picks[Symbol.iterator]();
          const centroids = Float32Array.from({ length: k * dims }, () => v.next().value);
          // Near-ties on purpose: some centroids are copies of others, or copies nudged by one ulp-ish step.
          for (let c = 1; c < k; c++) {
            const how = p.next().value;
            if (how >= 3) continue;
            for (let i = 0; i < dims; i++) {
              const src = centroids[(c - 1) * dims + i]!;
              centroids[c * dims + i] = how === 0 ? src : how === 1 ? Math.fround(src * (1 + 2 ** -20)) : Math.fround(src + 1e-3);
            }
          }
          const retired = Uint8Array.from({ length: k }, (_, c) => (c > 0 && p.next().value === 0 ? 1 : 0));
          const cSq = squaredNorms(centroids, k, dims);
          const data = Float32Array.from({ length: rows * dims }, () => v.next().value);
          // Rows that sit exactly on a centroid or halfway between two.
          if (k > 1 && rows > 1) for (let i = 0; i < dims; i++) data[i] = Math.fround((centroids[i]! + centroids[dims + i]!) / 2);
          const live = [...Array(k).keys()].filter((c) => retired[c] === 0);
          const a = CentroidAssigner.create(centroids, k, dims, cSq, retired)!;
          expect(a).not.toBeNull();
          for (let r = 0; r < rows; r++) expect(a.nearest(data, r * dims)).toBe(nearestAmong(data, r * dims, dims, centroids, cSq, live));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('should stay exact for vectors so small their f32 scores are subnormal (regression: seed 805169774)', () => {
    // The shrunk counterexample: dims 1, two tiny centroids, a row halfway between them: the f32 scores are subnormal,
    // where rounding is absolute, not relative.
    const centroids = Float32Array.of(2.6340752754732468e-21, 6.220988819240936e-30);
    const cSq = squaredNorms(centroids, 2, 1);
    const a = CentroidAssigner.create(centroids, 2, 1, cSq, null)!;
    for (const x of [Math.fround((centroids[0]! + centroids[1]!) / 2), centroids[0]!, centroids[1]!, 2.3572602050743893e-35, 0, 14.038479804992676]) {
      const data = Float32Array.of(x);
      expect(a.nearest(data, 0)).toBe(nearestAmong(data, 0, 1, centroids, cSq, [0, 1]));
    }
  });

  it('should be available here (Node 20 has WebAssembly SIMD)', () => {
    expect(CentroidAssigner.create(new Float32Array(8), 2, 4, new Float64Array(2), null)).not.toBeNull();
  });
});

describe('assignRows', () => {
  it('should label every row as the JS scan does, through the SIMD assigner, duplicate centroids included', () => {
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (const [dims, k, n] of [
      [8, 16, 3000],
      [33, 40, 2048],
      [128, 5, 1500],
    ] as const) {
      const data = Float32Array.from({ length: n * dims }, () => Math.fround(rand() * 2 - 1));
      const centroids = Float32Array.from({ length: k * dims }, () => Math.fround(rand() * 2 - 1));
      centroids.copyWithin(dims, 0, dims); // centroid 1 = centroid 0: ties go to the lower id
      for (let i = 0; i < dims; i++) data[i] = centroids[i]!; // a row exactly on the tie
      const rows = Uint32Array.from({ length: n }, (_, i) => i);
      const cSq = squaredNorms(centroids, k, dims);
      const want = Uint32Array.from(rows, (r) => nearestCentroid(data, r * dims, dims, centroids, cSq, 0, k));
      expect(assignRows(data, dims, rows, centroids, k)).toEqual(want);
      expect(want[0]).toBe(0);
    }
  });
});
