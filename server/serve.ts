/**
 * Starts an elax server process: open and probe the store, open the part caches (server/cache-dir.ts), build the
 * engine and the HTTP app, listen, and shut down gracefully (stop accepting, flush queued commits, remove a
 * temporary cache) on SIGTERM/SIGINT.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { Engine } from '../crates-ts/engine/index.js';
import { openStore, probeConditionalWrites, type ObjectStore } from '../crates-ts/store/index.js';
import { systemClock } from '../crates-ts/core/index.js';
import { buildApp } from './app.js';
import { PartFileCache, LoadedPartCache } from '../crates-ts/part/index.js';
import { rmSync } from 'node:fs';
import { DEFAULT_DISK_CACHE_BYTES, DEFAULT_MEMORY_CACHE_BYTES, resolveCacheDir, sweepOrphanCaches } from './cache-dir.js';
import { startEmbeddedIndexer, type EmbeddedIndexer } from '../indexer/index.js';
import { ServerMetrics } from './metrics.js';
import { indexerLog } from './logging.js';

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
  /** Run the embedded indexer in a worker thread (default true). */
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
  /** Bearer token for GET /admin/status and /metrics (default: env ELAX_ADMIN_TOKEN; unset: admin endpoints off). */
  adminToken?: string;
  /** Default stall threshold of /admin/status and elax_indexer_stalled, seconds (default 600). */
  stallAfterSeconds?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  engine: Engine;
  store: ObjectStore;
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
    swept,
    async close() {
      await partFiles.close(); // a temporary cache removes its directory
      temporaryDirs.delete(where.dir);
      await swept;
    },
  };
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const store = await openStore(opts.store);
  if (!opts.skipProbe) await probeConditionalWrites(store, `${process.pid}-${randomBytes(6).toString('hex')}`);
  const metrics = new ServerMetrics({ stallAfterSeconds: opts.stallAfterSeconds });
  const caches = await openCaches(opts, store);
  try {
    return await listen(opts, store, metrics, caches);
  } catch (e) {
    await caches.close();
    throw e;
  }
}

async function listen(opts: ServeOptions, store: ObjectStore, metrics: ServerMetrics, caches: Awaited<ReturnType<typeof openCaches>>): Promise<RunningServer> {
  const { partFiles, loadedParts } = caches;
  const engine = new Engine(store, {
    ...metrics.engineHooks(),
    clock: systemClock,
    sleep: (ms) => sleep(ms),
    random: Math.random,
    groupCommitMs: opts.groupCommitMs,
    efSearch: opts.efSearch,
    catalog: { partFiles, loadedParts },
  });
  metrics.setSources({ engine, partFiles, loadedParts });
  const app = buildApp({
    engine,
    apiKeys: opts.apiKeys,
    bodyLimit: opts.bodyLimit,
    logger: opts.log ? { level: 'info' } : false,
    adminToken: opts.adminToken ?? process.env.ELAX_ADMIN_TOKEN,
    metrics,
    stallAfterSeconds: opts.stallAfterSeconds,
  });
  if (caches.fallback) app.log.warn({ cache_dir: caches.dir }, `${caches.fallback}; using a temporary part cache (set --cache-dir)`);
  void caches.swept.then((names) => names.length > 0 && app.log.info({ removed: names }, 'removed part caches left by servers that are gone'));
  await app.listen({ port: opts.port, host: opts.host });
  let indexer: EmbeddedIndexer | null = null;
  if (opts.indexer !== false && !opts.store.startsWith('memory://')) {
    const log = indexerLog(app.log);
    indexer = startEmbeddedIndexer(opts.store, opts.indexerOptions ?? {}, (msg, fields) => {
      metrics.indexerEvent(msg);
      log(msg, fields);
    });
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}`,
    port,
    engine,
    store,
    cache: { dir: caches.dir, temporary: caches.temporary },
    close() {
      // Stop accepting connections first, then flush commits already queued, then release the store.
      closing ??= (async () => {
        // 1. Stop accepting (new requests get 503); 2. flush queued commits so in-flight writes get their acks;
        // 3. close keep-alive sockets that went idle after step 1 (fastify would otherwise wait for them forever).
        const appClosed = app.close();
        await engine.close();
        await Promise.race([appClosed, sleep(2_000)]);
        app.server.closeAllConnections();
        await appClosed;
        await indexer?.stop();
        await caches.close();
        await store.close();
      })();
      return closing;
    },
  };
}
