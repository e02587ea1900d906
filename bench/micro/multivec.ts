/**
 * Multi-vector ANN over one part (RFC-0015), in one run: the token-level IVF (§4, what builds write: probed lists read
 * by ranges, approximate MaxSim, the best candidates re-ranked by exact MaxSim) and the MUVERA index (§3, parts built
 * before: a flat FDE inner-product scan of the whole file, re-ranked the same way), against exact MaxSim over every row
 * (what kNN, the WAL tail and parts without an index do), with recall@k, the ANN answer's summed distance over the
 * exact answer's, how many rows tie (within 1 %) with the exact k-th, and the index bytes a query reads.
 *
 *   node bin/run-ts.mjs bench/micro/multivec.ts [--rows 10000] [--vecs 16] [--dims 32] [--qvecs 8] [--queries 30] [--k 10]
 *     [--ksim 3 --reps 4 --dproj 32 --cands 200]   (FDE parameters and candidates, default: the build's)
 *     [--ivf-cands 400 --nprobe 32]                (IVF candidates and lists a query vector probes, default: the engine's)
 *     [--max-flat 4096]                            (lists above which the IVF build clusters in two levels)
 *     [--no-fde]                                   (skip MUVERA: large sizes)
 *
 * Rows hold 1..2·vecs vectors (mean ≈ vecs), each a noisy copy of one of `topics` (1,024) random unit "topic" directions (so rows
 * share structure, as token embeddings do); a query is `qvecs` noisy vectors taken from one row. Values f32, cosine.
 * Timed: both builds, then per query the exact scan and each ANN path (IVF: centroid ranking, list decoding as a cold
 * part would, scoring, re-rank; FDE: query encoding, scan, re-rank), all on the stored value form (arrays of numbers,
 * as column blocks decode). Bytes: IVF, the file's prefix (once a part, then cached) and the lists a query reads
 * (ranged, coalesced as part-data.ts does); FDE, the whole file (read whole, held while cached).
 */
import { parseArgs } from 'node:util';
import { buildFdeFile, buildMvIvfFile, defaultFdeParams, FdeFile, fetchMvIvfLists, maxSimDistanceOf, multiQuery, mvIvfCandidates, openMvIvfRanged, probedLists, type MultiVector } from '../../crates-ts/multivec/index.js';
import { multiCandidateCount, mvIvfCandidateCount, mvIvfProbeCount } from '../../crates-ts/query/multi-segments.js';
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
    'ivf-cands': { type: 'string' },
    nprobe: { type: 'string' },
    'max-flat': { type: 'string' },
    'no-fde': { type: 'boolean', default: false },
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
const IVF_CANDS = values['ivf-cands'] ? Number(values['ivf-cands']) : mvIvfCandidateCount(K);
const NPROBE = values.nprobe ? Number(values.nprobe) : mvIvfProbeCount(K);
const FDE = !values['no-fde'];
let t0 = performance.now();
const bytes = FDE ? buildFdeFile(rows, params, 'cosine_distance') : new Uint8Array(0);
const buildMs = performance.now() - t0;
const fde = FDE ? new FdeFile(bytes, 'bench') : null;
t0 = performance.now();
const ivfBytes = buildMvIvfFile(rows, DIMS, 'cosine_distance', values['max-flat'] ? { maxFlat: Number(values['max-flat']) } : {});
const ivfBuildMs = performance.now() - t0;
let ivfRead = 0;
const read = async (start: number, end: number) => {
  ivfRead += end - start;
  return ivfBytes.subarray(start, end);
};
const ivf = await openMvIvfRanged(read, ivfBytes.byteLength, 'bench');
const prefixRead = ivfRead;
const ivfTimes: number[] = [];
const ivfQueryBytes: number[] = [];
let ivfFound = 0;
let ivfTop1 = 0;
let ivfDistSum = 0;

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
  exactDistSum += exact.reduce((t, [, d]) => t + d, 0);
  // IVF, as a cold part: the probed lists read (ranged) and decoded, then scored, then the re-rank.
  a = performance.now();
  ivfRead = 0;
  const probes = ivf.probes(q.vectors, NPROBE);
  const lists = await fetchMvIvfLists(ivf, read, probedLists(probes));
  const ic = mvIvfCandidates(ivf, q.vectors, probes, (c) => lists.get(c)!, IVF_CANDS, () => true, () => {});
  const iann = ic.map((o) => [o, maxSimDistanceOf(q, rows[o]!)] as const).sort((x, y) => x[1] - y[1] || x[0] - y[0]).slice(0, K);
  ivfTimes.push(performance.now() - a);
  ivfQueryBytes.push(ivfRead);
  ivfDistSum += iann.reduce((t, [, d]) => t + d, 0);
  ivfFound += iann.filter(([o]) => exact.some(([e]) => e === o)).length;
  if (iann[0]?.[0] === exact[0]?.[0]) ivfTop1++;
  if (fde === null) continue;
  a = performance.now();
  const cands = fde.candidates(q.vectors, CANDS, () => true, () => {});
  const ann = cands.map((o) => [o, maxSimDistanceOf(q, rows[o]!)] as const).sort((x, y) => x[1] - y[1] || x[0] - y[0]).slice(0, K);
  annTimes.push(performance.now() - a);
  annDistSum += ann.reduce((t, [, d]) => t + d, 0);
  found += ann.filter(([o]) => exact.some(([e]) => e === o)).length;
  if (ann[0]?.[0] === exact[0]?.[0]) top1++;
}
const mib = (b: number) => +(b / 2 ** 20).toFixed(2);
console.log(JSON.stringify({
  machine: machine(),
  rows: ROWS, mean_vecs: VECS, topics: Number(values.topics), dims: DIMS, qvecs: QVECS, queries: QUERIES, k: K,
  exact_ms: latencySummary(exactTimes), rows_tied_at_cut_per_query: +(tiedAtCut / QUERIES).toFixed(1),
  ivf: {
    vectors: ivf.entries, lists: ivf.lists, nprobe: NPROBE, candidates: IVF_CANDS, file_mib: mib(ivfBytes.byteLength), build_ms: Math.round(ivfBuildMs),
    prefix_mib_once: mib(prefixRead), read_mib_per_query: latencySummary(ivfQueryBytes.map((b) => b / 2 ** 20)), ann_ms: latencySummary(ivfTimes),
    recall_at_k: +(ivfFound / (QUERIES * K)).toFixed(3), top1_found: +(ivfTop1 / QUERIES).toFixed(3), dist_ratio_at_k: +(ivfDistSum / exactDistSum).toFixed(4),
  },
  fde: fde === null ? 'skipped (--no-fde)' : {
    params, floats: fde.length, candidates: CANDS, file_mib: mib(bytes.byteLength), build_ms: Math.round(buildMs), read_mib_per_cold_query: mib(bytes.byteLength),
    ann_ms: latencySummary(annTimes), recall_at_k: +(found / (QUERIES * K)).toFixed(3), top1_found: +(top1 / QUERIES).toFixed(3), dist_ratio_at_k: +(annDistSum / exactDistSum).toFixed(4),
  },
}, null, 1));
