/**
 * search() against exact kNN computed with the exact scan's kernel (query/distance.ts): recall at the defaults,
 * bit-identical answers when nothing is pruned, and soundness when an estimate's upper bound is wrong (the rerank
 * and the cluster skip must then fall back on exact distances, not on the estimates).
 */
import { describe, expect, it } from 'vitest';
import type { DistanceMetric } from '../core/index.js';
import { distanceTo } from '../query/index.js';
import { buildIvf, type IvfBuild } from './build.js';
import { gaussian } from './random.js';
import { IvfSearcher, type SearchOptions } from './search.js';
import { mixture, seededRandom } from './testing.js';

const DIMS = 32;
const N = 5000;
const data = mixture(N, DIMS, seededRandom(21), 40, 0.4);
const queries = Array.from({ length: 30 }, (_, i) => {
  const r = seededRandom(500 + i);
  const base = Math.floor(r() * N) * DIMS;
  return Float32Array.from({ length: DIMS }, (_, d) => data[base + d]! + 0.4 * (r() - 0.5));
});
const SMALL = { targetSize: 100, minSize: 50, maxSize: 200 };

/** Exact top k of q over rows [0, n) of `vectors`, with the exact scan's kernel; ties go to the lower row. */
function naiveKnn(metric: DistanceMetric, q: Float32Array, vectors: Float32Array, n: number, k: number, bump?: (row: number) => number) {
  const dist = distanceTo(metric, q);
  const all: [number, number][] = [];
  for (let r = 0; r < n; r++) all.push([dist(vectors.subarray(r * DIMS, (r + 1) * DIMS)) + (bump?.(r) ?? 0), r]);
  all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { rows: all.slice(0, k).map((x) => x[1]), distances: all.slice(0, k).map((x) => x[0]) };
}

/** search() with the exact hook on the same kernel, part rows mapped back to rows of `vectors`. */
function search(b: IvfBuild, vectors: Float32Array, q: Float32Array, o: SearchOptions, bump?: (row: number) => number) {
  const dist = distanceTo(b.index.metric, q);
  const toData = b.clustering.rows;
  const res = new IvfSearcher(b.index).search(q, o, {
    cluster: (c) => b.clusters[c]!,
    exact: (rows) => Array.from(rows, (p) => dist(vectors.subarray(toData[p]! * DIMS, (toData[p]! + 1) * DIMS)) + (bump?.(toData[p]!) ?? 0)),
  });
  return { rows: Array.from(res.rows, (p) => toData[p]!), distances: Array.from(res.distances), stats: res.stats };
}

const recall = (got: number[], truth: number[]) => got.filter((x) => truth.includes(x)).length / truth.length;

describe('IVF search against exact kNN (query/distance.ts)', () => {
  for (const metric of ['cosine_distance', 'euclidean_squared'] as const) {
    const b = buildIvf(data, DIMS, N, metric, { random: seededRandom(22), ...SMALL });

    it(`should reach recall@10 ≥ 0.9 at the default nprobe (${metric}, ${N} × ${DIMS}-d)`, () => {
      expect(b.clustering.k).toBeGreaterThan(20); // far more clusters than the default probes: recall is not free
      let sum = 0;
      for (const q of queries) {
        const res = search(b, data, q, { topK: 10 });
        sum += recall(res.rows, naiveKnn(metric, q, data, N, 10).rows);
        expect(res.stats.probed).toBeLessThan(b.clustering.k);
      }
      expect(sum / queries.length).toBeGreaterThanOrEqual(0.9);
    });

    it(`should equal exact kNN bit for bit with every cluster probed and every code reranked (${metric})`, () => {
      for (const q of queries) {
        const res = search(b, data, q, { topK: 10, nprobe: b.clustering.k, eps0: Infinity });
        expect(res.stats.probed).toBe(b.clustering.k);
        expect(res.stats.reranked).toBe(N);
        expect(res).toMatchObject(naiveKnn(metric, q, data, N, 10));
      }
    });

    it(`should answer as well with refine codes (the same, or better where a RaBitQ bound failed), asking far fewer exact distances (${metric})`, () => {
      const withRefine = buildIvf(data, DIMS, N, metric, { random: seededRandom(22), ...SMALL, refine: true });
      let plain = 0;
      let refined = 0;
      let same = 0;
      let runs = 0;
      for (const q of queries) {
        for (const o of [{ topK: 10 }, { topK: 10, nprobe: 3 }, { topK: 25, nprobe: 20 }, { topK: 10, nprobe: b.clustering.k, eps0: Infinity }]) {
          const without = search(b, data, q, o);
          const got = search(withRefine, data, q, o);
          // The exact top k of the same candidates: never a farther row at any rank.
          expect(got.distances.length).toBe(without.distances.length);
          got.distances.forEach((d, i) => expect(d).toBeLessThanOrEqual(without.distances[i]!));
          if (JSON.stringify(got.rows) === JSON.stringify(without.rows)) same++;
          runs++;
          plain += without.stats.reranked;
          refined += got.stats.reranked;
          expect(got.stats.refined).toBeGreaterThan(0);
        }
      }
      expect(same).toBeGreaterThanOrEqual(runs * 0.9);
      expect(refined).toBeLessThan(plain * 0.3);
    });

    it(`should return exact distances at the defaults too (${metric})`, () => {
      const dist = distanceTo(metric, queries[0]!);
      const res = search(b, data, queries[0]!, { topK: 10 });
      expect(res.distances).toEqual(res.rows.map((r) => dist(data.subarray(r * DIMS, (r + 1) * DIMS))));
    });
  }

  it('should still find the true top k when exact distances exceed the estimates (failed upper bounds)', () => {
    // 300 tight groups of exactly 10 rows; a query sits on one group. The exact hook adds 1,000 to the distance of
    // that group's rows: their estimates (and upper bounds) say "near", their exact distances say "far". Lower
    // bounds stay valid (distances only grew), so a sound search returns the next group, never a bumped row.
    const groups = 300;
    const n = groups * 10;
    const g = gaussian(seededRandom(41));
    const centres = Float32Array.from({ length: groups * DIMS }, () => g());
    const vecs = Float32Array.from({ length: n * DIMS }, (_, i) => centres[Math.floor(i / (10 * DIMS)) * DIMS + (i % DIMS)]! + 0.01 * g());
    let revisited = 0;
    let rescored = 0;
    for (const [metric, refine] of [['euclidean_squared', false], ['cosine_distance', false], ['euclidean_squared', true], ['cosine_distance', true]] as const) {
      const b = buildIvf(vecs, DIMS, n, metric, { random: seededRandom(42), ...SMALL, refine });
      for (let i = 0; i < 10; i++) {
        const group = (i * 37) % groups;
        const q = Float32Array.from({ length: DIMS }, (_, d) => centres[group * DIMS + d]! + 0.01 * g());
        const bump = (row: number) => (Math.floor(row / 10) === group ? 1000 : 0);
        const res = search(b, vecs, q, { topK: 10, nprobe: b.clustering.k }, bump);
        expect(res.rows.filter((r) => bump(r) > 0)).toEqual([]);
        expect(res).toMatchObject(naiveKnn(metric, q, vecs, n, 10, bump));
        expect(res.stats.exactCalls).toBeGreaterThan(1); // the exact k-th distance sent it back for more
        revisited += res.stats.revisited;
        rescored += res.stats.rescored;
      }
    }
    expect(revisited).toBeGreaterThan(0); // clusters skipped on τ were scored after all
    expect(rescored).toBeGreaterThan(0); // codes dropped on τ were recovered
  });

  it('should not let zero vectors (cosine distance 1, estimated ½) crowd out nearer rows', () => {
    // Random directions in 128-d: a query's nearest rows sit at cosine distance ≈ 0.65, while a zero vector, the
    // origin of the index's unit-sphere space, is estimated at ½ with a tight bound but is at distance 1
    // (distance.ts). 30 of them must not take the places of rows at 0.65.
    const dims = 128;
    const n = 3000;
    const g = gaussian(seededRandom(31));
    const vecs = Float32Array.from({ length: n * dims }, () => g());
    for (let r = 0; r < n; r += 100) vecs.fill(0, r * dims, (r + 1) * dims);
    for (const refine of [false, true]) {
    const b = buildIvf(vecs, dims, n, 'cosine_distance', { random: seededRandom(32), ...SMALL, refine });
    const dist = (q: Float32Array) => distanceTo('cosine_distance', q);
    for (let i = 0; i < 10; i++) {
      const q = Float32Array.from({ length: dims }, () => g());
      const d = dist(q);
      const all = Array.from({ length: n }, (_, r) => [d(vecs.subarray(r * dims, (r + 1) * dims)), r] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      const truth = all.slice(0, 10).map((x) => x[1]);
      const res = new IvfSearcher(b.index).search(q, { topK: 10, nprobe: b.clustering.k }, {
        cluster: (c) => b.clusters[c]!,
        exact: (rows) => Array.from(rows, (p) => d(vecs.subarray(b.clustering.rows[p]! * dims, (b.clustering.rows[p]! + 1) * dims))),
      });
      expect(all[9]![0]).toBeLessThan(1);
      expect(Array.from(res.distances).every((x) => x < 1)).toBe(true);
      expect(recall(Array.from(res.rows, (p) => b.clustering.rows[p]!), truth)).toBeGreaterThanOrEqual(0.9);
    }
    }
  });
});
