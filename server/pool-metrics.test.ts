import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createPool } from '../crates-ts/pool/index.js';
import { reusedBuffers } from '../crates-ts/core/index.js';
import { WAL_FORMAT_VERSION, walColumns } from '../crates-ts/wal/index.js';
import { registerPoolMetrics } from './pool-metrics.js';
import { parsePrometheusText } from './prom-text.js';

describe('pool metrics', () => {
  it('expose threads, queue depth, utilization, fallbacks and tasks / errors / seconds per kind', async () => {
    let t = 0;
    const pool = createPool({ threads: 0, now: () => (t += 250) });
    const registry = new Registry();
    registerPoolMetrics(registry, pool);
    const meta = { format_version: WAL_FORMAT_VERSION, namespace: 'n', committed_at: 0, requests: 1 };
    await pool.run('wal-encode', walColumns(meta, [{ kind: 'delete', id: 1 }]));
    await pool.run('wal-decode', { seq: 1, bytes: new Uint8Array(3) }).catch(() => undefined);
    const m = parsePrometheusText(await registry.metrics());
    expect(m.get('elax_pool_threads')).toBe(0);
    expect(m.get('elax_pool_queue_depth')).toBe(0);
    expect(m.get('elax_pool_utilization')).toBe(0);
    expect(m.get('elax_pool_fallbacks_total')).toBe(0);
    expect(m.get('elax_pool_cold_inline_total')).toBe(0);
    expect(m.get('elax_pool_tasks_total', { kind: 'wal-encode' })).toBe(1);
    expect(m.get('elax_pool_tasks_total', { kind: 'wal-decode' })).toBe(1);
    expect(m.get('elax_pool_task_errors_total', { kind: 'wal-decode' })).toBe(1);
    expect(m.get('elax_pool_task_errors_total', { kind: 'wal-encode' })).toBe(0);
    expect(m.get('elax_pool_task_seconds_total', { kind: 'wal-encode' })).toBe(0.25);
  });

  it("expose the write path's reused buffers: hits, misses, kept bytes and buffers lent", async () => {
    const registry = new Registry();
    registerPoolMetrics(registry, createPool({ threads: 0, now: () => 0 }));
    const before = { hits: reusedBuffers.hits, misses: reusedBuffers.misses };
    const b = reusedBuffers.acquire(300_000);
    reusedBuffers.release(b);
    expect(reusedBuffers.acquire(300_000)).toBe(b); // a hit now
    const m = parsePrometheusText(await registry.metrics());
    expect(m.get('elax_reused_buffers_hits_total')).toBe(reusedBuffers.hits);
    expect(m.get('elax_reused_buffers_misses_total')).toBe(reusedBuffers.misses);
    expect(reusedBuffers.hits - before.hits).toBeGreaterThanOrEqual(1);
    expect(reusedBuffers.hits + reusedBuffers.misses - before.hits - before.misses).toBe(2);
    expect(m.get('elax_reused_buffers_kept_bytes')).toBe(reusedBuffers.keptBytes);
    expect(m.get('elax_reused_buffers_lent')).toBe(reusedBuffers.lentOut);
    reusedBuffers.settleLent(b, null); // given back: the kept bytes grow by its size
    expect(parsePrometheusText(await registry.metrics()).get('elax_reused_buffers_kept_bytes')).toBe(m.get('elax_reused_buffers_kept_bytes')! + b.byteLength);
  });
});
