import { buildIvf, IvfSearcher } from '../crates-ts/ivf/index.js';
import { rng, gaussianMixture } from '../bench/lib.js';
const N = 200000, D = 128;
const gen = gaussianMixture(rng(7), D);
const data = new Float32Array(N * D);
for (let i = 0; i < N; i++) data.set(gen(), i * D);
const queries = Array.from({ length: 300 }, () => Float32Array.from(gen()));
const b = buildIvf(data, D, N, 'cosine_distance', { random: rng(1) });
const s = new IvfSearcher(b.index);
const norms = new Float64Array(N); for (let i = 0; i < N; i++) { let x = 0; for (let d = 0; d < D; d++) x += data[i * D + d]! ** 2; norms[i] = Math.sqrt(x); }
for (const mode of ['full', 'noexact']) for (let rep = 0; rep < 2; rep++) {
  const lat: number[] = [];
  for (const q of queries) {
    let qn = 0; for (let d = 0; d < D; d++) qn += q[d]! ** 2; qn = Math.sqrt(qn);
    const t = performance.now();
    s.search(q, { topK: 10, nprobe: 8 }, { cluster: (c) => b.clusters[c]!, exact: (rows) => { const out = new Float64Array(rows.length); if (mode === 'noexact') return out; for (let j = 0; j < rows.length; j++) { const r = b.clustering.rows[rows[j]!]!; let dd = 0; for (let d = 0; d < D; d++) dd += q[d]! * data[r * D + d]!; out[j] = 1 - dd / (qn * norms[r]!); } return out; } });
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  console.log(mode, 'p50', lat[150]!.toFixed(3));
}
