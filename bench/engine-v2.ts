/**
 * Storage engine v2 at scale (RFC-0004; issue "Storage engine v2"): a query node's memory, cold first queries and
 * per-publish work, at 1M and 10M rows.
 *
 *   node --max-old-space-size=12000 bin/run-ts.mjs bench/engine-v2.ts --rows 1000000 [--dims 0|128] [--vector-index ivf|hnsw] [--compact] \
 *        [--store DIR|s3://bucket/prefix (kept, reused when it holds the namespace)] [--cache-memory 256MiB] [--queries 300] [--build-only]
 *        [--ann-only [--ann-set 50] [--ann-passes 6] [--recall-queries 20]]
 *
 * With an s3:// store (radosgw: scripts/s3-test-server.sh start, then eval "$(scripts/s3-test-server.sh env)" and
 * ELAX_S3_ENDPOINT=$ELAX_TEST_S3_ENDPOINT), everything runs against it; the per-publish step then publishes into the
 * benchmark namespace itself, last (a local store is copied first instead), so a rerun sees 20 more one-row parts.
 *
 * 1. Build (in this process, local store): rows {id, cat (100 values), price, text (Zipf words), vector?} written
 *    through the engine in 20k-row requests, indexed into format-2 parts of 250k rows.
 * 2. Cold: a fresh `elax serve --no-indexer --cache-memory B --cache-dir temp` answers its first strong BM25 query,
 *    then (restarted, cold again) its first filtered order-by query (then, with vectors, its first ANN query):
 *    latency, and the store GETs and bytes it made (elax_store_* from /metrics).
 * 3. A mix of BM25 (1-2 terms), filtered order-by and filtered count, with ANN when there are vectors: one pass of
 *    --queries on a fresh node (graphs load in the background meanwhile), then, once the graph cache stopped
 *    growing, a second pass on the warm node: latency percentiles of both and the server's RSS (current and peak).
 * 4. Per publish: a query engine in this process, warm, is refreshed after each of 20 small publishes: µs per
 *    refresh (router + WAL list + new part head; nothing per row).
 */
import { parseArgs } from 'node:util';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Engine } from '../crates-ts/engine/index.js';
import { LocalDirStore, openStore, type ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { freePort, gaussianMixture, latencySummary, machine, processMemory, rng, serverEnv, SERVER_NODE_ARGS } from './lib.js';
import { zipfSampler, zipfWord } from './data/zipf.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    dims: { type: 'string', default: '0' },
    store: { type: 'string' },
    'cache-memory': { type: 'string', default: '256MiB' },
    queries: { type: 'string', default: '300' },
    'vector-index': { type: 'string', default: 'ivf' },
    compact: { type: 'boolean', default: false },
    // Build (or reuse) the store and stop: a 10M build runs once, its queries later on a quiet machine.
    'build-only': { type: 'boolean', default: false },
    // ANN only (after the cold queries): the same --ann-set queries repeated --ann-passes times over HTTP on one node
    // (warm: what they touch gets cached), recall on --recall-queries of them against kNN, and the server's RSS.
    'ann-only': { type: 'boolean', default: false },
    'ann-set': { type: 'string', default: '50' },
    'ann-passes': { type: 'string', default: '6' },
    'recall-queries': { type: 'string', default: '20' },
  },
});
const N = Number(values.rows);
const D = Number(values.dims);
const Q = Number(values.queries);
const NS = 'bench';
const KIND = values['vector-index'] === 'hnsw' ? 'hnsw' : 'ivf';
const vectorIndex = KIND === 'ivf' ? { kind: 'ivf' as const } : undefined;
const storeDir = values.store ?? path.join(tmpdir(), `elax-bench-v2-${N}-${D}${D > 0 && KIND === 'ivf' ? '-ivf' : ''}`);
const remote = storeDir.startsWith('s3://');
const repo = path.resolve(import.meta.dirname, '..');
const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

async function build(): Promise<void> {
  if (!remote) mkdirSync(storeDir, { recursive: true });
  const store = await openStore(storeDir);
  if (await store.get(`${NS}/router.json`)) {
    log(`reusing ${storeDir}`);
    await store.close();
    return;
  }
  const engine = new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random, groupCommitMs: 0 });
  const indexer = new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `b${Math.random().toString(36).slice(2, 8)}`, maxRowsPerPart: 250_000, maxEntriesPerPart: 64, partFormat: 2, vectorIndex });
  const rand = rng(1);
  const word = zipfSampler(20_000, 1.07, rand);
  const vec = D > 0 ? gaussianMixture(rand, D) : null;
  const t0 = performance.now();
  const BATCH = 20_000;
  for (let start = 0; start < N; start += BATCH) {
    const rows = [];
    for (let i = start; i < Math.min(N, start + BATCH); i++) {
      const text = Array.from({ length: 8 }, () => zipfWord(word())).join(' ');
      rows.push({ id: i, cat: `c${i % 100}`, price: Math.round(rand() * 100_000) / 100, text, ...(vec ? { vector: vec() } : {}) });
    }
    await engine.write(NS, {
      upsert_rows: rows,
      disable_backpressure: true,
      ...(start === 0 ? { schema: { text: { type: 'string', full_text_search: true } }, ...(vec ? { distance_metric: 'cosine_distance' } : {}) } : {}),
    });
    if ((start / BATCH) % 13 === 12) while ((await indexer.indexNamespace(NS, true)).result === 'published');
    if ((start / BATCH) % 25 === 0) log(`written ${start + rows.length} rows`);
  }
  while ((await indexer.indexNamespace(NS, true)).result === 'published');
  const built = (await new RouterStore(store).read(NS))!.router;
  log(`built ${N} rows into ${built.parts.length} parts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (values.compact) {
    // Size-tiered compaction as the embedded indexer runs it (fanout 4), until nothing is left to merge.
    const t1 = performance.now();
    const nonce = () => `m${Math.random().toString(36).slice(2, 8)}`;
    while ((await compactNamespace(store, NS, { clock: { now: () => Date.now() }, nonce, vectorIndex })).result === 'compacted') log('compacted');
    log(`compacted in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  }
  const r = (await new RouterStore(store).read(NS))!.router;
  log(`parts: ${r.parts.map((p) => `${p.rows}${p.index_kind === 'ivf' ? 'i' : p.index_kind === 'hnsw' ? 'h' : 'f'}`).join(' ')}${r.vindex ? `, codebook v${r.vindex.version}` : ''}`);
  await engine.close();
  await store.close();
}

interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function serve(): Promise<Server> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...SERVER_NODE_ARGS, path.join(repo, 'bin', 'elax.mjs'), 'serve', '--no-indexer', '--quiet', '--port', String(port), '--store', storeDir, '--cache-memory', values['cache-memory']!, '--cache-dir', 'temp', '--query-timeout-ms', '600000'],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...serverEnv(), ELAX_ADMIN_TOKEN: 'bench' } }, // as npm start
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { url, pid: child.pid!, stop: () => (child.kill('SIGTERM'), exited) };
}

async function storeCounters(url: string): Promise<{ gets: number; bytes: number }> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer bench' } })).text();
  let gets = 0;
  let bytes = 0;
  for (const line of text.split('\n')) {
    const m = /^elax_store_requests_total\{op="(get|get_range|head)"\} (\d+)/.exec(line);
    if (m) gets += Number(m[2]);
    const b = /^elax_store_bytes_total\{direction="read"\} (\d+)/.exec(line);
    if (b) bytes += Number(b[1]);
  }
  return { gets, bytes };
}

async function query(url: string, body: unknown): Promise<{ ms: number; rows: number }> {
  const t0 = performance.now();
  const r = await fetch(`${url}/v2/namespaces/${NS}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await r.json()) as { rows?: unknown[]; aggregations?: unknown };
  if (!r.ok) throw new Error(`query failed ${r.status}: ${JSON.stringify(json)}`);
  return { ms: performance.now() - t0, rows: json.rows?.length ?? 1 };
}

const rand = rng(99);
const word = zipfSampler(20_000, 1.07, rand);
const vec = D > 0 ? gaussianMixture(rng(1), D) : null;
const queries = {
  bm25: () => ({ rank_by: ['text', 'BM25', Array.from({ length: 1 + Math.floor(rand() * 2) }, () => zipfWord(word())).join(' ')], top_k: 10, include_attributes: ['cat'] }),
  orderBy: () => ({ rank_by: ['price', 'desc'], filters: ['cat', 'Eq', `c${Math.floor(rand() * 100)}`], top_k: 10, include_attributes: ['price', 'cat'] }),
  count: () => ({ aggregate_by: { n: ['Count'] }, filters: ['price', 'Lt', Math.round(rand() * 1000)] }),
  // Issue 16's table: a selective filter (0.1 % of the rows: one of 100 categories and a 10 % price range) ordered
  // by an attribute, and Count grouped by a 100-value attribute over every row.
  orderBySelective: () => ({
    rank_by: ['price', 'desc'],
    filters: ['And', [['cat', 'Eq', `c${Math.floor(rand() * 100)}`], ['price', 'Lt', 100]]],
    top_k: 10,
    include_attributes: ['price', 'cat'],
  }),
  countGroup: () => ({ aggregate_by: { n: ['Count'] }, group_by: ['cat'] }),
  ann: () => ({ rank_by: ['vector', 'ANN', vec!()], top_k: 10 }),
};

async function cold(kind: keyof typeof queries): Promise<string> {
  const s = await serve();
  try {
    const before = await storeCounters(s.url);
    const r = await query(s.url, queries[kind]());
    const after = await storeCounters(s.url);
    return `| cold first ${kind} (strong) | ${r.ms.toFixed(0)} ms | ${after.gets - before.gets} | ${((after.bytes - before.bytes) / 1024 / 1024).toFixed(2)} MiB |`;
  } finally {
    await s.stop();
  }
}

async function perPublish(): Promise<string> {
  if (remote) return publishes(await openStore(storeDir));
  // On a copy of the store, so that a rerun on the kept store measures the same namespace (20 publishes add parts).
  const copy = mkdtempSync(path.join(tmpdir(), 'elax-bench-v2-publish-'));
  cpSync(storeDir, copy, { recursive: true });
  try {
    return await publishes(new LocalDirStore(copy));
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

async function publishes(store: ObjectStore): Promise<string> {
  const writer = new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random, groupCommitMs: 0 });
  const reader = new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random, groupCommitMs: 0 });
  const indexer = new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `p${Math.random().toString(36).slice(2, 8)}`, partFormat: 2, vectorIndex });
  await reader.catalog.view(NS, 'strong');
  const us: number[] = [];
  for (let i = 0; i < 20; i++) {
    await writer.write(NS, { upsert_rows: [{ id: N + i, cat: 'c1', price: 1, text: 'publish', ...(vec ? { vector: vec() } : {}) }] });
    await indexer.indexNamespace(NS, true);
    const t0 = performance.now();
    await reader.catalog.view(NS, 'strong'); // router GET, WAL LIST, the new part's head: the view moves to the new router
    us.push((performance.now() - t0) * 1000);
  }
  await writer.close();
  await store.close();
  const s = latencySummary(us, 0);
  return `| refresh after a publish (query node, warm) | p50 ${s.p50} µs | p99 ${s.p99} µs |`;
}

await build();
if (values['build-only']) process.exit(0);

async function metric(url: string, re: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer bench' } })).text();
  return Number(re.exec(text)?.[1] ?? 0);
}
const graphBytes = (url: string) => metric(url, /^elax_cache_bytes\{cache="graphs"\} (\d+)/m);
const MiB = (n: number) => (n / 1024 / 1024).toFixed(1);

/** Where the server's memory is: the caches' accounting and V8's heap (what is not cache grows with the namespace). */
async function memoryBreakdown(url: string): Promise<string> {
  const blocks = await metric(url, /^elax_cache_bytes\{cache="blocks"\} (\d+)/m);
  const graphs = await graphBytes(url);
  const heap = await metric(url, /^nodejs_heap_size_used_bytes (\d+)/m);
  const external = await metric(url, /^nodejs_external_memory_bytes (\d+)/m);
  return `block cache ${MiB(blocks)} MiB, graph cache ${MiB(graphs)} MiB; V8 heap used ${MiB(heap)} MiB, external (array buffers) ${MiB(external)} MiB`;
}

const lines = [`# ${machine()}`, `${N} rows${D ? ` × ${D}-d, ${KIND} parts` : ' (no vectors)'}, store ${storeDir}, --cache-memory ${values['cache-memory']}`, ''];
lines.push('| cold | latency | GETs | bytes read |', '|---|---|---|---|');
lines.push(await cold('bm25'));
lines.push(await cold('orderBy'));
if (D > 0) lines.push(await cold('ann'));

/** ANN recall@10 of `qs` on the node at `url` against the exact kNN of the same queries; and those ANN latencies. */
async function annRecall(url: string, qs: number[][]): Promise<{ recall: number; ms: number[] }> {
  let found = 0;
  const ms: number[] = [];
  for (const q of qs) {
    const post = async (mode: string) => {
      const t0 = performance.now();
      const res = (await (await fetch(`${url}/v2/namespaces/${NS}/query`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-elax-query-timeout-ms': '600000' }, body: JSON.stringify({ rank_by: ['vector', mode, q], top_k: 10 }) })).json()) as { rows: { id: number; $dist: number }[] };
      if (mode === 'ANN') ms.push(performance.now() - t0);
      return res.rows;
    };
    const knn = await post('kNN');
    const ann = await post('ANN');
    const kth = knn[knn.length - 1]!.$dist;
    found += ann.filter((x) => x.$dist <= kth).length;
  }
  return { recall: found / (10 * qs.length), ms };
}

if (values['ann-only']) {
  if (D === 0) throw new Error('--ann-only needs --dims > 0');
  const set = Array.from({ length: Number(values['ann-set']) }, () => vec!());
  const s = await serve();
  try {
    const base = processMemory(s.pid);
    lines.push('', `| pass (same ${set.length} ANN queries, strong, over HTTP) | p50 | p99 | store GETs / query | KiB read / query |`, '|---|---|---|---|---|');
    for (let p = 1; p <= Number(values['ann-passes']); p++) {
      const before = await storeCounters(s.url);
      const ms: number[] = [];
      for (const q of set) ms.push((await query(s.url, { rank_by: ['vector', 'ANN', q], top_k: 10 })).ms);
      const after = await storeCounters(s.url);
      const l = latencySummary(ms);
      lines.push(`| ${p} | ${l.p50} ms | ${l.p99} ms | ${((after.gets - before.gets) / set.length).toFixed(1)} | ${((after.bytes - before.bytes) / 1024 / set.length).toFixed(0)} |`);
    }
    // Issue 16's warm measures on the same node: the same 30 queries of each kind, three passes, the last reported.
    for (const kind of ['orderBySelective', 'countGroup'] as const) {
      const qs = Array.from({ length: 30 }, () => queries[kind]());
      let l = latencySummary([0]);
      let rows = 0;
      for (let p = 0; p < 3; p++) {
        const ms: number[] = [];
        for (const q of qs) {
          const r = await query(s.url, q);
          ms.push(r.ms);
          rows += r.rows;
        }
        l = latencySummary(ms);
      }
      lines.push('', `${kind} (30 queries, pass 3 of 3, warm): p50 ${l.p50} ms, p99 ${l.p99} ms (${(rows / 90).toFixed(1)} rows per answer)`);
    }
    const mem = processMemory(s.pid);
    const rq = Number(values['recall-queries']);
    if (rq > 0) {
      const r = await annRecall(s.url, set.slice(0, rq));
      lines.push('', `ANN recall@10 (${rq} of those queries vs kNN): ${r.recall.toFixed(3)}`);
    }
    lines.push('', `server RSS: ${base.rss_mib} MiB after start, ${mem.rss_mib} MiB after the passes (peak ${mem.peak_rss_mib} MiB)`);
    lines.push('', `memory after the passes: ${await memoryBreakdown(s.url)}`);
  } finally {
    await s.stop();
  }
  console.log(lines.join('\n'));
  process.exit(0);
}

const s = await serve();
try {
  const base = processMemory(s.pid);
  const kinds: (keyof typeof queries)[] = D > 0 ? ['bm25', 'orderBy', 'count', 'ann'] : ['bm25', 'orderBy', 'count'];
  const pass = async () => {
    const lat: Record<string, number[]> = {};
    for (let i = 0; i < Q; i++) {
      const k = kinds[i % kinds.length]!;
      (lat[k] ??= []).push((await query(s.url, queries[k]())).ms);
    }
    return lat;
  };
  // A fresh node's first Q queries (large graphs load in the background meanwhile), then, once the graph cache has
  // stopped growing (2 s unchanged, at most 60 s), the next Q queries on the warm node.
  const first = await pass();
  let last = -1;
  for (let waited = 0; waited < 60_000; waited += 2000) {
    const now = await graphBytes(s.url);
    if (now === last) break;
    last = now;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const warm = await pass();
  const mem = processMemory(s.pid);
  lines.push('', `| queries (${Q} each pass) | fresh node p50 | p99 | warm p50 | p99 |`, '|---|---|---|---|---|');
  for (const k of kinds) {
    const a = latencySummary(first[k]!);
    const b = latencySummary(warm[k]!);
    lines.push(`| ${k} | ${a.p50} ms | ${a.p99} ms | ${b.p50} ms | ${b.p99} ms |`);
  }
  if (D > 0) {
    // ANN recall@10 on the warm node, against the exact kNN of the same query (20 queries).
    const { recall, ms: annMs } = await annRecall(s.url, Array.from({ length: 20 }, () => vec!()));
    lines.push('', `ANN recall@10 (warm, 20 queries vs kNN): ${recall.toFixed(3)}; those ANN queries p50 ${latencySummary(annMs).p50} ms`);
  }
  lines.push('', `server RSS: ${base.rss_mib} MiB after start, ${mem.rss_mib} MiB after both passes (peak ${mem.peak_rss_mib} MiB)`);
  lines.push('', `memory after both passes: ${await memoryBreakdown(s.url)}`);
} finally {
  await s.stop();
}
lines.push('', '| per publish | | |', '|---|---|---|', await perPublish());
console.log(lines.join('\n'));
