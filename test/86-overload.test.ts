/**
 * Overload: far more concurrent queries than the node runs and queues (2 running, 6 queued), with writes mixed in.
 * Queries are kept slow by the `queryPause` seam (each waits 20 ms at its segment checkpoint), so the queue
 * really fills. Expected:
 *  - the queries beyond the queue get 429 ELAX_ERR_QUERY_QUEUE_FULL with Retry-After, the others 200;
 *  - writes do not pass through the query limiter: every write is acknowledged, and every acknowledged row is
 *    present afterwards;
 *  - /health answers 200 throughout (no latency thresholds: only that it answers);
 *  - /metrics counts the rejections, and the running and queued gauges return to 0.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { setTimeout as sleep, setImmediate as nextTurn } from 'node:timers/promises';
import { parsePrometheusText } from '../server/prom-text.js';
import { startMemoryApp, type MemoryApp } from './helpers/memory-app.js';

let app: MemoryApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

const QUERIES = 80;
const WRITES = 16;
const ROWS_PER_WRITE = 25;

const post = (path: string, body: unknown) =>
  fetch(`${app!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('overload', () => {
  it('should answer 429 with Retry-After beyond the queue, keep every acknowledged write, and keep /health answering', async () => {
    app = await startMemoryApp({
      maxRunningQueries: 2,
      maxQueuedQueries: 6,
      queryPause: (where) => (where === 'segment' ? sleep(20) : nextTurn()),
    });
    expect((await post('/v2/namespaces/load', { upsert_rows: [{ id: 'seed', n: -1 }] })).status).toBe(200);

    // /health polled all along the burst.
    let burstDone = false;
    const health: number[] = [];
    const poller = (async () => {
      while (!burstDone) {
        health.push((await fetch(`${app!.url}/health`)).status);
        await sleep(5);
      }
    })();

    const queries = Array.from({ length: QUERIES }, () =>
      post('/v2/namespaces/load/query', { rank_by: ['id', 'asc'], top_k: 3 }).then(async (r) => ({
        status: r.status,
        retryAfter: r.headers.get('retry-after'),
        body: (await r.json()) as { code?: string; rows?: unknown[] },
      })),
    );
    const writes = Array.from({ length: WRITES }, (_, w) =>
      post('/v2/namespaces/load', { upsert_rows: Array.from({ length: ROWS_PER_WRITE }, (_, i) => ({ id: `w${w}-${i}`, n: w })) }).then((r) => ({ w, status: r.status })),
    );
    const [q, wr] = await Promise.all([Promise.all(queries), Promise.all(writes)]);
    burstDone = true;
    await poller;

    const rejected = q.filter((r) => r.status === 429);
    const ok = q.filter((r) => r.status === 200);
    expect(rejected.length).toBeGreaterThan(0);
    expect(ok.length).toBeGreaterThanOrEqual(8); // at least what runs and queues at once
    expect(ok.length + rejected.length).toBe(QUERIES);
    for (const r of rejected) {
      expect(r.body.code).toBe('ELAX_ERR_QUERY_QUEUE_FULL');
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    }

    // Every acknowledged write is there (all of them are acknowledged: writes are not admitted by the query limiter).
    const acked = wr.filter((r) => r.status === 200).map((r) => r.w);
    expect(acked).toHaveLength(WRITES);
    const res = await post('/v2/namespaces/load/query', { rank_by: ['id', 'asc'], top_k: 1000, filters: ['n', 'Gte', 0], include_attributes: ['n'] });
    expect(res.status).toBe(200);
    const ids = new Set(((await res.json()) as { rows: { id: string }[] }).rows.map((r) => r.id));
    for (const w of acked) for (let i = 0; i < ROWS_PER_WRITE; i++) expect(ids.has(`w${w}-${i}`), `w${w}-${i}`).toBe(true);
    expect(ids.size).toBe(WRITES * ROWS_PER_WRITE);

    expect(health.length).toBeGreaterThan(0);
    expect(health.every((s) => s === 200)).toBe(true);

    const m = parsePrometheusText(await (await fetch(`${app.url}/metrics`)).text());
    expect(m.get('elax_query_rejections_total')).toBe(rejected.length);
    expect(m.get('elax_queries_running')).toBe(0);
    expect(m.get('elax_queries_queued')).toBe(0);
    // The event-loop lag window is exported as three quantiles.
    for (const quantile of ['0.5', '0.99', '1']) expect(m.get('elax_event_loop_lag_seconds', { quantile })).toBeGreaterThanOrEqual(0);
  });
});
