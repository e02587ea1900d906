/**
 * /metrics for query admission and the event loop (issue 17): how loaded the node is, and whether overload turns
 * into clear errors (429, 504) rather than latency.
 *  - elax_event_loop_lag_seconds{quantile="0.5"|"0.99"|"1"}: perf_hooks.monitorEventLoopDelay over the window since
 *    the previous scrape (reset at each scrape, so a spike shows once, at the scrape after it). prom-client's
 *    nodejs_eventloop_lag_* cover the process's whole life instead.
 *  - elax_queries_running / elax_queries_queued: the query limiter (query-admission.ts), read at scrape time.
 *  - elax_query_rejections_total: queries answered 429 because the queue was full.
 *  - elax_query_stops_total{reason, where}: queries stopped early (timeout, client_gone) and where it was noticed:
 *    queue (never ran), view, ann, segment, text, scan.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { QueryLimiter } from './query-admission.js';
import type { StopReason } from './query-deadline.js';

/** Sampling period of the event-loop delay histogram, ms: fine enough for the ≤ 20 ms p99 target of issue 17. */
const LAG_RESOLUTION_MS = 10;

export class QueryLoadMetrics {
  private limiter: QueryLimiter | null = null;
  private readonly loop: IntervalHistogram;
  private readonly rejections: Counter;
  private readonly stops: Counter<'reason' | 'where'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.loop = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.loop.enable();
    const loop = this.loop;
    new Gauge({
      name: 'elax_event_loop_lag_seconds',
      help: `Event-loop delay since the previous scrape (perf_hooks.monitorEventLoopDelay, ${LAG_RESOLUTION_MS} ms resolution): p50, p99 and max (quantile 1)`,
      labelNames: ['quantile'],
      registers,
      collect() {
        // Nanoseconds between the sampler's ticks, which are LAG_RESOLUTION_MS apart on an idle loop (Node records the
        // whole interval: an idle loop shows 10 ms): the lag is what exceeds it. No samples: 0, not NaN.
        const s = (ns: number) => (Number.isFinite(ns) && loop.count > 0 ? Math.max(0, ns / 1e9 - LAG_RESOLUTION_MS / 1e3) : 0);
        this.set({ quantile: '0.5' }, s(loop.percentile(50)));
        this.set({ quantile: '0.99' }, s(loop.percentile(99)));
        this.set({ quantile: '1' }, s(loop.max));
        loop.reset();
      },
    });
    const self = this;
    new Gauge({
      name: 'elax_queries_running',
      help: 'Queries executing now (at most --max-running-queries)',
      registers,
      collect() {
        this.set(self.limiter?.running ?? 0);
      },
    });
    new Gauge({
      name: 'elax_queries_queued',
      help: 'Queries waiting for a slot (at most --max-queued-queries; beyond that 429 ELAX_ERR_QUERY_QUEUE_FULL)',
      registers,
      collect() {
        this.set(self.limiter?.queued ?? 0);
      },
    });
    this.rejections = new Counter({ name: 'elax_query_rejections_total', help: 'Queries answered 429 ELAX_ERR_QUERY_QUEUE_FULL (queue full)', registers });
    this.stops = new Counter({
      name: 'elax_query_stops_total',
      help: 'Queries stopped before finishing, by reason (timeout: 504 ELAX_ERR_QUERY_TIMEOUT; client_gone: the client closed the connection) and where it was noticed (queue, view, ann, segment, text, scan)',
      labelNames: ['reason', 'where'],
      registers,
    });
  }

  setLimiter(limiter: QueryLimiter): void {
    this.limiter = limiter;
  }

  rejected(): void {
    this.rejections.inc();
  }

  stopped(reason: StopReason, where: string): void {
    this.stops.inc({ reason, where });
  }

  /** Stops the event-loop sampler (its timer). */
  close(): void {
    this.loop.disable();
  }
}
