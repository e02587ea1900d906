/**
 * Parallel shard builds (RFC-0013 "Parallel shard builds"): the wall time of an indexing pass over a sharded
 * namespace, its shards built one after another on the indexer's thread (no build pool) against the same pass with
 * the shards built on a build pool, in one run on copies of one WAL. Two passes each: the first trains the IVF
 * codebook (on the first shard's vectors; the others extend it), the second indexes new rows against it. The parts
 * of both modes are compared byte for byte at the end.
 *
 *   node bin/run-ts.mjs bench/shard-builds.ts [--shards 4] [--rows-per-shard 50000] [--dims 128] [--threads 2] [--hnsw] [--cold]
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir, availableParallelism, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { Engine } from '../crates-ts/engine/index.js';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { Indexer, type IndexerOptions } from '../indexer/indexer.js';
import { lazyBuildPool } from '../indexer/build-pool.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const shards = Number(arg('--shards', '4'));
const perShard = Number(arg('--rows-per-shard', '50000'));
const dims = Number(arg('--dims', '128'));
const threads = Number(arg('--threads', String(availableParallelism())));
const hnsw = process.argv.includes('--hnsw');
const WORDS = ['puffer', 'fish', 'ocean', 'reef', 'spiny', 'blue', 'deep', 'swim', 'coral', 'tide', 'sand', 'wave', 'kelp', 'gill', 'fin', 'salt'];

const random = seededRandom(42);
const centers = Array.from({ length: 64 }, () => Array.from({ length: dims }, () => random() * 2 - 1));
const row = (id: number) => {
  const c = centers[id % centers.length]!;
  return {
    id,
    vector: c.map((x) => x + (random() - 0.5) * 0.6),
    text: Array.from({ length: 4 + (id % 9) }, (_, i) => WORDS[(id * (i + 3) + i * i) % WORDS.length]).join(' '),
    cat: `c${id % 17}`,
    n: id % 1000,
  };
};

async function write(dir: string, from: number, count: number, inaugural: boolean): Promise<void> {
  const store = new LocalDirStore(dir);
  const e = new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random, groupCommitMs: 0 });
  if (inaugural) await e.write('ns', { distance_metric: 'cosine_distance', sharding: { num_shards: shards }, schema: { text: { type: 'string', full_text_search: true }, cat: { type: 'string', filterable: true } } });
  for (let at = from; at < from + count; at += 2000) await e.write('ns', { upsert_rows: Array.from({ length: Math.min(2000, from + count - at) }, (_, i) => row(at + i)) });
  await store.close();
}

interface PassTime {
  wall: number;
  /** The indexer thread's busy time (event-loop utilization's active time): the pass's serial part in parallel mode. */
  busy: number;
  /** CPU time of the whole process (every thread), seconds. */
  cpu: number;
}
const fmt = (t: PassTime) => `${t.wall.toFixed(2)} s (indexer thread busy ${t.busy.toFixed(2)} s, CPU ${t.cpu.toFixed(2)} s)`;

/** One pass over everything pending; returns its wall time, the indexer thread's busy time and the process's CPU. */
async function pass(dir: string, opts: Partial<IndexerOptions>, nonce: { n: number }): Promise<PassTime> {
  const store = new LocalDirStore(dir);
  const ix = new Indexer(store, {
    clock: { now: () => 1_700_000_000_000 },
    nonce: () => `b${nonce.n++}`,
    maxEntriesPerPart: 100_000,
    maxRowsPerPart: 100_000_000,
    ...(hnsw ? { hnsw: { M: 16, efConstruction: 100 } } : { vectorIndex: { kind: 'ivf' as const } }),
    ...opts,
  });
  const t0 = performance.now();
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const o = await ix.indexNamespace('ns', true);
  const wall = (performance.now() - t0) / 1000;
  const busy = performance.eventLoopUtilization(elu0).active / 1000;
  const c = process.cpuUsage(cpu0);
  if (o.result !== 'published' || o.parts.length !== shards) throw new Error(`pass: ${JSON.stringify(o)}`);
  await store.close();
  return { wall, busy, cpu: (c.user + c.system) / 1e6 };
}

/** The objects of `from` that `to` lacks (the new WAL entries), through the store API. */
async function copyNewObjects(from: string, to: string): Promise<void> {
  const a = new LocalDirStore(from);
  const b = new LocalDirStore(to);
  const have = new Set((await b.list('')).objects.map((o) => o.key));
  for (const o of (await a.list('')).objects) if (!have.has(o.key)) await b.put(o.key, (await a.get(o.key))!.bytes);
  await a.close();
  await b.close();
}

function files(dir: string, sub = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(path.join(dir, sub))) {
    const rel = path.join(sub, name);
    if (statSync(path.join(dir, rel)).isDirectory()) for (const [k, v] of files(dir, rel)) out.set(k, v);
    else if (rel.includes('parts') || rel.includes('codebook') || rel.endsWith('router.json')) out.set(rel, readFileSync(path.join(dir, rel)));
  }
  return out;
}

const root = mkdtempSync(path.join(tmpdir(), 'elax-bench-shard-builds-'));
try {
  console.log(`${shards} shards × ${perShard} rows, ${dims}-d, ${hnsw ? 'HNSW (M 16, ef_construction 100)' : 'IVF'} parts; build pool ${threads} threads; ${cpus().length} cores (${cpus()[0]?.model}), node ${process.version}`);
  const base = path.join(root, 'base');
  let t = performance.now();
  await write(base, 0, shards * perShard, true);
  console.log(`wrote ${shards * perShard} rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const serial = path.join(root, 'serial');
  const parallel = path.join(root, 'parallel');
  cpSync(base, serial, { recursive: true });
  cpSync(base, parallel, { recursive: true });
  const pool = lazyBuildPool({ threads });
  await pool.ready(); // thread start-up (tsx, WebAssembly) is not part of a pass
  if (!process.argv.includes('--cold')) {
    // A long-running indexer's threads have built parts before: warm both modes' code (JIT) on a small namespace.
    const warm = path.join(root, 'warm');
    await write(warm, 0, shards * 2000, true);
    cpSync(warm, `${warm}2`, { recursive: true });
    const small = hnsw ? {} : { vectorIndex: { kind: 'ivf' as const, minRows: 500 } };
    await pass(warm, small, { n: 0 });
    await pass(`${warm}2`, { ...small, buildPool: pool }, { n: 0 });
    console.log('warmed up (a pass over a small sharded namespace in each mode)');
  }
  const ns = { n: 0 };
  const np = { n: 0 };
  const s1 = await pass(serial, {}, ns);
  const p1 = await pass(parallel, { buildPool: pool }, np);
  console.log(`pass 1 (${hnsw ? 'HNSW' : 'trains the codebook'}): serial ${fmt(s1)}; parallel ${fmt(p1)}; ${(s1.wall / p1.wall).toFixed(2)}× (load ${loadavg()[0]!.toFixed(1)})`);
  // A second pass of new rows (half as many), against the codebook the first one published.
  t = performance.now();
  await write(base, shards * perShard, (shards * perShard) / 2, false);
  console.log(`wrote ${(shards * perShard) / 2} more rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await copyNewObjects(base, serial);
  await copyNewObjects(base, parallel);
  const s2 = await pass(serial, {}, ns);
  const p2 = await pass(parallel, { buildPool: pool }, np);
  console.log(`pass 2 (${hnsw ? 'HNSW' : 'against the codebook'}): serial ${fmt(s2)}; parallel ${fmt(p2)}; ${(s2.wall / p2.wall).toFixed(2)}× (load ${loadavg()[0]!.toFixed(1)})`);
  const st = pool.stats();
  console.log(`pool: ${st.byKind['part-build'].tasks} part-build tasks, ${st.fallbacks} fallbacks, ${st.coldInline} inline while cold`);
  await pool.close();
  const a = files(serial);
  const b = files(parallel);
  const same = a.size === b.size && [...a].every(([k, v]) => b.get(k)?.equals(v));
  console.log(`parts, codebooks and router byte-identical: ${same} (${a.size} files)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
