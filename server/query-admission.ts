/**
 * Query admission: at most `maxRunning` queries execute at once on this node, at most `maxQueued` more wait for a
 * slot in arrival order (FIFO), and the query beyond that is answered 429 ELAX_ERR_QUERY_QUEUE_FULL with
 * Retry-After at once. Overload thus turns into fast, clear errors instead of unbounded latency and memory.
 *
 * This sits behind the node-wide in-flight budget (inflight.ts: 503 over requests / body bytes, any route): that
 * one bounds memory of request bodies; this one bounds the CPU work of queries. Writes do not pass through here
 * (they have their own paths: group commit and WAL backpressure), nor do /health, /metrics and /admin/*.
 *
 * A waiting query leaves the queue when its signal aborts (client gone, or its deadline passed while it waited):
 * the promise rejects with the signal's reason and the query never runs.
 */
import { availableParallelism } from 'node:os';
import { ElaxError } from '../crates-ts/core/index.js';

/**
 * Two per core: a query alternates CPU on the event loop with awaits on the store (cold reads) and the disk cache,
 * so a second query per core overlaps one's I/O with the other's CPU; more only interleaves CPU-bound queries,
 * which raises every query's latency without raising throughput.
 */
export const defaultMaxRunningQueries = (): number => 2 * availableParallelism();
/**
 * 32 waiting per running slot (128 on a 2-core node): a queued query waits about 32 query times, ~1.6 s for a
 * 50 ms query, well inside the default 30 s deadline; a deeper queue would mostly hold queries that time out
 * anyway, each holding its parsed body in memory, while 429 lets the client back off or try another node.
 */
export const defaultMaxQueuedQueries = (maxRunning: number): number => 32 * maxRunning;
/** Seconds a rejected client should wait: a full queue drains in roughly that time at typical query latency. */
const RETRY_AFTER_SECONDS = 1;

/** Frees a query's slot (idempotent): the next waiting query starts. */
export type ReleaseSlot = () => void;

interface Waiter {
  grant: (release: ReleaseSlot) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface AdmissionEvents {
  /** A query refused because the queue was full. */
  rejected?(): void;
  /** A waiting query left the queue because its signal aborted. */
  abandoned?(): void;
}

export class QueryLimiter {
  running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly maxRunning: number,
    readonly maxQueued: number,
    private readonly events: AdmissionEvents = {},
  ) {
    if (!Number.isInteger(maxRunning) || maxRunning <= 0) throw new Error(`maxRunning must be a positive integer, got ${maxRunning}`);
    if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new Error(`maxQueued must be a non-negative integer, got ${maxQueued}`);
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * A slot for one query: at once if one is free, else after the queries queued before it. Rejects at once with
   * ELAX_ERR_QUERY_QUEUE_FULL, or later with `signal.reason` if the signal aborts while waiting.
   */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.maxRunning) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueued) {
      this.events.rejected?.();
      return Promise.reject(
        new ElaxError(
          'ELAX_ERR_QUERY_QUEUE_FULL',
          `too many queries: ${this.running} running and ${this.waiting.length} queued on this node (limits ${this.maxRunning} and ${this.maxQueued}); retry after ${RETRY_AFTER_SECONDS} s`,
          { retryAfter: RETRY_AFTER_SECONDS },
        ),
      );
    }
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const w: Waiter = { grant: resolve, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiting.indexOf(w);
          if (i < 0) return; // already granted
          this.waiting.splice(i, 1);
          this.events.abandoned?.();
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiting.push(w);
    });
  }

  /** Runs `work` in a slot, released however it ends (result, error). */
  async run<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await work();
    } finally {
      release();
    }
  }

  private releaser(): ReleaseSlot {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      // Hand the slot straight to the oldest waiter (running stays the same), or free it.
      const next = this.waiting.shift();
      if (next === undefined) {
        this.running--;
        return;
      }
      if (next.onAbort) next.signal!.removeEventListener('abort', next.onAbort);
      next.grant(this.releaser());
    };
  }
}
