import { describe, expect, it } from 'vitest';
import type { Clustering } from './cluster-set.js';
import { buildClusters } from './hierarchy.js';
import { nearestCentroid, squaredNorms } from './kernels.js';
import { mixture, seededRandom } from './testing.js';

function sizes(c: Clustering): number[] {
  return Array.from({ length: c.k }, (_, i) => c.offsets[i + 1]! - c.offsets[i]!);
}

function expectPartition(c: Clustering, n: number): void {
  expect(c.rows.length).toBe(n);
  expect(c.offsets[c.k]).toBe(n);
  const seen = new Uint8Array(n);
  for (const r of c.rows) seen[r]++;
  expect(seen.every((x) => x === 1)).toBe(true);
}

describe('hierarchical clustering', () => {
  it('should assign every row exactly once, with sizes within bounds, through a two-level hierarchy', () => {
    const dims = 16;
    const n = 12_000;
    const data = mixture(n, dims, seededRandom(1), 40, 0.5);
    // 12k / 100 = 120 clusters > maxFlat 16: one level of ⌈√120⌉ = 11 groups first.
    const c = buildClusters(data, dims, n, { random: seededRandom(2), targetSize: 100, minSize: 50, maxSize: 200, maxFlat: 16 });
    expectPartition(c, n);
    const s = sizes(c);
    expect(Math.min(...s)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...s)).toBeLessThanOrEqual(200);
    expect(c.k).toBeGreaterThan(60);
    expect(c.k).toBeLessThan(240);
  });

  it('should put most rows in the cluster of their nearest centroid', () => {
    const dims = 16;
    const n = 8_000;
    const data = mixture(n, dims, seededRandom(3), 30, 0.5);
    const c = buildClusters(data, dims, n, { random: seededRandom(4), targetSize: 100, minSize: 50, maxSize: 200, maxFlat: 8 });
    const cSq = squaredNorms(c.centroids, c.k, dims);
    let nearest = 0;
    for (let k = 0; k < c.k; k++) {
      for (let j = c.offsets[k]!; j < c.offsets[k + 1]!; j++) if (nearestCentroid(data, c.rows[j]! * dims, dims, c.centroids, cSq, 0, c.k) === k) nearest++;
    }
    expect(nearest / n).toBeGreaterThan(0.8);
  });

  it('should be deterministic given the random source', () => {
    const data = mixture(3000, 8, seededRandom(5), 10);
    const a = buildClusters(data, 8, 3000, { random: seededRandom(6), targetSize: 100, minSize: 50, maxSize: 200 });
    const b = buildClusters(data, 8, 3000, { random: seededRandom(6), targetSize: 100, minSize: 50, maxSize: 200 });
    expect(b).toEqual(a);
  });

  it('should make one cluster of fewer rows than minSize, and handle identical vectors', () => {
    const few = buildClusters(mixture(30, 4, seededRandom(7)), 4, 30, { random: seededRandom(8), targetSize: 100, minSize: 50, maxSize: 200 });
    expect(few.k).toBe(1);
    expectPartition(few, 30);
    const same = new Float32Array(500 * 4).fill(1);
    const c = buildClusters(same, 4, 500, { random: seededRandom(9), targetSize: 100, minSize: 50, maxSize: 200 });
    expectPartition(c, 500);
    expect(Math.max(...sizes(c))).toBeLessThanOrEqual(200);
    expect(Math.min(...sizes(c))).toBeGreaterThanOrEqual(50);
  });
});
