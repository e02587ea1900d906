/**
 * Filtered ANN: latency and recall@10 of `rank_by ANN` + `filters` as the filter gets more selective, next to exact
 * filtered kNN on the same engine (which is also the ground truth).
 *
 *   node bin/run-ts.mjs bench/ann-filtered.ts [--n 100000] [--dims 128] [--queries 100] [--ef 128]
 *
 * Data: the seeded Gaussian mixture of bench/ann.ts (256 clusters), in-process engine on a local-directory store,
 * indexed into parts of ≤ 50,000 rows. Each row carries `bucket`, uniform in [0, 10000) and independent of the
 * vector, and `cluster`, the mixture component it came from. Two kinds of filter:
 *  - uncorrelated: `bucket < s·10000`, selectivity s from 100 % to 0.1 %;
 *  - anti-correlated: `cluster In [...]` with ~10 % of the clusters, never the query's own, so every allowed row is
 *    far from the query (the hard case for a filtered graph walk).
 * A part answers a filtered query by a filtered HNSW walk, or by an exact scan of the allowed rows when they are
 * few (≤ 2,048 or ≤ 2 % of the part; crates-ts/part/loaded-part.ts).
 */
import { parseArgs } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { rng, machine, gaussianMixture, latencySummary, recallOf, benchEngine } from './lib.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '128' },
    queries: { type: 'string', default: '100' },
    ef: { type: 'string', default: '128' },
  },
});
const N = Number(values.n);
const D = Number(values.dims);
const Q = Number(values.queries);
const EF = Number(values.ef);
const CLUSTERS = 256;

const vec = gaussianMixture(rng(7), D, CLUSTERS);
const attrs = rng(11);
const rows = Array.from({ length: N }, (_, id) => {
  const out = { cluster: 0 };
  const vector = vec(out);
  return { id, vector, bucket: Math.floor(attrs() * 10_000), cluster: out.cluster };
});
const queries = Array.from({ length: Q }, () => {
  const out = { cluster: 0 };
  return { vector: vec(out), cluster: out.cluster };
});
console.log(`machine: ${machine()}; n=${N} dims=${D} queries=${Q} ef_search=${EF}`);

const clock = { now: () => Date.now() };
const store = new LocalDirStore(mkdtempSync(path.join(tmpdir(), 'elax-annf-')));
const engine = benchEngine(store, EF);
const ns = 'annf';
for (let i = 0; i < N; i += 5000) {
  await engine.write(ns, { upsert_rows: rows.slice(i, i + 5000), distance_metric: 'cosine_distance' });
}
await new Indexer(store, { clock, nonce: () => Math.random().toString(36).slice(2, 8), maxRowsPerPart: 50_000 }).drain(ns);
// Warm the parts (rows, HNSW graphs) so that every series below is warm.
await engine.query(ns, { rank_by: ['vector', 'ANN', queries[0]!.vector], top_k: 10 });

type Filter = unknown[] | undefined;
async function series(label: string, filterFor: (q: (typeof queries)[number]) => Filter): Promise<void> {
  const ann: number[] = [];
  const knn: number[] = [];
  let recall = 0;
  let allowed = 0;
  for (const q of queries) {
    const filters = filterFor(q);
    let t = performance.now();
    const a = await engine.query(ns, { rank_by: ['vector', 'ANN', q.vector], top_k: 10, ...(filters ? { filters } : {}) });
    ann.push(performance.now() - t);
    t = performance.now();
    const e = await engine.query(ns, { rank_by: ['vector', 'kNN', q.vector], top_k: 10, ...(filters ? { filters } : {}) });
    knn.push(performance.now() - t);
    recall += recallOf(a.rows!.map((r) => r.id as number), e.rows!.map((r) => r.id as number));
    allowed += filters ? (await engine.query(ns, { aggregate_by: { n: ['Count'] }, filters })).aggregations!.n as number : N;
  }
  const a = latencySummary(ann);
  const k = latencySummary(knn);
  const row = { label, allowed_rows_mean: Math.round(allowed / Q), ann_p50_ms: a.p50, ann_p99_ms: a.p99, recall_at_10: +(recall / Q).toFixed(4), knn_p50_ms: k.p50, knn_p99_ms: k.p99 };
  console.log(JSON.stringify(row));
  table.push(`| ${label} | ${row.allowed_rows_mean.toLocaleString('en-US')} | ${a.p50} / ${a.p99} ms | ${row.recall_at_10} | ${k.p50} / ${k.p99} ms |`);
}

const table: string[] = ['| filter | allowed rows | ANN p50 / p99 | ANN recall@10 | exact kNN p50 / p99 |', '|---|---:|---:|---:|---:|'];
await series('none', () => undefined);
for (const s of [0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.001]) {
  await series(`bucket < ${s * 10_000} (${s * 100} %)`, () => ['bucket', 'Lt', s * 10_000]);
}
// ~10 % of the clusters, chosen per query, never its own: allowed rows all lie in other clusters.
const pick = rng(13);
await series('cluster In 25 other clusters (~10 %, anti-correlated)', (q) => {
  const set = new Set<number>();
  while (set.size < 25) {
    const c = Math.floor(pick() * CLUSTERS);
    if (c !== q.cluster) set.add(c);
  }
  return ['cluster', 'In', [...set]];
});
console.log(`\n${table.join('\n')}`);
