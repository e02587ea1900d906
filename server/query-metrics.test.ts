import { describe, it, expect } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { parsePrometheusText } from './prom-text.js';
import { QueryLoadMetrics } from './query-metrics.js';
import { QueryLimiter } from './query-admission.js';

describe('QueryLoadMetrics', () => {
  it('should report a blocked event loop in the lag window, and the limiter, rejections and stops', async () => {
    const registry = new Registry();
    const m = new QueryLoadMetrics(registry);
    try {
      const limiter = new QueryLimiter(1, 1, { rejected: () => m.rejected() });
      m.setLimiter(limiter);
      const release = await limiter.acquire();
      const waiting = limiter.acquire();
      await limiter.acquire().catch(() => undefined);
      m.stopped('timeout', 'scan');
      await sleep(30);
      const until = performance.now() + 80;
      while (performance.now() < until); // hold the loop: the sampler's next tick is ~70 ms late
      await sleep(20);
      const text = parsePrometheusText(await registry.metrics());
      expect(text.get('elax_event_loop_lag_seconds', { quantile: '1' })).toBeGreaterThanOrEqual(0.05);
      expect(text.get('elax_queries_running')).toBe(1);
      expect(text.get('elax_queries_queued')).toBe(1);
      expect(text.get('elax_query_rejections_total')).toBe(1);
      expect(text.get('elax_query_stops_total', { reason: 'timeout', where: 'scan' })).toBe(1);
      release();
      (await waiting)();
      expect(parsePrometheusText(await registry.metrics()).get('elax_queries_running')).toBe(0);
    } finally {
      m.close();
    }
  });
});
