/**
 * Starts an elax server process: open and probe the store, open the part caches (server/cache-dir.ts), build the
 * engine and the HTTP app, listen, and shut down gracefully (stop accepting, flush queued commits, remove a
 * temporary cache) on SIGTERM/SIGINT.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { Engine } from '../crates-ts/engine/index.js';
import type { WriteLimits } from '../crates-ts/write/index.js';
import { CountingStore, TracingStore, openStore, probeConditionalWrites, waitForConditionalWrites, ProbeFailure, type ObjectStore } from '../crates-ts/store/index.js';
import { ElaxError } from '../crates-ts/core/index.js';
import { systemClock } from '../crates-ts/core/index.js';
import { buildApp } from './app.js';
import { PartFileCache, LoadedPartCache } from '../crates-ts/part/index.js';
import { BlockCache, DEFAULT_PINNED_SHARE } from '../crates-ts/cache/index.js';
import { appendFileSync, rmSync } from 'node:fs';
import { DEFAULT_DISK_CACHE_BYTES, DEFAULT_GRAPH_CACHE_BYTES, DEFAULT_MEMORY_CACHE_BYTES, resolveCacheDir, sweepOrphanCaches } from './cache-dir.js';
import { startEmbeddedIndexer, type EmbeddedIndexer } from '../indexer/index.js';
import { ServerMetrics } from './metrics.js';
import { indexerLog } from './logging.js';
import type { HttpTimeouts } from './http-server.js';
import { createPool, type TaskPool } from '../crates-ts/pool/index.js';
import { registerPoolMetrics } from './pool-metrics.js';

export interface ServeOptions {
  port: number;
  host: string;
  store: string;
  apiKeys: string[];
  groupCommitMs: number;
  bodyLimit?: number;
  log: boolean;
  /** Skip the conditional-write probe (only for stores known to support it, e.g. in tests). */
  skipProbe?: boolean;
  /** Run the embedded indexer, in a child process (ELAX_INDEXER_PROCESS=thread: a worker thread; indexer/embedded.ts) (default true). */
  indexer?: boolean;
  /** Embedded indexer settings (see indexer/indexer.ts IndexerOptions). */
  indexerOptions?: Record<string, number>;
  /**
   * Root of the disk cache of part files; the server uses a subdirectory per store (server/cache-dir.ts). Default
   * `$XDG_CACHE_HOME/elax` or `~/.cache/elax`, kept across restarts; 'temp' for a directory removed on close.
   */
  cacheDir?: string;
  /** HNSW beam width for ANN queries. */
  efSearch?: number;
  /** Byte budget of the disk cache (default 8 GiB) and of the in-memory cache of decoded parts (default 4 GiB). */
  diskCacheBytes?: number;
  memoryCacheBytes?: number;
  /** Byte budget of HNSW graphs in memory, apart from memoryCacheBytes (default 4 GiB). */
  graphCacheBytes?: number;
  /**
   * Share in [0, 1] of each memory budget (memoryCacheBytes, graphCacheBytes) that pinned namespaces may hold exempt
   * from eviction (docs/api.md "Pinning"; default 0.5).
   */
  pinnedCacheShare?: number;
  /** Bearer token for GET /admin/status and /metrics (default: env ELAX_ADMIN_TOKEN; unset: admin endpoints off). */
  adminToken?: string;
  /** Default stall threshold of /admin/status and elax_indexer_stalled, seconds (default 600). */
  stallAfterSeconds?: number;
  /**
   * Install this process's last-resort `unhandledRejection` handler (logs the stack, counts
   * elax_unhandled_rejections_total, keeps serving) instead of Node's default of exiting. Only the process owner
   * (`elax serve`) sets it; in-process test servers leave rejections to the test runner, which fails on them.
   */
  guardProcess?: boolean;
  /**
   * The store turned out to ignore conditional writes after start-up (the first probe attempt was inconclusive and
   * later ones settled it). `elax serve` exits; the default logs it and keeps /readyz at 503.
   */
  onFatal?: (error: ElaxError) => void;
  /** Tests: use this store instead of opening `store`. */
  storeInstance?: ObjectStore;
  /** HTTP timeouts (http-server.ts); unset fields take the defaults. */
  timeouts?: Partial<HttpTimeouts>;
  /** Node-wide caps on request body bytes and requests in flight (inflight.ts). */
  maxInflightBytes?: number;
  maxInflightRequests?: number;
  /** Query admission and deadlines (query-admission.ts, query-deadline.ts); unset: the defaults. */
  maxRunningQueries?: number;
  maxQueuedQueries?: number;
  queryTimeoutMs?: number;
  /** Tests: what a query's checkpoint between segments awaits (app.ts AppOptions.queryPause). */
  queryPause?: (where: string, signal: AbortSignal) => Promise<void>;
  /** Documents one delete_by_filter / patch_by_filter may change (default turbopuffer's 5M / 50k; tests lower them). */
  writeLimits?: Partial<WriteLimits>;
  /** Worker threads for WAL encoding and decoding (crates-ts/pool); 0 runs them on the event loop. Default: cores - 1, at least 1. */
  poolThreads?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  engine: Engine;
  store: ObjectStore;
  /** The WAL encode/decode pool (closed by close()). */
  pool: TaskPool;
  /** Whether the start-up store probe has passed (API requests get 503 until it has). */
  readonly ready: boolean;
  /** The disk cache's directory, and whether close() removes it. */
  cache: { dir: string; temporary: boolean };
  close(): Promise<void>;
}

/** Temporary cache directories of this process, removed on exit if close() did not get to them (a crash). */
const temporaryDirs = new Set<string>();
let exitHook = false;
function removeOnExit(dir: string): void {
  temporaryDirs.add(dir);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const d of temporaryDirs) rmSync(d, { recursive: true, force: true });
  });
}

/** The disk cache (in its directory, trimmed to this run's budget before the first query) and the memory cache. */
async function openCaches(opts: ServeOptions, store: ObjectStore) {
  const swept = sweepOrphanCaches(); // leftovers of killed servers; runs meanwhile, awaited by close()
  const where = await resolveCacheDir(opts.cacheDir, store);
  const partFiles = new PartFileCache(where.dir, opts.diskCacheBytes ?? DEFAULT_DISK_CACHE_BYTES, { temporary: where.temporary });
  if (where.temporary) removeOnExit(where.dir);
  await partFiles.open();
  return {
    ...where,
    partFiles,
    loadedParts: new LoadedPartCache(opts.memoryCacheBytes ?? DEFAULT_MEMORY_CACHE_BYTES),
    // Namespace pinning holds up to --pinned-cache-share of each memory budget (docs/api.md "Pinning").
    blocks: new BlockCache(opts.memoryCacheBytes ?? DEFAULT_MEMORY_CACHE_BYTES, { pinnedShare: opts.pinnedCacheShare ?? DEFAULT_PINNED_SHARE }),
    graphs: new BlockCache(opts.graphCacheBytes ?? DEFAULT_GRAPH_CACHE_BYTES, { pinnedShare: opts.pinnedCacheShare ?? DEFAULT_PINNED_SHARE }),
    swept,
    async close() {
      await partFiles.close(); // a temporary cache removes its directory
      temporaryDirs.delete(where.dir);
      await swept;
    },
  };
}

/**
 * ELAX_STORE_TRACE=<file>: append one JSON line per object-store request (bench/store-waves.ts counts a cold query's
 * sequential round trips from it). Times are epoch ms with sub-ms precision, comparable across processes. A debug
 * aid, off by default: each line is a synchronous append.
 */
function traceStore(inner: ObjectStore): ObjectStore {
  const file = process.env.ELAX_STORE_TRACE;
  if (!file) return inner;
  return new TracingStore(inner, () => performance.timeOrigin + performance.now(), (e) => appendFileSync(file, `${JSON.stringify(e)}\n`));
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  // Counted: /metrics reports the node's object-store requests and bytes (elax_store_*).
  const store = new CountingStore(traceStore(opts.storeInstance ?? (await openStore(opts.store))));
  const nonce = () => `${process.pid}-${randomBytes(6).toString('hex')}`;
  // Start-up probe: a store that ignores conditional writes is refused at once (ELAX_ERR_STORE_NO_CAS, exit); a store
  // that cannot be reached yet, or answers inconclusively, is retried in the background while /readyz says why.
  const readiness = { ready: !!opts.skipProbe, reason: `probing store ${store.description}` };
  if (!readiness.ready) {
    try {
      await probeConditionalWrites(store, nonce());
      readiness.ready = true;
    } catch (e) {
      if (e instanceof ProbeFailure && e.definitive) throw e;
      readiness.reason = e instanceof ProbeFailure ? e.message : `store ${store.description} is unreachable: ${(e as Error).message}`;
    }
  }
  const metrics = new ServerMetrics({ stallAfterSeconds: opts.stallAfterSeconds });
  const caches = await openCaches(opts, store);
  const pool = createPool({ threads: opts.poolThreads, now: () => performance.now() });
  registerPoolMetrics(metrics.registry, pool);
  try {
    return await listen(opts, store, metrics, caches, readiness, nonce, pool);
  } catch (e) {
    await pool.close();
    await caches.close();
    throw e;
  }
}

async function listen(
  opts: ServeOptions,
  store: ObjectStore,
  metrics: ServerMetrics,
  caches: Awaited<ReturnType<typeof openCaches>>,
  readiness: { ready: boolean; reason: string },
  nonce: () => string,
  pool: TaskPool,
): Promise<RunningServer> {
  const { partFiles, loadedParts } = caches;
  // The app's logger exists after the engine: a pinned namespace's failed load is logged through it once it does.
  let pinWarn: (ns: string, e: unknown) => void = () => {};
  const engine = new Engine(store, {
    onPinWarmError: (ns, e) => pinWarn(ns, e),
    pool,
    ...metrics.engineHooks(),
    clock: systemClock,
    sleep: (ms) => sleep(ms),
    random: Math.random,
    groupCommitMs: opts.groupCommitMs,
    efSearch: opts.efSearch,
    writeLimits: opts.writeLimits,
    // One memory budget (--cache-memory): format-2 parts' data in the block cache; format-1 parts decoded whole in
    // the loaded-part cache, sized alike (a store holds both only until compaction or reindex converts the old ones).
    catalog: { partFiles, loadedParts, blockCache: caches.blocks, graphCache: caches.graphs },
  });
  metrics.setSources({ engine, partFiles, loadedParts, blocks: caches.blocks, graphs: caches.graphs, store: store as CountingStore });
  const app = buildApp({
    engine,
    pool,
    apiKeys: opts.apiKeys,
    bodyLimit: opts.bodyLimit,
    timeouts: opts.timeouts,
    maxInflightBytes: opts.maxInflightBytes,
    maxInflightRequests: opts.maxInflightRequests,
    maxRunningQueries: opts.maxRunningQueries,
    maxQueuedQueries: opts.maxQueuedQueries,
    queryTimeoutMs: opts.queryTimeoutMs,
    queryPause: opts.queryPause,
    logger: opts.log ? { level: 'info' } : false,
    adminToken: opts.adminToken ?? process.env.ELAX_ADMIN_TOKEN,
    metrics,
    stallAfterSeconds: opts.stallAfterSeconds,
    readiness: () => readiness,
  });
  pinWarn = (ns, e) => app.log.warn({ ns, err: e }, 'loading a pinned namespace into the cache failed; retried when it is next opened');
  if (opts.guardProcess) {
    // Every request path handles its own errors (test/35-store-faults.test.ts); this net only keeps a missed one
    // from taking every other request of the node down with it.
    process.on('unhandledRejection', (reason) => {
      metrics.unhandledRejection();
      app.log.error({ err: reason, code: 'ELAX_ERR_INTERNAL' }, 'unhandled promise rejection (a bug; the server keeps running)');
      if (!opts.log) console.error('elax: unhandled promise rejection (a bug; the server keeps running):', reason);
    });
  }
  if (caches.fallback) app.log.warn({ cache_dir: caches.dir }, `${caches.fallback}; using a temporary part cache (set --cache-dir)`);
  void caches.swept.then((names) => names.length > 0 && app.log.info({ removed: names }, 'removed part caches left by servers that are gone'));
  await app.listen({ port: opts.port, host: opts.host });
  let indexer: EmbeddedIndexer | null = null;
  let closing: Promise<void> | null = null;
  const startIndexer = () => {
    if (opts.indexer === false || opts.store.startsWith('memory://') || opts.storeInstance || closing) return;
    const log = indexerLog(app.log);
    indexer = startEmbeddedIndexer(opts.store, opts.indexerOptions ?? {}, (msg, fields) => {
      metrics.indexerEvent(msg);
      log(msg, fields);
    });
  };
  let probing: Promise<void> | null = null;
  const stopProbing = new AbortController();
  if (readiness.ready) startIndexer();
  else {
    app.log.warn({ code: 'ELAX_ERR_STORE_UNAVAILABLE', reason: readiness.reason }, 'store not ready; retrying in the background (/readyz is 503 until it is)');
    probing = waitForConditionalWrites(store, {
      sleep: (ms) => sleep(ms, undefined, { signal: stopProbing.signal }),
      nonce,
      stopped: () => closing !== null,
      onRetry: (e, attempt, delayMs) => {
        readiness.reason = e.message;
        app.log.warn({ code: e.code, attempt, retry_in_ms: delayMs, reason: e.message }, 'store not ready');
      },
    }).then(
      () => {
        readiness.ready = true;
        app.log.info({ store: store.description }, 'store ready');
        startIndexer();
      },
      (e: unknown) => {
        if (closing) return;
        const err = e instanceof ElaxError ? e : new ElaxError('ELAX_ERR_INTERNAL', String(e));
        readiness.reason = err.message;
        app.log.error({ code: err.code, reason: err.message }, 'store refused');
        opts.onFatal?.(err);
      },
    );
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    url: `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}`,
    port,
    engine,
    store,
    pool,
    get ready() {
      return readiness.ready;
    },
    cache: { dir: caches.dir, temporary: caches.temporary },
    close() {
      // Stop accepting connections first, then flush commits already queued, then release the store.
      closing ??= (async () => {
        // 1. Stop accepting (new requests get 503); 2. flush queued commits so in-flight writes get their acks;
        // 3. close keep-alive sockets that went idle after step 1 (fastify would otherwise wait for them forever).
        const appClosed = app.close();
        await engine.close();
        await pool.close(); // after the flush: queued commits still encode on it
        await Promise.race([appClosed, sleep(2_000)]);
        app.server.closeAllConnections();
        await appClosed;
        stopProbing.abort();
        await probing;
        await (indexer as EmbeddedIndexer | null)?.stop();
        await caches.close();
        await store.close();
      })();
      return closing;
    },
  };
}
