/**
 * Warm ANN queries in a loop over a store built by `bench/ann-peers.ts --phase elax-build --store DIR`: where a warm
 * query's time goes, under `node --cpu-prof` (issue 15).
 *
 *   node --max-old-space-size=16000 [--cpu-prof --cpu-prof-dir=D] bin/run-ts.mjs bench/micro/ann-query-loop.ts \
 *     --data bench/.cache/ann-peers/clustered-n1000000-d128-q200-s7.bin --store DIR [--passes 10] [--eventual]
 */
import { parseArgs } from 'node:util';
import { LocalDirStore } from '../../crates-ts/store/index.js';
import { benchEngine, latencySummary, recallOf } from '../lib.js';
import { readVectorFile } from '../data/vector-file.js';
import { IvfSearcher, type SearchStats } from '../../crates-ts/ivf/index.js';

// The searcher's own counters per query (probed clusters, codes scored, candidates refined, exact distances).
const stats: Record<string, number> = {};
const search = IvfSearcher.prototype.search;
IvfSearcher.prototype.search = function (this: IvfSearcher, ...args: Parameters<IvfSearcher['search']>) {
  const r = search.apply(this, args);
  stats.runs = (stats.runs ?? 0) + 1;
  for (const k of Object.keys(r.stats) as (keyof SearchStats)[]) stats[k] = (stats[k] ?? 0) + r.stats[k];
  return r;
};

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    store: { type: 'string' },
    passes: { type: 'string', default: '10' },
    eventual: { type: 'boolean', default: false },
    ef: { type: 'string', default: '128' },
  },
});
const K = 10;
const v = readVectorFile(values.data!, { base: false });
const engine = benchEngine(new LocalDirStore(values.store!), Number(values.ef));
await engine.warmCache('ann');
const consistency = values.eventual ? { consistency: { level: 'eventual' as const } } : {};
const q = (i: number) => Array.from(v.queries.subarray(i * v.dims, (i + 1) * v.dims));
for (let pass = 0; pass < Number(values.passes); pass++) {
  const lat: number[] = [];
  let recall = 0;
  for (const k of Object.keys(stats)) stats[k] = 0;
  for (let i = 0; i < v.q; i++) {
    const s = performance.now();
    const r = (await engine.query('ann', { rank_by: ['vector', 'ANN', q(i)], top_k: K, ...consistency })) as { rows: { id: number }[] };
    lat.push(performance.now() - s);
    recall += recallOf(r.rows.map((x) => x.id), Array.from(v.truth.subarray(i * K, (i + 1) * K)));
  }
  console.log(JSON.stringify({ pass, ...latencySummary(lat, 3), recall: +(recall / v.q).toFixed(4), per_query: Object.fromEntries(Object.entries(stats).map(([k, x]) => [k, +(x / v.q).toFixed(1)])) }));
}
process.exit(0);
