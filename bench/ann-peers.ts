/**
 * ANN side by side (issue 15): elax through the engine with IVF (format-3) parts, and with HNSW (format-2) parts,
 * next to raw hnswlib-node, usearch and LanceDB, in ONE run on the SAME vectors, queries and exact truth.
 *
 *   npm --prefix bench/peers install       # once: usearch and LanceDB live in their own package (bench/peers)
 *   node --max-old-space-size=16000 bin/run-ts.mjs bench/ann-peers.ts [--dataset clustered|wordnet] [--rows 1000000]
 *        [--queries 200] [--systems elax-ivf,hnswlib,usearch,lancedb,elax-hnsw] [--efs 64,128] [--profile]
 *        [--usearch-threads 1] [--elax-efs 256,512] [--elax-tune 0.95] [--elax-compact]
 *
 * Data: `clustered` is bench/lib.ts's seeded Gaussian mixture (256 centres, 128-d, seed 7: the vectors of
 * bench/ann.ts and bench/ivf-kernels.ts), --rows base vectors then --queries queries from the same mixture;
 * `wordnet` is the 117,791 WordNet-gloss fasttext vectors (bench/data/wordnet-vectors.ts) with --queries of them
 * held out as bench/ann-wordnet.ts does. Truth: exact cosine top-10 by brute force, once; base, queries and truth go
 * to one file (bench/data/vector-file.ts, cached in bench/.cache/ann-peers/) that every system reads.
 *
 * Every system runs in its own child process, one after the other in --systems order, so each has the machine and its own memory
 * figure, and LanceDB's apache-arrow never meets elax's:
 *  - elax (this file, --phase elax-build then --phase elax-query): an in-process Engine and Indexer on a fresh
 *    local-directory store (bench/ann.ts's setup). Build: upserts in 5,000-row batches, then one Indexer with the
 *    server's defaults (parts of ≤ 250,000 rows; `vectorIndex: {kind: 'ivf'}` as `--vector-index ivf` gives) drains
 *    the namespace; "time to searchable" runs from the last acknowledged write to the namespace fully indexed.
 *    Query: a fresh process and Engine on the same store: the cold first query (ms, and objects / bytes read from
 *    the store), hint_cache_warm, one pass over the queries, then the measured pass (strong consistency, the
 *    default; and eventual). ef_search 128, the default (IVF: nprobe 8).
 *  - peers (bench/peers/run-peer.mjs): raw hnswlib-node and usearch (one graph each, M 16, ef_construction 200;
 *    hnswlib builds on one thread, usearch on --usearch-threads), LanceDB IVF_PQ (defaults, cosine) tuned at query
 *    time to elax-ivf's recall (and to 0.95).
 * Queries everywhere: top 10, one at a time, one pass to warm up, then every query once; p50 / p99 in process.
 * --profile adds where elax's time goes: CPU by phase of the build and of the warm queries (bench/cpu-profile.ts).
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalDirStore, type ByteRange, type ListOptions } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { readCodebook } from '../crates-ts/vindex/index.js';
import { buildPartFiles } from '../crates-ts/part/index.js';
import { Indexer } from '../indexer/indexer.js';
import { benchEngine, exactCosineTopK, gaussianMixture, latencySummary, localParts, machine, recallOf, rng } from './lib.js';
import { readVectorFile, writeVectorFile, type VectorFile } from './data/vector-file.js';
import { profiled, type Category } from './cpu-profile.js';
import { IvfSearcher, type SearchStats } from '../crates-ts/ivf/index.js';
import { runTune } from '../cli/recall/tune.js';
import { compactNamespace } from '../indexer/compact.js';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'clustered' },
    rows: { type: 'string', default: '1000000' },
    dims: { type: 'string', default: '128' },
    queries: { type: 'string', default: '200' },
    seed: { type: 'string' },
    systems: { type: 'string', default: 'elax-ivf,hnswlib,usearch,lancedb,elax-hnsw' },
    efs: { type: 'string', default: '64,128' },
    ef: { type: 'string', default: '128' },
    // More elax ef_search values measured after the default (per-query ef_search; IVF: nprobe = ⌈ef × 8 / 128⌉).
    'elax-efs': { type: 'string', default: '' },
    profile: { type: 'boolean', default: false },
    // Run `elax recall --tune --target X` (probe depth and ε0, RFC-0008 §5) between elax's build and its queries, as
    // an operator would: the queries then use the namespace's tuned defaults.
    'elax-tune': { type: 'string' },
    // After elax's build is searchable (its figures are taken then), run the size-tiered compaction the embedded
    // indexer runs until nothing is left to merge, timed, before the tune and the queries: the namespace as it settles.
    'elax-compact': { type: 'boolean', default: false },
    // usearch's build threads (0: all cores). hnswlib-node adds points on one thread; LanceDB uses all cores.
    'usearch-threads': { type: 'string', default: '1' },
    // Keep the peers' built graphs (hnswlib, usearch) here and reuse them on reruns (their build figures are the
    // original build's, marked build_cached). A loaded hnswlib graph queries slower than a freshly built one
    // (docs/benchmarks.md, seventh session): for latency comparisons, build in the run.
    'graph-cache': { type: 'string' },
    // Internal: the child processes.
    phase: { type: 'string' },
    data: { type: 'string' },
    store: { type: 'string' },
    kind: { type: 'string' },
  },
});
const K = 10;
const NS = 'ann';
const EF = Number(values.ef);
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const PEERS = path.join(repo, 'bench/peers');
const now = () => performance.now();
const log = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

/** A local-directory store that counts and times what passes through it (reads: the cold query; writes: upload). */
class MeteredStore extends LocalDirStore {
  reads = { objects: 0, bytes: 0, lists: 0, heads: 0 };
  writes = { objects: 0, bytes: 0 };
  /** Wall time with at least one read / write in flight (parallel calls overlap, so not the sum of durations). */
  busy = { read: 0, write: 0 };
  private inflight = { read: 0, write: 0 };
  private since = { read: 0, write: 0 };
  reset(): void {
    this.reads = { objects: 0, bytes: 0, lists: 0, heads: 0 };
    this.writes = { objects: 0, bytes: 0 };
    this.busy = { read: 0, write: 0 };
  }
  private async timed<T>(kind: 'read' | 'write', f: () => Promise<T>): Promise<T> {
    if (this.inflight[kind]++ === 0) this.since[kind] = now();
    try {
      return await f();
    } finally {
      if (--this.inflight[kind] === 0) this.busy[kind] += now() - this.since[kind];
    }
  }
  override async get(key: string, range?: ByteRange) {
    const got = await this.timed('read', () => super.get(key, range));
    if (got) (this.reads.objects++, (this.reads.bytes += got.bytes.byteLength));
    return got;
  }
  override async head(key: string) {
    this.reads.heads++;
    return this.timed('read', () => super.head(key));
  }
  override async list(prefix: string, options?: ListOptions) {
    this.reads.lists++;
    return this.timed('read', () => super.list(prefix, options));
  }
  override async put(key: string, bytes: Uint8Array) {
    (this.writes.objects++, (this.writes.bytes += bytes.byteLength));
    return this.timed('write', () => super.put(key, bytes));
  }
}

const mib = (b: number) => +(b / 2 ** 20).toFixed(1);
function memory(): { rss_mib: number; peak_rss_mib: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss_mib: Math.round(kib('VmRSS') / 1024), peak_rss_mib: Math.round(kib('VmHWM') / 1024) };
}
const row = (a: Float32Array, dims: number, i: number) => a.subarray(i * dims, (i + 1) * dims);

// Where the indexer's CPU goes (bench/cpu-profile.ts): innermost match wins, except inside k-means training.
const BUILD_CATEGORIES: Category[] = [
  { name: 'k-means training (samples)', file: 'ivf/kmeans.ts', fns: ['trainKMeans'], sticky: true },
  { name: 'assignment (every row to its centroid)', file: 'ivf/kmeans.ts', fns: ['assignRows'] },
  { name: 'assignment (every row to its centroid)', file: 'ivf/codebook.ts', fns: ['assignToCodebook'] },
  { name: 'balancing (split, merge, reassign)', file: 'ivf/balance.ts' },
  { name: 'balancing (split, merge, reassign)', file: 'ivf/cluster-set.ts' },
  { name: 'balancing (split, merge, reassign)', file: 'ivf/codebook.ts', fns: ['extendCodebook'] },
  { name: 'RaBitQ codes (rotate, encode)', file: 'ivf/rabitq.ts' },
  { name: 'RaBitQ codes (rotate, encode)', file: 'ivf/rotation.ts' },
  { name: 'RaBitQ codes (rotate, encode)', file: 'ivf/cluster-layout.ts' },
  { name: 'normalise (cosine)', file: 'ivf/metric.ts' },
  { name: 'HNSW graph (hnswlib)', file: 'part/hnsw.ts', fns: ['buildHnsw'] },
  { name: 'part files (columns, ids, vectors, zstd)', file: 'part/build-v2.ts', fns: ['assembleBlockPart'] },
  { name: 'WAL read + decode', file: 'wal/format.ts' },
  { name: 'WAL read + decode', file: 'wal/log.ts' },
  { name: 'publish (liveness, router)', file: 'indexer/liveness.ts' },
];
const QUERY_CATEGORIES: Category[] = [
  { name: 'centroid ranking', file: 'namespace/ivf-query.ts', fns: ['probeOrder'], sticky: true },
  { name: 'centroid ranking', file: 'ivf/kernels.ts', fns: ['centroidDistances'] },
  { name: 'centroid ranking', file: 'ivf/search.ts', fns: ['nearestIds'] },
  { name: 'query rotation', file: 'ivf/rabitq.ts', fns: ['set'] },
  { name: 'query rotation', file: 'ivf/rotation.ts' },
  { name: 'code scan (RaBitQ estimates, candidate checks)', file: 'ivf/search.ts', fns: ['estimate', 'score', 'rescore'], sticky: true },
  { name: 'exact rerank (vector reads, distances)', file: 'ivf/search.ts', fns: ['rerank'], sticky: true },
  { name: 'probed clusters: fetch + merge codes', file: 'namespace/ivf-query.ts', fns: ['mergeCodes'] },
  { name: 'probed clusters: fetch + merge codes', file: 'part/part-data.ts' },
  { name: 'IVF search, rest', file: 'namespace/ivf-query.ts', fns: ['ivfSearch'] },
  { name: 'IVF search, rest', file: 'ivf/search.ts', fns: ['search'] },
  { name: 'HNSW graph search', file: 'part/hnsw.ts' },
  { name: 'view (router.json + WAL listing)', file: 'namespace/catalog.ts' },
  { name: 'final exact ranking + documents', file: 'query/execute-segments.ts' },
  { name: 'final exact ranking + documents', file: 'query/execute.ts' },
];

// ---- child: elax build -------------------------------------------------------------------------------------------
async function elaxBuild(): Promise<Record<string, unknown>> {
  const v = readVectorFile(values.data!);
  const kind = values.kind === 'hnsw' ? 'hnsw' : 'ivf';
  const store = new MeteredStore(values.store!);
  const engine = benchEngine(store, EF);
  let t = now();
  for (let i = 0; i < v.n; i += 5000) {
    const e = Math.min(v.n, i + 5000);
    const rows = [];
    for (let j = i; j < e; j++) rows.push({ id: j, vector: Array.from(row(v.base, v.dims, j)) });
    await engine.write(NS, { upsert_rows: rows, distance_metric: 'cosine_distance' });
  }
  const lastAck = now();
  const ingestS = (lastAck - t) / 1000;
  console.error(`[elax-${kind}] ${v.n} rows acknowledged in ${ingestS.toFixed(1)} s; indexing`);
  store.reset();
  let buildMs = 0;
  const indexer = new Indexer(store, {
    clock: { now: () => Date.now() },
    nonce: () => Math.random().toString(36).slice(2, 8),
    ...(kind === 'ivf' ? { vectorIndex: { kind: 'ivf' as const } } : {}),
    build: async (input) => {
      const s = now();
      try {
        return await buildPartFiles(input);
      } finally {
        buildMs += now() - s;
      }
    },
  });
  t = now();
  const drained = values.profile ? await profiled(() => indexer.drain(NS), BUILD_CATEGORIES) : { result: await indexer.drain(NS), ms: undefined, top: undefined };
  const searchableMs = now() - lastAck;
  const drainMs = now() - t;
  // The namespace codebook the IVF parts share: trained on the first part, extended by splits after that.
  const router = (await new RouterStore(store).read(NS))!.router;
  const cb = router.vindex ? await readCodebook(store, NS, router.vindex) : null;
  const sizes = router.parts.map((p) => p.rows);
  return {
    ingest_s: +ingestS.toFixed(1),
    ingest_rows_per_s: Math.round(v.n / ingestS),
    searchable_s: +(searchableMs / 1000).toFixed(1),
    index_vectors_per_s: Math.round(v.n / (drainMs / 1000)),
    parts_published: drained.result,
    part_rows: sizes,
    ...(cb ? { codebook: { version: cb.version, centroids: cb.k, retired: cb.retired.reduce((n, x) => n + x, 0) } } : {}),
    ...localParts(values.store!, NS),
    // Wall-time split of the drain: part builds (CPU), writes in flight (upload), reads in flight (WAL, router,
    // codebook), and the rest (publish CPU: liveness, router encode; WAL decode between reads).
    split_ms: {
      build: Math.round(buildMs),
      upload: Math.round(store.busy.write),
      store_reads: Math.round(store.busy.read),
      rest: Math.round(drainMs - buildMs - store.busy.write - store.busy.read),
    },
    uploaded_mib: mib(store.writes.bytes),
    ...(drained.ms ? { build_cpu_profile_ms: drained.ms, build_cpu_top: drained.top } : {}),
    ...memory(),
    ...(values['elax-compact'] ? { compaction: await compactAll(store, kind) } : {}),
  };
}

/** Size-tiered compaction (fanout 4, as the embedded indexer) until nothing is left to merge: merges, seconds, parts after. */
async function compactAll(store: MeteredStore, kind: string): Promise<Record<string, unknown>> {
  const t = now();
  let merges = 0;
  const opts = { clock: { now: () => Date.now() }, nonce: () => `m${Math.random().toString(36).slice(2, 8)}`, ...(kind === 'ivf' ? { vectorIndex: { kind: 'ivf' as const } } : {}) };
  while ((await compactNamespace(store, NS, opts)).result === 'compacted') merges++;
  const router = (await new RouterStore(store).read(NS))!.router;
  return { merges, seconds: +((now() - t) / 1000).toFixed(1), part_rows: router.parts.map((p) => p.rows) };
}

/**
 * The IVF searcher's own counters (SearchStats), summed over every search the engine runs, read by wrapping
 * IvfSearcher.prototype.search in this process: the engine's query response does not carry them. `runs` counts
 * searcher runs (namespace/ivf-query.ts runs it again after fetching the vector blocks a run asked for).
 */
const searcherStats = { runs: 0, probed: 0, skipped: 0, revisited: 0, rescored: 0, scored: 0, reranked: 0, exactCalls: 0, refined: 0 };
function countSearches(): void {
  const search = IvfSearcher.prototype.search;
  IvfSearcher.prototype.search = function (this: IvfSearcher, ...args: Parameters<IvfSearcher['search']>) {
    const r = search.apply(this, args);
    searcherStats.runs++;
    for (const k of Object.keys(r.stats) as (keyof SearchStats)[]) searcherStats[k] += r.stats[k];
    return r;
  };
}

// ---- child: elax recall tuning ----------------------------------------------------------------------------------
async function elaxTune(): Promise<Record<string, unknown>> {
  const t = now();
  const r = await runTune({ ns: NS, target: Number(values['elax-tune']), body: { num: 100, top_k: K, seed: 1 }, store: values.store! });
  return {
    tune_s: +((now() - t) / 1000).toFixed(1),
    chosen_probes: r.chosen,
    chosen_eps0: r.chosenEps0,
    sweep: r.rows.map((x) => `${x.probes}@${x.eps0}:${x.avg_recall.toFixed(3)}`).join(' '),
    after: r.after ? { probes: r.after.probes, eps0: r.after.eps0, avg_recall: r.after.avg_recall } : null,
  };
}

// ---- child: elax queries -------------------------------------------------------------------------------------------
async function elaxQuery(): Promise<Record<string, unknown>> {
  countSearches();
  const kind = values.kind === 'hnsw' ? 'hnsw' : 'ivf';
  const v = readVectorFile(values.data!, { base: false });
  const store = new MeteredStore(values.store!);
  const engine = benchEngine(store, EF);
  const q = (i: number) => Array.from(row(v.queries, v.dims, i));
  const ann = async (i: number, eventual = false, ef?: number) =>
    ((await engine.query(NS, { rank_by: ['vector', 'ANN', q(i)], top_k: K, ...(eventual ? { consistency: { level: 'eventual' } } : {}), ...(ef ? { ef_search: ef } : {}) })) as { rows: { id: number }[] }).rows.map((r) => r.id);
  const coldQuery = async (i: number) => {
    store.reset();
    const s = now();
    const ids = await ann(i);
    return { ms: Math.round(now() - s), objects_read: store.reads.objects, mib_read: mib(store.reads.bytes), lists: store.reads.lists, recall: recallOf(ids, Array.from(v.truth.subarray(i * K, (i + 1) * K))) };
  };
  const cold = await coldQuery(0);
  const second = await coldQuery(1);
  const rssAfterCold = memory().rss_mib;
  let t = now();
  await engine.warmCache(NS);
  const warmCacheMs = Math.round(now() - t);
  const pass = async (eventual: boolean, ef?: number) => {
    const lat: number[] = [];
    let recall = 0;
    for (let i = 0; i < v.q; i++) {
      const s = now();
      const ids = await ann(i, eventual, ef);
      lat.push(now() - s);
      recall += recallOf(ids, Array.from(v.truth.subarray(i * K, (i + 1) * K)));
    }
    const l = latencySummary(lat, 3);
    return { p50_ms: l.p50, p99_ms: l.p99, mean_ms: l.mean, recall_at_10: +(recall / v.q).toFixed(4) };
  };
  await pass(false); // warm-up: every query once
  for (const k of Object.keys(searcherStats) as (keyof typeof searcherStats)[]) searcherStats[k] = 0;
  const strong = await pass(false);
  const perQuery = Object.fromEntries(Object.entries(searcherStats).map(([k, x]) => [k, +(x / v.q).toFixed(1)]));
  const eventual = await pass(true);
  const prof = values.profile ? await profiled(() => pass(false), QUERY_CATEGORIES) : null;
  const byEf: Record<string, unknown>[] = [];
  for (const ef of (values['elax-efs'] ?? '').split(',').filter((x) => x !== '').map(Number)) {
    if (ef === EF) continue;
    await pass(false, ef); // warm-up: more probes read more clusters
    byEf.push({ ef_search: ef, ...(await pass(false, ef)) });
  }
  return {
    cold_first_query: cold,
    second_query: second,
    rss_mib_after_cold: rssAfterCold,
    warm_cache_ms: warmCacheMs,
    strong,
    ...(kind === 'ivf' ? { ivf_searcher_per_query: perQuery } : {}),
    eventual,
    ...(byEf.length > 0 ? { strong_by_ef: byEf } : {}),
    ...(prof ? { query_cpu_profile_ms_per_query: Object.fromEntries(Object.entries(prof.ms).map(([k, x]) => [k, +(x / v.q).toFixed(3)])), query_cpu_top: prof.top } : {}),
    ...memory(),
  };
}

// ---- orchestrator ----------------------------------------------------------------------------------------------
/** The data file of this run (built once, cached). */
async function dataset(): Promise<string> {
  const Q = Number(values.queries);
  const dir = path.join(repo, 'bench/.cache/ann-peers');
  mkdirSync(dir, { recursive: true });
  let file: string;
  let make: () => Promise<VectorFile>;
  if (values.dataset === 'wordnet') {
    const seed = Number(values.seed ?? 3);
    file = path.join(dir, `wordnet-q${Q}-s${seed}.bin`);
    make = async () => {
      const { loadWordnetVectors } = await import('./data/wordnet-vectors.js');
      const all = await loadWordnetVectors();
      const D = all.dims;
      // bench/ann-wordnet.ts's hold-out: a seeded partial Fisher-Yates over row indexes.
      const rand = rng(seed);
      const order = Array.from({ length: all.ids.length }, (_, i) => i);
      for (let i = 0; i < Q; i++) {
        const j = i + Math.floor(rand() * (order.length - i));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const queryRows = order.slice(0, Q).sort((a, b) => a - b);
      const held = new Set(queryRows);
      const baseRows = Array.from({ length: all.ids.length }, (_, i) => i).filter((i) => !held.has(i));
      const base = new Float32Array(baseRows.length * D);
      baseRows.forEach((r, k) => base.set(row(all.data, D, r), k * D));
      const queries = new Float32Array(Q * D);
      queryRows.forEach((r, k) => queries.set(row(all.data, D, r), k * D));
      return { dataset: 'wordnet', n: baseRows.length, q: Q, dims: D, k: K, metric: 'cosine', base, queries, truth: new Int32Array(0) };
    };
  } else if (values.dataset === 'clustered') {
    const N = Number(values.rows);
    const D = Number(values.dims);
    const seed = Number(values.seed ?? 7);
    file = path.join(dir, `clustered-n${N}-d${D}-q${Q}-s${seed}.bin`);
    make = async () => {
      const gen = gaussianMixture(rng(seed), D);
      const base = new Float32Array(N * D);
      for (let i = 0; i < N; i++) base.set(gen(), i * D);
      const queries = new Float32Array(Q * D);
      for (let i = 0; i < Q; i++) queries.set(gen(), i * D);
      return { dataset: 'clustered', n: N, q: Q, dims: D, k: K, metric: 'cosine', base, queries, truth: new Int32Array(0) };
    };
  } else throw new Error(`--dataset must be clustered or wordnet, got ${values.dataset}`);
  if (existsSync(file)) return file;
  let t = now();
  const v = await make();
  log({ dataset: v.dataset, n: v.n, q: v.q, dims: v.dims, generate_s: +((now() - t) / 1000).toFixed(1) });
  t = now();
  const qs = Array.from({ length: v.q }, (_, i) => row(v.queries, v.dims, i));
  v.truth = Int32Array.from(exactCosineTopK(v.base, v.dims, qs, K).flat());
  log({ exact_truth_s: +((now() - t) / 1000).toFixed(1) });
  writeVectorFile(file, v);
  return file;
}

/** Runs a child node process; its last stdout line is its JSON result. */
function child(args: string[], label: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: repo });
    let out = '';
    p.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    // LanceDB 0.37 logs a deprecation warning on every query that selects columns (RUST_LOG does not silence it).
    let err = '';
    p.stderr!.on('data', (c: Buffer) => {
      const lines = (err + c.toString()).split('\n');
      err = lines.pop()!;
      for (const l of lines) if (!/WARN\s+lance::dataset::scanner\] Deprecation warning/.test(l)) process.stderr.write(l + '\n');
    });
    p.on('error', reject);
    p.on('exit', (code) => {
      const last = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (code !== 0 || !last) return reject(new Error(`${label} exited with ${code}: ${out.slice(-2000)}`));
      resolve(JSON.parse(last) as Record<string, unknown>);
    });
  });
}
const nodeArgs = process.execArgv.filter((a) => a.startsWith('--max-old-space-size'));
const self = (phase: string, extra: string[]) =>
  child([...nodeArgs, path.join(repo, 'bin/run-ts.mjs'), 'bench/ann-peers.ts', '--phase', phase, '--ef', String(EF), '--elax-efs', values['elax-efs']!, ...(values.profile ? ['--profile'] : []), ...extra], phase);

function peersInstalled(): boolean {
  return existsSync(path.join(PEERS, 'node_modules/usearch/package.json')) && existsSync(path.join(PEERS, 'node_modules/@lancedb/lancedb/package.json'));
}
const INSTALL_HINT = 'usearch and LanceDB are not installed: run `npm --prefix bench/peers install` (their own package, bench/peers/package.json; LanceDB needs an apache-arrow older than elax\'s). Skipping them.';

async function orchestrate(): Promise<void> {
  const systems = values.systems!.split(',');
  const data = await dataset();
  const v = readVectorFile(data, { base: false });
  const header = { machine: machine(), dataset: v.dataset, n: v.n, dims: v.dims, queries: v.q, ef_search: EF, data };
  log(header);
  const results: Record<string, Record<string, unknown>> = {};
  const installed = peersInstalled();
  // In the order given: a long run that has to be cut short still has the systems before the cut (and their table).
  for (const system of systems) {
    if (system === 'elax-ivf' || system === 'elax-hnsw') {
      const kind = system.slice(5);
      const store = mkdtempSync(path.join(tmpdir(), `elax-peers-${kind}-`));
      try {
        const build = await self('elax-build', ['--data', data, '--store', store, '--kind', kind, ...(values['elax-compact'] ? ['--elax-compact'] : [])]);
        log({ [system]: { build } });
        if (values['elax-tune'] && kind === 'ivf') {
          const tune = await self('elax-tune', ['--store', store, '--elax-tune', values['elax-tune']]);
          log({ [system]: { tune } });
          (build as Record<string, unknown>).tune = tune;
        }
        const query = await self('elax-query', ['--data', data, '--store', store, '--kind', kind]);
        log({ [system]: { query } });
        results[system] = { build, query };
      } finally {
        rmSync(store, { recursive: true, force: true });
      }
    } else if (system === 'hnswlib' || system === 'usearch' || system === 'lancedb') {
      if (system !== 'hnswlib' && !installed) {
        console.error(INSTALL_HINT);
        results[system] = { skipped: INSTALL_HINT };
        table(header, results);
        continue;
      }
      // LanceDB is tuned to elax-ivf's recall when elax-ivf ran first, else to 0.95.
      const target = (results['elax-ivf']?.query as { strong?: { recall_at_10: number } } | undefined)?.strong?.recall_at_10 ?? 0.95;
      const r = await child([...nodeArgs, '--expose-gc', path.join(PEERS, 'run-peer.mjs'), '--system', system, '--data', data, '--efs', values.efs!, '--target-recall', String(target), '--build-threads', values['usearch-threads']!, ...(values['graph-cache'] ? ['--graph-cache', values['graph-cache']] : [])], system);
      log({ [system]: r });
      results[system] = r;
    } else if (system !== 'none') throw new Error(`unknown system ${system} (elax-ivf, elax-hnsw, hnswlib, usearch, lancedb)`);
    table(header, results);
  }
  console.log('\n' + JSON.stringify({ ...header, results }));
}

type Run = { p50_ms: number; p99_ms: number; recall_at_10: number; ef?: number; nprobes?: number; refine_factor?: number | null };
function table(header: { n: number }, results: Record<string, Record<string, unknown>>): void {
  const f = (x: number | undefined, d = 2) => (x === undefined ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: d }));
  console.log('\n| system | build vectors/s | build (s) | warm p50 / p99 ms | recall@10 | cold first query | RSS MiB (peak) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, r] of Object.entries(results)) {
    if (r.skipped) {
      console.log(`| ${name} | skipped: not installed | | | | | |`);
      continue;
    }
    if (name.startsWith('elax')) {
      const b = r.build as Record<string, number>;
      const q = r.query as { strong: Run; eventual: Run; cold_first_query: { ms: number; objects_read: number; mib_read: number }; rss_mib: number; peak_rss_mib: number };
      const cold = `${f(q.cold_first_query.ms, 0)} ms, ${q.cold_first_query.objects_read} objects, ${q.cold_first_query.mib_read} MiB`;
      console.log(`| ${name} (strong) | ${f(b.index_vectors_per_s, 0)} | ${f(b.searchable_s, 1)} (last ack → searchable) | ${f(q.strong.p50_ms, 3)} / ${f(q.strong.p99_ms, 3)} | ${q.strong.recall_at_10} | ${cold} | ${q.rss_mib} (${q.peak_rss_mib}); build ${b.peak_rss_mib} |`);
      console.log(`| ${name} (eventual) | | | ${f(q.eventual.p50_ms, 3)} / ${f(q.eventual.p99_ms, 3)} | ${q.eventual.recall_at_10} | | |`);
      for (const x of (r.query as { strong_by_ef?: (Run & { ef_search: number })[] }).strong_by_ef ?? []) {
        console.log(`| ${name} (strong, ef_search ${x.ef_search}) | | | ${f(x.p50_ms, 3)} / ${f(x.p99_ms, 3)} | ${x.recall_at_10} | | |`);
      }
      continue;
    }
    for (const run of r.runs as Run[]) {
      const setting = run.ef !== undefined ? `ef ${run.ef}` : `nprobes ${run.nprobes}, refine ${run.refine_factor ?? 'none'}`;
      console.log(`| ${name} (${setting}) | ${f(r.build_vectors_per_s as number, 0)} | ${f(r.build_s as number, 1)} | ${f(run.p50_ms, 3)} / ${f(run.p99_ms, 3)} | ${run.recall_at_10} | – | ${r.rss_mib} (${r.peak_rss_mib}) |`);
    }
  }
  void header;
}

if (values.phase === 'elax-build') log(await elaxBuild());
else if (values.phase === 'elax-tune') log(await elaxTune());
else if (values.phase === 'elax-query') log(await elaxQuery());
else if (values.phase === undefined) await orchestrate();
else throw new Error(`unknown --phase ${values.phase}`);
