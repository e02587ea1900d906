/**
 * A second vector column (RFC-0014), in process (no HTTP): query latency and recall of ANN and kNN over `img` (a json
 * column of numbers with a per-part HNSW graph) next to the same vectors in `vector` (vec.blk + vectors.hnsw), and the
 * index pass time with and without the second column's graph.
 *
 *   node bin/run-ts.mjs bench/vector-columns.ts [--docs 20000] [--queries 100] [--top-k 10]
 *
 * Data: seeded 64-d vectors from a Gaussian mixture, the same vector in `vector` and `img` (euclidean_squared both),
 * indexed into one part, plus 500 rows in the WAL tail.
 */
import { parseArgs } from 'node:util';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { gaussianMixture, latencySummary, machine, recallOf, rng } from './lib.js';

const { values } = parseArgs({ options: { docs: { type: 'string', default: '20000' }, queries: { type: 'string', default: '100' }, 'top-k': { type: 'string', default: '10' } } });
const N = Number(values.docs);
const Q = Number(values.queries);
const K = Number(values['top-k']);
const DIMS = 64;
const rand = rng(14);
const gen = gaussianMixture(rand, DIMS);

async function build(withImg: boolean): Promise<{ engine: Engine; indexMs: number }> {
  const store = new MemoryStore();
  let t = Date.now();
  const engine = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
  const r2 = rng(99);
  const g2 = gaussianMixture(r2, DIMS);
  const row = (id: number) => {
    const v = g2();
    return withImg ? { id, vector: v, img: v } : { id, vector: v };
  };
  for (let i = 0; i < N; i += 2000) {
    const rows = Array.from({ length: Math.min(2000, N - i) }, (_, j) => row(i + j));
    await engine.write('vc', { upsert_rows: rows, distance_metric: 'euclidean_squared', ...(withImg && i === 0 ? { schema: { img: { type: `[${DIMS}]f32`, ann: true } } } : {}) });
  }
  const s = performance.now();
  await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `b${t}` }).indexNamespace('vc', true);
  const indexMs = performance.now() - s;
  await engine.write('vc', { upsert_rows: Array.from({ length: 500 }, (_, j) => row(N + j)) });
  return { engine, indexMs };
}

const queries = Array.from({ length: Q }, () => gen());
const ids = (res: { rows?: { id: number | string }[] }) => (res.rows ?? []).map((r) => r.id);

async function measure(engine: Engine, label: string, body: (q: number[]) => Record<string, unknown>, truth?: (q: number[]) => Promise<(number | string)[]>): Promise<void> {
  for (const q of queries.slice(0, 10)) await engine.query('vc', body(q)); // warm-up (graphs load)
  const xs: number[] = [];
  let rec = 0;
  for (const q of queries) {
    const s = performance.now();
    const res = await engine.query('vc', body(q));
    xs.push(performance.now() - s);
    if (truth) rec += recallOf(ids(res), await truth(q));
  }
  const r = latencySummary(xs);
  console.log(`| ${label} | ${r.p50} | ${r.p99} | ${r.mean} | ${truth ? (rec / Q).toFixed(3) : '1 (exact)'} |`);
}

const base = await build(false);
const both = await build(true);
console.log(`${machine()}; ${N} × ${DIMS}-d in one part + 500 in the tail, top_k ${K}, ${Q} queries`);
console.log(`index pass: ${base.indexMs.toFixed(0)} ms with \`vector\` only, ${both.indexMs.toFixed(0)} ms with \`vector\` and \`img\``);
console.log('| query | p50 ms | p99 ms | mean ms | recall@k |\n|---|---:|---:|---:|---:|');
const e = both.engine;
const exact = (attr: string) => async (q: number[]) => ids(await e.query('vc', { rank_by: [attr, 'kNN', q], top_k: K }));
await measure(e, 'vector kNN', (q) => ({ rank_by: ['vector', 'kNN', q], top_k: K }));
await measure(e, 'img kNN', (q) => ({ rank_by: ['img', 'kNN', q], top_k: K }));
await measure(e, 'vector ANN', (q) => ({ rank_by: ['vector', 'ANN', q], top_k: K }), exact('vector'));
await measure(e, 'img ANN', (q) => ({ rank_by: ['img', 'ANN', q], top_k: K }), exact('img'));
await base.engine.close();
await e.close();
