/**
 * The embedded indexer of `elax serve`, in a child process (or, with ELAX_INDEXER_PROCESS=thread, a worker thread) so
 * HNSW builds and Parquet encoding never block the HTTP event loop (indexer/embedded.ts). It opens its own handle on
 * the same store and runs the indexer loop until told to stop.
 */
import { openStore } from '../crates-ts/store/index.js';
import { IndexerLoop } from './loop.js';
import { defaultBuildThreads, lazyBuildPool } from './build-pool.js';
import { idleThisProcess, niceThisProcess, niceThisThread } from '../crates-ts/core/index.js';
import { parentLink } from './embedded-link.js';

const link = parentLink();
const { storeUri, options } = link.data;
const { hnswM, hnswEfConstruction, flatThreshold, vectorIndexIvf, ivfMinRows, nice, schedIdle, buildThreads, ...rest } = options;
// Builds yield the cores to queries and writes when they compete (docs/ARCHITECTURE.md, indexer/; --indexer-nice).
// A child process lowers every one of its threads (V8's platform threads, libuv's, tsx's loader thread: all exist by
// now, and threads created later inherit the nice value of the thread that creates them); a worker thread lowers only
// itself. A child process has already done so before loading its modules (process-entry.mjs): this checks it and
// reports what could not be done; a worker thread loads at the server's priority and lowers itself here.
const lowered = nice !== undefined && nice > 0;
const niced = lowered ? (link.kind === 'process' ? niceThisProcess(nice) : niceThisThread(nice)) : null;
// And with --indexer-sched idle (schedIdle 1; not the default), a child process moves to SCHED_IDLE
// (docs/rfcs/0010-worker-pool.md "The embedded indexer at SCHED_IDLE"): it then runs only on a core no server thread
// wants, and leaves it the moment one does.
const wantIdle = lowered && link.kind === 'process' && schedIdle === 1;
const idled = wantIdle ? idleThisProcess() : false;
const store = await openStore(storeUri);
// The shards of a sharded namespace's pass build on these threads, at the same nice value (RFC-0013).
const threads = buildThreads ?? defaultBuildThreads();
const buildPool = threads > 0 ? lazyBuildPool({ threads, nice }) : undefined;
const loop = new IndexerLoop(store, {
  ...rest,
  buildPool,
  ...(vectorIndexIvf ? { vectorIndex: { kind: 'ivf' as const, minRows: ivfMinRows } } : {}),
  hnsw: { M: hnswM, efConstruction: hnswEfConstruction, flatThreshold },
  log: (msg, fields) => link.post({ type: 'log', msg, fields }),
});
loop.start();
link.onMessage(async (m) => {
  if (m.type === 'stop') {
    await loop.stop();
    await buildPool?.close();
    await store.close();
    link.stopped();
  }
});
link.post({ type: 'ready' });
if (lowered && niced === null) {
  const what = link.kind === 'process' ? 'its process' : 'one thread';
  link.post({ type: 'log', msg: `embedded indexer runs at normal priority: this platform cannot lower ${what}`, fields: { nice } });
}
if (wantIdle && !idled) {
  link.post({ type: 'log', msg: 'embedded indexer stays at its nice value: could not move it to SCHED_IDLE (Linux, util-linux chrt)', fields: { nice } });
}
