/**
 * The event-loop cost of the WAL tail at ingest and at a publish (issue 17), in process, no store:
 *  1. append: `--rows` rows of `--dims`-d vectors folded into a view in entries of 1,000 rows; the time of each entry's
 *     apply (p50, p99, max: the vector buffer's growth shows as the max) and in total;
 *  2. publish: a publish whose parts cover the first `--covered` rows of that tail. Rebuild = a new view with the
 *     rest replayed (what a node did before issue 17's carry-over, decoding excluded: the entries are cached) vs.
 *     carry-over (NamespaceView.carryOver). The namespace has no parts here, so neither includes the shadowing
 *     lookups, which the rebuild does for every tail id and the carry-over only for covered ids written again.
 *
 *   node bin/run-ts.mjs bench/micro/tail-publish.ts [--rows 200000] [--dims 128] [--covered 50000]
 */
import { parseArgs } from 'node:util';
import { RouterStore, type Router } from '../../crates-ts/router/index.js';
import { Witness } from '../../crates-ts/store/index.js';
import { NamespaceView } from '../../crates-ts/namespace/index.js';
import type { WalEntry } from '../../crates-ts/wal/index.js';
import { gaussianMixture, machine, percentile, rng } from '../lib.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '200000' }, dims: { type: 'string', default: '128' }, covered: { type: 'string', default: '50000' } } });
const N = Number(values.rows);
const D = Number(values.dims);
const COVERED = Number(values.covered);
const PER_ENTRY = 1000;

const gen = gaussianMixture(rng(7), D);
const router: Router = { ...RouterStore.initial('tail', 1, new Date(0).toISOString()), format_version: 2 };
const entries: WalEntry[] = [];
for (let seq = 1, id = 0; id < N; seq++) {
  const ops = [];
  for (let j = 0; j < PER_ENTRY && id < N; j++, id++) ops.push({ kind: 'upsert' as const, doc: { id, vector: Float32Array.from(gen()), attrs: { cat: id % 10, text: `row ${id}` } } });
  entries.push({ seq, meta: { format_version: 1, namespace: 'tail', committed_at: seq, requests: 1 }, ops });
}

console.log(`# ${machine()}`);
console.log(`tail of ${N} rows × ${D}-d in entries of ${PER_ENTRY} rows; a publish covering the first ${COVERED}`);
const view = new NamespaceView(router, Witness.neverMatches(), [], []);
const ms: number[] = [];
const t0 = performance.now();
for (const e of entries) {
  const t = performance.now();
  view.apply(e, 0);
  ms.push(performance.now() - t);
}
// Large entries fold in slices that yield to the event loop (RFC-0010): the fold ends at settle().
await view.settle();
const total = performance.now() - t0;
const sorted = [...ms].sort((a, b) => a - b);
console.log(`append: total ${total.toFixed(0)} ms (${((total * 1e6) / N).toFixed(0)} ns a row, folded: settle() included), apply() per entry p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`);

const coveredEntries = Math.ceil(COVERED / PER_ENTRY);
const next: Router = { ...router, epoch: router.epoch + 1, indexed_wal: coveredEntries };
let t = performance.now();
const rebuilt = new NamespaceView(next, Witness.neverMatches(), [], []);
rebuilt.tailRows.reserve(N - coveredEntries * PER_ENTRY);
for (const e of entries) if (e.seq > coveredEntries) rebuilt.apply(e, 0);
await rebuilt.settle();
console.log(`publish, rebuild (replay ${rebuilt.tailRows.rows} rows): ${(performance.now() - t).toFixed(1)} ms`);
const carry = (view as { carryOver?: (...a: unknown[]) => NamespaceView | null }).carryOver;
if (carry) {
  t = performance.now();
  const carried = carry.call(view, next, Witness.neverMatches(), [], [], (seq: number) => entries[seq - 1]);
  const took = performance.now() - t;
  if (carried === null || carried.tailRows.rows !== rebuilt.tailRows.rows) throw new Error('carry-over refused or wrong');
  console.log(`publish, carry-over (keeps ${carried.tailRows.rows} rows): ${took.toFixed(1)} ms`);
} else console.log('publish, carry-over: not in this build');
