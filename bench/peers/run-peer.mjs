// One peer ANN engine over a bench/data/vector-file.ts file, in its own process (bench/ann-peers.ts starts it):
// build time, then warm sequential top-k queries (p50 / p99, recall@k against the file's exact truth) for each
// query setting, and the process's memory. Prints one JSON line on stdout; progress goes to stderr.
//
//   node bench/peers/run-peer.mjs --system hnswlib|usearch|lancedb --data FILE [--efs 64,128] [--target-recall R]
//
// hnswlib-node comes from the repository's own dependencies; usearch and @lancedb/lancedb from this folder's
// package (npm --prefix bench/peers install). Parameters: HNSW M 16, ef_construction 200, ef_search per --efs
// (bench/ann.ts's); usearch the same (connectivity 16, expansion_add 200), built on --build-threads threads (0: all cores); LanceDB IVF_PQ
// with its default partitions (√n) and sub-vectors (dims / 16), cosine, tuned at query time (nprobes × refine
// factor) to the cheapest setting whose recall reaches --target-recall.
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readVectorFile } from './vector-file.mjs';

const { values } = parseArgs({
  options: {
    system: { type: 'string' },
    data: { type: 'string' },
    efs: { type: 'string', default: '64,128' },
    'target-recall': { type: 'string', default: '0.95' },
    // usearch's build threads (0: all cores); hnswlib-node's binding adds one point at a time on one thread.
    'build-threads': { type: 'string', default: '1' },
    M: { type: 'string', default: '16' },
    'ef-construction': { type: 'string', default: '200' },
    // A directory keeping built graphs (hnswlib, usearch) per data file and parameters, with their build figures:
    // a rerun loads the graph instead of spending minutes on it, and reports the original build.
    'graph-cache': { type: 'string' },
  },
});
const v = readVectorFile(values.data);
const { n, q: Q, dims: D, k: K } = v;
const BUILD_THREADS = Number(values['build-threads']);
const M = Number(values.M);
const EFC = Number(values['ef-construction']);
const log = (...a) => console.error(`[${values.system}]`, ...a);
const row = (a, i) => a.subarray(i * D, (i + 1) * D);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
function recallOf(got, i) {
  const t = new Set(v.truth.subarray(i * K, (i + 1) * K));
  let hit = 0;
  for (const x of got) if (t.has(Number(x))) hit++;
  return hit / K;
}
/** Warm-up (every query once, unless `quick`: 20), then every query once in order, one at a time. */
async function measure(search, extra, quick = false) {
  for (let i = 0; i < (quick ? Math.min(20, Q) : Q); i++) await search(row(v.queries, (i * 7) % Q));
  const lat = [];
  let recall = 0;
  for (let i = 0; i < Q; i++) {
    const s = performance.now();
    const got = await search(row(v.queries, i));
    lat.push(performance.now() - s);
    recall += recallOf(got, i);
  }
  lat.sort((a, b) => a - b);
  const r3 = (x) => +x.toFixed(3);
  return { ...extra, p50_ms: r3(percentile(lat, 50)), p99_ms: r3(percentile(lat, 99)), mean_ms: r3(lat.reduce((s, x) => s + x, 0) / Q), recall_at_10: +(recall / Q).toFixed(4) };
}
function memory() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss_mib: Math.round(kib('VmRSS') / 1024), peak_rss_mib: Math.round(kib('VmHWM') / 1024) };
}
const efs = values.efs.split(',').map(Number);
/**
 * A graph for this system, data and parameters: loaded from --graph-cache when it holds one (with its original build
 * time), else built (and saved there when the option is set). Returns the build time and whether it was loaded.
 */
function graph(system, { build, load, save }) {
  const file = values['graph-cache'] && path.join(values['graph-cache'], `${system}-M${M}-efc${EFC}-${path.basename(values.data)}.graph`);
  if (file && existsSync(file) && existsSync(`${file}.json`)) {
    load(file);
    const { build_s } = JSON.parse(readFileSync(`${file}.json`, 'utf8'));
    log(`graph loaded from ${file} (built in ${build_s} s)`);
    return { buildS: build_s, cached: true };
  }
  const t = performance.now();
  build();
  const buildS = (performance.now() - t) / 1000;
  if (file) {
    mkdirSync(values['graph-cache'], { recursive: true });
    save(file);
    writeFileSync(`${file}.json`, JSON.stringify({ build_s: +buildS.toFixed(1) }));
  }
  return { buildS, cached: false };
}
/** After a build the input vectors are the engine's business: free them, so RSS is the index's (run with --expose-gc). */
function dropBase() {
  v.base = null;
  globalThis.gc?.();
}

async function hnswlib() {
  const { default: lib } = await import('hnswlib-node');
  const index = new lib.HierarchicalNSW('cosine', D);
  const { buildS, cached } = graph('hnswlib', {
    load: (file) => index.readIndexSync(file),
    save: (file) => index.writeIndexSync(file),
    build: () => {
      index.initIndex(n, M, EFC, 100);
      const t = performance.now();
      for (let i = 0; i < n; i++) {
        index.addPoint(Array.from(row(v.base, i)), i);
        if (i % 100_000 === 99_999) log(`${i + 1} added, ${Math.round((i + 1) / ((performance.now() - t) / 1000))} vectors/s`);
      }
    },
  });
  dropBase();
  const runs = [];
  for (const ef of efs) {
    index.setEf(ef);
    runs.push(await measure((q) => index.searchKnn(Array.from(q), K).neighbors, { ef }));
  }
  return { build_s: +buildS.toFixed(1), build_vectors_per_s: Math.round(n / buildS), ...(cached ? { build_cached: true } : {}), params: { M, ef_construction: EFC, threads: 1 }, runs };
}

async function usearch() {
  const { Index, MetricKind } = await import('usearch');
  const index = new Index({ dimensions: D, metric: MetricKind.Cos, connectivity: M, expansion_add: EFC, expansion_search: efs[0] });
  const { buildS, cached } = graph(`usearch-t${BUILD_THREADS}`, {
    load: (file) => index.load(file),
    save: (file) => index.save(file),
    build: () => {
      const keys = new BigUint64Array(n);
      for (let i = 0; i < n; i++) keys[i] = BigInt(i);
      const t = performance.now();
      const step = 50_000;
      for (let i = 0; i < n; i += step) {
        const e = Math.min(n, i + step);
        index.add(keys.subarray(i, e), v.base.subarray(i * D, e * D), BUILD_THREADS);
        if (e % 200_000 === 0) log(`${e} added, ${Math.round(e / ((performance.now() - t) / 1000))} vectors/s`);
      }
    },
  });
  dropBase();
  const runs = [];
  // expansion_search is fixed when an Index is made: for each further ef, the saved graph is loaded into a new one.
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'elax-peers-usearch-')), 'graph.usearch');
  if (efs.length > 1) index.save(file);
  let current = index;
  for (const ef of efs) {
    if (ef !== efs[0]) {
      current = new Index({ dimensions: D, metric: MetricKind.Cos, connectivity: M, expansion_add: EFC, expansion_search: ef });
      current.load(file);
    }
    const idx = current;
    runs.push(await measure((q) => idx.search(q, K, 1).keys, { ef }));
  }
  rmSync(path.dirname(file), { recursive: true, force: true });
  return { build_s: +buildS.toFixed(1), build_vectors_per_s: Math.round(n / buildS), ...(cached ? { build_cached: true } : {}), params: { connectivity: M, expansion_add: EFC, build_threads: BUILD_THREADS || 'all cores', query_threads: 1 }, runs };
}

async function lancedb() {
  const lancedb = await import('@lancedb/lancedb');
  const arrow = await import('apache-arrow');
  const dir = mkdtempSync(path.join(tmpdir(), 'elax-peers-lancedb-'));
  try {
    const db = await lancedb.connect(dir);
    const t0 = performance.now();
    const list = new arrow.FixedSizeList(D, new arrow.Field('item', new arrow.Float32(), true));
    const batches = [];
    const step = 100_000;
    for (let i = 0; i < n; i += step) {
      const e = Math.min(n, i + step);
      const child = arrow.makeData({ type: new arrow.Float32(), length: (e - i) * D, data: v.base.subarray(i * D, e * D) });
      const vec = arrow.makeVector(arrow.makeData({ type: list, length: e - i, nullCount: 0, child }));
      const ids = arrow.makeVector(Int32Array.from({ length: e - i }, (_, j) => i + j));
      batches.push(new arrow.Table({ id: ids, vector: vec }));
    }
    const table = await db.createTable('vectors', batches[0]);
    for (const b of batches.slice(1)) await table.add(b);
    const writeS = (performance.now() - t0) / 1000;
    batches.length = 0;
    dropBase();
    const t1 = performance.now();
    await table.createIndex('vector', { config: lancedb.Index.ivfPq({ distanceType: 'cosine' }) });
    const indexS = (performance.now() - t1) / 1000;
    const indices = await table.listIndices();
    log(`written in ${writeS.toFixed(1)} s, IVF_PQ in ${indexS.toFixed(1)} s`, JSON.stringify(indices));
    const search = (np, rf) => async (q) => {
      let b = table.vectorSearch(q).distanceType('cosine').nprobes(np).select(['id']).limit(K);
      if (rf > 0) b = b.refineFactor(rf);
      return (await b.toArray()).map((r) => r.id);
    };
    // Tuning: nprobes × refine factor on a quick pass each (20 warm-up queries); per refine factor, more probes
    // until the target recall or no gain. Then the cheapest setting reaching --target-recall (elax's recall) and
    // the cheapest reaching 0.95 are measured like every other system.
    const target = Number(values['target-recall']);
    const sweep = [];
    const goal = Math.max(target, 0.95); // both picks below need a setting that reaches it
    for (const rf of [0, 10, 20, 30, 50, 100, 200, 300, 400, 800]) {
      let prev = -1;
      for (const np of [10, 20, 40, 80]) {
        const r = await measure(search(np, rf), { nprobes: np, refine_factor: rf || null }, true);
        log(JSON.stringify(r));
        sweep.push(r);
        if (r.recall_at_10 >= goal || r.recall_at_10 <= prev + 0.002) break;
        prev = r.recall_at_10;
      }
      if (sweep.some((r) => r.recall_at_10 >= goal)) break; // larger refine factors only cost more
    }
    const cheapest = (min) => sweep.filter((r) => r.recall_at_10 >= min).sort((a, b) => a.p50_ms - b.p50_ms)[0];
    const picks = [cheapest(0.95), cheapest(target) ?? [...sweep].sort((a, b) => b.recall_at_10 - a.recall_at_10)[0]].filter((r, i, a) => r && a.indexOf(r) === i);
    const runs = [];
    for (const p of picks) runs.push(await measure(search(p.nprobes, p.refine_factor ?? 0), { nprobes: p.nprobes, refine_factor: p.refine_factor }));
    const ok = runs.filter((r) => r.recall_at_10 >= target);
    return {
      build_s: +(writeS + indexS).toFixed(1),
      build_vectors_per_s: Math.round(n / (writeS + indexS)),
      write_s: +writeS.toFixed(1),
      index_s: +indexS.toFixed(1),
      params: { index: 'IVF_PQ', num_partitions: 'default (√n)', num_sub_vectors: 'default (dims/16)', distance: 'cosine', threads: 'LanceDB default (all cores)' },
      target_recall: target,
      reached_target: ok.length > 0,
      runs,
      sweep,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const systems = { hnswlib, usearch, lancedb };
const run = systems[values.system];
if (!run) throw new Error(`--system must be one of ${Object.keys(systems).join(', ')}`);
log(`n=${n} q=${Q} dims=${D}`);
const out = await run();
console.log(JSON.stringify({ system: values.system, n, q: Q, dims: D, ...out, ...memory() }));
