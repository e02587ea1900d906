/**
 * Exact kNN over a second vector column held in the WAL tail (RFC-0014 §4): the tail's values packed as f32 once
 * (TailColumn.vectorReader: views, no copy per row) against the previous path (each row's number array copied into a
 * Float32Array per query), side by side in one process, alternating, on the same engine and queries.
 *
 *   node bin/run-ts.mjs bench/micro/tail-vector-column.ts [--rows 20000] [--dims 64] [--queries 60]
 */
import { parseArgs } from 'node:util';
import { Engine } from '../../crates-ts/engine/index.js';
import { MemoryStore } from '../../crates-ts/store/index.js';
import { TailColumns } from '../../crates-ts/namespace/tail-columns.js';
import { vectorsFromValues } from '../../crates-ts/query/attr-vector.js';
import { gaussianMixture, latencySummary, machine, rng } from '../lib.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '20000' }, dims: { type: 'string', default: '64' }, queries: { type: 'string', default: '60' } } });
const N = Number(values.rows);
const DIMS = Number(values.dims);
const Q = Number(values.queries);
const gen = gaussianMixture(rng(14), DIMS);

let t = 0;
const engine = new Engine(new MemoryStore(), { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
for (let i = 0; i < N; i += 2000) {
  const rows = Array.from({ length: Math.min(2000, N - i) }, (_, j) => ({ id: i + j, img: gen() }));
  await engine.write('tv', { upsert_rows: rows, ...(i === 0 ? { schema: { img: { type: `[${DIMS}]f32`, ann: { distance_metric: 'euclidean_squared' } } } } : {}) });
}
const queries = Array.from({ length: Q }, () => gen());
const packed = TailColumns.prototype.vectorReader;
const copying = function (this: TailColumns, attr: string, dims: number) {
  return vectorsFromValues(this.reader(attr), dims);
};
const run = async (q: number[]) => {
  const s = performance.now();
  const res = await engine.query('tv', { rank_by: ['img', 'kNN', q], top_k: 10 });
  return { ms: performance.now() - s, ids: res.rows!.map((r) => r.id) };
};
for (const q of queries.slice(0, 5)) await run(q); // warm-up (and the first packing)
const xs = { packed: [] as number[], copying: [] as number[] };
for (const q of queries) {
  for (const mode of ['packed', 'copying'] as const) {
    TailColumns.prototype.vectorReader = mode === 'packed' ? packed : copying;
    xs[mode].push((await run(q)).ms);
  }
}
TailColumns.prototype.vectorReader = packed;
// The same answers either way.
for (const q of queries.slice(0, 5)) {
  const a = (await run(q)).ids;
  TailColumns.prototype.vectorReader = copying;
  const b = (await run(q)).ids;
  TailColumns.prototype.vectorReader = packed;
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('packed and copying answers differ');
}
console.log(`${machine()}; ${N} × ${DIMS}-d rows of img in the WAL tail, kNN top 10, ${Q} queries, alternating`);
console.log('| tail img kNN | p50 ms | p99 ms | mean ms |\n|---|---:|---:|---:|');
for (const mode of ['copying', 'packed'] as const) {
  const r = latencySummary(xs[mode]);
  console.log(`| ${mode === 'packed' ? 'packed f32 (views)' : 'number arrays copied per row (before)'} | ${r.p50} | ${r.p99} | ${r.mean} |`);
}
await engine.close();
