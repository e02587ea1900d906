import { fhtRotation, denseRotation, encodeCluster, QueryCodes, estimateCluster, nearestCentroid, squaredNorms, dotAt } from '../crates-ts/ivf/index.js';
import { rng } from '../bench/lib.js';
const D = 128, N = 100000;
const r = rng(3);
const data = new Float32Array(N * D); for (let i = 0; i < data.length; i++) data[i] = r() - 0.5;
const out = new Float64Array(128);
for (const [name, rot] of [['fht', fhtRotation(D, r)], ['dense', denseRotation(D, r)]] as const) {
  for (let rep = 0; rep < 2; rep++) {
    const t = performance.now();
    for (let i = 0; i < N; i++) rot.apply(data, i * D, out);
    console.log(name, 'ns/vec', ((performance.now() - t) * 1e6 / N).toFixed(0));
  }
}
const rot = fhtRotation(D, r);
const cent = new Float32Array(D);
const rows = Uint32Array.from({ length: N }, (_, i) => i);
for (let rep = 0; rep < 3; rep++) {
  const t = performance.now();
  const codes = encodeCluster(data, rows, cent, 0, rot, 0);
  console.log('encode ns/vec', ((performance.now() - t) * 1e6 / N).toFixed(0));
  const q = new QueryCodes(rot);
  q.set(data, 0);
  const est = new Float64Array(N), lo = new Float64Array(N);
  const t2 = performance.now();
  for (let k = 0; k < 5; k++) estimateCluster(q, codes, 1, 0, 1.9, 1, est, lo);
  console.log('estimate ns/code', ((performance.now() - t2) * 1e6 / N / 5).toFixed(1));
}
// nearest centroid: 4-way vs 1-way
const K = 64; const C = data.subarray(0, K * D).slice(); const cSq = squaredNorms(C, K, D);
for (let rep = 0; rep < 2; rep++) {
  let t = performance.now(); let acc = 0;
  for (let i = 0; i < N; i++) acc += nearestCentroid(data, i * D, D, C, cSq, 0, K);
  const a = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < N; i++) { let best = -1, bs = Infinity; for (let c = 0; c < K; c++) { const s = cSq[c]! - 2 * dotAt(data, i * D, C, c * D, D); if (s < bs) { bs = s; best = c; } } acc += best; }
  const b = performance.now() - t;
  console.log('nearest 4-way ns/dist', (a * 1e6 / N / K).toFixed(1), '1-way', (b * 1e6 / N / K).toFixed(1), acc > 0);
}
