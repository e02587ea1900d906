/**
 * Exact kNN over a second vector column against `vector` (RFC-0014 §4), one part, in process: the same 20,000 × 64-d
 * vectors in `vector` (vec.blk) and `img` ([64]f32, `ann: false`, so no graph build: the bench takes seconds), 100
 * queries each, alternating vector / img twice. Run it in two trees (before / after a change) one after the other.
 *
 *   node bin/run-ts.mjs bench/micro/vector-column-knn.ts [--docs 20000] [--dims 64] [--queries 100]
 */
import { parseArgs } from 'node:util';
import { Engine } from '../../crates-ts/engine/index.js';
import { MemoryStore } from '../../crates-ts/store/index.js';
import { Indexer } from '../../indexer/indexer.js';
import { gaussianMixture, latencySummary, machine, rng } from '../lib.js';

const { values } = parseArgs({ options: { docs: { type: 'string', default: '20000' }, dims: { type: 'string', default: '64' }, queries: { type: 'string', default: '100' } } });
const N = Number(values.docs);
const DIMS = Number(values.dims);
const Q = Number(values.queries);
const store = new MemoryStore();
let t = Date.now();
const engine = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
const data = gaussianMixture(rng(99), DIMS);
for (let i = 0; i < N; i += 2000) {
  const rows = Array.from({ length: Math.min(2000, N - i) }, (_, j) => {
    const v = data();
    return { id: i + j, vector: v, img: v };
  });
  await engine.write('vc', { upsert_rows: rows, distance_metric: 'euclidean_squared', ...(i === 0 ? { schema: { img: { type: `[${DIMS}]f32`, ann: false } } } : {}) });
}
await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `b${t}` }).indexNamespace('vc', true);
const gen = gaussianMixture(rng(14), DIMS);
const queries = Array.from({ length: Q }, () => gen());
console.log(`${machine()}; ${N} × ${DIMS}-d in one part, kNN top 10, ${Q} queries per pass`);
console.log('| pass | p50 ms | p99 ms | mean ms |\n|---|---:|---:|---:|');
for (const attr of ['vector', 'img', 'vector', 'img']) {
  const xs: number[] = [];
  for (const q of queries) {
    const s = performance.now();
    await engine.query('vc', { rank_by: [attr, 'kNN', q], top_k: 10 });
    xs.push(performance.now() - s);
  }
  const r = latencySummary(xs);
  console.log(`| ${attr} kNN | ${r.p50} | ${r.p99} | ${r.mean} |`);
}
await engine.close();
