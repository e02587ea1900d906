/**
 * Prometheus metrics of one server (GET /metrics, text format, prom-client). Each ServerMetrics owns its own
 * Registry — never prom-client's global one — so several apps in one process (tests) do not collide.
 *
 * Sources, and why each is observed where it is:
 *  - HTTP requests and latency: a fastify onResponse hook, labelled by route *pattern* (bounded cardinality).
 *  - Rows acknowledged by writes: the write route's response object (preSerialization), so it works for any engine.
 *  - WAL appends (entries, rows, bytes) and lost append races: the engine's onCommit / onConflict callbacks, which
 *    the owner of the Engine must wire with engineHooks() (startServer does).
 *  - Cache hits/misses and sizes: the counters the part caches and the namespace catalog already keep, read at
 *    scrape time.
 *  - Indexer lag: computed at scrape time from the store (router.json + a WAL LIST, admin-status.ts) for the
 *    namespaces this process has served recently (at most `maxTrackedNamespaces`, least recently used dropped).
 *    The catalog's cached views are not used: a write-only namespace's view is never re-read after the indexer
 *    publishes, so it would report lag that no longer exists.
 *  - Process metrics: prom-client's defaults (CPU, memory, event loop lag, GC, handles).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { Engine, EngineOptions } from '../crates-ts/engine/index.js';
import type { PartFileCache, LoadedPartCache } from '../crates-ts/part/index.js';
import type { BlockCache } from '../crates-ts/cache/index.js';
import type { CountingStore } from '../crates-ts/store/index.js';
import { ElaxError } from '../crates-ts/core/index.js';
import { namespaceStatus, DEFAULT_STALL_AFTER_SECONDS, type NamespaceStatus } from './admin-status.js';
import type { InflightBudget, OverloadLimit } from './inflight.js';
import type { ClientErrorReason } from './client-errors.js';
import { QueryLoadMetrics } from './query-metrics.js';

export interface MetricsOptions {
  /** Collect prom-client's default process metrics (default true). */
  processMetrics?: boolean;
  /** Namespaces whose indexer lag is reported (most recently served first). Default 1000. */
  maxTrackedNamespaces?: number;
  /** Stall threshold for elax_indexer_stalled, seconds (default 600, as `elax status`). */
  stallAfterSeconds?: number;
  /** Clock for lag ages (default Date.now). */
  now?: () => number;
}

export interface MetricsSources {
  engine?: Engine;
  partFiles?: PartFileCache;
  loadedParts?: LoadedPartCache;
  /** The node's block cache (format-2 parts' data in memory). */
  blocks?: BlockCache;
  graphs?: BlockCache;
  /** The node's store, counted (serve.ts). */
  store?: CountingStore;
  inflight?: InflightBudget;
}

/** The write route: its successful responses carry the acknowledged row counts. */
const WRITE_ROUTE = '/v2/namespaces/:ns';
const DELETE_METHOD = 'DELETE';
/** Seconds; from a cached query (~1 ms) to a large write or a cold query against S3. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Namespaces whose status is read in parallel at scrape time. */
const LAG_CONCURRENCY = 8;

type CacheName = 'part_files' | 'decoded_parts' | 'blocks' | 'graphs' | 'namespace_state';

/** Indexer log messages (indexer.ts, loop.ts) that count as events in elax_indexer_events_total. */
const INDEXER_EVENTS: Record<string, string> = {
  'indexer: published part': 'published',
  'indexer: router publish conflict': 'publish_conflict',
  'indexer: namespace failed': 'failure',
  'compacted parts': 'compacted',
  'embedded indexer crashed; restarting': 'restarted',
};

export class ServerMetrics {
  readonly registry = new Registry();
  /** Query admission, deadlines and event-loop lag (query-metrics.ts). */
  readonly queries: QueryLoadMetrics;
  private sources: MetricsSources = {};
  /** Recently served namespaces, least recently used first (Map keeps insertion order). */
  private readonly tracked = new Map<string, true>();
  private readonly maxTracked: number;
  private readonly stallAfterSeconds: number;
  private readonly now: () => number;

  private readonly requests: Counter<'method' | 'route' | 'status_code'>;
  private readonly latency: Histogram<'method' | 'route' | 'status_code'>;
  private readonly rowsWritten: Counter<'op'>;
  private readonly walAppends: Counter;
  private readonly walRows: Counter;
  private readonly walBytes: Counter;
  private readonly walConflicts: Counter;
  private readonly indexerEvents: Counter;
  private readonly lagErrors: Counter;
  private readonly unhandledRejections: Counter;
  private readonly clientErrors: Counter<'reason'>;
  private readonly overloads: Counter<'limit'>;
  private readonly lag: {
    bytes: Gauge<'namespace'>;
    entries: Gauge<'namespace'>;
    seconds: Gauge<'namespace'>;
    failed: Gauge<'namespace'>;
    stalled: Gauge<'namespace'>;
  };

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    this.maxTracked = opts.maxTrackedNamespaces ?? 1000;
    this.stallAfterSeconds = opts.stallAfterSeconds ?? DEFAULT_STALL_AFTER_SECONDS;
    this.now = opts.now ?? Date.now;
    const labelNames = ['method', 'route', 'status_code'] as const;
    this.requests = new Counter({ name: 'elax_http_requests_total', help: 'HTTP requests answered, by route pattern, method and status code', labelNames, registers });
    this.latency = new Histogram({
      name: 'elax_http_request_duration_seconds',
      help: 'HTTP request latency (first byte received to response sent), by route pattern, method and status code',
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.rowsWritten = new Counter({ name: 'elax_write_rows_total', help: 'Rows acknowledged by write requests, by operation (upsert, patch, delete)', labelNames: ['op'], registers });
    this.walAppends = new Counter({ name: 'elax_wal_appends_total', help: 'WAL entries appended by this process (one per group commit)', registers });
    this.walRows = new Counter({ name: 'elax_wal_append_rows_total', help: 'Row operations in the WAL entries appended by this process', registers });
    this.walBytes = new Counter({ name: 'elax_wal_append_bytes_total', help: 'Encoded bytes of the WAL entries appended by this process', registers });
    this.walConflicts = new Counter({ name: 'elax_wal_append_conflicts_total', help: 'WAL appends that lost the compare-and-swap race for their sequence number (retried)', registers });
    this.indexerEvents = new Counter({
      name: 'elax_indexer_events_total',
      help: 'Embedded indexer events: published (parts), publish_conflict (lost router CAS races), failure (failed attempts), compacted, restarted (the worker crashed and was restarted)',
      labelNames: ['event'],
      registers,
    });
    this.unhandledRejections = new Counter({
      name: 'elax_unhandled_rejections_total',
      help: 'Promise rejections nothing handled (a bug: logged with its stack; the process keeps serving)',
      registers,
    });
    this.lagErrors = new Counter({ name: 'elax_indexer_lag_errors_total', help: 'Namespaces whose indexer lag could not be read from the store at scrape time', registers });
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['namespace'], registers });
    this.lag = {
      bytes: gauge('elax_indexer_unindexed_bytes', 'Bytes of WAL entries not yet covered by parts (queries scan them exactly)'),
      entries: gauge('elax_indexer_unindexed_entries', 'WAL entries not yet covered by parts'),
      seconds: gauge('elax_indexer_lag_seconds', 'Age of the oldest unindexed WAL entry (0 when everything is indexed)'),
      failed: gauge('elax_indexer_failed_entries', 'WAL ranges the indexer has recorded as failing (router.indexer.failed_entries)'),
      stalled: gauge('elax_indexer_stalled', '1 when unindexed entries are older than the stall threshold and no indexer published since'),
    };
    this.clientErrors = new Counter({
      name: 'elax_http_client_errors_total',
      help: 'Connections answered and closed before reaching a route: headers_too_large (431), malformed (400), request_timeout, headers_idle, body_idle (408)',
      labelNames: ['reason'],
      registers,
    });
    this.overloads = new Counter({
      name: 'elax_http_overload_rejections_total',
      help: 'Requests answered 503 ELAX_ERR_OVERLOADED, by the limit they hit (requests, bytes)',
      labelNames: ['limit'],
      registers,
    });
    this.queries = new QueryLoadMetrics(this.registry);
    this.cacheMetrics();
    this.storeMetrics();
    this.inflightMetrics();
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Where cache statistics and the store come from (merged into what was given before). */
  setSources(s: MetricsSources): void {
    this.sources = { ...this.sources, ...s };
  }

  /** Engine callbacks counting WAL appends and lost append races: spread into the Engine's options. */
  /**
   * Counts the embedded indexer's events (it runs in a worker thread and reports through its log lines):
   * parts published, router publish conflicts (lost CAS races), failed attempts, compactions.
   */
  unhandledRejection(): void {
    this.unhandledRejections.inc();
  }

  indexerEvent(msg: string): void {
    const event = INDEXER_EVENTS[msg];
    if (event !== undefined) this.indexerEvents.inc({ event });
  }

  /** A connection answered and closed by the HTTP server itself (http-server.ts). */
  clientError(reason: ClientErrorReason): void {
    this.clientErrors.inc({ reason });
  }

  /** A request refused by the in-flight budget (inflight.ts). */
  overloaded(limit: OverloadLimit): void {
    this.overloads.inc({ limit });
  }

  engineHooks(): Required<Pick<EngineOptions, 'onCommit' | 'onConflict'>> {
    return {
      onCommit: (ns, _seq, rows, bytes) => {
        this.walAppends.inc();
        this.walRows.inc(rows);
        this.walBytes.inc(bytes);
        this.track(ns);
      },
      onConflict: () => this.walConflicts.inc(),
    };
  }

  /** Count and time every request, and the rows each successful write acknowledged. */
  instrument(app: FastifyInstance): void {
    app.addHook('preSerialization', async (request, reply, payload: unknown) => {
      if (request.method === 'POST' && request.routeOptions.url === WRITE_ROUTE && reply.statusCode < 300 && payload && typeof payload === 'object') {
        const p = payload as Record<string, unknown>;
        for (const [op, field] of [['upsert', 'rows_upserted'], ['patch', 'rows_patched'], ['delete', 'rows_deleted']] as const) {
          const n = p[field];
          if (typeof n === 'number' && n > 0) this.rowsWritten.inc({ op }, n);
        }
      }
      return payload;
    });
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const labels = { method: request.method, route, status_code: String(reply.statusCode) };
      this.requests.inc(labels);
      this.latency.observe(labels, reply.elapsedTime / 1000);
      const ns = (request.params as { ns?: unknown } | undefined)?.ns;
      if (typeof ns === 'string' && reply.statusCode < 400) {
        if (request.method === DELETE_METHOD) this.untrack(ns);
        else this.track(ns);
      }
    });
  }

  /** The exposition text; indexer lag gauges are refreshed from the store first. */
  async render(): Promise<string> {
    await this.refreshLag();
    return this.registry.metrics();
  }

  /** Names whose lag is reported (for tests and debugging). */
  trackedNamespaces(): string[] {
    return [...this.tracked.keys()];
  }

  private track(ns: string): void {
    this.tracked.delete(ns);
    this.tracked.set(ns, true);
    if (this.tracked.size > this.maxTracked) this.tracked.delete(this.tracked.keys().next().value as string);
  }

  private untrack(ns: string): void {
    this.tracked.delete(ns);
  }

  private async refreshLag(): Promise<void> {
    const store = this.sources.engine?.store;
    const names = [...this.tracked.keys()];
    const got = new Map<string, NamespaceStatus>();
    if (store) {
      const now = this.now();
      let next = 0;
      const worker = async () => {
        while (next < names.length) {
          const ns = names[next++]!;
          try {
            got.set(ns, await namespaceStatus(store, ns, { now, stallAfterSeconds: this.stallAfterSeconds }));
          } catch (e) {
            if (e instanceof ElaxError && e.code === 'ELAX_ERR_NAMESPACE_NOT_FOUND') this.untrack(ns);
            else this.lagErrors.inc(); // the scrape still answers; this namespace is missing from it
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(LAG_CONCURRENCY, names.length) }, worker));
    }
    for (const g of Object.values(this.lag)) g.reset();
    const now = this.now();
    for (const [namespace, s] of got) {
      this.lag.bytes.set({ namespace }, s.unindexed_bytes);
      this.lag.entries.set({ namespace }, s.unindexed_entries);
      this.lag.seconds.set({ namespace }, s.oldest_unindexed_at ? Math.max(0, (now - Date.parse(s.oldest_unindexed_at)) / 1000) : 0);
      this.lag.failed.set({ namespace }, s.failed_entries.length);
      this.lag.stalled.set({ namespace }, s.stalled ? 1 : 0);
    }
  }

  /** The in-flight budget, read at scrape time: what is in flight now and the limits. */
  private inflightMetrics(): void {
    const registers = [this.registry];
    const budget = () => this.sources.inflight;
    const gauge = (name: string, help: string, read: (b: InflightBudget) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const b = budget();
          if (b) this.set(read(b));
        },
      });
    gauge('elax_http_inflight_requests', 'Requests in flight on this node (admitted, not yet answered; health, readiness, metrics and admin excluded)', (b) => b.requests);
    gauge('elax_http_inflight_bytes', 'Request body bytes in flight on this node (declared Content-Length, or received so far when larger)', (b) => b.bytes);
    gauge('elax_http_inflight_requests_limit', 'Limit of requests in flight (--max-inflight-requests)', (b) => b.maxRequests);
    gauge('elax_http_inflight_bytes_limit', 'Limit of request body bytes in flight (--max-inflight-bytes)', (b) => b.maxBytes);
  }

  /**
   * Cache counters mirror the caches' own statistics at scrape time (they count every lookup on the hot path
   * already; a second count here would only cost). `namespace_state` is the catalog: lookups of parts and WAL
   * entries answered from memory vs. fetched from the store (what the query response's cache_hit_ratio reports).
   */
  /** The node's object-store traffic (serve.ts wraps the store in a CountingStore). */
  private storeMetrics(): void {
    const registers = [this.registry];
    const sources = () => this.sources;
    new Counter({
      name: 'elax_store_requests_total',
      help: 'Object-store requests by operation (get, get_range, head, put, put_if_absent, put_if_match, list, delete)',
      labelNames: ['op'],
      registers,
      collect() {
        this.reset();
        const s = sources().store;
        if (s) for (const [op, n] of Object.entries(s.requests)) this.inc({ op }, n);
      },
    });
    new Counter({
      name: 'elax_store_bytes_total',
      help: 'Object-store bytes by direction (read, written)',
      labelNames: ['direction'],
      registers,
      collect() {
        this.reset();
        const s = sources().store;
        if (s) {
          this.inc({ direction: 'read' }, s.bytesRead);
          this.inc({ direction: 'written' }, s.bytesWritten);
        }
      },
    });
  }

  private cacheMetrics(): void {
    const registers = [this.registry];
    const stats = (): [CacheName, { hits: number; misses: number }][] => {
      const out: [CacheName, { hits: number; misses: number }][] = [];
      if (this.sources.partFiles) out.push(['part_files', this.sources.partFiles.stats]);
      if (this.sources.loadedParts) out.push(['decoded_parts', this.sources.loadedParts.stats]);
      if (this.sources.blocks) out.push(['blocks', this.sources.blocks.stats]);
      if (this.sources.graphs) out.push(['graphs', this.sources.graphs.stats]);
      const c = this.sources.engine?.catalog.stats;
      if (c) out.push(['namespace_state', { hits: c.entryHits, misses: c.entryMisses }]);
      return out;
    };
    const catalog = () => this.sources.engine?.catalog.stats;
    new Counter({
      name: 'elax_view_builds_total',
      help: 'Namespace views made for a new part set (a publish): carried_over (the cached tail kept, issue 17) or rebuilt (from the router with the cached tail replayed; also a first view on the node of a namespace)',
      labelNames: ['how'],
      registers,
      collect() {
        this.reset();
        const c = catalog();
        if (!c) return;
        this.inc({ how: 'carried_over' }, c.carriedOver);
        this.inc({ how: 'rebuilt' }, c.rebuilt);
      },
    });
    const pipeline = () => this.sources.engine?.writer.pipeline;
    const writer = () => this.sources.engine?.writer;
    new Counter({
      name: 'elax_write_batches_planned_ahead_total',
      help: 'Write batches planned and encoded while the batch before them was still being appended (pipelined group commit), by outcome (kept; replanned: that batch lost its race or failed)',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        const p = pipeline();
        if (!p) return;
        this.inc({ outcome: 'kept' }, p.planned - p.discarded);
        this.inc({ outcome: 'replanned' }, p.discarded);
      },
    });
    new Counter({
      name: 'elax_write_entries_voided_total',
      help: 'WAL entries this node appended void: planned on the rows of a namespace incarnation that a namespace delete ended before the append (their batches were planned again; docs/rfcs/0001-wal-append.md step 5)',
      registers,
      collect() {
        this.reset();
        const w = writer();
        if (w) this.inc(w.voided);
      },
    });
    new Counter({
      name: 'elax_view_replayed_entries_total',
      help: 'Cached WAL entries folded again into rebuilt namespace views',
      registers,
      collect() {
        this.reset();
        const c = catalog();
        if (c) this.inc(c.replayedEntries);
      },
    });
    new Counter({
      name: 'elax_cache_requests_total',
      help: 'Cache lookups by cache (part_files: disk, decoded_parts: format-1 parts in memory, blocks: format-2 data in memory, graphs: HNSW graphs of format-2 parts, namespace_state: catalog) and result (hit, miss)',
      labelNames: ['cache', 'result'],
      registers,
      collect() {
        this.reset();
        for (const [cache, s] of stats()) {
          this.inc({ cache, result: 'hit' }, s.hits);
          this.inc({ cache, result: 'miss' }, s.misses);
        }
      },
    });
    new Gauge({
      name: 'elax_cache_hit_ratio',
      help: 'Lifetime hit ratio of each cache (absent until it has had a lookup)',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        for (const [cache, s] of stats()) if (s.hits + s.misses > 0) this.set({ cache }, s.hits / (s.hits + s.misses));
      },
    });
    const sources = () => this.sources;
    new Gauge({
      name: 'elax_cache_bytes',
      help: 'Bytes held by each part cache',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        const s = sources();
        if (s.partFiles) this.set({ cache: 'part_files' }, s.partFiles.bytes);
        if (s.loadedParts) this.set({ cache: 'decoded_parts' }, s.loadedParts.bytes);
        if (s.blocks) this.set({ cache: 'blocks' }, s.blocks.bytes);
        if (s.graphs) this.set({ cache: 'graphs' }, s.graphs.bytes);
      },
    });
    new Gauge({
      name: 'elax_cache_pinned_bytes',
      help: 'Bytes of the block and graph caches held by running queries now (never evicted while held)',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        const s = sources();
        if (s.blocks) this.set({ cache: 'blocks' }, s.blocks.pinnedBytes);
        if (s.graphs) this.set({ cache: 'graphs' }, s.graphs.pinnedBytes);
      },
    });
    new Gauge({
      name: 'elax_cache_pinned_peak_bytes',
      help: 'Most bytes of the block and graph caches held by running queries at once, since start',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        const s = sources();
        if (s.blocks) this.set({ cache: 'blocks' }, s.blocks.peakPinnedBytes);
        if (s.graphs) this.set({ cache: 'graphs' }, s.graphs.peakPinnedBytes);
      },
    });
    new Gauge({
      name: 'elax_cache_pinned_namespace_bytes',
      help: 'Bytes of the block and graph caches held for pinned namespaces (PATCH metadata {pinning}), exempt from eviction',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        const s = sources();
        if (s.blocks) this.set({ cache: 'blocks' }, s.blocks.heldBytes);
        if (s.graphs) this.set({ cache: 'graphs' }, s.graphs.heldBytes);
      },
    });
    new Gauge({
      name: 'elax_cache_pinned_namespace_budget_bytes',
      help: 'The share of the block and graph caches that pinned namespaces may hold (--pinned-cache-share of each budget)',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        const s = sources();
        if (s.blocks) this.set({ cache: 'blocks' }, s.blocks.heldBudgetBytes);
        if (s.graphs) this.set({ cache: 'graphs' }, s.graphs.heldBudgetBytes);
      },
    });
    new Gauge({
      name: 'elax_pinned_namespaces',
      help: 'Pinned namespaces this node has opened (held in its caches)',
      registers,
      collect() {
        const e = sources().engine;
        this.set(e ? e.pins.namespaces.length : 0);
      },
    });
    new Gauge({
      name: 'elax_cache_entries',
      help: 'Entries held by each part cache',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        const s = sources();
        if (s.partFiles) this.set({ cache: 'part_files' }, s.partFiles.entries);
        if (s.loadedParts) this.set({ cache: 'decoded_parts' }, s.loadedParts.size);
        if (s.blocks) this.set({ cache: 'blocks' }, s.blocks.size);
        if (s.graphs) this.set({ cache: 'graphs' }, s.graphs.size);
      },
    });
  }
}
