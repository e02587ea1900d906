import { buildIvf, IvfSearcher, indexSpace } from '../crates-ts/ivf/index.js';
import { rng, gaussianMixture } from '../bench/lib.js';
const N = Number(process.argv[2] ?? 20000), D = 128, Q = 200;
const metric = (process.argv[3] ?? 'cosine_distance') as any;
const gen = gaussianMixture(rng(7), D);
const data = new Float32Array(N * D);
for (let i = 0; i < N; i++) data.set(gen(), i * D);
const queries = Array.from({ length: Q }, () => Float32Array.from(gen()));
const r = rng(1);
let t = performance.now();
const b = buildIvf(data, D, N, metric, { random: r, clock: () => performance.now() });
console.log('build ms', performance.now() - t, b.stats, 'k', b.clustering.k);
const sizes = Array.from({ length: b.clustering.k }, (_, c) => b.clustering.offsets[c + 1]! - b.clustering.offsets[c]!);
console.log('sizes min/max', Math.min(...sizes), Math.max(...sizes));
const ns = indexSpace(metric, data, D);
const dist = (q: Float32Array, row: number) => { let s = 0, qq = 0, xx = 0; for (let d = 0; d < D; d++) { const x = data[row * D + d]!; if (metric === 'cosine_distance') { s += q[d]! * x; qq += q[d]! ** 2; xx += x * x; } else s += (q[d]! - x) ** 2; } return metric === 'cosine_distance' ? 1 - s / Math.sqrt(qq * xx) : s; };
const truth = queries.map((q) => { const ds = Array.from({ length: N }, (_, i) => [dist(q, i), i] as [number, number]); ds.sort((a, b) => a[0] - b[0]); return ds.slice(0, 10).map((x) => x[1]); });
const s = new IvfSearcher(b.index);
for (const nprobe of [1, 2, 4, 8, 16, 32]) {
  let rec = 0, rr = 0, probed = 0; const lat: number[] = [];
  queries.forEach((q, qi) => {
    const t0 = performance.now();
    const res = s.search(q, { topK: 10, nprobe }, { cluster: (c) => b.clusters[c]!, exact: (rows) => Array.from(rows, (p) => dist(q, b.clustering.rows[p]!)) });
    lat.push(performance.now() - t0);
    const got = new Set(Array.from(res.rows, (p) => b.clustering.rows[p]!));
    rec += truth[qi]!.filter((x) => got.has(x)).length / 10; rr += res.stats.reranked; probed += res.stats.probed;
  });
  lat.sort((a, b) => a - b);
  console.log({ nprobe, recall: rec / Q, reranked: rr / Q, probed: probed / Q, p50: lat[Q >> 1] });
}
