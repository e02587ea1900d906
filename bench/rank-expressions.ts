/**
 * What ranking expressions cost next to a plain BM25 query, in process through Engine.query (parts + a WAL tail,
 * strong consistency): top-10 latency of
 *   - BM25 alone (max-score pruned);
 *   - BM25 + 1.7 × Saturate(Attribute clicks) (every live row evaluated: the attribute matches every row);
 *   - BM25 + a filter leaf on a filterable attribute (answered from the parts' filter indexes: the BM25 matches and
 *     the filter's rows are evaluated);
 *   - Decay(Dist(Attribute at, origin), "6h") alone (every row with a value);
 *   - the unbounded ones (fts/rank-bounds.ts): Attribute alone, BM25 + Attribute, Dist(Attribute at, origin), and
 *     Decay(Dist(...)) again — each
 *     with the per-part bounds and best-first walks on, then off (RANK_BOUNDS.enabled: every row evaluated, as before).
 *
 *   node bin/run-ts.mjs bench/rank-expressions.ts [--docs 200000] [--tail 2000] [--queries 30] [--parts 4]
 */
import { parseArgs } from 'node:util';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { percentile, rng, machine } from './lib.js';
import { zipfSampler } from './data/zipf.js';
import { RANK_BOUNDS } from '../crates-ts/fts/rank-bounds.js';

const { values } = parseArgs({ options: { docs: { type: 'string', default: '200000' }, tail: { type: 'string', default: '2000' }, queries: { type: 'string', default: '30' }, parts: { type: 'string', default: '4' } } });
const PARTS = Number(values.parts);
const N = Number(values.docs);
const TAIL = Number(values.tail);
const Q = Number(values.queries);
const rand = rng(7);
const word = (i: number) => `w${i.toString(36)}`;
const zipf = zipfSampler(20_000, 1.07, rand);
const T0 = Date.UTC(2026, 0, 1);
const ORIGIN = new Date(T0 + 100 * 86_400_000).toISOString();

const store = new MemoryStore();
let t = Date.now();
const engine = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
const ns = 'rank';
await engine.updateSchema(ns, {
  text: { type: 'string', full_text_search: true },
  clicks: { type: 'uint' },
  at: { type: 'datetime' },
  species: { type: 'string', filterable: true },
});
const SPECIES = ['fox', 'dog', 'whale', 'cat', 'owl', 'eel', 'elk', 'yak'];
const row = (i: number) => ({
  id: i,
  text: Array.from({ length: 8 + Math.floor(rand() * 13) }, () => word(zipf())).join(' '),
  clicks: Math.floor(rand() * 1000),
  at: new Date(T0 + Math.floor(rand() * 200 * 86_400_000)).toISOString(),
  species: SPECIES[Math.floor(rand() * SPECIES.length)]!,
});
const write = async (from: number, to: number) => {
  for (let b = from; b < to; b += 10_000) {
    const rows = [];
    for (let i = b; i < Math.min(to, b + 10_000); i++) rows.push(row(i));
    await engine.write(ns, { upsert_rows: rows });
  }
};
let nonce = 0;
const indexer = new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `r${nonce++}` });
// PARTS parts: each chunk of rows written, then indexed.
for (let p = 0; p < PARTS; p++) {
  await write(Math.floor((p * N) / PARTS), Math.floor(((p + 1) * N) / PARTS));
  while ((await indexer.indexNamespace(ns, true)).result === 'published');
}
await write(N, N + TAIL);
const view = await engine.catalog.require(ns, 'strong');
console.log(`# ${machine()}`);
console.log(`docs ${N} in ${view.parts.length} parts + ${TAIL} in the WAL tail, ${Q} queries each (2 words: one frequent, one rare)`);

const shapes: Array<[string, (q: string) => unknown]> = [
  ['BM25', (q) => ['text', 'BM25', q]],
  ['BM25 + 1.7·Saturate(clicks)', (q) => ['Sum', [['text', 'BM25', q], ['Product', 1.7, ['Saturate', ['Attribute', 'clicks'], { midpoint: 100 }]]]]],
  ['BM25 + filter (species = whale)', (q) => ['Sum', [['text', 'BM25', q], ['species', 'Eq', 'whale']]]],
];
const unbounded: Array<[string, (q: string) => unknown]> = [
  ['Attribute(clicks)', () => ['Attribute', 'clicks']],
  ['Sum(BM25, Attribute(clicks))', (q) => ['Sum', [['text', 'BM25', q], ['Attribute', 'clicks']]]],
  ['Dist(at, origin)', () => ['Dist', ['Attribute', 'at'], ORIGIN]],
  ['Decay(Dist(at, origin), 6h)', () => ['Decay', ['Dist', ['Attribute', 'at'], ORIGIN], { midpoint: '6h' }]],
];
for (const [name, make] of unbounded) {
  shapes.push([`${name}, bounds on`, make]);
  shapes.push([`${name}, bounds off`, make]);
}
const out = ['| rank_by | p50 | p99 |', '|---|---|---|'];
const queries = Array.from({ length: Q }, () => `${word(zipf())} ${word(Math.floor(rand() * 5000))}`);
const answers = new Map<string, string>();
for (const [name, make] of shapes) {
  RANK_BOUNDS.enabled = !name.endsWith('bounds off');
  const times: number[] = [];
  const got: unknown[] = [];
  for (const [i, q] of queries.entries()) {
    const t0 = performance.now();
    const res = (await engine.query(ns, { rank_by: make(q), top_k: 10 })) as { rows?: { id: unknown }[] };
    if (i > 0) times.push(performance.now() - t0); // the first query warms the caches
    if ((res.rows ?? []).length === 0 && name !== 'BM25') throw new Error(`${name}: no rows`);
    got.push((res.rows ?? []).map((r) => r.id));
  }
  // Bounds on and off give the same rows.
  const base = name.replace(/, bounds (on|off)$/, '');
  const seen = answers.get(base);
  if (seen !== undefined && seen !== JSON.stringify(got)) throw new Error(`${base}: bounds on and off disagree`);
  answers.set(base, JSON.stringify(got));
  times.sort((a, b) => a - b);
  out.push(`| ${name} | ${percentile(times, 50).toFixed(1)} ms | ${percentile(times, 99).toFixed(1)} ms |`);
}
console.log(out.join('\n'));
