/**
 * The embedded indexer's side of its link to `elax serve` (indexer/embedded.ts): the parent port of a worker thread,
 * or the IPC channel of a child process (the default). The same messages go either way: in, `{type: 'stop'}`; out,
 * `{type: 'ready'}`, `{type: 'log', msg, fields}` and `{type: 'stopped'}`.
 */
import { parentPort, workerData } from 'node:worker_threads';

export interface EmbeddedIndexerData {
  storeUri: string;
  options: Record<string, number>;
}

/** How a child process gets its EmbeddedIndexerData (JSON): not argv, which `ps` shows to every user. */
export const EMBEDDED_INDEXER_DATA_ENV = 'ELAX_EMBEDDED_INDEXER_DATA';

export interface ParentLink {
  kind: 'thread' | 'process';
  data: EmbeddedIndexerData;
  post(message: object): void;
  onMessage(fn: (message: { type: string }) => void): void;
  /** Sends `{type: 'stopped'}`, the last message: a child process then exits; a thread is ended by the server. */
  stopped(): void;
}

export function parentLink(): ParentLink {
  if (parentPort) {
    const port = parentPort;
    return {
      kind: 'thread',
      data: workerData as EmbeddedIndexerData,
      post: (m) => port.postMessage(m),
      onMessage: (fn) => void port.on('message', fn),
      stopped: () => port.postMessage({ type: 'stopped' }),
    };
  }
  const send = process.send?.bind(process);
  const json = process.env[EMBEDDED_INDEXER_DATA_ENV];
  if (!send || json === undefined) throw new Error('the embedded indexer runs in a worker thread or a child process of elax serve (indexer/embedded.ts)');
  return {
    kind: 'process',
    data: JSON.parse(json) as EmbeddedIndexerData,
    post: (m) => {
      if (process.connected) send(m);
    },
    onMessage: (fn) => void process.on('message', fn),
    stopped: () => {
      if (process.connected) send({ type: 'stopped' }, () => process.exit(0));
      else process.exit(0);
    },
  };
}
