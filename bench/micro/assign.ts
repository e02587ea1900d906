/**
 * Assigning rows to their nearest centroid (RFC-0008 "Build rate"): the JS scan (kernels.ts nearestCentroid) vs the
 * SIMD kernel with its exact re-check (ivf/assign-kernel.ts), µs per row at 128-d and 793 centroids (the 1M build's
 * codebook). `node bin/run-ts.mjs bench/micro/assign.ts`
 */
import { CentroidAssigner, nearestCentroid, seededRandom, squaredNorms } from '../../crates-ts/ivf/index.js';

const dims = 128;
const k = 793;
const n = 20_000;
const r = seededRandom(1);
const cents = Float32Array.from({ length: k * dims }, () => r() - 0.5);
const data = Float32Array.from({ length: n * dims }, () => r() - 0.5);
const cSq = squaredNorms(cents, k, dims);
const assigner = CentroidAssigner.create(cents, k, dims, cSq, null);
if (!assigner) throw new Error('no WebAssembly SIMD here');
for (let rep = 0; rep < 3; rep++) {
  let t = performance.now();
  let same = 0;
  const js = new Uint32Array(n);
  for (let i = 0; i < n; i++) js[i] = nearestCentroid(data, i * dims, dims, cents, cSq, 0, k);
  const jsMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < n; i++) if (assigner.nearest(data, i * dims) === js[i]) same++;
  const simdMs = performance.now() - t;
  console.log(`pass ${rep + 1}: js ${((jsMs / n) * 1000).toFixed(2)} µs/row, simd ${((simdMs / n) * 1000).toFixed(2)} µs/row, same centroid ${same}/${n}`);
}
