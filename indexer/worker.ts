/**
 * The embedded indexer of `elax serve`, in a child process (or, with ELAX_INDEXER_PROCESS=thread, a worker thread) so
 * HNSW builds and Parquet encoding never block the HTTP event loop (indexer/embedded.ts). It opens its own handle on
 * the same store and runs the indexer loop until told to stop.
 */
import { openStore } from '../crates-ts/store/index.js';
import { IndexerLoop } from './loop.js';
import { defaultBuildThreads, lazyBuildPool } from './build-pool.js';
import { niceThisProcess, niceThisThread } from '../crates-ts/core/index.js';
import { parentLink } from './embedded-link.js';

const link = parentLink();
const { storeUri, options } = link.data;
const { hnswM, hnswEfConstruction, flatThreshold, vectorIndexIvf, ivfMinRows, nice, buildThreads, ...rest } = options;
// Builds yield the cores to queries and writes when they compete (docs/ARCHITECTURE.md, indexer/; --indexer-nice).
// A child process lowers every one of its threads (V8's platform threads, libuv's, tsx's loader thread: all exist by
// now, and threads created later inherit the nice value of the thread that creates them); a worker thread lowers only
// itself. Both after loading the modules, at the server's priority, so that a busy machine does not hold up the start.
const lowered = nice !== undefined && nice > 0;
const niced = lowered ? (link.kind === 'process' ? niceThisProcess(nice) : niceThisThread(nice)) : null;
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
