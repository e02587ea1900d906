/**
 * Multi-vector ANN over one part (RFC-0015): the MUVERA index (FDE inner-product scan for candidates, re-ranked by exact
 * MaxSim) against exact MaxSim over every row (what kNN, the WAL tail and parts without the index do), with recall@k,
 * the ANN answer's summed distance over the exact answer's, and how many rows tie (within 1 %) with the exact k-th.
 *
 *   node bin/run-ts.mjs bench/micro/multivec.ts [--rows 10000] [--vecs 16] [--dims 32] [--qvecs 8] [--queries 30] [--k 10]
 *     [--ksim 3 --reps 4 --dproj 32 --cands 200]   (FDE parameters and candidates, default: the build's)
 *
 * Rows hold 1..2·vecs vectors (mean ≈ vecs), each a noisy copy of one of `topics` (1,024) random unit "topic" directions (so rows
 * share structure, as token embeddings do); a query is `qvecs` noisy vectors taken from one row. Values f32, cosine.
 * Timed: the FDE build of the part, then per query the exact scan and the ANN path (query encoding, FDE scan,
 * re-rank of max(10k, 200) candidates), both on the stored value form (arrays of numbers, as column blocks decode).
 */
import { parseArgs } from 'node:util';
import { buildFdeFile, defaultFdeParams, FdeFile, maxSimDistanceOf, multiQuery, type MultiVector } from '../../crates-ts/multivec/index.js';
import { multiCandidateCount } from '../../crates-ts/query/multi-segments.js';
import { latencySummary, machine, rng } from '../lib.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    vecs: { type: 'string', default: '16' },
    dims: { type: 'string', default: '32' },
    qvecs: { type: 'string', default: '8' },
    queries: { type: 'string', default: '30' },
    k: { type: 'string', default: '10' },
    ksim: { type: 'string' },
    reps: { type: 'string' },
    dproj: { type: 'string' },
    cands: { type: 'string' },
    topics: { type: 'string', default: '1024' },
  },
});
const ROWS = Number(values.rows);
const VECS = Number(values.vecs);
const DIMS = Number(values.dims);
const QVECS = Number(values.qvecs);
const QUERIES = Number(values.queries);
const K = Number(values.k);

const rand = rng(15);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const topics = Array.from({ length: Number(values.topics) }, () => unit(Array.from({ length: DIMS }, gauss)));
const noisy = (v: number[], s: number) => v.map((x) => Math.fround(x + gauss() * s));
const rows: MultiVector[] = Array.from({ length: ROWS }, () =>
  Array.from({ length: 1 + Math.floor(rand() * 2 * VECS) }, () => noisy(topics[Math.floor(rand() * topics.length)]!, 0.15)),
);
const def = defaultFdeParams(DIMS);
const params = {
  ...def,
  ...(values.ksim ? { kSim: Number(values.ksim) } : {}),
  ...(values.reps ? { reps: Number(values.reps) } : {}),
  ...(values.dproj ? { dProj: Number(values.dproj) } : {}),
};
const CANDS = values.cands ? Number(values.cands) : multiCandidateCount(K);
const t0 = performance.now();
const bytes = buildFdeFile(rows, params, 'cosine_distance');
const buildMs = performance.now() - t0;
const fde = new FdeFile(bytes, 'bench');

const exactTimes: number[] = [];
const annTimes: number[] = [];
let found = 0;
let top1 = 0;
/** Σ of the ANN answer's k distances over Σ of the exact answer's: 1 = as close as exact (near-ties make recall@k low). */
let annDistSum = 0;
let exactDistSum = 0;
/** Rows whose exact distance is within 1 % of the exact k-th (ties at the cut): recall@k cannot tell them apart. */
let tiedAtCut = 0;
for (let i = 0; i < QUERIES; i++) {
  const src = rows[Math.floor(rand() * ROWS)]!;
  const q = multiQuery(Array.from({ length: QVECS }, () => Float32Array.from(noisy(src[Math.floor(rand() * src.length)]!, 0.1))), 'cosine_distance');
  let a = performance.now();
  const all = rows.map((r, o) => [o, maxSimDistanceOf(q, r)] as const).sort((x, y) => x[1] - y[1] || x[0] - y[0]);
  const exact = all.slice(0, K);
  const cut = exact[exact.length - 1]![1];
  tiedAtCut += all.filter(([, d]) => Math.abs(d - cut) <= 0.01 * Math.abs(cut)).length;
  exactTimes.push(performance.now() - a);
  a = performance.now();
  const cands = fde.candidates(q.vectors, CANDS, () => true, () => {});
  const ann = cands.map((o) => [o, maxSimDistanceOf(q, rows[o]!)] as const).sort((x, y) => x[1] - y[1] || x[0] - y[0]).slice(0, K);
  annTimes.push(performance.now() - a);
  annDistSum += ann.reduce((t, [, d]) => t + d, 0);
  exactDistSum += exact.reduce((t, [, d]) => t + d, 0);
  found += ann.filter(([o]) => exact.some(([e]) => e === o)).length;
  if (ann[0]?.[0] === exact[0]?.[0]) top1++;
}
console.log(JSON.stringify({
  machine: machine(),
  rows: ROWS, mean_vecs: VECS, topics: Number(values.topics), dims: DIMS, qvecs: QVECS, queries: QUERIES, k: K, fde_params: params, fde_floats: fde.length,
  candidates: CANDS, fde_mib: +(bytes.byteLength / 2 ** 20).toFixed(1), fde_build_ms: Math.round(buildMs),
  exact_ms: latencySummary(exactTimes), ann_ms: latencySummary(annTimes), recall_at_k: +(found / (QUERIES * K)).toFixed(3), top1_found: +(top1 / QUERIES).toFixed(3),
  dist_ratio_at_k: +(annDistSum / exactDistSum).toFixed(4), rows_tied_at_cut_per_query: +(tiedAtCut / QUERIES).toFixed(1),
}, null, 1));
