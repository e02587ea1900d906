/**
 * The embedded indexer of `elax serve`, inside a worker thread so HNSW builds and Parquet encoding never block the
 * HTTP event loop. It opens its own handle on the same store and runs the indexer loop until told to stop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../crates-ts/store/index.js';
import { IndexerLoop } from './loop.js';

const { storeUri, options } = workerData as { storeUri: string; options: Record<string, number> };
const store = await openStore(storeUri);
const { hnswM, hnswEfConstruction, flatThreshold, vectorIndexIvf, ivfMinRows, ...rest } = options;
const loop = new IndexerLoop(store, {
  ...rest,
  ...(vectorIndexIvf ? { vectorIndex: { kind: 'ivf' as const, minRows: ivfMinRows } } : {}),
  hnsw: { M: hnswM, efConstruction: hnswEfConstruction, flatThreshold },
  log: (msg, fields) => parentPort?.postMessage({ type: 'log', msg, fields }),
});
loop.start();
parentPort?.on('message', async (m: { type: string }) => {
  if (m.type === 'stop') {
    await loop.stop();
    await store.close();
    parentPort?.postMessage({ type: 'stopped' });
  }
});
parentPort?.postMessage({ type: 'ready' });
