/**
 * The event-loop cost of full-text search over the WAL tail (issue 17), in process, no store, no vectors:
 *  1. ingest: `--rows` rows (an 8-word text of Zipf-distributed words from a 2,000-word vocabulary, as
 *     bench/mixed-load.ts writes) folded into a tail whose text index a BM25 query asked for, in entries of 1,000 rows:
 *     time per entry (p50, p99) and in total, and the JS heap after a GC;
 *  2. queries: `--queries` BM25 queries of two such words, top 10, over the tail's snapshot (the query path of
 *     query/execute-segments.ts), and again over the tail carried over past its first half (a window on the same
 *     store, as after a publish): p50 / p99 / mean per query.
 *
 *   node --expose-gc bin/run-ts.mjs bench/micro/tail-bm25.ts [--rows 100000] [--queries 600]
 */
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { TailSegment } from '../../crates-ts/namespace/tail-segment.js';
import { analyzerFor, DEFAULT_FULL_TEXT_CONFIG } from '../../crates-ts/fts/index.js';
import { executeOnSegments, parseQuery, type QueryContext } from '../../crates-ts/query/index.js';
import { machine, percentile, rng } from '../lib.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, queries: { type: 'string', default: '600' } } });
const N = Number(values.rows);
const Q = Number(values.queries);
const PER_ENTRY = 1000;

const rand = rng(17);
const WORDS = 2000;
const word = () => `w${Math.floor(Math.exp(rand() * Math.log(WORDS + 1))) - 1}`;
const texts = Array.from({ length: N }, () => Array.from({ length: 8 }, word).join(' '));
const analyzer = analyzerFor(DEFAULT_FULL_TEXT_CONFIG);
const ctx: QueryContext = { schema: { text: { type: 'string', full_text_search: { ...DEFAULT_FULL_TEXT_CONFIG } } }, distanceMetric: 'cosine_distance' };
const gc = (globalThis as { gc?: () => void }).gc;

console.log(`# ${machine()}`);
console.log(`tail of ${N} rows, 8 Zipf words of ${WORDS} each, entries of ${PER_ENTRY}; ${Q} BM25 queries of 2 words, top 10`);

const tail = new TailSegment();
tail.loosePostings('text', analyzer); // a BM25 query asked for it: kept current from the first row
gc?.();
const heap0 = process.memoryUsage().heapUsed;
const ms: number[] = [];
const t0 = performance.now();
for (let from = 0; from < N; from += PER_ENTRY) {
  const t = performance.now();
  for (let id = from; id < Math.min(N, from + PER_ENTRY); id++) tail.upsert({ id, vector: null, attrs: { text: texts[id]! } });
  ms.push(performance.now() - t);
}
const total = performance.now() - t0;
gc?.();
const heap1 = process.memoryUsage().heapUsed;
const sorted = [...ms].sort((a, b) => a - b);
console.log(
  `ingest: total ${total.toFixed(0)} ms (${((1000 * total) / N).toFixed(2)} µs/row), per 1,000 rows p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms; heap +${((heap1 - heap0) / 2 ** 20).toFixed(1)} MiB${gc ? '' : ' (no --expose-gc: not collected)'}`,
);

async function queries(label: string, seg: TailSegment): Promise<void> {
  const snap = seg.snapshot();
  const times: number[] = [];
  let hits = 0;
  const digest = createHash('sha256');
  for (let i = 0; i < Q + 50; i++) {
    const q = parseQuery({ rank_by: ['text', 'BM25', `${word()} ${word()}`], top_k: 10 }, ctx);
    const t = performance.now();
    const res = await executeOnSegments(q, [snap]);
    if (i >= 50) times.push(performance.now() - t); // the first 50 warm up
    hits += res.rows!.length;
    digest.update(JSON.stringify(res.rows!.map((r) => [r.id, r.$dist])));
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`queries, ${label} (${seg.rows} rows): p50 ${percentile(times, 50).toFixed(3)} ms, p99 ${percentile(times, 99).toFixed(3)} ms, mean ${mean.toFixed(3)} ms (${hits} rows returned, sha256 ${digest.digest('hex').slice(0, 12)})`);
}

await queries('whole tail', tail);
const half = Math.floor(N / 2);
const carried = tail.carryOver(half, 0, []);
await queries('carried over past half', carried);
