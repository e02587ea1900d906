/**
 * Warm filtered ANN queries in a loop over clustered (format-3) parts: the event loop's CPU and allocations per query
 * (issue 17: in bench/mixed-load.ts's profile the filtered ANN query spends most of its loop time in ivf/subset.ts
 * subsetCodes, namespace/ivf-query.ts matchingSegmentsOf, ivf/rabitq.ts estimateCluster and part/part-data.ts
 * prepareClusters).
 *
 *   nice -n 19 node [--cpu-prof --cpu-prof-dir=D] bin/run-ts.mjs bench/micro/ann-filtered-loop.ts \
 *     [--store DIR] [--rows 100000] [--part-rows 10000] [--queries 400] [--rounds 3] [--heap] [--eventual]
 *     [--kinds filtered,unfiltered] [--cpu-profile FILE]
 *
 * Data: bench/mixed-load.ts's namespace without its text — `--rows` rows of a 128-d seeded Gaussian mixture, cosine,
 * `category` = c(id % 10) (filterable, so a dictionary filter index), written in 1,000-row batches and indexed by the
 * Indexer with IVF (the embedded indexer's default) into parts of at most `--part-rows` rows after a first one of 20,000 that trains the codebook (9 format-3 parts at the defaults).
 * With `--store DIR` the namespace is built there once and reused by later runs (same data: seeded).
 *
 * Per round, `--queries` filtered queries (`['category', 'Eq', 'c<i % 10>']`, 10 % selectivity, top 10) then as
 * many unfiltered ones: CPU µs per query (process.cpuUsage, user + system of the whole process: the query runs on
 * this thread) and, with `--heap`, bytes allocated per query from a sampling heap profile that keeps collected
 * objects (node:inspector HeapProfiler.startSampling; typed arrays' backing stores outside the V8 heap are not in
 * it), with the functions allocating most. `answers` is a sha256 of every answer's (id, $dist): the same before and
 * after a change that must not change results. `--cpu-profile FILE` writes a CPU profile of the measured rounds only
 * (node:inspector Profiler: without the build, the module loading and the cold first queries of `node --cpu-prof`).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalDirStore } from '../../crates-ts/store/index.js';
import { RouterStore } from '../../crates-ts/router/index.js';
import { Indexer } from '../../indexer/indexer.js';
import { DEFAULT_IVF_MIN_ROWS } from '../../indexer/vector-index.js';
import { benchEngine, gaussianMixture, machine, rng } from '../lib.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    rows: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '128' },
    'part-rows': { type: 'string', default: '10000' },
    queries: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '3' },
    heap: { type: 'boolean', default: false },
    eventual: { type: 'boolean', default: false },
    kinds: { type: 'string', default: 'filtered,unfiltered' },
    'cpu-profile': { type: 'string' },
  },
});
const ROWS = Number(values.rows);
const DIMS = Number(values.dims);
const Q = Number(values.queries);
const NS = 'annf';

const rand = rng(17);
const vectorOf = gaussianMixture(rand, DIMS);
const queryVectors = Array.from({ length: 50 }, () => vectorOf());

const dir = values.store ?? mkdtempSync(path.join(tmpdir(), 'elax-annf-loop-'));
const fresh = !existsSync(path.join(dir, NS));
mkdirSync(dir, { recursive: true });
const store = new LocalDirStore(dir);
if (fresh) {
  const t0 = performance.now();
  const writer = benchEngine(store, 128);
  const schema = { category: { type: 'string', filterable: true } };
  let nonce = 0;
  const indexer = (maxRowsPerPart: number) => new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `b${nonce++}`, maxRowsPerPart, vectorIndex: { kind: 'ivf' } });
  // The first part trains the codebook (it needs indexer/vector-index.ts DEFAULT_IVF_MIN_ROWS vectors), the later
  // ones are built against it, splitting the clusters that fill up, as the embedded indexer does under a writer.
  const first = Math.min(ROWS, DEFAULT_IVF_MIN_ROWS);
  for (let i = 0; i < ROWS; i += 1000) {
    if (i === first) await indexer(first).drain(NS);
    const upsert_rows = Array.from({ length: Math.min(1000, ROWS - i) }, (_, j) => ({ id: i + j, vector: vectorOf(), category: `c${(i + j) % 10}` }));
    await writer.write(NS, { distance_metric: 'cosine_distance', schema, upsert_rows });
  }
  await indexer(Number(values['part-rows'])).drain(NS);
  console.error(`built ${ROWS} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s into ${dir}`);
}
const router = (await new RouterStore(store).read(NS))!.router;
const kinds = router.parts.reduce<Record<string, number>>((m, p) => ((m[p.index_kind ?? '?'] = (m[p.index_kind ?? '?'] ?? 0) + 1), m), {});
console.log(JSON.stringify({ machine: machine(), rows: ROWS, dims: DIMS, parts: router.parts.length, index_kinds: kinds, indexed_wal: router.indexed_wal, queries: Q }));

const engine = benchEngine(store, 128);
const consistency = values.eventual ? { consistency: { level: 'eventual' as const } } : {};
const bodyOf = (filtered: boolean, i: number) => ({
  rank_by: ['vector', 'ANN', queryVectors[i % queryVectors.length]!],
  top_k: 10,
  ...(filtered ? { filters: ['category', 'Eq', `c${i % 10}`] } : {}),
  ...consistency,
});
// Warm: every part's heads, cluster tables, codes, filter indexes and the vector blocks the queries rerank.
for (let i = 0; i < 2 * queryVectors.length; i++) {
  await engine.query(NS, bodyOf(true, i));
  await engine.query(NS, bodyOf(false, i));
}

const session = new Session();
session.connect();

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: Node[];
}
async function series(filtered: boolean, heap: boolean): Promise<Record<string, unknown>> {
  const hash = createHash('sha256');
  if (heap) await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < Q; i++) {
    const r = await engine.query(NS, bodyOf(filtered, i));
    for (const row of r.rows!) hash.update(`${row.id}:${row.$dist};`);
  }
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const out: Record<string, unknown> = { filtered, cpu_us_per_query: Math.round((c.user + c.system) / Q), wall_ms_per_query: +(wall / Q).toFixed(3) };
  if (heap) {
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: Node } };
    const byFn = new Map<string, number>();
    let total = 0;
    const walk = (n: Node, caller: string) => {
      total += n.selfSize;
      const f = n.callFrame;
      // A builtin (Map.prototype.set, Promise.all, ...) is named with its caller.
      const own = `${f.functionName || '(anonymous)'} ${path.basename(f.url)}:${f.lineNumber + 1}`;
      const name = f.url === '' ? `${caller} > ${f.functionName}` : own;
      byFn.set(name, (byFn.get(name) ?? 0) + n.selfSize);
      for (const ch of n.children) walk(ch, f.url === '' ? caller : own);
    };
    walk(profile.head, '');
    out.heap_kib_per_query = +(total / Q / 1024).toFixed(1);
    out.top_kib_per_query = Object.fromEntries(
      [...byFn]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 25)
        .map(([k, v]) => [k, +(v / Q / 1024).toFixed(1)]),
    );
  }
  out.answers = hash.digest('hex').slice(0, 16);
  return out;
}

const asked = values.kinds.split(',').map((k) => k === 'filtered');
if (values['cpu-profile']) {
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
for (let round = 0; round < Number(values.rounds); round++) {
  for (const filtered of asked) console.log(JSON.stringify({ round, ...(await series(filtered, false)) }));
}
if (values['cpu-profile']) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(values['cpu-profile'], JSON.stringify(profile));
}
if (values.heap) for (const filtered of asked) console.log(JSON.stringify({ heap: true, ...(await series(filtered, true)) }));
session.disconnect();
process.exit(0);
