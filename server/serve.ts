/**
 * Starts an elax server process: open and probe the store, build the engine and the HTTP app, listen, and shut
 * down gracefully (stop accepting, flush queued commits) on SIGTERM/SIGINT.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { Engine } from '../crates-ts/engine/index.js';
import { openStore, probeConditionalWrites, type ObjectStore } from '../crates-ts/store/index.js';
import { systemClock } from '../crates-ts/core/index.js';
import { buildApp } from './app.js';
import { PartFileCache, LoadedPartCache } from '../crates-ts/part/index.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedIndexer, type EmbeddedIndexer } from '../indexer/index.js';
import { ServerMetrics } from './metrics.js';
import { indexerLog } from './logging.js';
import type { HttpTimeouts } from './http-server.js';

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
  /** Local disk cache of part files (default: OS temp dir, 8 GiB) and in-memory decoded parts (default 4 GiB). */
  cacheDir?: string;
  /** HNSW beam width for ANN queries. */
  efSearch?: number;
  diskCacheBytes?: number;
  memoryCacheBytes?: number;
  /** Bearer token for GET /admin/status and /metrics (default: env ELAX_ADMIN_TOKEN; unset: admin endpoints off). */
  adminToken?: string;
  /** Default stall threshold of /admin/status and elax_indexer_stalled, seconds (default 600). */
  stallAfterSeconds?: number;
  /** HTTP timeouts (http-server.ts); unset fields take the defaults. */
  timeouts?: Partial<HttpTimeouts>;
  /** Node-wide caps on request body bytes and requests in flight (inflight.ts). */
  maxInflightBytes?: number;
  maxInflightRequests?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  engine: Engine;
  store: ObjectStore;
  close(): Promise<void>;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const store = await openStore(opts.store);
  if (!opts.skipProbe) await probeConditionalWrites(store, `${process.pid}-${randomBytes(6).toString('hex')}`);
  const metrics = new ServerMetrics({ stallAfterSeconds: opts.stallAfterSeconds });
  const partFiles = new PartFileCache(opts.cacheDir ?? path.join(tmpdir(), `elax-cache-${process.pid}`), opts.diskCacheBytes ?? 8 * 1024 ** 3);
  const loadedParts = new LoadedPartCache(opts.memoryCacheBytes ?? 4 * 1024 ** 3);
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
    timeouts: opts.timeouts,
    maxInflightBytes: opts.maxInflightBytes,
    maxInflightRequests: opts.maxInflightRequests,
    logger: opts.log ? { level: 'info' } : false,
    adminToken: opts.adminToken ?? process.env.ELAX_ADMIN_TOKEN,
    metrics,
    stallAfterSeconds: opts.stallAfterSeconds,
  });
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
        await store.close();
      })();
      return closing;
    },
  };
}
