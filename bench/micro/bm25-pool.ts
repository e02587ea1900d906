/**
 * BM25 over one large part, scored on the event loop vs on a pool thread (the `bm25-part` task, RFC-0010 "BM25 over
 * parts on the pool"), in one process, no store: a part of `--rows` rows (an 8-word text of Zipf-distributed words
 * from a 2,000-word vocabulary, as bench/mixed-load.ts writes; 1 % dead rows), its postings file in shared memory (as a
 * node with pool scans keeps it), and `--queries` BM25 queries of 1-3 such words, top `--k` (10), the first three
 * queries a warm-up. Per query, the same statistics; then
 *   - inline: TextScorer.score on this thread (event-loop time = latency);
 *   - pool:   pooledInput + pool.run (synchronous part) ... answer ... offerPooled: latency from the first to the last,
 *             event-loop time = the two synchronous parts.
 * Answers are checked equal (ids and scores). Grouped by the postings a query scores (the sum of its terms' lists),
 * which is what POOL_BM25_MIN_POSTINGS thresholds. With `--filter`, a filter (every 4th row out) as a filter index's exact mask (a byte per row).
 *
 *   node bin/run-ts.mjs bench/micro/bm25-pool.ts [--rows 200000] [--queries 400] [--k 10] [--filter] [--frequent 20]
 */
import { parseArgs } from 'node:util';
import { analyzerFor, buildPostings, DEFAULT_FULL_TEXT_CONFIG, isTextValue, PostingsFile, type TextRankExpr, type TextSource } from '../../crates-ts/fts/index.js';
import { compileTextRank } from '../../crates-ts/fts/score.js';
import { createPool } from '../../crates-ts/pool/index.js';
import type { Doc } from '../../crates-ts/core/index.js';
import { machine, percentile, rng } from '../lib.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '200000' }, queries: { type: 'string', default: '400' }, filter: { type: 'boolean', default: false }, k: { type: 'string', default: '10' }, frequent: { type: 'string', default: '0' } } });
/** > 0: query words drawn uniformly from the `--frequent` most frequent words (heavy queries), not by their frequency. */
const FREQUENT = Number(values.frequent);
const K = Number(values.k);
const N = Number(values.rows);
const Q = Number(values.queries);

const rand = rng(23);
const WORDS = 2000;
const word = () => `w${Math.floor(Math.exp(rand() * Math.log(WORDS + 1))) - 1}`;
const config = DEFAULT_FULL_TEXT_CONFIG;
const analyzer = analyzerFor(config);
const docs: Doc[] = Array.from({ length: N }, (_, o) => ({ id: o, vector: null, attrs: { text: Array.from({ length: 8 }, word).join(' ') } }));
const t0 = performance.now();
const bytes = buildPostings(docs, 'text', analyzer, (d) => {
  const v = d.attrs.text;
  return v !== null && v !== undefined && isTextValue(v) ? analyzer.tokens(v) : null;
});
const file = new PostingsFile(bytes, 'text', null, { shared: true });
const dead = new Uint8Array(N);
const deadOrdinals: number[] = [];
for (let o = 0; o < N; o += 100) (dead[o] = 1), deadOrdinals.push(o);
// The filter as a filter index's exact mask gives it: a byte per row here, copied to the task.
const allow = values.filter ? Uint8Array.from({ length: N }, (_, o) => ((o & 3) !== 0 ? 1 : 0)) : null;
const filter = allow === null ? null : (o: number) => allow[o] === 1;
const src: TextSource = { rows: N, postings: () => file, dead, deadOrdinals, id: (o) => o, value: (_a, o) => docs[o]!.attrs.text, filter };
console.log(`# ${machine()}`);
console.log(`part of ${N} rows, 8 Zipf words of ${WORDS}, 1 % dead${filter ? ', filter (every 4th row out)' : ''}, top ${K}; postings built in ${(performance.now() - t0).toFixed(0)} ms (${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB)`);

const pool = createPool({ threads: 1, now: () => performance.now() });
await pool.ready();

interface Sample {
  postings: number;
  inline: number;
  latency: number;
  loop: number;
}
const samples: Sample[] = [];
const build: number[] = [];
const qword = () => (FREQUENT > 0 ? `w${Math.floor(rand() * FREQUENT)}` : word());
const queries: string[] = Array.from({ length: Q }, (_, i) => Array.from({ length: 1 + (i % 3) }, qword).join(' '));
for (let i = 0; i < queries.length; i++) {
  const expr: TextRankExpr = { kind: 'bm25', attr: 'text', config, query: { terms: analyzer.tokens(queries[i]!), prefix: null } };
  const rank = compileTextRank(expr);
  const a = rank.stream(K);
  a.addStatistics(0, src);
  a.finishStatistics();
  const b = rank.stream(K);
  b.addStatistics(0, src);
  b.finishStatistics();
  if (a.scoredFrom(0) === null) continue;
  // Lists decoded before either path (both read the same decoded lists; the prepare does it in the engine).
  for (const t of expr.kind === 'bm25' ? expr.query.terms : []) if (file.lookup(t) >= 0) file.list(file.lookup(t));
  let s0 = performance.now();
  a.score(0, src);
  const inline = performance.now() - s0;
  s0 = performance.now();
  const input = b.pooledInput(0, src, 0, new Int32Array(new SharedArrayBuffer(4)), allow)!;
  const sIn = performance.now();
  const out = pool.run('bm25-part', input);
  const s1 = performance.now();
  build.push(sIn - s0);
  const r = await out;
  const s2 = performance.now();
  b.offerPooled(0, src, r);
  const s3 = performance.now();
  const show = (hits: ReturnType<typeof a.results>) => JSON.stringify([...hits].sort((x, y) => y.score - x.score || (x.id as number) - (y.id as number)).map((h) => [h.id, h.score]));
  if (show(a.results()) !== show(b.results())) throw new Error(`query ${i} '${queries[i]}': pool and inline answers differ`);
  let postings = 0;
  for (const l of input.leaves) if (l !== null && 'list' in l) postings += l.list.ords.length;
  if (i >= 3) samples.push({ postings, inline, latency: s3 - s0, loop: s1 - s0 + (s3 - s2) });
}
// Baseline: the event-loop cost of handing over an empty task (no lists, no masks): piscina's post and the answer.
const empty: number[] = [];
for (let i = 0; i < 200; i++) {
  const e0 = performance.now();
  const out = pool.run('bm25-part', { expr: { leaves: [], clauses: [], root: { kind: 'sum', children: [] }, linear: true }, clauses: [], idf: new Float64Array(0), k: 1, floor: -Infinity, rows: 0, lens: [], leaves: [], skip: null, allow: null, cancel: null });
  const e1 = performance.now();
  await out;
  if (i >= 10) empty.push(e1 - e0);
}
await pool.close();

const buckets: [string, number, number][] = [
  ['< 8k', 0, 8192],
  ['8k-32k', 8192, 32768],
  ['32k-128k', 32768, 131072],
  ['>= 128k', 131072, Infinity],
  ['all', 0, Infinity],
];
const fmt = (xs: number[], p: number) => percentile([...xs].sort((x, y) => x - y), p).toFixed(3);
const mean = (xs: number[]) => (xs.reduce((x, y) => x + y, 0) / Math.max(1, xs.length)).toFixed(3);
console.log('postings | queries | inline p50 / p99 / mean ms | pool latency p50 / p99 / mean ms | pool event-loop p50 / p99 / mean ms | inline ns/posting');
for (const [name, lo, hi] of buckets) {
  const in_ = samples.filter((s) => s.postings >= lo && s.postings < hi);
  if (in_.length === 0) continue;
  const inl = in_.map((s) => s.inline);
  const lat = in_.map((s) => s.latency);
  const loop = in_.map((s) => s.loop);
  const nsPer = (1e6 * inl.reduce((x, y) => x + y, 0)) / in_.reduce((x, s) => x + s.postings, 0);
  console.log(`${name} | ${in_.length} | ${fmt(inl, 50)} / ${fmt(inl, 99)} / ${mean(inl)} | ${fmt(lat, 50)} / ${fmt(lat, 99)} / ${mean(lat)} | ${fmt(loop, 50)} / ${fmt(loop, 99)} / ${mean(loop)} | ${nsPer.toFixed(1)}`);
}
console.log(`building the task's input on the event loop: p50 ${fmt(build, 50)} ms, mean ${mean(build)} ms`);
console.log(`handing over an empty task (posting only): p50 ${fmt(empty, 50)} ms, p99 ${fmt(empty, 99)} ms, mean ${mean(empty)} ms`);
