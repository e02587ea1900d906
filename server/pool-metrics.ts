/**
 * /metrics of the worker pool (crates-ts/pool, RFC-0010): queue depth, utilization, threads, inline runs (fallbacks, cold start), and
 * tasks and their time per kind, read from the pool's own counters at scrape time. Registered on the server's
 * registry (ServerMetrics.registry) by serve.ts; kept apart from metrics.ts, which owns HTTP, WAL and cache metrics.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TaskPool } from '../crates-ts/pool/index.js';
import { reusedBuffers } from '../crates-ts/core/index.js';

export function registerPoolMetrics(registry: Registry, pool: TaskPool): void {
  const registers = [registry];
  const gauge = (name: string, help: string, value: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value());
      },
    });
  gauge('elax_pool_threads', 'Worker threads of the pool (0: tasks run inline on the event loop, --pool-threads 0)', () => pool.threads);
  gauge('elax_pool_queue_depth', 'Pool tasks waiting for a free worker thread', () => pool.stats().queued);
  gauge('elax_pool_utilization', "Share of the pool threads' time spent running tasks since start (0..1)", () => pool.stats().utilization);
  const counter = (name: string, help: string, value: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  counter('elax_pool_fallbacks_total', 'Pool tasks run inline because their worker died or the pool failed them', () => pool.stats().fallbacks);
  counter('elax_pool_cold_inline_total', 'Pool tasks run inline because no worker thread had loaded yet (the first writes after start)', () => pool.stats().coldInline);
  const perKind = (name: string, help: string, field: 'tasks' | 'errors' | 'seconds' | 'cancelled') =>
    new Counter({
      name,
      help,
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [kind, s] of Object.entries(pool.stats().byKind)) this.inc({ kind }, s[field]);
      },
    });
  perKind('elax_pool_tasks_total', 'Pool tasks finished, by kind (wal-encode, wal-decode, json-parse, vector-scan)', 'tasks');
  perKind('elax_pool_task_errors_total', 'Pool tasks that failed with their own error (the same error inline), by kind', 'errors');
  perKind('elax_pool_task_seconds_total', 'Time from submitting a pool task to its result (queueing included), by kind', 'seconds');
  perKind('elax_pool_tasks_cancelled_total', 'Pool tasks stopped because their query was cancelled (client gone, deadline passed), by kind', 'cancelled');
  // The write path's reused shared buffers (core/reused-buffers.ts): bodies, WAL vector columns, and the buffers lent
  // to pool threads for a body's packed vectors. A miss is fresh memory, faulted in page by page.
  counter('elax_reused_buffers_hits_total', 'Write-path shared buffers handed out from those kept (core/reused-buffers.ts)', () => reusedBuffers.hits);
  counter('elax_reused_buffers_misses_total', 'Write-path shared buffers allocated because none of the size was kept', () => reusedBuffers.misses);
  gauge('elax_reused_buffers_kept_bytes', 'Bytes of write-path shared buffers kept for reuse', () => reusedBuffers.keptBytes);
  gauge('elax_reused_buffers_lent', 'Buffers lent to pool tasks whose answers are still referenced (given back once collected)', () => reusedBuffers.lentOut);
}
