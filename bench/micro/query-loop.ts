/**
 * One query body repeated over a built store, in process (warm after the first run), for `node --cpu-prof`:
 *
 *   node --max-old-space-size=12000 [--cpu-prof --cpu-prof-dir=D] bin/run-ts.mjs bench/micro/query-loop.ts \
 *     --store DIR --ns bench --body '{"rank_by":["price","desc"],"filters":[...],"top_k":10}' [--runs 30]
 */
import { parseArgs } from 'node:util';
import { LocalDirStore } from '../../crates-ts/store/index.js';
import { benchEngine, latencySummary } from '../lib.js';

const { values } = parseArgs({
  options: { store: { type: 'string' }, ns: { type: 'string', default: 'bench' }, body: { type: 'string' }, runs: { type: 'string', default: '30' }, vary: { type: 'string' }, passes: { type: 'string', default: '1' } },
});
const engine = benchEngine(new LocalDirStore(values.store!), 128);
// --vary N: the body's text with every `$i` replaced by i, for i in [0, N): N different queries per pass.
const bodies = values.vary
  ? Array.from({ length: Number(values.vary) }, (_, i) => JSON.parse(values.body!.replaceAll('$i', String(i))) as Record<string, unknown>)
  : [JSON.parse(values.body!) as Record<string, unknown>];
const first = performance.now();
const r0 = (await engine.query(values.ns!, bodies[0]!)) as { rows?: unknown[] };
console.log(JSON.stringify({ first_ms: +(performance.now() - first).toFixed(1), rows: r0.rows?.length }));
for (let p = 0; p < Number(values.passes); p++) {
  const ms: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    const t = performance.now();
    // A fresh body each time, as over HTTP: a part remembers a filter's evaluation per filter object (PartSegment.masks).
    await engine.query(values.ns!, structuredClone(bodies[i % bodies.length]!));
    ms.push(performance.now() - t);
  }
  console.log(JSON.stringify({ pass: p, ...latencySummary(ms, 2) }));
}
process.exit(0);
