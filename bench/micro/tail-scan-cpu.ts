/**
 * CPU time per query of the WAL tail's vector scan on the event loop (issue 17; execute-segments.ts rankSegments, the
 * chunked branch): a tail of `--rows` 128-d rows as bench/mixed-load.ts writes them (a `category` of 10 values, an
 * 8-word text; every 50th write overwrites an earlier id, so some rows are dead), queried with kNN top 10, cosine,
 * through executeOnSegments (code scan on: the default), unfiltered and with `category Eq cX` (10 % of the rows).
 * Reports CPU µs per query (process.cpuUsage, user + system: the machine may be shared, wall time would count others'
 * work) per round, and the median over rounds; plus the code scan's counters and a digest of every answer (ids and
 * $dist bits), which must not differ between two implementations.
 *
 * `--root DIR` (repeatable): import the query code from DIR/crates-ts instead of this checkout's (e.g. an export of
 * another commit: `git archive <commit> crates-ts | tar -x -C DIR`; an empty DIR is this checkout). With several, each
 * version builds its own tail (the same rows) and the versions run in turn, pass by pass (A B A B), in one process.
 *
 * `--only unfiltered|filtered`: one kind of query (e.g. for a CPU profile of it).
 *
 *   nice -n 19 node bin/run-ts.mjs bench/micro/tail-scan-cpu.ts [--rows 18000] [--queries 400] [--rounds 5] [--root DIR]... [--only KIND]
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { gaussianMixture, machine, rng } from '../lib.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '18000' }, queries: { type: 'string', default: '400' }, rounds: { type: 'string', default: '5' }, root: { type: 'string', multiple: true }, only: { type: 'string' } },
});
const ROWS = Number(values.rows);
const QUERIES = Number(values.queries);
const ROUNDS = Number(values.rounds);
const D = 128;
const roots = (values.root ?? ['']).map((r) => (r === '' ? path.resolve(new URL('../..', import.meta.url).pathname) : path.resolve(r)));

/** One version of the query code: its modules, a tail built by them (the same rows for each), the queries. */
async function load(root: string) {
  const mod = (p: string) => import(pathToFileURL(path.join(root, 'crates-ts', p)).href);
  const { TailSegment } = (await mod('namespace/tail-segment.js')) as typeof import('../../crates-ts/namespace/tail-segment.js');
  const { executeOnSegments } = (await mod('query/execute-segments.js')) as typeof import('../../crates-ts/query/execute-segments.js');
  const { parseQuery } = (await mod('query/parse-query.js')) as typeof import('../../crates-ts/query/parse-query.js');
  const { codeScanStats } = (await mod('query/code-scan.js')) as typeof import('../../crates-ts/query/code-scan.js');
  const rand = rng(17);
  const vectorOf = gaussianMixture(rand, D);
  const tail = new TailSegment();
  for (let i = 0; i < ROWS; i++) {
    const id = i % 50 === 49 ? Math.floor(rand() * i) : i; // an overwrite now and then: dead rows
    tail.upsert({ id, vector: Float32Array.from(vectorOf()), attrs: { category: `c${id % 10}`, text: Array.from({ length: 8 }, () => `w${Math.floor(rand() * 2000)}`).join(' ') } });
  }
  const snap = tail.snapshot();
  const ctx = { schema: { vector: { type: `[${D}]f32` }, category: { type: 'string', filterable: true }, text: { type: 'string' } }, distanceMetric: 'cosine_distance' as const };
  const vecs = Array.from({ length: QUERIES }, () => vectorOf());
  const queriesOf = (filtered: boolean) =>
    vecs.map((v, i) => parseQuery({ rank_by: ['vector', 'kNN', v], top_k: 10, ...(filtered ? { filters: ['category', 'Eq', `c${i % 10}`] } : {}) }, ctx as never));
  const sets = Object.fromEntries(
    (['unfiltered', 'filtered'] as const).filter((name) => values.only === undefined || values.only === name).map((name) => [name, queriesOf(name === 'filtered')]),
  );
  return { name: path.relative(process.cwd(), root) || '.', executeOnSegments, codeScanStats, snap, sets, live: tail.liveRows };
}
type Version = Awaited<ReturnType<typeof load>>;
const versions: Version[] = [];
for (const root of roots) versions.push(await load(root));

/** CPU µs per query over one pass of `qs`, and the answers' digest. */
async function pass(v: Version, qs: Version['sets'][string]): Promise<{ us: number; digest: string }> {
  const h = createHash('sha256');
  const c0 = process.cpuUsage();
  for (const q of qs) {
    const r = await v.executeOnSegments(q, [v.snap]);
    for (const row of r.rows!) h.update(`${row.id}:${Object.is(row.$dist, -0) ? '-0' : row.$dist};`);
  }
  const c = process.cpuUsage(c0);
  return { us: (c.user + c.system) / qs.length, digest: h.digest('hex').slice(0, 16) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`# ${machine()}; rows ${ROWS} (live ${versions[0]!.live}), ${QUERIES} queries a pass, ${ROUNDS} rounds, versions alternating: ${versions.map((v) => v.name).join(', ')}`);
for (const v of versions) for (const qs of Object.values(v.sets)) await pass(v, qs.slice(0, 50)); // warm-up
const out = new Map<string, { us: number[]; digest: string; coded: number; exact: number }>();
for (let r = 0; r < ROUNDS; r++) {
  for (const name of Object.keys(versions[0]!.sets)) {
    for (const v of versions) {
      const qs = v.sets[name]!;
      const [c0, e0] = [v.codeScanStats.coded, v.codeScanStats.exact];
      const { us, digest } = await pass(v, qs);
      const key = `${name}\t${v.name}`;
      const o = out.get(key) ?? { us: [], digest, coded: 0, exact: 0 };
      out.set(key, o);
      if (o.digest !== digest) throw new Error(`${key}: answers differ between rounds`);
      o.us.push(us);
      o.coded += (v.codeScanStats.coded - c0) / qs.length / ROUNDS;
      o.exact += (v.codeScanStats.exact - e0) / qs.length / ROUNDS;
    }
  }
}
for (const [key, o] of out) {
  const [query, version] = key.split('\t');
  console.log(JSON.stringify({ query, version, cpu_us_per_query_median: +median(o.us).toFixed(1), min: +Math.min(...o.us).toFixed(1), rounds: o.us.map((x) => +x.toFixed(0)), coded_rows_per_query: +o.coded.toFixed(1), exact_rows_per_query: +o.exact.toFixed(2), digest: o.digest }));
}
const digests = new Map<string, Set<string>>();
for (const [key, o] of out) {
  const q = key.split('\t')[0]!;
  digests.set(q, (digests.get(q) ?? new Set()).add(o.digest));
}
for (const [q, d] of digests) if (d.size > 1) throw new Error(`${q}: the versions' answers differ`);
