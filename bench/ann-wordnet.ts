/**
 * ANN on real vectors: the 117,791 WordNet-gloss fasttext vectors (bench/data/wordnet-vectors.ts), through an
 * `elax serve` process, next to raw hnswlib-node on the same vectors in the same run.
 *
 *   node bin/run-ts.mjs bench/ann-wordnet.ts [--queries 200] [--efs 16,64,128] [--batch 2000] [--clients 2]
 *
 * Split: `--queries` synsets (seeded choice) are held out as queries; the rest are inserted (ANN-benchmarks style:
 * a query is not its own nearest neighbour). Truth: exact cosine top-10 by brute force in this process, checked
 * against elax's own kNN on a few queries.
 * elax: fresh local-directory store, embedded indexer, rows `{id: '<offset>-<pos>', vector}` written over HTTP in
 * batches; "searchable" = acknowledged + metadata up-to-date. For each ef_search in --efs a new server process
 * starts on the same store (`--ef-search`), so every ef gets a cold first query (empty part caches; the OS page
 * cache stays warm) and then warm queries. Latency is client-side over HTTP; the server's `server_total_ms` is
 * recorded alongside. raw hnswlib: one index, the server's HNSW parameters (M 16, ef_construction 200), no I/O.
 */
import { parseArgs } from 'node:util';
import { loadWordnetVectors } from './data/wordnet-vectors.js';
import { startServerProcess, rng, machine, latencySummary, postJson, writeRows, waitIndexed, processMemory, localParts, exactCosineTopK, recallOf, rawHnswlib, httpFloor, removeServerFiles } from './lib.js';

const { values } = parseArgs({
  options: {
    queries: { type: 'string', default: '200' },
    efs: { type: 'string', default: '16,64,128' },
    batch: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '20' },
    seed: { type: 'string', default: '3' },
  },
});
const Q = Number(values.queries);
const EFS = values.efs!.split(',').map(Number);
const WARMUP = Number(values.warmup);
const M = 16;
const EF_CONSTRUCTION = 200;

const all = await loadWordnetVectors();
const D = all.dims;
const row = (i: number) => all.data.subarray(i * D, (i + 1) * D);

// Seeded hold-out: a partial Fisher-Yates over row indexes.
const rand = rng(Number(values.seed));
const order = Array.from({ length: all.ids.length }, (_, i) => i);
for (let i = 0; i < Q; i++) {
  const j = i + Math.floor(rand() * (order.length - i));
  [order[i], order[j]] = [order[j]!, order[i]!];
}
const queryRows = order.slice(0, Q).sort((a, b) => a - b);
const held = new Set(queryRows);
const baseRows = Array.from({ length: all.ids.length }, (_, i) => i).filter((i) => !held.has(i));
const N = baseRows.length;
const baseIds = baseRows.map((i) => all.ids[i]!);
const baseVecs = baseRows.map((i) => Array.from(row(i)));
const queryVecs = queryRows.map((i) => Array.from(row(i)));
console.log(`machine: ${machine()}; wordnet-gloss vectors: n=${N} dims=${D} queries=${Q} (held out) efs=${EFS.join(',')} M=${M} ef_construction=${EF_CONSTRUCTION}`);

let t = performance.now();
const baseData = new Float32Array(N * D);
baseRows.forEach((r, k) => baseData.set(row(r), k * D));
const truthRows = exactCosineTopK(baseData, D, queryRows.map(row), 10);
const truthIds = truthRows.map((r) => r.map((k) => baseIds[k]!));
console.log(JSON.stringify({ exact_truth_s: +((performance.now() - t) / 1000).toFixed(1) }));

// elax: load through the API and wait until the index is up to date.
const first = await startServerProcess({ args: ['--ef-search', String(EFS[0])] });
const ns = 'wordnet';
t = performance.now();
const rows = (function* () {
  for (let k = 0; k < N; k++) yield { id: baseIds[k]!, vector: baseVecs[k]! };
})();
const w = await writeRows(first.url, ns, rows, { batch: Number(values.batch), clients: Number(values.clients), extra: { distance_metric: 'cosine_distance' } });
const writeS = (performance.now() - t) / 1000;
const meta = await waitIndexed(first.url, ns);
const searchableS = (performance.now() - t) / 1000;
if (meta.approx_row_count !== N) throw new Error(`elax reports ${String(meta.approx_row_count)} rows, wrote ${N}`);
const build = {
  write_s: +writeS.toFixed(1),
  write_vectors_per_s: Math.round(N / writeS),
  searchable_s: +searchableS.toFixed(1),
  searchable_vectors_per_s: Math.round(N / searchableS),
  requests: w.requests,
  ...localParts(first.store, ns),
  server_rss_mib_indexed: processMemory(first.child.pid!).rss_mib,
};
console.log(JSON.stringify({ elax_build: build }));

// Sanity: elax's exact kNN must agree with the brute-force truth (ties aside).
let knnRecall = 0;
for (let i = 0; i < 5; i++) {
  const r = await postJson<{ rows: { id: string }[] }>(`${first.url}/v2/namespaces/${ns}/query`, { rank_by: ['vector', 'kNN', queryVecs[i]!], top_k: 10 });
  knnRecall += recallOf(r.rows.map((x) => x.id), truthIds[i]!) / 5;
}
console.log(JSON.stringify({ elax_knn_vs_bruteforce_recall: +knnRecall.toFixed(4) }));
const floor = await httpFloor(first.url);
console.log(JSON.stringify({ http_floor_ms: floor }));
await first.stop();
removeServerFiles(first, { keepStore: true });

type Perf = { server_total_ms: number; query_execution_ms: number; exhaustive_search_count: number };
const annQuery = async (url: string, q: number[], eventual = false) =>
  postJson<{ rows: { id: string }[]; performance: Perf }>(`${url}/v2/namespaces/${ns}/query`, { rank_by: ['vector', 'ANN', q], top_k: 10, ...(eventual ? { consistency: { level: 'eventual' } } : {}) });

const elaxRuns: Record<string, number>[] = [];
for (const ef of EFS) {
  // No embedded indexer: nothing is left to index, and its worker's start-up would compete with the cold query.
  const server = await startServerProcess({ store: first.store, args: ['--ef-search', String(ef), '--no-indexer'] });
  const c0 = performance.now();
  await annQuery(server.url, queryVecs[0]!);
  const coldMs = performance.now() - c0;
  for (let i = 0; i < WARMUP; i++) await annQuery(server.url, queryVecs[(i * 7) % Q]!);
  const lat: number[] = [];
  const serverMs: number[] = [];
  let recall = 0;
  let exhaustive = 0;
  for (let i = 0; i < Q; i++) {
    const s = performance.now();
    const r = await annQuery(server.url, queryVecs[i]!);
    lat.push(performance.now() - s);
    serverMs.push(r.performance.server_total_ms);
    exhaustive = Math.max(exhaustive, r.performance.exhaustive_search_count);
    recall += recallOf(r.rows.map((x) => x.id), truthIds[i]!);
  }
  // The same queries with eventual consistency (no router.json read / WAL listing per query).
  const evLat: number[] = [];
  for (let i = 0; i < Q; i++) {
    const s = performance.now();
    await annQuery(server.url, queryVecs[i]!, true);
    evLat.push(performance.now() - s);
  }
  const ev = latencySummary(evLat);
  const l = latencySummary(lat);
  const sv = latencySummary(serverMs);
  const run = { ef, cold_first_query_ms: Math.round(coldMs), p50_ms: l.p50, p99_ms: l.p99, eventual_p50_ms: ev.p50, eventual_p99_ms: ev.p99, server_total_ms_p50: sv.p50, server_total_ms_mean: sv.mean, recall_at_10: +(recall / Q).toFixed(4), exhaustive_search_count_max: exhaustive, server_rss_mib: processMemory(server.child.pid!).rss_mib };
  console.log(JSON.stringify({ elax: run }));
  elaxRuns.push(run);
  await server.stop();
  removeServerFiles(server, { keepStore: true });
}
removeServerFiles(first);

const raw = await rawHnswlib(baseVecs, queryVecs, truthRows, { M, efConstruction: EF_CONSTRUCTION, efs: EFS });
console.log(JSON.stringify({ raw_hnswlib: raw }));

console.log(`\n| ef_search | elax recall@10 | elax p50 / p99 ms (HTTP) | same, eventual | elax server_total p50 ms | elax cold first query | hnswlib recall@10 | hnswlib p50 / p99 ms |`);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
EFS.forEach((ef, i) => {
  const e = elaxRuns[i]!;
  const r = raw.runs[i]!;
  console.log(`| ${ef} | ${e.recall_at_10} | ${e.p50_ms} / ${e.p99_ms} | ${e.eventual_p50_ms} / ${e.eventual_p99_ms} | ${e.server_total_ms_p50} | ${e.cold_first_query_ms} ms | ${r.recall_at_10} | ${r.p50_ms} / ${r.p99_ms} |`);
});
console.log(`\nHTTP floor (GET /health round trip): p50 ${floor.p50} ms, p99 ${floor.p99} ms`);
console.log(`build: elax searchable ${build.searchable_vectors_per_s} vectors/s (${build.searchable_s} s, ${build.parts} parts, ${build.part_mib} MiB); raw hnswlib ${raw.build_vectors_per_s} vectors/s`);
console.log('\n' + JSON.stringify({ machine: machine(), n: N, dims: D, queries: Q, elax_build: build, elax: elaxRuns, http_floor_ms: floor, raw_hnswlib: raw, elax_knn_vs_bruteforce_recall: +knnRecall.toFixed(4) }));
