/**
 * What compute_attributes costs, in process (no HTTP): query latency of a BM25 top-k query and of an ANN top-k query
 * without computed attributes, with Highlight (default sentences; and fragment_by word with offsets) and with
 * VectorDist. Computed values are computed for the returned rows only, so the added cost should grow with top_k and
 * the returned texts' length, not with the namespace.
 *
 *   node bin/run-ts.mjs bench/compute-attributes.ts [--docs 20000] [--queries 200] [--top-k 10]
 *
 * Data: seeded documents of 3-8 sentences of 6-14 words (Zipf(1.07) over 20k synthetic words) and 64-d vectors,
 * indexed into one part, plus 500 rows in the WAL tail.
 */
import { parseArgs } from 'node:util';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { latencySummary, rng, machine } from './lib.js';
import { zipfSampler } from './data/zipf.js';

const { values } = parseArgs({ options: { docs: { type: 'string', default: '20000' }, queries: { type: 'string', default: '200' }, 'top-k': { type: 'string', default: '10' } } });
const N = Number(values.docs);
const Q = Number(values.queries);
const K = Number(values['top-k']);
const DIMS = 64;
const rand = rng(7);
const zipf = zipfSampler(20_000, 1.07, rand);
const word = (i: number) => `w${i.toString(36)}`;

function text(): string {
  const out: string[] = [];
  const n = 3 + Math.floor(rand() * 6);
  for (let s = 0; s < n; s++) {
    const len = 6 + Math.floor(rand() * 9);
    const ws: string[] = [];
    for (let i = 0; i < len; i++) ws.push(word(zipf()));
    out.push(`${ws.join(' ')}.`);
  }
  return out.join(' ');
}
const vec = () => Array.from({ length: DIMS }, () => rand() * 2 - 1);
const row = (id: number) => ({ id, body: text(), vector: vec() });

const store = new MemoryStore();
let t = Date.now();
const engine = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
const ns = 'compute-bench';
for (let i = 0; i < N; i += 2000) {
  const rows = Array.from({ length: Math.min(2000, N - i) }, (_, j) => row(i + j));
  await engine.write(ns, { upsert_rows: rows, distance_metric: 'cosine_distance', ...(i === 0 ? { schema: { body: { type: 'string', full_text_search: true } } } : {}) });
}
await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `b${t}` }).indexNamespace(ns, true);
await engine.write(ns, { upsert_rows: Array.from({ length: 500 }, (_, j) => row(N + j)) });

const queries = Array.from({ length: Q }, () => ({ terms: `${word(zipf())} ${word(zipf())}`, v: vec() }));
async function measure(label: string, body: (q: (typeof queries)[number]) => Record<string, unknown>): Promise<void> {
  for (const q of queries.slice(0, 20)) await engine.query(ns, body(q)); // warm-up
  const xs: number[] = [];
  for (const q of queries) {
    const s = performance.now();
    await engine.query(ns, body(q));
    xs.push(performance.now() - s);
  }
  const r = latencySummary(xs);
  console.log(`| ${label} | ${r.p50} | ${r.p99} | ${r.mean} |`);
}

console.log(`${machine()}; ${N} docs in one part + 500 in the tail, top_k ${K}, ${Q} queries`);
console.log('| query | p50 ms | p99 ms | mean ms |\n|---|---:|---:|---:|');
const bm25 = (q: (typeof queries)[number]) => ({ rank_by: ['body', 'BM25', q.terms], top_k: K });
const ann = (q: (typeof queries)[number]) => ({ rank_by: ['vector', 'ANN', q.v], top_k: K });
await measure('BM25', bm25);
await measure('BM25 + Highlight (sentences)', (q) => ({ ...bm25(q), compute_attributes: { h: ['Highlight', 'body'] } }));
await measure('BM25 + Highlight (words, utf-8 offsets)', (q) => ({ ...bm25(q), compute_attributes: { h: ['Highlight', 'body', { fragment_by: 'word', include_offsets: 'utf-8' }] } }));
await measure('ANN', ann);
await measure('ANN + VectorDist', (q) => ({ ...ann(q), compute_attributes: { d: ['vector', 'VectorDist', q.v] } }));
await measure('ANN + Highlight (rank_fragments_by)', (q) => ({ ...ann(q), compute_attributes: { h: ['Highlight', 'body', { rank_fragments_by: ['body', 'BM25', q.terms] }] } }));
