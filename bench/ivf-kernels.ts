/**
 * The vector index v2 kernels (crates-ts/ivf, issue #15) in process, no storage: build throughput broken down by
 * phase, recall@10 and latency against nprobe (rerank from an in-memory Float32Array), the exact centroid scan
 * against an hnswlib-node graph over centroids, the code-scan and rotation kernels, and raw hnswlib-node on the
 * same data.
 *
 *   node --max-old-space-size=12000 bin/run-ts.mjs bench/ivf-kernels.ts [--n 1000000] [--queries 300] [--hnsw-n N]
 *
 * --hnsw-n (default: --n) sizes the raw hnswlib comparison; a smaller one (200000) saves its ≈1M-vector build,
 * and then the IVF is also rebuilt on those rows for a like-for-like latency.
 *
 * Data: bench/lib.ts gaussianMixture (256 centres, 128-d, seed 7), cosine distance, queries drawn from the same
 * mixture (as bench/ann.ts). One core: everything runs on the main thread.
 */
import { parseArgs } from 'node:util';
import {
  buildIvf,
  centroidDistances,
  clusterByteLength,
  denseRotation,
  encodeCluster,
  encodeClusterBytes,
  estimateCluster,
  fhtRotation,
  IvfSearcher,
  nearestIds,
  QueryCodes,
  rotateCentroids,
  squaredNorms,
  type IvfBuild,
} from '../crates-ts/ivf/index.js';
import { gaussianMixture, latencySummary, machine, normalizeRows, rawHnswlib, recallOf, rng } from './lib.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    dims: { type: 'string', default: '128' },
    queries: { type: 'string', default: '300' },
    'hnsw-n': { type: 'string' },
    nprobes: { type: 'string', default: '1,2,4,8,16,32,64' },
  },
});
const N = Number(values.n);
const D = Number(values.dims);
const Q = Number(values.queries);
const H = Math.min(N, Number(values['hnsw-n'] ?? N));
const NPROBES = values.nprobes.split(',').map(Number);
const K = 10;
const log = (o: Record<string, unknown>) => console.log(JSON.stringify(o));
const now = () => performance.now();
log({ machine: machine(), n: N, dims: D, queries: Q, hnsw_n: H, metric: 'cosine_distance' });

// ---- data ------------------------------------------------------------------------------------------------------
const gen = gaussianMixture(rng(7), D);
const data = new Float32Array(N * D);
for (let i = 0; i < N; i++) data.set(gen(), i * D);
const queries = Array.from({ length: Q }, () => Float32Array.from(gen()));

// ---- 1. kernels --------------------------------------------------------------------------------------------------
function kernels(): void {
  const r = rng(3);
  const rows = 20_000;
  const out = new Float64Array(D * 2);
  for (const [name, rot] of [
    ['fht (4 rounds)', fhtRotation(D, r)],
    ['fht (2 rounds)', fhtRotation(D, r, 2)],
    ['dense Haar', denseRotation(D, r)],
  ] as const) {
    let best = Infinity;
    for (let rep = 0; rep < 3; rep++) {
      const t = now();
      for (let i = 0; i < rows; i++) rot.apply(data, i * D, out);
      best = Math.min(best, ((now() - t) * 1e6) / rows);
    }
    log({ kernel: `rotation ${name}`, ns_per_vector: Math.round(best) });
  }
  // Code scan over one cluster of 1,000 codes (L1/L2-resident, as when a probed cluster is scored).
  const rot = fhtRotation(D, r);
  const n = 1000;
  const centroid = new Float32Array(D);
  const idx = Array.from({ length: n }, (_, i) => i);
  const codes = encodeCluster(data, idx, centroid, 0, rot, 0);
  const qc = new QueryCodes(rot);
  qc.set(queries[0]!);
  const est = new Float64Array(n);
  const lower = new Float64Array(n);
  const reps = 2000;
  const time = (f: () => void) => {
    let best = Infinity;
    for (let rep = 0; rep < 5; rep++) {
      const t = now();
      for (let k = 0; k < reps; k++) f();
      best = Math.min(best, ((now() - t) * 1e6) / (reps * n));
    }
    return +best.toFixed(1);
  };
  log({ kernel: 'code scan: byte lookup table, float query (ivf estimateCluster)', ns_per_code: time(() => estimateCluster(qc, codes, 1, 0, 1.9, 0.5, est, lower)) });
  // The paper's alternative: the query quantised to 4 bits, Σ_j 2^j·popcount(code AND plane_j) over 32-bit words.
  const words = new Uint32Array(codes.codes.buffer, codes.codes.byteOffset, (n * D) / 32);
  const wpc = D / 32;
  const q = qc.rotated;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < D; i++) (lo = Math.min(lo, q[i]!)), (hi = Math.max(hi, q[i]!));
  const delta = (hi - lo) / 15;
  const planes = new Uint32Array(4 * wpc);
  for (let i = 0; i < D; i++) {
    const u = Math.round((q[i]! - lo) / delta);
    for (let j = 0; j < 4; j++) if (u & (1 << j)) planes[j * wpc + (i >> 5)] |= 1 << (i & 31);
  }
  const pc = (x: number) => {
    x = x - ((x >>> 1) & 0x55555555);
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    x = (x + (x >>> 4)) & 0x0f0f0f0f;
    return Math.imul(x, 0x01010101) >>> 24;
  };
  const ones = new Uint16Array(n);
  for (let i = 0; i < n; i++) for (let w = 0; w < wpc; w++) ones[i] += pc(words[i * wpc + w]!);
  const popScan = () => {
    for (let i = 0, o = 0; i < n; i++, o += wpc) {
      let s = 0;
      for (let j = 0; j < 4; j++) {
        let c = 0;
        for (let w = 0; w < wpc; w++) c += pc(words[o + w]! & planes[j * wpc + w]!);
        s += c << j;
      }
      const e = codes.add[i]! + 1 + codes.rescale[i]! * (2 * (delta * s + lo * ones[i]!) - 0.3);
      est[i] = e * 0.5;
      lower[i] = (e - 1.9 * codes.err[i]!) * 0.5;
    }
  };
  log({ kernel: 'code scan: 4-bit query, popcount over Uint32Array (paper)', ns_per_code: time(popScan) });
  const qb = new Uint32Array(wpc).map((_, w) => planes[3 * wpc + w]!);
  const hamming = () => {
    for (let i = 0, o = 0; i < n; i++, o += wpc) {
      let c = 0;
      for (let w = 0; w < wpc; w++) c += pc(words[o + w]! ^ qb[w]!);
      est[i] = c;
    }
  };
  log({ kernel: 'code scan: plain 1-bit Hamming distance (no estimator, for scale)', ns_per_code: time(hamming) });
}
kernels();

// ---- 2. build --------------------------------------------------------------------------------------------------
let t = now();
const build: IvfBuild = buildIvf(data, D, N, 'cosine_distance', { random: rng(11), clock: now });
const buildMs = now() - t;
t = now();
let codeBytes = 0;
for (const c of build.clusters) codeBytes += encodeClusterBytes(c).length;
const serialiseMs = now() - t;
const sizes = Array.from({ length: build.clustering.k }, (_, c) => build.clustering.offsets[c + 1]! - build.clustering.offsets[c]!).sort((a, b) => a - b);
const st = build.stats;
const r0 = (x: number) => Math.round(x);
log({
  build: 'ivf',
  vectors_per_s: r0(N / (buildMs / 1000)),
  total_ms: r0(buildMs),
  normalise_ms: r0(st.normaliseMs),
  kmeans_train_ms: r0(st.trainMs),
  assign_ms: r0(st.assignMs),
  balance_ms: r0(st.balanceMs),
  codes_ms: r0(st.encodeMs),
  serialise_ms: r0(serialiseMs),
  clusters: build.clustering.k,
  clusters_before_balance: st.clustersBeforeBalance,
  size_min: sizes[0],
  size_p50: sizes[sizes.length >> 1],
  size_max: sizes[sizes.length - 1],
  code_bytes: codeBytes,
  code_bytes_per_vector: +(codeBytes / N).toFixed(2),
  check_bytes_per_vector_formula: clusterByteLength(1000, build.index.rotation.padded, false) / 1000,
});

// ---- ground truth ------------------------------------------------------------------------------------------------
const unit = normalizeRows(data, D);
function exactTop(q: Float32Array, n: number): number[] {
  const qu = normalizeRows(q, D);
  const ids: number[] = [];
  const ss: number[] = [];
  for (let i = 0, off = 0; i < n; i++, off += D) {
    let s = 0;
    for (let d = 0; d < D; d++) s += unit[off + d]! * qu[d]!;
    if (ids.length === K && s <= ss[K - 1]!) continue;
    let j = ids.length === K ? K - 1 : ids.length;
    while (j > 0 && ss[j - 1]! < s) (ss[j] = ss[j - 1]!), (ids[j] = ids[j - 1]!), j--;
    ss[j] = s;
    ids[j] = i;
  }
  return ids;
}
t = now();
const truth = queries.map((q) => exactTop(q, N));
log({ truth_ms: r0(now() - t) });

// ---- 3. centroid search: exact scan against an hnswlib-node graph -------------------------------------------------
async function centroidSearch(): Promise<void> {
  const { default: hnswlib } = await import('hnswlib-node');
  const probe = 32;
  for (const k of [build.clustering.k, 250, 500, 2000, 5000, 10000, 20000]) {
    // Stand-ins beyond the build's own centroids: unit data rows spread over the set (the same distribution).
    const cents = k === build.clustering.k ? build.index.centroids : Float32Array.from({ length: k * D }, (_, i) => unit[Math.floor(i / D) * Math.floor(N / k) * D + (i % D)]!);
    const cSq = squaredNorms(cents, k, D);
    const dist = new Float64Array(k);
    const qs = queries.map((q) => normalizeRows(q, D));
    const scan: number[] = [];
    const exactIds: number[][] = [];
    for (const q of qs) {
      const s = now();
      centroidDistances(q, D, cents, cSq, k, dist);
      exactIds.push(nearestIds(dist, k, probe));
      scan.push(now() - s);
    }
    const g = new hnswlib.HierarchicalNSW('l2', D);
    g.initIndex(k, 16, 100, 100);
    const tb = now();
    for (let c = 0; c < k; c++) g.addPoint(Array.from(cents.subarray(c * D, (c + 1) * D)), c);
    const graphBuildMs = now() - tb;
    for (const ef of [64, 128]) {
      g.setEf(ef);
      const lat: number[] = [];
      let rec = 0;
      qs.forEach((q, i) => {
        const arr = Array.from(q);
        const s = now();
        const res = g.searchKnn(arr, probe);
        lat.push(now() - s);
        rec += recallOf(res.neighbors, exactIds[i]!);
      });
      const l = latencySummary(lat, 3);
      log({ centroids: k, probe_top: probe, exact_scan_p50_ms: latencySummary(scan.slice(), 3).p50, hnsw_ef: ef, hnsw_p50_ms: l.p50, hnsw_recall_of_top: +(rec / qs.length).toFixed(3), hnsw_build_ms: r0(graphBuildMs) });
    }
  }
}
await centroidSearch();

// ---- 4. queries: recall@10 and latency against nprobe -------------------------------------------------------------
// The part stores rows cluster by cluster: keep the unit vectors in that order so reranked rows sit together.
const byPart = new Float32Array(N * D);
for (let p = 0; p < N; p++) byPart.set(unit.subarray(build.clustering.rows[p]! * D, (build.clustering.rows[p]! + 1) * D), p * D);
const searcher = new IvfSearcher(build.index);
function run(nprobe: number, rerankBatch: number, eps0 = 1.9): Record<string, unknown> {
  const lat: number[] = [];
  let exactMs = 0;
  let recall = 0;
  const sums = { probed: 0, skipped: 0, revisited: 0, rescored: 0, scored: 0, reranked: 0, exactCalls: 0, refined: 0 };
  queries.forEach((q, i) => {
    const qu = normalizeRows(q, D);
    const s = now();
    const res = searcher.search(q, { topK: K, nprobe, rerankBatch, eps0 }, {
      cluster: (c) => build.clusters[c]!,
      exact: (rows) => {
        const e = now();
        const out = new Float64Array(rows.length);
        for (let j = 0; j < rows.length; j++) {
          const off = rows[j]! * D;
          let d0 = 0;
          let d1 = 0;
          for (let d = 0; d < D; d += 2) (d0 += qu[d]! * byPart[off + d]!), (d1 += qu[d + 1]! * byPart[off + d + 1]!);
          out[j] = 1 - (d0 + d1);
        }
        exactMs += now() - e;
        return out;
      },
    });
    lat.push(now() - s);
    for (const k of Object.keys(sums) as (keyof typeof sums)[]) sums[k] += res.stats[k];
    recall += recallOf(Array.from(res.rows, (p) => build.clustering.rows[p]!), truth[i]!);
  });
  const l = latencySummary(lat, 3);
  const per = (x: number) => +(x / Q).toFixed(1);
  return { nprobe, rerank_batch: rerankBatch === Infinity ? 'all' : rerankBatch, eps0, recall_at_10: +(recall / Q).toFixed(4), p50_ms: l.p50, p99_ms: l.p99, mean_ms: l.mean, exact_ms_mean: +(exactMs / Q).toFixed(3), probed: per(sums.probed), skipped: per(sums.skipped), revisited: per(sums.revisited), rescored: per(sums.rescored), codes_scored: per(sums.scored), reranked: per(sums.reranked), exact_calls: per(sums.exactCalls) };
}
run(8, Infinity); // warm-up
for (const nprobe of NPROBES) log({ query: 'ivf', ...run(nprobe, Infinity) });
for (const eps0 of [1.9, 2.6]) log({ query: 'ivf', ...run(8, 16, eps0) });
log({ query: 'ivf', ...run(8, Infinity, 2.6) });

// ---- 5. raw hnswlib-node on the first H vectors -------------------------------------------------------------------
{
  const truthH = H === N ? truth : queries.map((q) => exactTop(q, H));
  const vecs = Array.from({ length: H }, (_, i) => Array.from(data.subarray(i * D, (i + 1) * D)));
  const res = await rawHnswlib(vecs, queries.map((q) => Array.from(q)), truthH, { M: 16, efConstruction: 100, efs: [32, 64, 128] });
  log({ hnswlib_n: H, ...res });
  // The IVF on the same H vectors, for a like-for-like latency (only when H < N).
  if (H < N) {
    const b = buildIvf(data.subarray(0, H * D), D, H, 'cosine_distance', { random: rng(11) });
    const s2 = new IvfSearcher(b.index);
    const bp = new Float32Array(H * D);
    for (let p = 0; p < H; p++) bp.set(unit.subarray(b.clustering.rows[p]! * D, (b.clustering.rows[p]! + 1) * D), p * D);
    for (const [nprobe, batch] of [[4, Infinity], [8, Infinity]] as const) {
      const lat: number[] = [];
      let recall = 0;
      queries.forEach((q, i) => {
        const qu = normalizeRows(q, D);
        const s = now();
        const r = s2.search(q, { topK: K, nprobe, rerankBatch: batch }, {
          cluster: (c) => b.clusters[c]!,
          exact: (rows) => Float64Array.from(rows, (p) => {
            let d0 = 0;
            for (let d = 0; d < D; d++) d0 += qu[d]! * bp[p * D + d]!;
            return 1 - d0;
          }),
        });
        lat.push(now() - s);
        recall += recallOf(Array.from(r.rows, (p) => b.clustering.rows[p]!), truthH[i]!);
      });
      log({ query: `ivf on the first ${H}`, nprobe, rerank_batch: batch === Infinity ? 'all' : batch, recall_at_10: +(recall / Q).toFixed(4), ...latencySummary(lat, 3) });
    }
  }
}
