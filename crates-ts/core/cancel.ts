/**
 * Cooperative cancellation of a query: the engine's long loops ask it, now and then, whether to go on. The owner
 * (the HTTP server: a deadline timer, the client's connection) decides; crates-ts never reads a clock or sets a
 * timer for it.
 */
export interface QueryControl {
  /**
   * Throws the reason the query must stop (ElaxError QUERY_TIMEOUT / QUERY_CANCELLED), else returns. Synchronous
   * and cheap: called per part and every few thousand rows inside the scans. `where` names the loop (metrics, tests).
   */
  check(where: string): void;
  /**
   * Between parts: lets the event loop run (so a client's disconnect can be noticed and other requests served),
   * then check(where).
   */
  checkpoint(where: string): Promise<void>;
  /** Aborts when the query must stop (work handed to other threads listens to it: pool tasks). Absent: never. */
  readonly signal?: AbortSignal;
}

/** A query nobody stops (CLI, recall evaluation, tests). */
export const UNCANCELLED: QueryControl = {
  check() {},
  checkpoint: () => Promise.resolve(),
};

/** Rows a scan loop handles between two check() calls: a few µs of work, so a check costs nothing measurable. */
export const CHECK_EVERY_ROWS = 4096;
