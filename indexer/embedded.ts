/**
 * Starts and stops the embedded indexer of `elax serve`: a child process by default, a worker thread with
 * ELAX_INDEXER_PROCESS=thread (docs/ARCHITECTURE.md, indexer/). A child process runs every one of its threads at the
 * indexer's nice value (process-entry.mjs) — a worker thread lowers only itself, while the V8 platform threads (GC,
 * compile) and libuv threadpool it shares with the server stay at the server's priority — and a native crash in a
 * build ends the child, not the server. The child follows the server: it exits when the server's end of the IPC
 * channel closes, even when the server was killed by SIGKILL.
 *
 * An indexer that dies (a native crash in a build, an out-of-memory, a bug) is restarted with capped exponential
 * backoff: the HTTP side keeps serving and the WAL keeps every write, so an indexer that stays dead would silently let
 * the tail grow.
 */
import { Worker } from 'node:worker_threads';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_INDEXER_DATA_ENV, type EmbeddedIndexerData } from './embedded-link.js';
import { bundledEntry } from '../crates-ts/core/index.js';

export interface EmbeddedIndexer {
  stop(): Promise<void>;
  /** Times the indexer died and was restarted. */
  readonly restarts: number;
  /** The running child process's pid (process mode), else undefined. */
  readonly pid: number | undefined;
}

export type EmbeddedIndexerMode = 'process' | 'thread';

/** EmbeddedIndexerOptions.stopTimeoutMs's default. */
export const DEFAULT_STOP_TIMEOUT_MS = 5_000;

export interface EmbeddedIndexerOptions {
  /** First restart delay; doubles per consecutive crash up to maxRestartDelayMs. Default 1 s. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** An indexer that ran this long before dying resets the backoff. Default 60 s. */
  healthyAfterMs?: number;
  /** The indexer module (tests substitute one that crashes): a worker thread's entry, or what a child process runs. */
  entry?: URL;
  /** Default: embeddedIndexerMode() (ELAX_INDEXER_PROCESS). */
  mode?: EmbeddedIndexerMode;
  /**
   * A stopped indexer that has not exited after this long is killed. Default 5 s: a stop waits for the pass under way,
   * which on a busy machine (the indexer runs niced, or SCHED_IDLE) or against a failing store can take long, and a
   * server asked to stop should stop. Killing it loses nothing: the pass is redone by the next indexer, an unfinished
   * build leaves only part files no router names (GC's), and a publish is one compare-and-swap.
   */
  stopTimeoutMs?: number;
}

/** ELAX_INDEXER_PROCESS: `process` (default) or `thread` (for platforms without fork semantics). */
export function embeddedIndexerMode(env: NodeJS.ProcessEnv = process.env): EmbeddedIndexerMode {
  const v = env.ELAX_INDEXER_PROCESS;
  if (v === undefined || v === '' || v === 'process') return 'process';
  if (v === 'thread') return 'thread';
  throw new Error(`ELAX_INDEXER_PROCESS must be 'process' or 'thread', got '${v}'`);
}

/** One running indexer, thread or process, behind the same few operations. */
interface Running {
  send(message: object): void;
  onMessage(fn: (m: { type: string; msg?: string; fields?: Record<string, unknown>; message?: string }) => void): void;
  /** Called once, when it has exited: the reason if it died of an error, an exit code or a signal. */
  onGone(fn: (why: string) => void): void;
  gone(): boolean;
  /** Ends it at once (worker.terminate / SIGKILL). */
  kill(): void;
  pid: number | undefined;
}

function startThread(entry: URL, data: EmbeddedIndexerData): Running {
  const w = new Worker(fileURLToPath(entry), { workerData: data });
  let lastError: string | undefined;
  let exited = false;
  w.on('error', (e) => {
    lastError = e.message;
  });
  const gone: ((why: string) => void)[] = [];
  w.on('exit', (code) => {
    exited = true;
    for (const fn of gone) fn(lastError ?? `worker exited with code ${code}`);
  });
  return {
    send: (m) => w.postMessage(m),
    onMessage: (fn) => void w.on('message', fn),
    onGone: (fn) => void gone.push(fn),
    gone: () => exited,
    kill: () => void w.terminate(),
    pid: undefined,
  };
}

/**
 * The indexer process's environment: the server's, except its malloc mmap threshold. `npm start` sets
 * MALLOC_MMAP_THRESHOLD_=131072 for the query node (every allocation of 128 KiB or more is its own mapping, returned to
 * the system when freed: a query node's RSS stays near its caches, docs/runbooks/disk-cache.md). A part build allocates
 * and drops buffers of many MiB per pass, and with that setting every one of them is fresh memory whose pages fault in
 * on first write (≈ 13-16 µs a page on the benchmark VM): `bench/micro/part-build.ts` measured 24.6-24.7 µs/row
 * (median of 9) with it against 20.2-21.6 without. The indexer gets glibc's default (a threshold that rises to the
 * sizes it frees, so freed buffers are reused) unless ELAX_INDEXER_MALLOC_MMAP_THRESHOLD names one for it.
 */
export function indexerProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { MALLOC_MMAP_THRESHOLD_: _server, ...rest } = env;
  const own = env.ELAX_INDEXER_MALLOC_MMAP_THRESHOLD;
  return own === undefined || own === '' ? rest : { ...rest, MALLOC_MMAP_THRESHOLD_: own };
}

/** Node flags of the server that a child should not repeat (a second inspector on the same port fails). */
const NOT_INHERITED = /^--(inspect|debug)/;

function startProcess(entry: URL, data: EmbeddedIndexerData): Running {
  const child: ChildProcess = fork(fileURLToPath(bundledEntry('indexer-process-entry') ?? new URL('./process-entry.mjs', import.meta.url)), [entry.href], {
    // Log lines come over IPC into the server's logger (so --quiet silences them); anything written directly goes
    // where the server's own output goes.
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...indexerProcessEnv(process.env), [EMBEDDED_INDEXER_DATA_ENV]: JSON.stringify(data) },
    execArgv: process.execArgv.filter((a) => !NOT_INHERITED.test(a)),
    serialization: 'advanced',
  });
  let lastError: string | undefined;
  let exited = false;
  const gone: ((why: string) => void)[] = [];
  const end = (why: string) => {
    if (exited) return;
    exited = true;
    for (const fn of gone) fn(lastError ?? why);
  };
  child.on('message', (m: { type?: string; message?: string }) => {
    if (m.type === 'error') lastError = m.message;
  });
  child.on('error', (e) => {
    lastError ??= e.message;
    if (child.pid === undefined) end(e.message); // it never started: no 'close' to wait for
  });
  // 'close' rather than 'exit': it comes after the IPC channel drained, so a last error message is already read.
  child.on('close', (code, signal) => end(signal ? `indexer process killed by ${signal}` : `indexer process exited with code ${code}`));
  return {
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (fn) => void child.on('message', fn),
    onGone: (fn) => void gone.push(fn),
    gone: () => exited,
    kill: () => void child.kill('SIGKILL'),
    pid: child.pid,
  };
}

export function startEmbeddedIndexer(
  storeUri: string,
  options: Record<string, number>,
  log: (msg: string, fields?: Record<string, unknown>) => void,
  opts: EmbeddedIndexerOptions = {},
): EmbeddedIndexer {
  const mode = opts.mode ?? embeddedIndexerMode();
  const entry = opts.entry ?? bundledEntry('indexer-worker') ?? new URL(mode === 'thread' ? './worker-entry.mjs' : './worker.ts', import.meta.url);
  const firstDelay = opts.restartDelayMs ?? 1_000;
  const maxDelay = opts.maxRestartDelayMs ?? 60_000;
  const healthyAfter = opts.healthyAfterMs ?? 60_000;
  const data: EmbeddedIndexerData = { storeUri, options };
  let stopping = false;
  let delay = firstDelay;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | null = null;
  let current: Running;

  const spawn = () => {
    const startedAt = Date.now();
    const r = mode === 'thread' ? startThread(entry, data) : startProcess(entry, data);
    r.onMessage((m) => {
      if (m.type === 'log' && m.msg) log(m.msg, m.fields);
    });
    r.onGone((why) => {
      if (stopping) return;
      if (Date.now() - startedAt >= healthyAfter) delay = firstDelay;
      restarts++;
      log('embedded indexer crashed; restarting', { error: why, restart_in_ms: delay, restarts });
      restartTimer = setTimeout(() => {
        restartTimer = null;
        if (!stopping) current = spawn();
      }, delay);
      restartTimer.unref();
      delay = Math.min(delay * 2, maxDelay);
    });
    return r;
  };
  current = spawn();

  return {
    get restarts() {
      return restarts;
    },
    get pid() {
      return current.gone() ? undefined : current.pid;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        if (restartTimer) clearTimeout(restartTimer);
        const r = current;
        if (r.gone()) return resolve();
        const stopTimeout = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
        const timer = setTimeout(() => {
          log('embedded indexer did not stop in time; killed', { timeout_ms: stopTimeout });
          r.kill();
        }, stopTimeout);
        r.onGone(() => {
          clearTimeout(timer);
          resolve();
        });
        // A thread is ended once it has stopped; a child process exits by itself.
        r.onMessage((m) => {
          if (m.type === 'stopped' && mode === 'thread') r.kill();
        });
        r.send({ type: 'stop' });
      }),
  };
}
