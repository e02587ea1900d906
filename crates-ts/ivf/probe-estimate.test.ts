import { describe, expect, it } from 'vitest';
import { trainCodebook } from './codebook.js';
import { estimateProbes } from './probe-estimate.js';
import { seededRandom } from './random.js';
import { exactTopK, mixture } from './testing.js';
import { sqDistAt } from './kernels.js';

const DIMS = 16;

/** Recall@10 of an IVF that probes the `p` nearest live centroids and ranks their rows exactly, on fresh queries. */
function ivfRecall(data: Float32Array, n: number, clusterOf: Uint32Array, centroids: Float32Array, k: number, queries: Float32Array, qn: number, p: number): number {
  let found = 0;
  for (let qi = 0; qi < qn; qi++) {
    const q = queries.subarray(qi * DIMS, (qi + 1) * DIMS);
    const truth = exactTopK('euclidean_squared', q, data, n, DIMS, 10);
    const near = [...Array(k).keys()].sort((a, b) => sqDistAt(q, 0, centroids, a * DIMS, DIMS) - sqDistAt(q, 0, centroids, b * DIMS, DIMS) || a - b).slice(0, p);
    const probed = new Set(near);
    const got = exactTopK('euclidean_squared', q, data, n, DIMS, 10, (r) => probed.has(clusterOf[r]!));
    found += truth.filter((t) => got.includes(t)).length;
  }
  return found / (qn * 10);
}

describe('estimateProbes', () => {
  for (const [what, centers, spread] of [
    ['well separated clusters', 8, 0.05],
    ['one gaussian blob (no cluster structure)', 1, 1],
  ] as const) {
    it(`should pick a depth at which an exact IVF reaches the target on fresh queries (${what})`, () => {
      const n = 6000;
      const data = mixture(n + 200, DIMS, seededRandom(3), centers, spread);
      const base = data.subarray(0, n * DIMS);
      const queries = data.subarray(n * DIMS);
      const { codebook: cb, clusterOf } = trainCodebook(base, DIMS, n, 'euclidean_squared', { random: seededRandom(4), targetSize: 100, minSize: 50, maxSize: 200 });
      const est = estimateProbes({ data: base, n, dims: DIMS, clusterOf, centroids: cb.centroids, k: cb.k, retired: null, random: seededRandom(5), target: 0.95 })!;
      expect(est.recall.length).toBe(est.probes);
      expect(est.recall.at(-1)!).toBeGreaterThanOrEqual(0.95);
      for (let i = 1; i < est.recall.length; i++) expect(est.recall[i]!).toBeGreaterThanOrEqual(est.recall[i - 1]!);
      if (est.probes > 1) expect(est.recall.at(-2)!).toBeLessThan(0.95);
      // Held-out queries from the same data: the estimated depth reaches the target (with sampling slack), and the
      // depth below it, when there is one, does not clearly exceed it.
      expect(ivfRecall(base, n, clusterOf, cb.centroids, cb.k, queries, 200, est.probes)).toBeGreaterThanOrEqual(0.93);
      if (centers === 1) expect(est.probes).toBeGreaterThan(4);
      // The SIMD kernel and the JS scorer agree.
      const js = estimateProbes({ data: base, n, dims: DIMS, clusterOf, centroids: cb.centroids, k: cb.k, retired: null, random: seededRandom(5), target: 0.95, simd: false })!;
      expect(js.probes).toBe(est.probes);
    });
  }

  it('should never count a retired centroid as probed, and say nothing about a tiny part', () => {
    const n = 2000;
    const base = mixture(n, DIMS, seededRandom(6), 16, 0.3);
    const { codebook: cb, clusterOf } = trainCodebook(base, DIMS, n, 'euclidean_squared', { random: seededRandom(7), targetSize: 100, minSize: 50, maxSize: 200 });
    const used = new Set(clusterOf);
    const retired = Uint8Array.from({ length: cb.k }, (_, c) => (used.has(c) ? 0 : 1));
    const est = estimateProbes({ data: base, n, dims: DIMS, clusterOf, centroids: cb.centroids, k: cb.k, retired, random: seededRandom(8) })!;
    expect(est.probes).toBeLessThanOrEqual(used.size);
    expect(estimateProbes({ data: base, n: 20, dims: DIMS, clusterOf, centroids: cb.centroids, k: cb.k, retired: null, random: seededRandom(8) })).toBeNull();
  });
});
