/**
 * SparseKNN over one part (RFC-0012): the inverted index (sparse/score.ts scoreFromIndex, max-score pruning against a
 * carried top-k) against scoring every row's value (scoreFromValues, what the WAL tail and parts without the index
 * do), on SPLADE-like data, with the answers checked equal.
 *
 *   node bin/run-ts.mjs bench/micro/sparse-knn.ts [--rows 100000] [--nnz 60] [--vocab 30000] [--qnnz 20] [--queries 50] [--k 10]
 *
 * Rows hold `nnz` dimensions drawn from Zipf(1.1) over `vocab` (frequent dimensions frequent, as with learned sparse
 * models) with weights in (0, 3]; queries hold `qnnz` such dimensions. Timed: each query ranked from an empty top-k
 * (first source of a query) and again with the threshold the first pass found carried in (a later part of the same
 * query), both ways. Reported: p50 / p99 ms, candidates scored per query, and the build times of the part's index
 * file and of the tail's in-memory postings over the same rows.
 */
import { parseArgs } from 'node:util';
import type { SparseVector } from '../../crates-ts/core/index.js';
import { buildSparseIndex, LooseSparseIndex, normalizeSparse, scoreFromIndex, scoreFromValues, SparseIndexFile, sparseEntries, type SparseSink } from '../../crates-ts/sparse/index.js';
import { latencySummary, machine, rng } from '../lib.js';
import { zipfSampler } from '../data/zipf.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    nnz: { type: 'string', default: '60' },
    vocab: { type: 'string', default: '30000' },
    qnnz: { type: 'string', default: '20' },
    queries: { type: 'string', default: '50' },
    k: { type: 'string', default: '10' },
  },
});
const ROWS = Number(values.rows);
const NNZ = Number(values.nnz);
const VOCAB = Number(values.vocab);
const QNNZ = Number(values.qnnz);
const QUERIES = Number(values.queries);
const K = Number(values.k);

const rand = rng(7);
const dim = zipfSampler(VOCAB, 1.1, rand);
const vector = (n: number): SparseVector => {
  const v: Record<string, number> = {};
  for (let i = 0; i < n; i++) v[String(dim())] = Math.ceil(rand() * 24) / 8;
  return normalizeSparse(v, 'f16', 'bench');
};
const rows = Array.from({ length: ROWS }, () => vector(NNZ));
const t0 = performance.now();
const bytes = buildSparseIndex(rows);
const built = performance.now() - t0;
const index = new SparseIndexFile(bytes, 'bench');
const t1 = performance.now();
new LooseSparseIndex((p) => rows[p]).extendTo(ROWS); // the WAL tail's postings of the same rows (RFC-0012 §3)
const looseBuilt = performance.now() - t1;
const queries = Array.from({ length: QUERIES }, () => sparseEntries(vector(QNNZ)));

function topK(k: number, start?: number): SparseSink & { result(): [number, number][]; offered: number } {
  const kept: [number, number][] = [];
  const sink = {
    offered: 0,
    threshold: () => (kept.length === k ? kept[k - 1]![1] : start),
    offer(o: number, s: number) {
      sink.offered++;
      kept.push([o, s]);
      kept.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      if (kept.length > k) kept.pop();
    },
    result: () => kept.slice(),
  };
  return sink;
}

const accept = () => true;
const times = { index: [] as number[], values: [] as number[], indexCarried: [] as number[], valuesCarried: [] as number[] };
const cands = { index: [] as number[], indexCarried: [] as number[] };
for (let rep = 0; rep < 2; rep++) {
  for (const q of queries) {
    let a = performance.now();
    const si = topK(K);
    const stats = scoreFromIndex(q, (d) => index.list(d), accept, si);
    const ti = performance.now() - a;
    a = performance.now();
    const sv = topK(K);
    scoreFromValues(q, ROWS, (o) => rows[o], accept, sv);
    const tv = performance.now() - a;
    if (JSON.stringify(si.result()) !== JSON.stringify(sv.result())) throw new Error('index and values disagree');
    // A later source of the same query: the k-th best score found so far is carried in (the same rows again here, so
    // it is the exact k-th score: candidates below it are not scored).
    const theta = si.result()[K - 1]?.[1];
    a = performance.now();
    const ci = topK(K, theta);
    const cstats = scoreFromIndex(q, (d) => index.list(d), accept, ci);
    const tic = performance.now() - a;
    a = performance.now();
    scoreFromValues(q, ROWS, (o) => rows[o], accept, topK(K, theta));
    const tvc = performance.now() - a;
    if (rep === 1) {
      times.index.push(ti);
      times.values.push(tv);
      times.indexCarried.push(tic);
      times.valuesCarried.push(tvc);
      cands.index.push(stats.candidates);
      cands.indexCarried.push(cstats.candidates);
    }
  }
}
const mean = (xs: number[]) => Math.round(xs.reduce((s, x) => s + x, 0) / xs.length);
console.log(JSON.stringify({
  machine: machine(),
  rows: ROWS, nnz: NNZ, vocab: VOCAB, qnnz: QNNZ, queries: QUERIES, k: K,
  index_mib: +(bytes.byteLength / 2 ** 20).toFixed(1), build_ms: Math.round(built), tail_postings_build_ms: Math.round(looseBuilt),
  index_ms: latencySummary(times.index), values_ms: latencySummary(times.values),
  index_carried_ms: latencySummary(times.indexCarried), values_carried_ms: latencySummary(times.valuesCarried),
  candidates_mean: mean(cands.index), candidates_carried_mean: mean(cands.indexCarried),
}, null, 1));
