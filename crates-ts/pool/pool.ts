/**
 * A pool of worker threads (piscina) that runs named tasks (tasks.ts) off the event loop, or inline when its size is
 * 0. A task's own error (an ElaxError thrown by the task) is rethrown as the same ElaxError; a failure of the pool
 * itself (a worker that died, exited or could not start) runs the task inline instead: every task is a pure
 * function of its input, so running it again is safe, and a write never waits on a thread that is gone.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { bundledEntry, ElaxError, type ErrorCode } from '../core/index.js';
import { TASKS, TASK_KINDS, type TaskInput, type TaskKind, type TaskOutput } from './tasks.js';
import { WARM_UP, type TaskError } from './worker.js';
import { PriorityTaskQueue } from './priority-queue.js';

/** Kinds a waiting query needs: ahead of the others in the queue (priority-queue.ts). */
const URGENT: ReadonlySet<TaskKind> = new Set(['vector-scan', 'bm25-part']);

export interface RunOptions {
  /** Aborting rejects with the signal's reason; a queued task never starts, a running one's result is dropped. */
  signal?: AbortSignal;
  /** Buffers of the input to move to the worker instead of copying (the caller must not use them afterwards). */
  transfer?: ArrayBuffer[];
  /**
   * A flag in shared memory the task polls (query/pool-scan.ts): aborting `signal` sets it to 1, and run() rejects
   * at once, instead of piscina terminating the thread that runs the task (a thread costs 0.3-2 s of CPU to load).
   * The task stops at its next check, so its thread is free again within microseconds.
   */
  cancel?: Int32Array;
}

export interface KindStats {
  tasks: number;
  errors: number;
  /** Wall time from submission to result (queueing included), seconds. */
  seconds: number;
  /** Tasks whose caller aborted them (RunOptions.signal) before they finished. */
  cancelled: number;
  /** Tasks submitted and not yet answered (queued or running). */
  inFlight: number;
}

export interface PoolStats {
  threads: number;
  /** Tasks waiting for a free thread. */
  queued: number;
  /** Share of the threads' time spent running tasks since start, 0..1 (0 inline). */
  utilization: number;
  /** Tasks run inline because the pool failed them (a worker died). */
  fallbacks: number;
  /** Tasks run inline because no thread had loaded yet (the first writes after start). */
  coldInline: number;
  byKind: Record<TaskKind, KindStats>;
}

export interface TaskPool {
  readonly threads: number;
  run<K extends TaskKind>(kind: K, input: TaskInput<K>, opts?: RunOptions): Promise<TaskOutput<K>>;
  /**
   * Threads with nothing submitted to them right now (0 inline, and until a thread has loaded). A caller that can
   * do the work itself as well (a query's scan) hands it over only when one is idle: on a busy pool the task would
   * wait in the queue while this thread could run it.
   */
  idleThreads(): number;
  stats(): PoolStats;
  /** Resolves once a thread has loaded (or failed to): from then on tasks go to the threads. Inline: at once. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface PoolOptions {
  /** Worker threads; 0 runs every task inline on the calling thread. Default: defaultPoolThreads(). */
  threads?: number;
  /** Monotonic milliseconds (task times). */
  now: () => number;
  /** Worker entry (tests substitute one whose workers die). */
  entry?: URL;
  /** Handed to each thread (piscina's `workerData`), for an entry that needs settings (the indexer's: its nice value). */
  workerData?: unknown;
}

/** One thread per core but one, left to the event loop; at least 1. */
export function defaultPoolThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

export function createPool(opts: PoolOptions): TaskPool {
  const threads = opts.threads ?? defaultPoolThreads();
  if (!Number.isInteger(threads) || threads < 0) throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `pool threads must be an integer ≥ 0, got ${threads}`);
  return threads === 0 ? new InlinePool(opts.now) : new ThreadPool(threads, opts.now, opts.entry ?? bundledEntry('pool-worker') ?? new URL('./worker-entry.mjs', import.meta.url), opts.workerData);
}

function runInline<K extends TaskKind>(kind: K, input: TaskInput<K>): TaskOutput<K> | Promise<TaskOutput<K>> {
  return (TASKS[kind] as (i: TaskInput<K>) => TaskOutput<K> | Promise<TaskOutput<K>>)(input);
}

function emptyStats(): Record<TaskKind, KindStats> {
  return Object.fromEntries(TASK_KINDS.map((k) => [k, { tasks: 0, errors: 0, seconds: 0, cancelled: 0, inFlight: 0 }])) as Record<TaskKind, KindStats>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

abstract class BasePool implements TaskPool {
  protected readonly byKind = emptyStats();
  protected fallbacks = 0;
  protected coldInline = 0;
  abstract readonly threads: number;
  constructor(protected readonly now: () => number) {}

  async run<K extends TaskKind>(kind: K, input: TaskInput<K>, opts: RunOptions = {}): Promise<TaskOutput<K>> {
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    const started = this.now();
    const s = this.byKind[kind];
    s.inFlight++;
    try {
      const { signal, cancel } = opts;
      if (signal === undefined || cancel === undefined) return await this.execute(kind, input, opts);
      // Cooperative: piscina is not given the signal (it would terminate a running thread); the flag stops the task.
      let onAbort = () => {};
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => {
          Atomics.store(cancel, 0, 1);
          Atomics.notify(cancel, 0); // a task waiting on the flag (test entries) wakes
          s.cancelled++;
          reject(abortReason(signal));
        };
      });
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await Promise.race([this.execute(kind, input, { ...opts, signal: undefined }), aborted]);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    } catch (e) {
      s.errors++;
      throw e;
    } finally {
      s.inFlight--;
      s.tasks++;
      s.seconds += (this.now() - started) / 1000;
    }
  }

  protected abstract execute<K extends TaskKind>(kind: K, input: TaskInput<K>, opts: RunOptions): Promise<TaskOutput<K>>;
  /** Tasks in flight, of every kind. */
  protected inFlight(): number {
    let n = 0;
    for (const k of TASK_KINDS) n += this.byKind[k].inFlight;
    return n;
  }
  abstract idleThreads(): number;
  abstract stats(): PoolStats;
  abstract ready(): Promise<void>;
  abstract close(): Promise<void>;
}

class InlinePool extends BasePool {
  readonly threads = 0;
  idleThreads(): number {
    return 0;
  }
  protected async execute<K extends TaskKind>(kind: K, input: TaskInput<K>): Promise<TaskOutput<K>> {
    return runInline(kind, input);
  }
  stats(): PoolStats {
    return { threads: 0, queued: 0, utilization: 0, fallbacks: this.fallbacks, coldInline: 0, byKind: this.byKind };
  }
  async ready(): Promise<void> {}
  async close(): Promise<void> {}
}

class ThreadPool extends BasePool {
  private readonly piscina: Piscina;
  private closed = false;
  /** Whether a thread has loaded (tsx, Arrow, parquet-wasm: 0.3-2 s of CPU); until then tasks run inline. */
  private warm = false;
  private readonly warming: Promise<void>;

  constructor(
    readonly threads: number,
    now: () => number,
    entry: URL,
    workerData: unknown,
  ) {
    super(now);
    // Fixed size: threads start once (tsx + WebAssembly warm-up is ~100s of ms) and stay.
    this.piscina = new Piscina({ filename: fileURLToPath(entry), minThreads: threads, maxThreads: threads, idleTimeout: Infinity, taskQueue: new PriorityTaskQueue(now), workerData });
    // A write arriving before any thread has loaded is encoded inline rather than waiting seconds for the load.
    // A thread that cannot start: tasks go to the pool anyway and fall back inline one by one (counted).
    this.warming = this.piscina.run({ kind: WARM_UP }).then(
      () => undefined,
      () => undefined,
    );
    void this.warming.then(() => (this.warm = true));
  }

  protected async execute<K extends TaskKind>(kind: K, input: TaskInput<K>, opts: RunOptions): Promise<TaskOutput<K>> {
    if (this.closed) return runInline(kind, input);
    if (!this.warm) {
      this.coldInline++;
      return runInline(kind, input);
    }
    let out: unknown;
    try {
      const task = { kind, input, [Piscina.queueOptionsSymbol]: { urgent: URGENT.has(kind) } };
      out = await this.piscina.run(task, { signal: opts.signal ?? null, transferList: opts.transfer });
    } catch (e) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      // The pool failed the task (its worker died or could not start): the task itself never reported an error.
      this.fallbacks++;
      return runInline(kind, input);
    }
    if (out !== null && typeof out === 'object' && '__poolError' in out) throw revive((out as TaskError).__poolError);
    return out as TaskOutput<K>;
  }

  idleThreads(): number {
    return this.warm && !this.closed ? Math.max(0, this.threads - this.inFlight()) : 0;
  }

  stats(): PoolStats {
    return { threads: this.threads, queued: this.piscina.queueSize, utilization: this.piscina.utilization, fallbacks: this.fallbacks, coldInline: this.coldInline, byKind: this.byKind };
  }

  ready(): Promise<void> {
    return this.warming;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.destroy();
  }
}

/** The error a task threw on its worker, as the caller would have seen it inline. */
function revive(e: TaskError['__poolError']): Error {
  if (e.code) return new ElaxError(e.code as ErrorCode, e.message, e.retryAfter === undefined ? undefined : { retryAfter: e.retryAfter });
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}
