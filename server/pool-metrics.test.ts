import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createPool } from '../crates-ts/pool/index.js';
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
});
