/**
 * Starts and stops the embedded indexer worker thread of `elax serve`. A worker that dies (a native crash in a
 * build, an out-of-memory in the worker's heap, a bug) is restarted with capped exponential backoff: the HTTP side
 * keeps serving and the WAL keeps every write, so an indexer that stays dead would silently let the tail grow.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

export interface EmbeddedIndexer {
  stop(): Promise<void>;
  /** Times the worker died and was restarted. */
  readonly restarts: number;
}

export interface EmbeddedIndexerOptions {
  /** First restart delay; doubles per consecutive crash up to maxRestartDelayMs. Default 1 s. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** A worker that ran this long before dying resets the backoff. Default 60 s. */
  healthyAfterMs?: number;
  /** Worker entry (tests substitute one that crashes). */
  entry?: URL;
}

export function startEmbeddedIndexer(
  storeUri: string,
  options: Record<string, number>,
  log: (msg: string, fields?: Record<string, unknown>) => void,
  opts: EmbeddedIndexerOptions = {},
): EmbeddedIndexer {
  const entry = opts.entry ?? new URL('./worker-entry.mjs', import.meta.url);
  const firstDelay = opts.restartDelayMs ?? 1_000;
  const maxDelay = opts.maxRestartDelayMs ?? 60_000;
  const healthyAfter = opts.healthyAfterMs ?? 60_000;
  let stopping = false;
  let delay = firstDelay;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | null = null;
  let worker: Worker;

  const spawn = () => {
    const startedAt = Date.now();
    const w = new Worker(fileURLToPath(entry), { workerData: { storeUri, options } });
    let lastError: string | undefined;
    w.on('message', (m: { type: string; msg?: string; fields?: Record<string, unknown> }) => {
      if (m.type === 'log' && m.msg) log(m.msg, m.fields);
    });
    w.on('error', (e) => {
      lastError = e.message;
    });
    w.on('exit', (code) => {
      if (stopping) return;
      if (Date.now() - startedAt >= healthyAfter) delay = firstDelay;
      restarts++;
      log('embedded indexer crashed; restarting', { error: lastError ?? `worker exited with code ${code}`, restart_in_ms: delay, restarts });
      restartTimer = setTimeout(() => {
        restartTimer = null;
        if (!stopping) worker = spawn();
      }, delay);
      restartTimer.unref();
      delay = Math.min(delay * 2, maxDelay);
    });
    return w;
  };
  worker = spawn();

  return {
    get restarts() {
      return restarts;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        if (restartTimer) clearTimeout(restartTimer);
        const w = worker;
        if (w.threadId === -1) return resolve(); // already exited
        const timer = setTimeout(() => void w.terminate().then(() => resolve()), 30_000);
        w.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        w.on('message', (m: { type: string }) => {
          if (m.type === 'stopped') void w.terminate();
        });
        w.postMessage({ type: 'stop' });
      }),
  };
}
