/**
 * Filter indexes (issue 16, RFC-0009): the issue's table at N rows, in process, warm, strong consistency.
 *
 *   node --max-old-space-size=8192 bin/run-ts.mjs bench/filter-indexes.ts [--n 1000000] [--dims 32] [--queries 40]
 *     [--store DIR]          keep the built store in DIR and reuse it on the next run with the same --n/--dims
 *     [--only ann]           only the filtered ANN table
 *     [--tune X]             run `elax recall --tune --target X` on the indexed namespace first (probe depth and ε0,
 *                            RFC-0008 §5); it is recorded in the store, so a reused --store stays tuned
 *     [--profile X|anti [--profile-out FILE]]  profile `bucket < X` (or anti-correlated) filtered ANN queries
 *                            (FILE: the .cpuprofile, for a tool that reads V8 profiles)
 *
 * One format-3 part (IVF clusters of ~1,000 rows, trained by the builder) over N rows of a seeded Gaussian mixture
 * (bench/lib.ts, 256 components) with attributes: `bucket` uniform in [0, 10000) (dictionary index), `cat` one of
 * 100 values (dictionary), `cluster` the mixture component (dictionary), `price` near-unique (sorted index), `ts`
 * near-unique datetimes (sorted index). The same built part is published twice: namespace `idx` with its filter
 * indexes, `scan` with them stripped from the head (as a part built before RFC-0009), so every query runs on both.
 *
 * Measured (p50 / p99 over `queries` runs each, after one warm-up):
 *  - filtered ANN top 10 at 50 / 5 / 0.1 / 0.01 % (`bucket < x`) and anti-correlated 10 % (`cluster In` 10 % of the
 *    components, never the query's own), recall@10 against exact filtered kNN;
 *  - selective filter (0.1 %) + `rank_by [price, desc]` top 10, and `rank_by [ts, asc]` alone;
 *  - Count with group_by cat (100 groups), without and with a 50 % filter;
 *  - index bytes per row per kind.
 */
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Doc, Id } from '../crates-ts/core/index.js';
import { buildPartFiles, isBlockHead, newPartId, type PartManifest } from '../crates-ts/part/index.js';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { runTune } from '../cli/recall/tune.js';
import { publishBuiltPart } from '../test/helpers/part-namespace.js';
import { benchEngine, gaussianMixture, latencySummary, machine, recallOf, rng } from './lib.js';
import { profiled } from './cpu-profile.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    dims: { type: 'string', default: '32' },
    queries: { type: 'string', default: '40' },
    // Where a filtered ANN query's time goes (bench/cpu-profile.ts), for this `bucket < x` filter, then exit.
    profile: { type: 'string' },
    'profile-out': { type: 'string' },
    store: { type: 'string' },
    only: { type: 'string' },
    tune: { type: 'string' },
  },
});
const N = Number(values.n);
const D = Number(values.dims);
const Q = Number(values.queries);
const CLUSTERS = 256;

const vec = gaussianMixture(rng(7), D, CLUSTERS);
const a = rng(11);
const T0 = Date.UTC(2024, 0, 1);
const docs: Doc[] = [];
for (let id = 0; id < N; id++) {
  const out = { cluster: 0 };
  const vector = Float32Array.from(vec(out));
  docs.push({
    id,
    vector,
    attrs: {
      bucket: Math.floor(a() * 10_000),
      cat: `c${Math.floor(a() * 100)}`,
      cluster: out.cluster,
      price: Math.round(a() * 1e8) / 100,
      ts: new Date(T0 + Math.floor(a() * 3e10)).toISOString(),
    },
  });
}
const queries = Array.from({ length: Q }, () => {
  const out = { cluster: 0 };
  return { vector: vec(out), cluster: out.cluster };
});
console.log(`machine: ${machine()}; n=${N} dims=${D} queries=${Q}; load average at start: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);

const storeDir = values.store ?? mkdtempSync(path.join(tmpdir(), 'elax-fidx-'));
mkdirSync(storeDir, { recursive: true });
const builtMark = path.join(storeDir, `built-n${N}-d${D}.txt`);
const store = new LocalDirStore(storeDir);
let t = performance.now();
if (existsSync(builtMark)) console.log(`reusing the store built in ${storeDir}\n${readFileSync(builtMark, 'utf8')}`);
else {
  const sizesText: string[] = [];
  const log = (x: string) => {
    console.log(x);
    sizesText.push(x);
  };
  const built = await buildPartFiles({
    namespace: 'idx',
    partId: newPartId(1, 2, 'fidx'),
    walStart: 1,
    walEnd: 2,
    level: 0,
    changes: new Map<Id, Doc | null>(docs.map((d) => [d.id, d])),
    schema: { vector: { type: `[${D}]f32`, ann: { distance_metric: 'cosine_distance' } }, bucket: { type: 'int' }, cat: { type: 'string' }, cluster: { type: 'int' }, price: { type: 'float' }, ts: { type: 'datetime' } },
    distanceMetric: 'cosine_distance',
    createdAt: new Date().toISOString(),
    vectorIndex: { kind: 'ivf', codebook: null, targetSize: 1000, minSize: 500, maxSize: 2000 },
  });
  log(`build: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const head = built.manifest;
  if (!isBlockHead(head)) throw new Error('not a block part');
  const sizes = new Map(built.files.map((f) => [f.name, f.bytes.byteLength]));
  log('\n| index | kind | file | bytes | bytes per row |\n|---|---|---|---:|---:|');
  for (const i of head.filter_indexes ?? []) {
    const b = sizes.get(i.file)!;
    log(`| ${i.attr} (${i.values.toLocaleString('en-US')} ${i.kind === 'dict' ? 'values' : 'pairs'}) | ${i.kind} | ${i.file} | ${b.toLocaleString('en-US')} | ${(b / N).toFixed(2)} |`);
  }
  await publishBuiltPart(store, built);
  // The same part without its filter indexes (a part from before RFC-0009): queries scan.
  const stripped = new Set((head.filter_indexes ?? []).map((i) => i.file));
  const scanHead = { ...head, namespace: 'scan', files: head.files.filter((f) => !stripped.has(f.name)) } as PartManifest;
  delete (scanHead as { filter_indexes?: unknown }).filter_indexes;
  await publishBuiltPart(store, { ...built, manifest: scanHead, files: built.files.filter((f) => !stripped.has(f.name)) });
  writeFileSync(builtMark, sizesText.join('\n'));
}
docs.length = 0;

if (values.tune) {
  const r = await runTune({ ns: 'idx', target: Number(values.tune), body: { num: 100, top_k: 10, seed: 1 }, store: storeDir });
  console.log(`tune: probes_min ${r.chosen}, eps0 ${r.chosenEps0}; ${r.rows.map((x) => `${x.probes}@${x.eps0}:${x.avg_recall.toFixed(3)}`).join(' ')}`);
}
const engine = benchEngine(store, 128);
// Every call gets its own copy of the body, as over HTTP (parts remember a filter's mask per parsed filter object).
const fresh = <T>(x: T): T => structuredClone(x);
async function timed(ns: string, body: Record<string, unknown>): Promise<{ ms: number[]; last: Awaited<ReturnType<typeof engine.query>> }> {
  let last = await engine.query(ns, fresh(body)); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < Q; i++) {
    const b = fresh(body);
    t = performance.now();
    last = await engine.query(ns, b);
    ms.push(performance.now() - t);
  }
  return { ms, last };
}
const fmt = (xs: number[]) => {
  const s = latencySummary(xs);
  return `${s.p50} / ${s.p99}`;
};

if (values.profile !== undefined) {
  // `--profile anti`: the anti-correlated filter; a number x: `bucket < x`.
  const x = Number(values.profile);
  const anti = (c: number) => Array.from({ length: CLUSTERS / 10 }, (_, i) => (c + 1 + i * 10) % CLUSTERS).filter((y) => y !== c);
  const bodies = queries.map((q) => ({ rank_by: ['vector', 'ANN', q.vector], top_k: 10, filters: values.profile === 'anti' ? ['cluster', 'In', anti(q.cluster)] : ['bucket', 'Lt', x] }));
  for (const b of bodies) await engine.query('idx', fresh(b));
  const run = async () => {
    for (const b of bodies) await engine.query('idx', fresh(b));
  };
  if (values['profile-out'] !== undefined) {
    const { Session } = await import('node:inspector/promises');
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    t = performance.now();
    await run();
    console.log(`${Q} queries in ${(performance.now() - t).toFixed(1)} ms (profiled)`);
    const { profile } = (await session.post('Profiler.stop')) as { profile: unknown };
    writeFileSync(values['profile-out'], JSON.stringify(profile));
    process.exit(0);
  }
  const { top } = await profiled(run, []);
  console.log(`\nself time over ${Q} filtered ANN queries (${values.profile === 'anti' ? 'anti-correlated' : `bucket < ${x}`}), top functions:`);
  for (const f of top.slice(0, 20)) console.log(`  ${f.ms} ms  ${f.fn}`);
  process.exit(0);
}

// Filtered ANN: per query vector, ANN on both namespaces and exact kNN as truth (on `idx`).
const anti = (c: number) => Array.from({ length: CLUSTERS / 10 }, (_, i) => (c + 1 + i * 10) % CLUSTERS).filter((x) => x !== c);
const series: [string, (q: (typeof queries)[number]) => unknown][] = [
  ['none', () => undefined],
  ['bucket < 5000 (50 %)', () => ['bucket', 'Lt', 5000]],
  ['bucket < 500 (5 %)', () => ['bucket', 'Lt', 500]],
  ['bucket < 10 (0.1 %)', () => ['bucket', 'Lt', 10]],
  ['bucket < 1 (0.01 %)', () => ['bucket', 'Lt', 1]],
  ['cluster In 10 % others (anti-correlated)', (q) => ['cluster', 'In', anti(q.cluster)]],
];
// Timed rounds interleave the series query by query (every series' i-th query, then the (i+1)-th, …), on `idx`, then
// on `scan`, then exact kNN on `idx` as the truth: so every series meets the same garbage-collector state. (Until
// the ninth session a series ran whole before the next, its ANN queries between its own full scans of `scan`: the
// filtered series paid for those scans' garbage, the unfiltered one, whose `scan` queries are ANN, did not; and the
// first series paid for the build's.)
const bodiesOf = series.map(([, filterOf]) =>
  queries.map((q) => {
    const filters = filterOf(q);
    return { rank_by: ['vector', 'ANN', q.vector], top_k: 10, ...(filters ? { filters } : {}) } as Record<string, unknown>;
  }),
);
async function rounds(ns: string, body: (s: number, i: number) => Record<string, unknown>, timed: boolean): Promise<{ ms: number[][]; got: Awaited<ReturnType<typeof engine.query>>[][] }> {
  const ms = series.map(() => [] as number[]);
  const got = series.map(() => [] as Awaited<ReturnType<typeof engine.query>>[]);
  for (let i = 0; i < Q; i++) {
    // The order rotates with i: no series is always first after the previous round's last (at 1M, the first query
    // of a fixed order ran ≈ 0.5 ms slower, whichever series it was).
    for (let r = 0; r < series.length; r++) {
      const s = (r + i) % series.length;
      const b = fresh(body(s, i));
      t = performance.now();
      got[s]!.push(await engine.query(ns, b));
      if (timed) ms[s]!.push(performance.now() - t);
    }
  }
  return { ms, got };
}
await rounds('idx', (s, i) => bodiesOf[s]![i]!, false);
const idxRun = await rounds('idx', (s, i) => bodiesOf[s]![i]!, true);
await rounds('scan', (s, i) => bodiesOf[s]![i]!, false);
const scanRun = await rounds('scan', (s, i) => bodiesOf[s]![i]!, true);
const knnRun = await rounds('idx', (s, i) => ({ ...bodiesOf[s]![i]!, rank_by: ['vector', 'kNN', queries[i]!.vector] }), true);
console.log('\n| filtered ANN top 10 | allowed | idx p50 / p99 ms | × unfiltered p50 | recall@10 | scan p50 / p99 ms | exact kNN p50 ms |\n|---|---:|---:|---:|---:|---:|---:|');
const base50 = latencySummary([...idxRun.ms[0]!]).p50;
for (let s = 0; s < series.length; s++) {
  const [label, filterOf] = series[s]!;
  const f0 = filterOf(queries[0]!);
  const allowed = f0 === undefined ? N : ((await engine.query('idx', { aggregate_by: { n: ['Count'] }, filters: f0 })).aggregations!.n as number);
  let recall = 0;
  idxRun.got[s]!.forEach((got, i) => (recall += recallOf(got.rows!.map((r) => r.id as number), knnRun.got[s]![i]!.rows!.map((r) => r.id as number))));
  const p50 = latencySummary([...idxRun.ms[s]!]).p50;
  console.log(`| ${label} | ${allowed.toLocaleString('en-US')} | ${fmt(idxRun.ms[s]!)} | ${(p50 / base50).toFixed(2)} | ${(recall / Q).toFixed(3)} | ${fmt(scanRun.ms[s]!)} | ${latencySummary(knnRun.ms[s]!).p50} |`);
}

if (values.only === 'ann') process.exit(0);
console.log('\n| query | idx p50 / p99 ms | scan p50 / p99 ms | same answer |\n|---|---:|---:|---|');
const others: [string, Record<string, unknown>][] = [
  ['bucket < 10 (0.1 %) + rank_by price desc, top 10', { filters: ['bucket', 'Lt', 10], rank_by: ['price', 'desc'], top_k: 10 }],
  ['rank_by ts asc, top 10 (no filter)', { rank_by: ['ts', 'asc'], top_k: 10 }],
  ['price Gte 999000 (0.1 %, sorted range), rank_by id, top 10', { filters: ['price', 'Gte', 999_000], rank_by: ['id', 'asc'], top_k: 10 }],
  ['Count group_by cat (100 groups)', { aggregate_by: { n: ['Count'] }, group_by: ['cat'], top_k: 100 }],
  ['Count group_by cat, bucket < 5000 (50 %)', { aggregate_by: { n: ['Count'] }, group_by: ['cat'], filters: ['bucket', 'Lt', 5000], top_k: 100 }],
  ['Sum price group_by cat, bucket < 500 (5 %)', { aggregate_by: { s: ['Sum', 'price'] }, group_by: ['cat'], filters: ['bucket', 'Lt', 500], top_k: 100 }],
];
for (const [label, body] of others) {
  const i = await timed('idx', body);
  const s = await timed('scan', body);
  const same = JSON.stringify(i.last.rows ?? i.last.aggregation_groups) === JSON.stringify(s.last.rows ?? s.last.aggregation_groups);
  console.log(`| ${label} | ${fmt(i.ms)} | ${fmt(s.ms)} | ${same ? 'yes' : 'NO'} |`);
}
console.log(`\nexplain of the first: ${(await engine.explainQuery('idx', others[0]![1])).plan_text}`);
await store.close();
