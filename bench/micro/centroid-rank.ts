/**
 * Ranking a codebook's centroids for one query (RFC-0008 "Centroid ranking"): the JS loop vs the SIMD scan the query
 * node attaches (query/vector-arena.ts), and an hnswlib-node graph over the centroids (its build time is what a query
 * node would pay on every codebook load). `node bin/run-ts.mjs bench/micro/centroid-rank.ts`
 */
import hnswlib from 'hnswlib-node';
import { fhtRotation, makeIndex, nearestIds, rankCentroids, seededRandom } from '../../crates-ts/ivf/index.js';
import { VectorArena } from '../../crates-ts/query/index.js';

const dims = 128;
const r = seededRandom(1);
for (const k of [1000, 4000, 10000]) {
  const centroids = Float32Array.from({ length: k * dims }, () => r());
  const ix = makeIndex('euclidean_squared', centroids, k, fhtRotation(dims, seededRandom(2)), new Float32Array(k));
  const arena = VectorArena.create(dims, k)!;
  arena.data.set(centroids);
  const simd = { ...ix, centroidScan: arena };
  const out = new Float64Array(k);
  const q = Float64Array.from({ length: dims }, () => r());
  const time = (f: () => void, n = 300) => {
    for (let i = 0; i < 30; i++) f();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return (performance.now() - t0) / n;
  };
  const js = time(() => (rankCentroids(ix, q, out), nearestIds(out, k, 16)));
  const wasm = time(() => (rankCentroids(simd, q, out), nearestIds(out, k, 16)));
  const g = new hnswlib.HierarchicalNSW('l2', dims);
  g.initIndex(k, 16, 100, 1);
  const t0 = performance.now();
  for (let c = 0; c < k; c++) g.addPoint(Array.from(centroids.subarray(c * dims, (c + 1) * dims)), c);
  const build = performance.now() - t0;
  g.setEf(64);
  const qa = Array.from(q);
  const graph = time(() => g.searchKnn(qa, 16));
  console.log(`k ${k}: JS ${js.toFixed(3)} ms, SIMD ${wasm.toFixed(3)} ms, hnswlib search ${graph.toFixed(3)} ms (build ${build.toFixed(0)} ms)`);
}
