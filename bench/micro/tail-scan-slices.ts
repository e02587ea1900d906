/**
 * How long a query's scan of the WAL tail holds the event loop in one piece (issue 17, execute-segments.ts scanSlice,
 * docs/rfcs/0010-worker-pool.md "Tail scans in slices"), in process: a tail of `--rows` 128-d rows with a category
 * and an 8-word text (as bench/mixed-load.ts writes them; a few rows overwritten, so some are dead), queried with
 * kNN top 10, unfiltered and filtered on one of 10 categories, cosine, through executeOnSegments with a control whose
 * checkpoint is one turn of the event loop (as the server's). A = scanSlice.ms = Infinity (the scan in one piece, as
 * before), B = the default. Per variant: the longest synchronous piece of each query (time between two turns) and the
 * query's total time, p50 / p99 / max over `--queries` queries, rounds alternating A and B.
 *
 *   node bin/run-ts.mjs bench/micro/tail-scan-slices.ts [--rows 60000] [--queries 200] [--rounds 4]
 */
import { parseArgs } from 'node:util';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TailSegment } from '../../crates-ts/namespace/tail-segment.js';
import { executeOnSegments, scanSlice } from '../../crates-ts/query/execute-segments.js';
import { parseQuery } from '../../crates-ts/query/parse-query.js';
import type { QueryControl } from '../../crates-ts/core/index.js';
import { gaussianMixture, machine, rng } from '../lib.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '60000' }, queries: { type: 'string', default: '200' }, rounds: { type: 'string', default: '4' } } });
const ROWS = Number(values.rows);
const QUERIES = Number(values.queries);
const ROUNDS = Number(values.rounds);
const D = 128;
const rand = rng(17);
const vectorOf = gaussianMixture(rand, D);

const tail = new TailSegment();
for (let i = 0; i < ROWS; i++) {
  const id = i % 50 === 49 ? Math.floor(rand() * i) : i; // an overwrite now and then: dead rows
  tail.upsert({ id, vector: Float32Array.from(vectorOf()), attrs: { category: `c${id % 10}`, text: Array.from({ length: 8 }, () => `w${Math.floor(rand() * 2000)}`).join(' ') } });
}
const ctx = { schema: { vector: { type: `[${D}]f32` }, category: { type: 'string', filterable: true }, text: { type: 'string' } }, distanceMetric: 'cosine_distance' as const };
const queries = Array.from({ length: QUERIES }, (_, i) =>
  parseQuery({ rank_by: ['vector', 'kNN', vectorOf()], top_k: 10, ...(i % 2 === 1 ? { filters: ['category', 'Eq', `c${i % 10}`] } : {}) }, ctx as never),
);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2);
};

async function round(sliceMs: number, filtered: boolean) {
  scanSlice.ms = sliceMs;
  const longest: number[] = [];
  const total: number[] = [];
  for (let i = filtered ? 1 : 0; i < queries.length; i += 2) {
    let from = performance.now();
    let max = 0;
    const control: QueryControl = {
      check() {},
      async checkpoint() {
        max = Math.max(max, performance.now() - from);
        await nextTurn();
        from = performance.now();
      },
    };
    const t0 = performance.now();
    from = t0;
    await executeOnSegments(queries[i]!, [tail.snapshot()], undefined, { control });
    max = Math.max(max, performance.now() - from);
    longest.push(max);
    total.push(performance.now() - t0);
  }
  return { longest: { p50: pct(longest, 0.5), p99: pct(longest, 0.99), max: pct(longest, 1) }, total: { p50: pct(total, 0.5), p99: pct(total, 0.99) } };
}

console.log(`machine: ${machine()}`);
console.log(`rows=${ROWS} (live ${tail.liveRows}) queries=${QUERIES} rounds=${ROUNDS} default scanSlice.ms=${scanSlice.ms}`);
const defaultMs = scanSlice.ms;
await round(Infinity, false); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const filtered of [false, true]) {
    for (const [name, ms] of [['A one piece', Infinity], ['B sliced', defaultMs]] as const) {
      console.log(JSON.stringify({ round: r, variant: name, filtered, ...(await round(ms, filtered)) }));
    }
  }
}
