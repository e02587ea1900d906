/**
 * Memory and time of one delete_by_filter over N rows held in parts (and the same over the WAL tail):
 * `node --expose-gc bin/run-ts.mjs bench/delete-by-filter.ts [N]` (default 1,000,000). Reports the heap growth over
 * the state before the request (after a full GC) at the moment its WAL entry is appended — the ids, the planned
 * changes, the WAL operations and the encoded entry all alive: the request's peak — and once it is answered (what the
 * view keeps: the tail's deletes), per deleted row. Heap figures include garbage not yet collected (an upper bound).
 */
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';

const N = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
let sample: () => void = () => {};
/** A memory store that samples the heap when a WAL entry is appended (after planning and encoding, before folding). */
class SamplingStore extends MemoryStore {
  override async putIfAbsent(key: string, bytes: Uint8Array) {
    if (key.includes('/wal/')) sample();
    return super.putIfAbsent(key, bytes);
  }
}
const store = new SamplingStore();
const clock = { now: () => Date.now() };
const engine = new Engine(store, { clock, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random, groupCommitMs: 0, backpressureBytes: 2 ** 52 });
const ns = 'dbf';
const BATCH = 50_000;

async function load(inParts: boolean): Promise<void> {
  for (let start = 0; start < N; start += BATCH) {
    const n = Math.min(BATCH, N - start);
    await engine.write(ns, { upsert_columns: { id: Array.from({ length: n }, (_, i) => start + i), k: Array.from({ length: n }, () => 'gone'), v: Array.from({ length: n }, (_, i) => i) } });
  }
  if (inParts) {
    let nonce = 0;
    await new Indexer(store, { clock, nonce: () => `n${nonce++}`, maxEntriesPerPart: 1_000 }).indexNamespace(ns, true);
  }
}

async function measure(label: string): Promise<void> {
  await engine.query(ns, { aggregate_by: { c: ['Count'] } }); // view loaded, tail settled
  gc();
  const before = process.memoryUsage();
  let atAppend = before;
  sample = () => (atAppend = process.memoryUsage());
  const t0 = performance.now();
  const res = await engine.write(ns, { delete_by_filter: ['k', 'Eq', 'gone'] });
  const ms = performance.now() - t0;
  sample = () => {};
  const after = process.memoryUsage();
  gc();
  const kept = process.memoryUsage();
  // The next read settles the tail's deletes against the parts (view.settle: id lookups, one dead bit per row).
  const t1 = performance.now();
  const left = await engine.query(ns, { aggregate_by: { c: ['Count'] } });
  const settleMs = performance.now() - t1;
  const settled = process.memoryUsage();
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  const per = (b: number) => (b / N).toFixed(0);
  console.log(
    `${label}: deleted ${res.rows_deleted} in ${(ms / 1000).toFixed(1)} s; heap at the WAL append +${mb(atAppend.heapUsed - before.heapUsed)} MiB ` +
      `(${per(atAppend.heapUsed - before.heapUsed)} B/row) + ${mb(atAppend.arrayBuffers - before.arrayBuffers)} MiB buffers; answered +${mb(after.heapUsed - before.heapUsed)} MiB; ` +
      `kept after GC +${mb(kept.heapUsed - before.heapUsed)} MiB (${per(kept.heapUsed - before.heapUsed)} B/row); ` +
      `next read (count ${JSON.stringify(left.aggregations)}) ${(settleMs / 1000).toFixed(1)} s, heap +${mb(settled.heapUsed - before.heapUsed)} MiB`,
  );
}

await load(true);
await measure(`${N} rows in parts`);
if (process.argv[3] !== 'parts') {
  await load(false);
  await measure(`${N} rows in the WAL tail`);
}
await engine.close();
