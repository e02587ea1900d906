/**
 * A query's time budget and its client's connection, as the engine's QueryControl (crates-ts/core/cancel.ts):
 *  - the deadline (--query-timeout-ms, or the request's X-Elax-Query-Timeout-Ms, never more than the flag) starts
 *    when the request arrives, so time spent queued for a slot counts; a timer aborts the signal (which also takes a
 *    waiting query out of the queue), and check() compares the clock itself, so a scan that holds the event loop
 *    still stops within a few thousand rows of the deadline;
 *  - the client closing its connection before the reply aborts the signal (ELAX_ERR_QUERY_CANCELLED).
 * The timer lives here, in server/: crates-ts only asks check() / checkpoint().
 */
import type { ServerResponse } from 'node:http';
import { ElaxError, type QueryControl } from '../crates-ts/core/index.js';

/**
 * 30 s: far above any healthy query (milliseconds hot, a second or two cold against S3), so it only stops runaway
 * work (an unfiltered exact scan of a huge tail, a pathological filter); and below the usual proxy / load-balancer
 * idle timeouts (60 s), so the client gets our clear 504 rather than a proxy's opaque one. The official client's
 * own default timeout is 60 s.
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
export const QUERY_TIMEOUT_HEADER = 'x-elax-query-timeout-ms';

/** Why a query stopped early. */
export type StopReason = 'timeout' | 'client_gone';

/** The request's own budget from X-Elax-Query-Timeout-Ms, capped at the server's; absent: the server's. */
export function requestTimeoutMs(header: string | string[] | undefined, serverMs: number): number {
  if (header === undefined) return serverMs;
  const text = Array.isArray(header) ? header[0]! : header;
  const ms = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(ms) || ms < 1) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `X-Elax-Query-Timeout-Ms must be a positive integer of milliseconds, got '${text}'`);
  }
  return Math.min(ms, serverMs);
}

export interface DeadlineDeps {
  now: () => number;
  /** What a checkpoint awaits: one turn of the event loop (setImmediate); tests slow it down. */
  pause: (where: string, signal: AbortSignal) => Promise<void>;
  /** The query stopped early, and the loop that noticed it ('queue' when it never started). */
  onStop?: (reason: StopReason, where: string) => void;
}

export class QueryDeadline implements QueryControl {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly deadlineAt: number;
  /** Where the query's loops first saw the stop (null: they did not, or not yet). */
  stoppedAt: string | null = null;

  constructor(
    readonly timeoutMs: number,
    private readonly deps: DeadlineDeps,
  ) {
    this.deadlineAt = deps.now() + timeoutMs;
    this.timer = setTimeout(() => this.timeOut(), timeoutMs);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Watches the client's connection: the response closing before it was sent means the connection went away and
   * nobody waits for this query. (The response's 'close', not the socket's: a keep-alive socket outlives many
   * requests, and the request's 'close' fires once its body has been read.)
   */
  watch(res: ServerResponse): void {
    res.once('close', () => {
      if (!res.writableFinished) this.clientGone();
    });
  }

  clientGone(): void {
    if (this.signal.aborted) return;
    this.controller.abort(new ElaxError('ELAX_ERR_QUERY_CANCELLED', 'the client closed the connection before the query finished; the query was stopped'));
  }

  check(where: string): void {
    const s = this.controller.signal;
    if (!s.aborted && this.deps.now() >= this.deadlineAt) this.timeOut();
    if (!s.aborted) return;
    if (this.stoppedAt === null) {
      this.stoppedAt = where;
      this.deps.onStop?.(this.reason(), where);
    }
    throw s.reason;
  }

  async checkpoint(where: string): Promise<void> {
    await this.deps.pause(where, this.controller.signal);
    this.check(where);
  }

  /** The query left the queue because its signal aborted: count it as stopped there. */
  leftQueue(): void {
    if (this.stoppedAt !== null) return;
    this.stoppedAt = 'queue';
    this.deps.onStop?.(this.reason(), 'queue');
  }

  dispose(): void {
    clearTimeout(this.timer);
  }

  private reason(): StopReason {
    return (this.signal.reason as ElaxError | undefined)?.code === 'ELAX_ERR_QUERY_TIMEOUT' ? 'timeout' : 'client_gone';
  }

  private timeOut(): void {
    if (this.signal.aborted) return;
    this.controller.abort(
      new ElaxError(
        'ELAX_ERR_QUERY_TIMEOUT',
        `the query did not finish within its ${this.timeoutMs} ms budget and was stopped; narrow it (filters, top_k) or raise X-Elax-Query-Timeout-Ms (at most the server's --query-timeout-ms)`,
      ),
    );
  }
}
