/**
 * The embedded indexer of `elax serve`, inside a worker thread so HNSW builds and Parquet encoding never block the
 * HTTP event loop. It opens its own handle on the same store and runs the indexer loop until told to stop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../crates-ts/store/index.js';
import { IndexerLoop } from './loop.js';
import { defaultBuildThreads, lazyBuildPool } from './build-pool.js';
import { niceThisThread } from '../crates-ts/core/index.js';

const { storeUri, options } = workerData as { storeUri: string; options: Record<string, number> };
const { hnswM, hnswEfConstruction, flatThreshold, vectorIndexIvf, ivfMinRows, nice, buildThreads, ...rest } = options;
// Builds yield the cores to queries and writes when they compete (docs/ARCHITECTURE.md, indexer/; --indexer-nice).
const niced = nice !== undefined && nice > 0 ? niceThisThread(nice) : null;
const store = await openStore(storeUri);
// The shards of a sharded namespace's pass build on these threads, at the same nice value (RFC-0013).
const threads = buildThreads ?? defaultBuildThreads();
const buildPool = threads > 0 ? lazyBuildPool({ threads, nice }) : undefined;
const loop = new IndexerLoop(store, {
  ...rest,
  buildPool,
  ...(vectorIndexIvf ? { vectorIndex: { kind: 'ivf' as const, minRows: ivfMinRows } } : {}),
  hnsw: { M: hnswM, efConstruction: hnswEfConstruction, flatThreshold },
  log: (msg, fields) => parentPort?.postMessage({ type: 'log', msg, fields }),
});
loop.start();
parentPort?.on('message', async (m: { type: string }) => {
  if (m.type === 'stop') {
    await loop.stop();
    await buildPool?.close();
    await store.close();
    parentPort?.postMessage({ type: 'stopped' });
  }
});
parentPort?.postMessage({ type: 'ready' });
if (nice !== undefined && nice > 0 && niced === null) {
  parentPort?.postMessage({ type: 'log', msg: 'embedded indexer runs at normal priority: this platform cannot lower one thread', fields: { nice } });
}
