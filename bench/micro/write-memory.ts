/**
 * What filling fresh memory costs the event loop on the write path (issue 17, fourteenth session), in process, each
 * measure A (as before) then B (now), alternating, `--repeat` times (median and best):
 *  1. a request body of `--body-kb` KiB copied chunk by chunk (64 KiB) into a fresh shared buffer (A) or a reused one
 *     (core/reused-buffers.ts, B): ms per body;
 *  2. walColumns of a `--rows`-row entry of 128-d vectors into a fresh shared buffer (A) or a reused one (B): ms;
 *  3. folding `--tail-rows` rows of 128-d vectors into a WAL tail (TailSegment.upsert) whose new vector arenas are
 *     faulted in here (A) or prefaulted on the prefault thread (B, VectorArena.prefault, query/prefault-thread.ts), entries of `--rows` rows with a
 *     10 ms pause between them (a writer at 100k rows/s): µs per row of the fold itself.
 *
 *   node bin/run-ts.mjs bench/micro/write-memory.ts [--body-kb 1300] [--rows 1000] [--tail-rows 100000] [--repeat 5]
 */
import { parseArgs } from 'node:util';
import { ReusedBuffers } from '../../crates-ts/core/index.js';
import { walColumns, WAL_FORMAT_VERSION, type WalOp } from '../../crates-ts/wal/index.js';
import { TailSegment } from '../../crates-ts/namespace/tail-segment.js';
import { setArenaPrefault, unsetArenaPrefault, prefaultThread } from '../../crates-ts/query/index.js';
import { machine, rng } from '../lib.js';

const { values } = parseArgs({
  options: { 'body-kb': { type: 'string', default: '1300' }, rows: { type: 'string', default: '1000' }, 'tail-rows': { type: 'string', default: '100000' }, repeat: { type: 'string', default: '5' } },
});
const BODY = Number(values['body-kb']) * 1024;
const ROWS = Number(values.rows);
const TAIL = Number(values['tail-rows']);
const REPEAT = Number(values.repeat);
const D = 128;
const rand = rng(5);
console.log(`# ${machine()}`);

const best = (xs: number[]) => Math.min(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const both = (xs: number[], unit: string) => `median ${median(xs).toFixed(2)} ${unit} (best ${best(xs).toFixed(2)})`;
const reused = new ReusedBuffers();

// 1. Body copies.
const chunk = Buffer.alloc(64 * 1024, 0x61);
const copyBody = (whole: Buffer) => {
  for (let at = 0; at < BODY; at += chunk.length) chunk.copy(whole, at, 0, Math.min(chunk.length, BODY - at));
};
const bodyA: number[] = [];
const bodyB: number[] = [];
for (let r = 0; r < REPEAT * 4; r++) {
  let t = performance.now();
  copyBody(Buffer.from(new SharedArrayBuffer(BODY)));
  bodyA.push(performance.now() - t);
  t = performance.now();
  const sab = reused.acquire(BODY);
  copyBody(Buffer.from(sab, 0, BODY));
  reused.release(sab);
  bodyB.push(performance.now() - t);
}
console.log(`body of ${BODY >> 10} KiB copied in: fresh ${both(bodyA, 'ms')}, reused ${both(bodyB, 'ms')}`);

// 2. walColumns.
const buf = new Float32Array(ROWS * D).map(() => rand());
const ops: WalOp[] = Array.from({ length: ROWS }, (_, i) => ({ kind: 'upsert', doc: { id: i, vector: buf.subarray(i * D, (i + 1) * D), attrs: { category: `c${i % 10}`, text: 'w1 w2 w3 w4 w5 w6 w7 w8' } } }));
const meta = { format_version: WAL_FORMAT_VERSION, namespace: 'ns', committed_at: 0, requests: 1 };
const colA: number[] = [];
const colB: number[] = [];
for (let r = 0; r < REPEAT * 4; r++) {
  let t = performance.now();
  walColumns(meta, ops);
  colA.push(performance.now() - t);
  t = performance.now();
  const c = walColumns(meta, ops, (n) => reused.acquire(n));
  reused.release(c.vectors!.buffer as SharedArrayBuffer);
  colB.push(performance.now() - t);
}
console.log(`walColumns of ${ROWS} rows: fresh ${both(colA, 'ms')}, reused ${both(colB, 'ms')}`);

// 3. Tail fold with and without the prefault thread.
const thread = prefaultThread();
const prefaulter = thread.prefault;
const vecs = new Float32Array(ROWS * D).map(() => rand() * 2 - 1);
async function fold(prefault: boolean): Promise<number> {
  if (prefault) setArenaPrefault(prefaulter);
  const tail = new TailSegment();
  let ms = 0;
  for (let from = 0; from < TAIL; from += ROWS) {
    const t = performance.now();
    for (let i = 0; i < ROWS; i++) tail.upsert({ id: from + i, vector: vecs.subarray(i * D, (i + 1) * D), attrs: {} });
    ms += performance.now() - t;
    await new Promise((r) => setTimeout(r, 10));
  }
  unsetArenaPrefault(prefaulter);
  return (1000 * ms) / TAIL;
}
const foldA: number[] = [];
const foldB: number[] = [];
for (let r = 0; r < Math.max(2, Math.ceil(REPEAT / 2)); r++) {
  foldA.push(await fold(false));
  foldB.push(await fold(true));
}
console.log(`fold of ${TAIL} rows (vectors only): arenas faulted in here ${best(foldA).toFixed(2)} µs/row, prefaulted on a pool thread ${best(foldB).toFixed(2)} µs/row (runs: ${foldA.map((x) => x.toFixed(2)).join(', ')} | ${foldB.map((x) => x.toFixed(2)).join(', ')})`);
await thread.close();
