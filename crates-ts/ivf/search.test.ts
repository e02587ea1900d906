import { describe, expect, it } from 'vitest';
import type { DistanceMetric } from '../core/index.js';
import { buildIvf, type IvfBuild } from './build.js';
import { indexSpace } from './metric.js';
import { IvfSearcher, makeIndex, nearestIds, rankCentroids, type SearchOptions } from './search.js';
import { fhtRotation } from './rotation.js';
import { VectorArena } from '../query/index.js';
import { exactDistance, exactTopK, mixture, seededRandom } from './testing.js';

const DIMS = 64;
const N = 20_000;
const data = mixture(N, DIMS, seededRandom(1), 128, 0.35);
const queries = Array.from({ length: 40 }, (_, i) => {
  // Queries from the same distribution: a stored vector moved by noise.
  const r = seededRandom(1000 + i);
  const base = Math.floor(r() * N) * DIMS;
  return Float32Array.from({ length: DIMS }, (_, d) => data[base + d]! + 0.3 * (r() - 0.5));
});
const builds = new Map<DistanceMetric, IvfBuild>();
const build = (metric: DistanceMetric) => {
  if (!builds.has(metric)) builds.set(metric, buildIvf(data, DIMS, N, metric, { random: seededRandom(2), targetSize: 500, minSize: 250, maxSize: 1000 }));
  return builds.get(metric)!;
};

/** Searches with part rows mapped back to data rows (the build orders rows cluster by cluster). */
function search(b: IvfBuild, q: Float32Array, o: SearchOptions, accept?: (row: number) => boolean) {
  const s = new IvfSearcher(b.index);
  const toData = b.clustering.rows;
  const res = s.search(q, o, {
    cluster: (c) => b.clusters[c]!,
    exact: (rows) => Array.from(rows, (p) => exactDistance(b.index.metric, q, data, toData[p]!, DIMS)),
    accept: accept && ((p) => accept(toData[p]!)),
  });
  return { rows: Array.from(res.rows, (p) => toData[p]!), distances: Array.from(res.distances), stats: res.stats };
}

const recallAt10 = (got: number[], truth: number[]) => got.filter((x) => truth.includes(x)).length / truth.length;

describe('IVF search', () => {
  for (const metric of ['cosine_distance', 'euclidean_squared'] as const) {
    it(`should reach recall@10 ≥ 0.95 against exact kNN (${metric}, 20k × ${DIMS}-d, nprobe 8)`, () => {
      const b = build(metric);
      expect(b.clustering.k).toBeGreaterThanOrEqual(20);
      let recall = 0;
      for (const q of queries) {
        const res = search(b, q, { topK: 10, nprobe: 8 });
        const truth = exactTopK(metric, q, data, N, DIMS, 10);
        recall += recallAt10(res.rows, truth);
        // Returned distances are the exact ones, best first.
        res.rows.forEach((r, i) => expect(res.distances[i]).toBeCloseTo(exactDistance(metric, q, data, r, DIMS), 12));
        expect([...res.distances].sort((x, y) => x - y)).toEqual(res.distances);
        // The bound prunes: far fewer exact distances than codes scored.
        expect(res.stats.reranked).toBeLessThan(res.stats.scored / 10);
      }
      expect(recall / queries.length).toBeGreaterThanOrEqual(0.95);
    });
  }

  it('should get more recall from more probes (nprobe is the recall knob)', () => {
    const b = build('cosine_distance');
    const at = (nprobe: number) => queries.reduce((s, q) => s + recallAt10(search(b, q, { topK: 10, nprobe }).rows, exactTopK('cosine_distance', q, data, N, DIMS, 10)), 0) / queries.length;
    const one = at(1);
    expect(at(b.clustering.k)).toBeGreaterThan(one);
    expect(at(b.clustering.k)).toBeGreaterThanOrEqual(0.99);
  });

  it('should return the same top k with small rerank batches, asking for fewer exact distances', () => {
    const b = build('euclidean_squared');
    for (const q of queries.slice(0, 10)) {
      const one = search(b, q, { topK: 10, nprobe: 8 });
      const batched = search(b, q, { topK: 10, nprobe: 8, rerankBatch: 10 });
      expect(batched.rows).toEqual(one.rows);
      expect(one.stats.exactCalls).toBe(1);
      expect(batched.stats.reranked).toBeLessThanOrEqual(one.stats.reranked);
      expect(batched.stats.exactCalls).toBeGreaterThanOrEqual(1);
    }
  });

  it('should never return rows the caller rejects, and still find the best accepted ones', () => {
    const b = build('cosine_distance');
    const accept = (row: number) => row % 3 === 0;
    let recall = 0;
    for (const q of queries.slice(0, 20)) {
      const res = search(b, q, { topK: 10, nprobe: 8 }, accept);
      expect(res.rows.every(accept)).toBe(true);
      recall += recallAt10(res.rows, exactTopK('cosine_distance', q, data, N, DIMS, 10, accept));
    }
    expect(recall / 20).toBeGreaterThanOrEqual(0.95);
  });

  it('should return every accepted row, and terminate, when the probed clusters hold fewer than k of them', () => {
    // Used to loop forever: with fewer than k accepted rows d_k stays Infinity, and a cluster that dropped nothing
    // (its smallest dropped lower bound, Infinity) was rescored round after round.
    const b = build('cosine_distance');
    const few = new Set([3, 3000, 9999]);
    const res = search(b, queries[0]!, { topK: 10, nprobe: 400 }, (row) => few.has(row));
    expect(res.rows.sort((x, y) => x - y)).toEqual([3, 3000, 9999]);
  });

  it('should skip clusters that cannot hold a closer vector (triangle inequality) and stay exact', () => {
    // Four tight, far-apart blobs: once the query's blob is scored, the other blobs' clusters are out of reach.
    const dims = 32;
    const n = 4000;
    const blobs = mixture(n, dims, seededRandom(5), 4, 0.05);
    const b = buildIvf(blobs, dims, n, 'euclidean_squared', { random: seededRandom(6), targetSize: 250, minSize: 100, maxSize: 500 });
    const s = new IvfSearcher(b.index);
    const q = blobs.slice(0, dims);
    const res = s.search(q, { topK: 5, nprobe: b.clustering.k }, {
      cluster: (c) => b.clusters[c]!,
      exact: (rows) => Array.from(rows, (p) => exactDistance('euclidean_squared', q, blobs, b.clustering.rows[p]!, dims)),
    });
    expect(res.stats.probed).toBeLessThan(b.clustering.k / 2);
    expect(Array.from(res.rows, (p) => b.clustering.rows[p]!)).toEqual(exactTopK('euclidean_squared', q, blobs, n, dims, 5));
  });

  it('should build the same cosine index from vectors handed over already normalised', () => {
    const n = 3000;
    const raw = data.subarray(0, n * DIMS);
    const unit = indexSpace('cosine_distance', raw, DIMS);
    const o = { random: seededRandom(3), targetSize: 500, minSize: 250, maxSize: 1000 };
    const a = buildIvf(raw, DIMS, n, 'cosine_distance', o);
    const b = buildIvf(unit, DIMS, n, 'cosine_distance', { ...o, random: seededRandom(3), normalised: true });
    expect(b.clustering).toEqual(a.clustering);
    expect(b.clusters).toEqual(a.clusters);
  });

  it('should answer every query the same from one kept searcher as from a fresh one each, filtered or not, and refuse another codebook', () => {
    const b = build('euclidean_squared');
    const kept = new IvfSearcher(b.index);
    const toData = b.clustering.rows;
    const run = (s: IvfSearcher, q: Float32Array, accept?: (row: number) => boolean) => {
      const r = s.search(q, { topK: 10, nprobe: 4 }, {
        cluster: (c) => b.clusters[c]!,
        exact: (rows) => Array.from(rows, (p) => exactDistance(b.index.metric, q, data, toData[p]!, DIMS)),
        accept,
      });
      return { rows: Array.from(r.rows), distances: Array.from(r.distances), stats: r.stats };
    };
    queries.forEach((q, i) => {
      // Every third query filtered: a kept searcher must not carry candidates or states from the one before.
      const accept = i % 3 === 0 ? (p: number) => toData[p]! % 2 === 0 : undefined;
      // `use` with a copy of the index (another query's merged radii, same codebook) is allowed.
      expect(run(kept.use({ ...b.index }), q, accept)).toEqual(run(new IvfSearcher(b.index), q, accept));
    });
    const other = build('cosine_distance');
    expect(() => kept.use(other.index)).toThrow(/another codebook/);
  });

  it('should order probes by centroid distance', () => {
    expect(nearestIds(Float64Array.from([5, 1, 4, 1, 0, 9]), 6, 4)).toEqual([4, 1, 3, 2]);
    expect(nearestIds(Float64Array.from([2, 1]), 2, 5)).toEqual([1, 0]);
  });

  it('should order a deep prefix (selection, then sort) as a full sort does, ties and retired (∞) centroids included', () => {
    const r = seededRandom(5);
    for (const k of [33, 100, 1000, 4097]) {
      // Few distinct values: many ties, which must go to the lower id.
      const dist = Float64Array.from({ length: k }, () => (r() < 0.05 ? Infinity : Math.floor(r() * 50)));
      const sorted = Array.from({ length: k }, (_, c) => c).sort((a, b) => (dist[a] === dist[b] ? a - b : dist[a]! < dist[b]! ? -1 : 1));
      for (const m of [33, 40, Math.floor(k / 2), k, k + 5]) expect(nearestIds(dist, k, m), `k ${k} m ${m}`).toEqual(sorted.slice(0, m));
    }
  });
});

describe('rankCentroids', () => {
  it('should rank centroids through a SIMD scan as the JS loop does (distances within rounding, same probe order)', () => {
    const r = seededRandom(31);
    for (const [k, dims] of [[1000, 33], [257, 128], [3, 8]] as const) {
      const centroids = Float32Array.from({ length: k * dims }, () => r() * 2 - 1);
      const index = makeIndex('euclidean_squared', centroids, k, fhtRotation(dims, seededRandom(2)), new Float32Array(k));
      const arena = VectorArena.create(dims, k);
      expect(arena).not.toBeNull(); // Node 20 has WebAssembly SIMD
      arena!.data.set(centroids);
      for (let t = 0; t < 20; t++) {
        const q = Float64Array.from({ length: dims }, () => r() * 2 - 1);
        const js = new Float64Array(k);
        rankCentroids(index, q, js);
        const simd = new Float64Array(k);
        rankCentroids({ ...index, centroidScan: arena }, q, simd);
        for (let c = 0; c < k; c++) expect(Math.abs(simd[c]! - js[c]!)).toBeLessThanOrEqual(1e-9 * (1 + js[c]!));
        expect(nearestIds(simd, k, Math.min(16, k))).toEqual(nearestIds(js, k, Math.min(16, k)));
      }
    }
  });
});
