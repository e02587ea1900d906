/** Starts and stops the embedded indexer worker thread of `elax serve`. */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

export interface EmbeddedIndexer {
  stop(): Promise<void>;
}

export function startEmbeddedIndexer(
  storeUri: string,
  options: Record<string, number>,
  log: (msg: string, fields?: Record<string, unknown>) => void,
): EmbeddedIndexer {
  const worker = new Worker(fileURLToPath(new URL('./worker-entry.mjs', import.meta.url)), { workerData: { storeUri, options } });
  worker.on('message', (m: { type: string; msg?: string; fields?: Record<string, unknown> }) => {
    if (m.type === 'log' && m.msg) log(m.msg, m.fields);
  });
  worker.on('error', (e) => log('embedded indexer crashed', { error: e.message }));
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 30_000);
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.on('message', (m: { type: string }) => {
          if (m.type === 'stopped') void worker.terminate();
        });
        worker.postMessage({ type: 'stop' });
      }),
  };
}
