/**
 * ANN benchmark: indexer build rate and part sizes, query latency (warm and cold) and recall@10 through the engine,
 * next to raw hnswlib-node on the same vectors, and latency as the unindexed WAL tail grows.
 *
 *   node bin/run-ts.mjs bench/ann.ts [--n 100000] [--dims 128] [--queries 200] [--ef 128] [--store DIR]
 *
 * Data: a seeded Gaussian mixture (256 clusters), in-process engine on a local-directory store. The same measurement
 * on real vectors (WordNet glosses, through a server process) is bench/ann-wordnet.ts.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine } from '../crates-ts/engine/index.js';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { percentile, rng, machine, rawHnswlib, gaussianMixture, benchEngine } from './lib.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '128' },
    queries: { type: 'string', default: '200' },
    ef: { type: 'string', default: '128' },
    // Reuse a store an earlier run built (its `ann` namespace must hold the same --n vectors): skips ingest and build.
    store: { type: 'string' },
  },
});
const N = Number(values.n);
const D = Number(values.dims);
const Q = Number(values.queries);
const EF = Number(values.ef);
const vec = gaussianMixture(rng(7), D);
const vectors = Array.from({ length: N }, () => vec());
const queries = Array.from({ length: Q }, () => vec());
console.log(`machine: ${machine()}; n=${N} dims=${D} queries=${Q} ef_search=${EF}`);

const clock = { now: () => Date.now() };
const dir = values.store ?? mkdtempSync(path.join(tmpdir(), 'elax-ann-'));
const store = new LocalDirStore(dir);
const mkEngine = () => benchEngine(store, EF);
const engine = mkEngine();
const ns = 'ann';
let t = performance.now();
if (values.store === undefined) {
  for (let i = 0; i < N; i += 5000) {
    await engine.write(ns, { upsert_rows: vectors.slice(i, i + 5000).map((v, j) => ({ id: i + j, vector: v })), distance_metric: 'cosine_distance' });
  }
  const ingestS = (performance.now() - t) / 1000;
  const indexer = new Indexer(store, { clock, nonce: () => Math.random().toString(36).slice(2, 8), maxRowsPerPart: 50_000 });
  t = performance.now();
  await indexer.drain(ns);
  const buildS = (performance.now() - t) / 1000;
  console.log(JSON.stringify({ ingest_rows_per_s: Math.round(N / ingestS), index_vectors_per_s: Math.round(N / buildS) }));
}
const router = (await new RouterStore(store).read(ns))!.router;
const partBytes = router.parts.reduce((s, p) => s + p.bytes, 0);
console.log(JSON.stringify({ store: dir, parts: router.parts.length, part_mib: +(partBytes / 2 ** 20).toFixed(1) }));

async function measure(e: Engine, label: string) {
  const lat: number[] = [];
  let recall = 0;
  for (const q of queries) {
    const s = performance.now();
    const ann = await e.query(ns, { rank_by: ['vector', 'ANN', q], top_k: 10 });
    lat.push(performance.now() - s);
    const exact = await e.query(ns, { rank_by: ['vector', 'kNN', q], top_k: 10 });
    const truth = new Set(exact.rows!.map((r) => r.id));
    recall += ann.rows!.filter((r) => truth.has(r.id)).length / truth.size;
  }
  lat.sort((a, b) => a - b);
  const row = { label, p50_ms: +percentile(lat, 50).toFixed(2), p99_ms: +percentile(lat, 99).toFixed(2), recall_at_10: +(recall / queries.length).toFixed(4) };
  console.log(JSON.stringify(row));
  return row;
}

// Cold: a fresh engine with empty caches; the first query loads every part from the store.
const cold = mkEngine();
t = performance.now();
await cold.query(ns, { rank_by: ['vector', 'ANN', queries[0]!], top_k: 10 });
console.log(JSON.stringify({ label: 'elax cold first query (format 2: parts with large graphs scanned exactly)', ms: Math.round(performance.now() - t) }));
// Warm = every graph in memory: hint_cache_warm loads them (a cold node otherwise loads them in the background,
// one at a time, scanning those parts exactly meanwhile).
t = performance.now();
await cold.warmCache(ns);
console.log(JSON.stringify({ label: 'elax hint_cache_warm after the first query (graphs, columns, vectors)', ms: Math.round(performance.now() - t) }));
await measure(cold, 'elax warm');

// Raw hnswlib on the same vectors, same M / ef_construction / ef_search, one index; truth = the engine's exact kNN.
const truth: number[][] = [];
for (const q of queries) truth.push((await engine.query(ns, { rank_by: ['vector', 'kNN', q], top_k: 10 })).rows!.map((r) => r.id as number));
const raw = await rawHnswlib(vectors, queries, truth, { M: 16, efConstruction: 200, efs: [EF] });
console.log(JSON.stringify({ label: 'raw hnswlib-node', build_vectors_per_s: raw.build_vectors_per_s, ...raw.runs[0] }));

// Latency as the unindexed tail grows (writes into the namespace: only on a store this run built, so a reused store
// stays as it was).
let added = 0;
for (const tail of values.store === undefined ? [1000, 10000, 100000] : []) {
  while (added < tail) {
    const batch = Math.min(5000, tail - added);
    await engine.write(ns, { upsert_rows: Array.from({ length: batch }, (_, j) => ({ id: N + added + j, vector: vec() })) });
    added += batch;
  }
  await measure(engine, `elax warm, ${tail} unindexed rows`);
}
