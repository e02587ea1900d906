import { describe, expect, it } from 'vitest';
import { trainCodebook } from './codebook.js';
import { estimateProbes } from './probe-estimate.js';
import { seededRandom } from './random.js';
import { exactTopK, mixture } from './testing.js';
import { sqDistAt } from './kernels.js';

const DIMS = 16;

/**
 * Recall@10 of an IVF that probes the `p` nearest centroids holding rows (as a query probes a part) and ranks their
 * rows exactly, on fresh queries.
 */
function ivfRecall(data: Float32Array, n: number, clusterOf: Uint32Array, centroids: Float32Array, k: number, queries: Float32Array, qn: number, p: number): number {
  let found = 0;
  const held = new Set(clusterOf.subarray(0, n));
  for (let qi = 0; qi < qn; qi++) {
    const q = queries.subarray(qi * DIMS, (qi + 1) * DIMS);
    const truth = exactTopK('euclidean_squared', q, data, n, DIMS, 10);
    const near = [...Array(k).keys()].filter((c) => held.has(c)).sort((a, b) => sqDistAt(q, 0, centroids, a * DIMS, DIMS) - sqDistAt(q, 0, centroids, b * DIMS, DIMS) || a - b).slice(0, p);
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
      const est = estimateProbes({ data: base, n, dims: DIMS, clusterOf, centroids: cb.centroids, k: cb.k, random: seededRandom(5), target: 0.95 })!;
      expect(est.recall.length).toBe(est.probes);
      expect(est.recall.at(-1)!).toBeGreaterThanOrEqual(0.95);
      for (let i = 1; i < est.recall.length; i++) expect(est.recall[i]!).toBeGreaterThanOrEqual(est.recall[i - 1]!);
      if (est.probes > 1) expect(est.recall.at(-2)!).toBeLessThan(0.95);
      // Held-out queries from the same data: the estimated depth reaches the target (with sampling slack), and the
      // depth below it, when there is one, does not clearly exceed it.
      expect(ivfRecall(base, n, clusterOf, cb.centroids, cb.k, queries, 200, est.probes)).toBeGreaterThanOrEqual(0.93);
      if (centers === 1) expect(est.probes).toBeGreaterThan(4);
      // The SIMD kernel and the JS scorer agree.
      const js = estimateProbes({ data: base, n, dims: DIMS, clusterOf, centroids: cb.centroids, k: cb.k, random: seededRandom(5), target: 0.95, simd: false })!;
      expect(js.probes).toBe(est.probes);
    });
  }

  it('should give the same estimate whatever the rows scored per kernel call', () => {
    // 128-d: the default chunk (1,024 rows) splits these rows in three; one chunk of all of them, and odd sizes
    // (rows left over in the kernel's one-at-a-time tail), must find the same neighbours.
    const dims = 128;
    const n = 2500;
    const data = mixture(n, dims, seededRandom(11), 6, 0.3);
    const { codebook: cb, clusterOf } = trainCodebook(data, dims, n, 'euclidean_squared', { random: seededRandom(12), targetSize: 100, minSize: 50, maxSize: 200 });
    const run = (chunk?: number, simd?: boolean) => estimateProbes({ data, n, dims, clusterOf, centroids: cb.centroids, k: cb.k, random: seededRandom(13), target: 0.999, ...(chunk !== undefined ? { chunk } : {}), ...(simd !== undefined ? { simd } : {}) })!;
    const whole = run(n);
    expect(whole.probes).toBeGreaterThan(1);
    for (const chunk of [undefined, 1023, 257, 5]) expect(run(chunk)).toEqual(whole);
    expect(run(333, false)).toEqual(run(n, false));
  });

  it("should count depth among the part's own clusters only, and say nothing about a tiny part", () => {
    // A codebook trained on all of the data, and a part holding only the rows of a third of its clusters (as a part
    // built before later parts split clusters holds only the older ones): the centroids it holds no row in are
    // not depth, so the estimate equals the one for a codebook of just its own centroids.
    const n = 6000;
    const all = mixture(n + 200, DIMS, seededRandom(6), 32, 0.4);
    const { codebook: cb, clusterOf } = trainCodebook(all.subarray(0, n * DIMS), DIMS, n, 'euclidean_squared', { random: seededRandom(7), targetSize: 100, minSize: 50, maxSize: 200 });
    const rows = [...Array(n).keys()].filter((r) => clusterOf[r]! % 3 === 0);
    const part = new Float32Array(rows.length * DIMS);
    rows.forEach((r, i) => part.set(all.subarray(r * DIMS, (r + 1) * DIMS), i * DIMS));
    const partClusters = Uint32Array.from(rows, (r) => clusterOf[r]!);
    const est = estimateProbes({ data: part, n: rows.length, dims: DIMS, clusterOf: partClusters, centroids: cb.centroids, k: cb.k, random: seededRandom(8), target: 0.95 })!;
    // The same part against a codebook of only the centroids it holds (renumbered).
    const heldIds = [...new Set(partClusters)].sort((a, b) => a - b);
    const own = new Float32Array(heldIds.length * DIMS);
    heldIds.forEach((c, i) => own.set(cb.centroids.subarray(c * DIMS, (c + 1) * DIMS), i * DIMS));
    const renumbered = Uint32Array.from(partClusters, (c) => heldIds.indexOf(c));
    const alone = estimateProbes({ data: part, n: rows.length, dims: DIMS, clusterOf: renumbered, centroids: own, k: heldIds.length, random: seededRandom(8), target: 0.95 })!;
    expect(est.probes).toBe(alone.probes);
    expect(est.recall).toEqual(alone.recall);
    expect(est.probes).toBeLessThanOrEqual(heldIds.length);
    expect(estimateProbes({ data: part, n: 20, dims: DIMS, clusterOf: partClusters, centroids: cb.centroids, k: cb.k, random: seededRandom(8) })).toBeNull();
  });
});
