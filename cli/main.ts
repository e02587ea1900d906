/**
 * The `elax` command. `serve` runs the server; admin commands read the store directly (--store or ELAX_STORE,
 * same forms as serve: a path, file:///path, s3://bucket/prefix); commands that need a server take --url.
 */
import { Command, Option } from 'commander';
import { BUNDLE_DIR_ENV, isElaxError } from '../crates-ts/core/index.js';
import { startServer } from '../server/serve.js';
import { ELAX_VERSION } from '../server/openapi.js';
import { DEFAULT_DISK_CACHE_BYTES, DEFAULT_GRAPH_CACHE_BYTES, DEFAULT_MEMORY_CACHE_BYTES, TEMP_CACHE_DIR } from '../server/cache-dir.js';
import { DEFAULT_PINNED_SHARE } from '../crates-ts/cache/index.js';
import { formatByteSize, parseByteSize } from './byte-size.js';
import { DEFAULT_HTTP_TIMEOUTS } from '../server/http-server.js';
import { DEFAULT_MAX_INFLIGHT_REQUESTS } from '../server/inflight.js';
import { defaultMaxQueuedQueries, defaultMaxRunningQueries } from '../server/query-admission.js';
import { DEFAULT_QUERY_TIMEOUT_MS } from '../server/query-deadline.js';
import { storeUri, withStore, printTable, printJson } from './store-option.js';
import { ivfMinRowsOption, ivfOf, vectorIndexOf, vectorIndexOption } from './vector-index-option.js';
import { routerShow, walList, statusAll, needsAttention, DEFAULT_STALL_AFTER_SECONDS, statusTableRows, STATUS_COLUMNS, describeTrouble } from './admin.js';
import { registerIngestCommands } from './ingest/index.js';
import { registerExportCommands } from './export/index.js';
import { registerVerifyCommands } from './verify/index.js';
import { registerRecallCommands } from './recall/index.js';
import { registerReindexCommands } from './reindex/index.js';

/** --part-format: 1 or 2 (RFC-0004); anything else is a usage error naming the flag. */
function partFormatOf(v: string): number {
  if (v !== '1' && v !== '2') throw new Error(`--part-format must be 1 or 2, got '${v}'`);
  return Number(v);
}

/** How long `elax indexer` waits on SIGTERM for its pass in flight (--stop-grace-ms): under the 15 s a supervisor such as the soak (bench/soak.ts) or systemd commonly allows. */
const INDEXER_STOP_GRACE_MS = 10_000;

const program = new Command();
program.name('elax').description('elax: vector and full-text search on object storage').version(ELAX_VERSION, '-V, --version', "print elax's version").showHelpAfterError();

const storeOption = () => new Option('--store <uri>', 'object store: a path, file:///path or s3://bucket/prefix (env ELAX_STORE)');

program
  .command('serve')
  .description('run the HTTP API server')
  .addOption(new Option('--port <n>', 'port (env ELAX_PORT)').default(process.env.ELAX_PORT ?? '3000'))
  .addOption(new Option('--host <addr>', 'listen address (env ELAX_HOST)').default(process.env.ELAX_HOST ?? '127.0.0.1'))
  .addOption(storeOption())
  .option('--api-key <key...>', 'require one of these API keys (env ELAX_API_KEYS, comma-separated)')
  .option('--group-commit-ms <ms>', 'group-commit window in milliseconds: how long a write waits for others to share its WAL entry (not waited when it is the only request in flight on the node)', '2')
  .option('--s3-endpoint <url>', 'S3 endpoint (env ELAX_S3_ENDPOINT); implies path-style addressing')
  .option('--quiet', 'no request logging')
  .option('--no-indexer', 'do not run the embedded indexer (run `elax indexer` separately)')
  .option('--index-min-entries <n>', 'index when the unindexed tail has this many WAL entries', '16')
  .option('--index-min-bytes <n>', '...or this many bytes', String(8 * 1024 * 1024))
  .option('--index-max-age-ms <ms>', '...or its oldest entry is this old', '2000')
  .option('--indexer-nice <n>', "the nice value, 0-19, of every thread of the embedded indexer's process (ELAX_INDEXER_PROCESS=thread: of its thread): builds yield the CPU to queries and writes; 0 = the server's priority", '19')
  .option('--indexer-sched <policy>', "normal (default): only --indexer-nice; idle: the embedded indexer's process also runs at Linux's SCHED_IDLE policy (only on cores nothing else wants; a waking server thread preempts it at once; needs util-linux chrt, else only the nice value; its unindexed tail then grows faster under mixed load). Ignored with --indexer-nice 0 and ELAX_INDEXER_PROCESS=thread", 'normal')
  .option('--indexer-build-threads <n>', "threads that build a sharded namespace's shards in parallel (at the indexer's nice value; started on first use); 0 = build them on the indexer's thread (default: one per core)")
  .option('--hnsw-m <n>', 'HNSW M (graph degree) for new parts', '16')
  .option('--hnsw-ef-construction <n>', 'HNSW ef_construction for new parts', '200')
  .option('--ef-search <n>', 'HNSW ef_search for ANN queries', '128')
  .option('--part-format <n>', 'format of new parts: 2 (block files, default) or 1 (readable by elax before RFC-0004)', '2')
  .addOption(vectorIndexOption())
  .addOption(ivfMinRowsOption())
  .option('--admin-token <token>', 'bearer token for /admin/status and /metrics (env ELAX_ADMIN_TOKEN; prefer the env: flags show in ps)')
  .option('--stall-after <seconds>', '/admin/status marks a namespace stalled when its oldest unindexed entry is this old', '600')
  .option(
    '--cache-dir <path>',
    `disk cache of part files, kept across restarts (a subdirectory per store inside); '${TEMP_CACHE_DIR}' for a per-process directory removed on exit (env ELAX_CACHE_DIR; default $XDG_CACHE_HOME/elax or ~/.cache/elax)`,
  )
  .option('--cache-disk <size>', `disk cache budget, e.g. 8GiB, 512MB or bytes (env ELAX_CACHE_DISK; default ${formatByteSize(DEFAULT_DISK_CACHE_BYTES)})`)
  .option('--cache-memory <size>', `memory budget for decoded parts (env ELAX_CACHE_MEMORY; default ${formatByteSize(DEFAULT_MEMORY_CACHE_BYTES)})`)
  .option('--cache-graph-memory <size>', `memory budget for HNSW graphs, kept apart from --cache-memory (env ELAX_CACHE_GRAPH_MEMORY; default ${formatByteSize(DEFAULT_GRAPH_CACHE_BYTES)})`)
  .option('--pinned-cache-share <fraction>', 'share (0..1) of --cache-memory and --cache-graph-memory that pinned namespaces keep resident, exempt from eviction (env ELAX_PINNED_CACHE_SHARE; default 0.5)')
  .option('--headers-timeout-ms <ms>', 'the request line and headers must arrive within this', String(DEFAULT_HTTP_TIMEOUTS.headersTimeoutMs))
  .option('--request-timeout-ms <ms>', 'the whole request, body included, must arrive within this (generous: large bodies on slow links)', String(DEFAULT_HTTP_TIMEOUTS.requestTimeoutMs))
  .option('--idle-timeout-ms <ms>', 'answer 408 and close when a request head or body stops arriving for this long', String(DEFAULT_HTTP_TIMEOUTS.idleTimeoutMs))
  .option('--keep-alive-timeout-ms <ms>', 'close an idle connection between requests after this', String(DEFAULT_HTTP_TIMEOUTS.keepAliveTimeoutMs))
  .option('--max-inflight-bytes <n>', 'answer 503 to requests whose body would take the request bytes in flight past this (default: a quarter of the V8 heap limit, at least 512 MiB, the body limit)')
  .option('--max-inflight-requests <n>', 'answer 503 to requests beyond this many in flight', String(DEFAULT_MAX_INFLIGHT_REQUESTS))
  .option('--max-running-queries <n>', `queries executing at once (default 2 per core: ${defaultMaxRunningQueries()})`)
  .option('--max-queued-queries <n>', 'queries waiting for a slot; beyond that 429 ELAX_ERR_QUERY_QUEUE_FULL with Retry-After (default 32 per running query)')
  .option('--query-timeout-ms <ms>', "a query's time budget from arrival (queueing included); beyond it 504 ELAX_ERR_QUERY_TIMEOUT and the query stops (X-Elax-Query-Timeout-Ms may lower it per request)", String(DEFAULT_QUERY_TIMEOUT_MS))
  .option('--pool-threads <n>', 'worker threads for WAL encoding and decoding; 0 runs them on the event loop (default: cores - 1, at least 1)')
  .action(async (o: {
    port: string; host: string; store?: string; apiKey?: string[]; groupCommitMs: string; s3Endpoint?: string; quiet?: boolean; indexer: boolean;
    indexMinEntries: string; indexMinBytes: string; indexMaxAgeMs: string; indexerNice: string; indexerSched: string; indexerBuildThreads?: string; hnswM: string; hnswEfConstruction: string; efSearch: string; partFormat: string; vectorIndex: string; ivfMinRows: string;
    adminToken?: string; stallAfter: string; cacheDir?: string; cacheDisk?: string; cacheMemory?: string; cacheGraphMemory?: string; pinnedCacheShare?: string;
    headersTimeoutMs: string; requestTimeoutMs: string; idleTimeoutMs: string; keepAliveTimeoutMs: string;
    maxInflightBytes?: string; maxInflightRequests: string; maxRunningQueries?: string; maxQueuedQueries?: string; queryTimeoutMs: string; poolThreads?: string;
  }) => {
    const num = (v: string, flag: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a non-negative number, got '${v}'`);
      return n;
    };
    const schedIdleOf = (v: string) => {
      if (v !== 'idle' && v !== 'normal') throw new Error(`--indexer-sched must be 'idle' or 'normal', got '${v}'`);
      return v === 'idle' ? 1 : 0;
    };
    const niceOf = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 19) throw new Error(`--indexer-nice must be an integer from 0 to 19, got '${v}'`);
      return n;
    };
    const nonNegativeInt = (v: string, flag: string) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} must be an integer ≥ 0, got '${v}'`);
      return n;
    };
    const positive = (v: string, flag: string) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got '${v}'`);
      return n;
    };
    if (o.s3Endpoint) process.env.ELAX_S3_ENDPOINT = o.s3Endpoint;
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${o.port}`);
    /** A size from the flag, else the environment variable (named in the error), else the default. */
    const size = (flag: string, value: string | undefined, envName: string, dflt: number) => {
      if (value !== undefined) return parseByteSize(value, flag);
      const env = process.env[envName];
      return env !== undefined && env !== '' ? parseByteSize(env, envName) : dflt;
    };
    const diskCacheBytes = size('--cache-disk', o.cacheDisk, 'ELAX_CACHE_DISK', DEFAULT_DISK_CACHE_BYTES);
    const memoryCacheBytes = size('--cache-memory', o.cacheMemory, 'ELAX_CACHE_MEMORY', DEFAULT_MEMORY_CACHE_BYTES);
    const graphCacheBytes = size('--cache-graph-memory', o.cacheGraphMemory, 'ELAX_CACHE_GRAPH_MEMORY', DEFAULT_GRAPH_CACHE_BYTES);
    const shareFrom = o.pinnedCacheShare !== undefined ? '--pinned-cache-share' : process.env.ELAX_PINNED_CACHE_SHARE ? 'ELAX_PINNED_CACHE_SHARE' : null;
    const shareText = o.pinnedCacheShare ?? process.env.ELAX_PINNED_CACHE_SHARE ?? '';
    const pinnedCacheShare = shareFrom === null ? DEFAULT_PINNED_SHARE : Number(shareText);
    if (shareFrom !== null && (shareText.trim() === '' || !(pinnedCacheShare >= 0 && pinnedCacheShare <= 1))) throw new Error(`${shareFrom} must be a number from 0 to 1, got '${shareText}'`);
    const cacheDir = o.cacheDir ?? (process.env.ELAX_CACHE_DIR || undefined);
    const apiKeys = o.apiKey ?? (process.env.ELAX_API_KEYS ? process.env.ELAX_API_KEYS.split(',').map((k) => k.trim()).filter(Boolean) : []);
    const server = await startServer({
      port,
      host: o.host,
      store: storeUri(o.store),
      apiKeys,
      groupCommitMs: Number(o.groupCommitMs),
      log: !o.quiet,
      indexer: o.indexer,
      efSearch: num(o.efSearch, '--ef-search'),
      ...(o.adminToken ? { adminToken: o.adminToken } : {}),
      stallAfterSeconds: num(o.stallAfter, '--stall-after'),
      guardProcess: true,
      onFatal: (e) => {
        console.error(`elax serve: ${e.code}: ${e.message}`);
        process.exit(1);
      },
      cacheDir,
      diskCacheBytes,
      memoryCacheBytes,
      graphCacheBytes,
      pinnedCacheShare,
      ...(o.poolThreads !== undefined ? { poolThreads: nonNegativeInt(o.poolThreads, '--pool-threads') } : {}),
      timeouts: {
        headersTimeoutMs: positive(o.headersTimeoutMs, '--headers-timeout-ms'),
        requestTimeoutMs: positive(o.requestTimeoutMs, '--request-timeout-ms'),
        idleTimeoutMs: positive(o.idleTimeoutMs, '--idle-timeout-ms'),
        keepAliveTimeoutMs: positive(o.keepAliveTimeoutMs, '--keep-alive-timeout-ms'),
      },
      ...(o.maxInflightBytes !== undefined ? { maxInflightBytes: positive(o.maxInflightBytes, '--max-inflight-bytes') } : {}),
      maxInflightRequests: positive(o.maxInflightRequests, '--max-inflight-requests'),
      ...(o.maxRunningQueries !== undefined ? { maxRunningQueries: positive(o.maxRunningQueries, '--max-running-queries') } : {}),
      ...(o.maxQueuedQueries !== undefined ? { maxQueuedQueries: o.maxQueuedQueries === '0' ? 0 : positive(o.maxQueuedQueries, '--max-queued-queries') } : {}),
      queryTimeoutMs: positive(o.queryTimeoutMs, '--query-timeout-ms'),
      indexerOptions: {
        minEntries: num(o.indexMinEntries, '--index-min-entries'),
        minBytes: num(o.indexMinBytes, '--index-min-bytes'),
        maxAgeMs: num(o.indexMaxAgeMs, '--index-max-age-ms'),
        nice: niceOf(o.indexerNice),
        schedIdle: schedIdleOf(o.indexerSched),
        ...(o.indexerBuildThreads !== undefined ? { buildThreads: nonNegativeInt(o.indexerBuildThreads, '--indexer-build-threads') } : {}),
        hnswM: num(o.hnswM, '--hnsw-m'),
        hnswEfConstruction: num(o.hnswEfConstruction, '--hnsw-ef-construction'),
        partFormat: partFormatOf(o.partFormat),
        ...vectorIndexOf(o),
      },
    });
    const cacheNote = `part cache ${server.cache.dir}${server.cache.temporary ? ' (temporary)' : ''}, ${formatByteSize(diskCacheBytes)}`;
    console.error(
      `elax listening on ${server.url} (store ${server.store.description}, ${cacheNote}${apiKeys.length ? ', API keys required' : ''}; ` +
        `started in ${process.uptime().toFixed(1)} s${process.env[BUNDLE_DIR_ENV] ? '' : ', from the TypeScript sources through tsx'})` +
        (server.ready ? '' : '; the store is not reachable yet: retrying, /readyz is 503 until it is'),
    );
    let stopping = false;
    const stop = async (sig: string) => {
      if (stopping) return;
      stopping = true;
      console.error(`${sig}: flushing pending commits and shutting down`);
      await server.close();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });

program
  .command('indexer')
  .description('run a stand-alone indexer: build parts from the WAL and publish them (any number may run)')
  .addOption(storeOption())
  .option('--ns <namespace>', 'only this namespace')
  .option('--once', 'index everything pending once, then exit')
  .option('--interval-ms <ms>', 'pause between passes', '500')
  .option('--stop-grace-ms <ms>', 'on SIGTERM / SIGINT, wait this long for the pass in flight to end, then exit anyway (a pass cut short is a crash the next pass recovers from: publishes are compare-and-swap)', String(INDEXER_STOP_GRACE_MS))
  .option('--json', 'print outcomes as JSON (with --once)')
  .option('--part-format <n>', 'format of new parts: 2 (default) or 1', '2')
  .option('--build-threads <n>', "threads that build a sharded namespace's shards in parallel (started on first use); 0 = build them on the indexer's thread (default: one per core)")
  .addOption(vectorIndexOption())
  .addOption(ivfMinRowsOption())
  .action(async (o: { store?: string; ns?: string; once?: boolean; intervalMs: string; stopGraceMs: string; json?: boolean; partFormat: string; buildThreads?: string; vectorIndex: string; ivfMinRows: string }) => {
    const stopGraceMs = Number(o.stopGraceMs);
    if (!Number.isFinite(stopGraceMs) || stopGraceMs < 0) throw new Error(`--stop-grace-ms must be a number of milliseconds ≥ 0, got '${o.stopGraceMs}'`);
    const partFormat = partFormatOf(o.partFormat);
    const ivf = ivfOf(vectorIndexOf(o));
    const { IndexerLoop, makeIndexer, lazyBuildPool, defaultBuildThreads } = await import('../indexer/index.js');
    const threads = o.buildThreads === undefined ? defaultBuildThreads() : Number(o.buildThreads);
    if (!Number.isSafeInteger(threads) || threads < 0) throw new Error(`--build-threads must be an integer ≥ 0, got '${o.buildThreads}'`);
    const buildPool = threads > 0 ? lazyBuildPool({ threads }) : undefined;
    if (o.once) {
      const outcomes = await withStore(o.store, async (s) => {
        const ix = makeIndexer(s, { partFormat, buildPool, ...ivf });
        // Without --ns, one forced pass over every namespace finds the names, and it publishes too: count those
        // parts along with what the drain after it publishes (the drain alone reported 0 for small namespaces).
        const first = o.ns ? [] : await ix.runOnce({ force: true });
        const published = new Map<string, number>(o.ns ? [[o.ns, 0]] : []);
        for (const r of first) published.set(r.ns, (published.get(r.ns) ?? 0) + (r.result === 'published' ? 1 : 0));
        const res = [];
        for (const [ns, already] of published) res.push({ ns, parts_published: already + (await ix.drain(ns)) });
        return res;
      }).finally(() => buildPool?.close());
      if (o.json) return printJson(outcomes);
      return printTable(outcomes, ['ns', 'parts_published']);
    }
    const store = await (await import('../crates-ts/store/index.js')).openStore(storeUri(o.store));
    const loop = new IndexerLoop(store, { intervalMs: Number(o.intervalMs), partFormat, buildPool, ...ivf, log: (m, f) => console.log(JSON.stringify({ msg: m, ...f })) });
    loop.start();
    console.log(`elax indexer running on ${store.description}`);
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      // The pass in flight may wait on the store (each attempt bounded: store/s3.ts S3_IDLE_TIMEOUT_MS, and retried);
      // it gets --stop-grace-ms, then the process exits as if it had crashed, which indexing tolerates by design.
      let timer: NodeJS.Timeout | undefined;
      const cut = new Promise<'cut'>((resolve) => (timer = setTimeout(() => resolve('cut'), stopGraceMs)));
      const ended = await Promise.race([loop.stop().then(() => 'ended' as const), cut]);
      clearTimeout(timer);
      if (ended === 'cut') console.log(JSON.stringify({ msg: 'indexer: stopping without the pass in flight', grace_ms: stopGraceMs }));
      else {
        await buildPool?.close();
        await store.close();
      }
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop());
    process.on('SIGINT', () => void stop());
  });

program
  .command('compact')
  .description('merge parts of a namespace now (size-tiered; --all merges every part into one, one per shard when sharded)')
  .requiredOption('--ns <namespace>', 'namespace')
  .addOption(storeOption())
  .option('--all', 'merge all parts into one (a sharded namespace: each shard\'s parts into one)')
  .option('--json', 'machine-readable output')
  .option('--part-format <n>', 'format of the merged part: 2 (default) or 1', '2')
  .addOption(vectorIndexOption())
  .addOption(ivfMinRowsOption())
  .action(async (o: { ns: string; store?: string; all?: boolean; json?: boolean; partFormat: string; vectorIndex: string; ivfMinRows: string }) => {
    const ivf = ivfOf(vectorIndexOf(o));
    const { compactNamespace } = await import('../indexer/compact.js');
    const { randomBytes } = await import('node:crypto');
    // A sharded namespace (RFC-0013) merges one shard's parts per compaction: --all repeats it for every shard.
    const outs = await withStore(o.store, async (s) => {
      const done = [];
      for (let round = 0; round < 1024; round++) {
        const out = await compactNamespace(s, o.ns, { clock: { now: () => Date.now() }, nonce: () => randomBytes(4).toString('hex'), force: o.all, maxParts: 1, partFormat: partFormatOf(o.partFormat), ...ivf });
        done.push(out);
        if (!o.all || out.result !== 'compacted' || out.part.shard === undefined) break;
      }
      return done;
    });
    if (o.json) return printJson(outs.length === 1 ? outs[0] : outs);
    for (const out of outs) {
      if (out.result === 'nothing' && outs.length > 1) continue;
      console.log(out.result === 'compacted' ? `merged ${out.merged.length} parts into ${out.part.id} (${out.part.rows} rows${out.part.shard !== undefined ? `, shard ${out.part.shard}` : ''}), epoch ${out.epoch}` : `${out.result}${out.reason ? `: ${out.reason}` : ''}`);
    }
  });

program
  .command('gc')
  .description('delete WAL entries covered by parts (after retention) and unreferenced parts (after a grace period)')
  .option('--ns <namespace>', 'only this namespace')
  .addOption(storeOption())
  .option('--dry-run', 'only report what would be deleted')
  .option('--wal-retention-ms <ms>', 'keep covered WAL entries this long', '3600000')
  .option('--part-grace-ms <ms>', 'keep unreferenced parts this long', '900000')
  .option('--json', 'machine-readable output')
  .action(async (o: { ns?: string; store?: string; dryRun?: boolean; walRetentionMs: string; partGraceMs: string; json?: boolean }) => {
    const { gcNamespace } = await import('../indexer/gc.js');
    const reports = await withStore(o.store, async (s) => {
      const names = o.ns ? [o.ns] : (await statusAll(s)).map((x) => x.namespace);
      const out = [];
      // Live namespaces, then (without --ns) the homes their borrowed parts come from: a deleted home is listed nowhere else (RFC-0011).
      const seen = new Set(names);
      for (let i = 0; i < names.length; i++) {
        const r = await gcNamespace(s, names[i]!, { clock: { now: () => Date.now() }, dryRun: o.dryRun, walRetentionMs: Number(o.walRetentionMs), partGraceMs: Number(o.partGraceMs) });
        out.push(r);
        if (!o.ns) for (const h of r.homes) if (!seen.has(h)) (seen.add(h), names.push(h));
      }
      return out;
    });
    if (o.json) return printJson(reports);
    for (const r of reports) {
      console.log(`${r.ns}: ${o.dryRun ? 'would delete' : 'deleted'} ${r.wal_entries.length} WAL entries, ${r.parts.length} parts${r.parts.length ? ` (${r.parts.join(', ')})` : ''}, ${r.files.length} superseded deletion vectors, ${r.codebooks.length} unnamed codebooks${r.borrowed.length ? `; kept ${r.borrowed.length} parts branches borrow` : ''}`);
    }
  });

const router = program.command('router').description('inspect router.json');
router
  .command('show')
  .description("print a namespace's router.json (epoch, indexed_wal, codebook, probes_min and eps0, parts, schema)")
  .requiredOption('--ns <namespace>', 'namespace')
  .addOption(storeOption())
  .option('--json', 'machine-readable output')
  .action(async (o: { ns: string; store?: string; json?: boolean }) => {
    const r = await withStore(o.store, (s) => routerShow(s, o.ns));
    if (o.json) return printJson(r);
    console.log(`namespace     ${r.namespace}${r.deleted ? `  (DELETED at ${r.deleted.at})` : ''}`);
    console.log(`epoch         ${r.epoch}`);
    console.log(`indexed_wal   ${r.indexed_wal}`);
    console.log(`wal_start     ${r.wal_start}`);
    console.log(`metric        ${r.distance_metric ?? '-'}`);
    if (r.sharding) console.log(`sharding      ${r.sharding.num_shards} shards`);
    console.log(`created_at    ${r.created_at}`);
    console.log(`updated_at    ${r.updated_at}`);
    if (r.vindex) {
      // The clustered vector index (RFC-0008): its codebook, and the probe depth `elax recall --tune` recorded.
      console.log(`codebook      ${r.vindex.codebook} (version ${r.vindex.version})`);
      console.log(`probes_min    ${r.vindex.probes_min ?? '- (server default)'}`);
      console.log(`eps0          ${r.vindex.eps0 ?? '- (default)'}`);
    }
    console.log(`parts         ${r.parts.length}`);
    if (r.parts.length) printTable(r.parts as unknown as Record<string, unknown>[], ['id', ...(r.sharding ? ['shard'] : []), 'wal_start', 'wal_end', 'rows', 'bytes', 'level']);
    console.log(`schema        ${JSON.stringify(r.schema)}`);
  });

const parts = program.command('parts').description('inspect index parts');
parts
  .command('list')
  .description('list the parts of a namespace (id, shard when sharded, WAL range, rows, bytes, level, created, index kind)')
  .requiredOption('--ns <namespace>', 'namespace')
  .addOption(storeOption())
  .option('--json', 'machine-readable output')
  .action(async (o: { ns: string; store?: string; json?: boolean }) => {
    const r = await withStore(o.store, (s) => routerShow(s, o.ns));
    // A sharded namespace's parts (RFC-0013) show their shard.
    const rows = r.parts.map((p) => ({ id: p.id, ...(p.shard !== undefined ? { shard: p.shard } : {}), wal_start: p.wal_start, wal_end: p.wal_end, rows: p.rows, bytes: p.bytes, level: p.level, created: p.created_at, index_kind: p.index_kind ?? '-', home: p.home ?? '-' }));
    if (o.json) return printJson(rows);
    if (rows.length === 0) return console.log(`no parts yet (indexed_wal ${r.indexed_wal}); the WAL tail is scanned exactly`);
    printTable(rows, ['id', ...(r.sharding ? ['shard'] : []), 'wal_start', 'wal_end', 'rows', 'bytes', 'level', 'created', 'index_kind', 'home']);
  });

const wal = program.command('wal').description('inspect the write-ahead log');
wal
  .command('list')
  .description('list WAL entries of a namespace (seq, rows, bytes, time, requests, format version, state)')
  .requiredOption('--ns <namespace>', 'namespace')
  .addOption(storeOption())
  .option('--after <seq>', 'only entries after this sequence', '0')
  .option('--limit <n>', 'at most this many entries')
  .option('--json', 'machine-readable output')
  .action(async (o: { ns: string; store?: string; after: string; limit?: string; json?: boolean }) => {
    const rows = await withStore(o.store, (s) => walList(s, o.ns, { after: Number(o.after), limit: o.limit ? Number(o.limit) : undefined }));
    if (o.json) return printJson(rows);
    printTable(rows as unknown as Record<string, unknown>[], ['seq', 'rows', 'bytes', 'time', 'requests', 'format', 'state']);
  });

program
  .command('status')
  .description('per namespace: wal_highwater, indexed_wal, unindexed entries and bytes, parts, epoch, indexer failures, stalled')
  .option('--ns <namespace>', 'only this namespace')
  .addOption(storeOption())
  .option('--stall-after <seconds>', 'stalled: unindexed entries older than this and no indexer publish since', String(DEFAULT_STALL_AFTER_SECONDS))
  .option('--check', 'exit with code 1 when any namespace is stalled or has failed WAL entries (for cron)')
  .option('--json', 'machine-readable output')
  .action(async (o: { ns?: string; store?: string; stallAfter: string; check?: boolean; json?: boolean }) => {
    const stallAfterSeconds = Number(o.stallAfter);
    if (!Number.isFinite(stallAfterSeconds) || stallAfterSeconds < 0) throw new Error(`--stall-after must be a non-negative number of seconds, got '${o.stallAfter}'`);
    const rows = await withStore(o.store, (s) => statusAll(s, o.ns, { stallAfterSeconds }));
    const troubled = rows.filter(needsAttention);
    if (o.json) printJson(rows);
    else if (rows.length === 0) console.log('no namespaces');
    else printTable(statusTableRows(rows), STATUS_COLUMNS);
    if (o.check && troubled.length > 0) {
      for (const t of troubled) console.error(`elax: ${t.namespace}: ${describeTrouble(t)}`);
      process.exitCode = 1;
    }
  });

registerIngestCommands(program);
registerExportCommands(program);
registerVerifyCommands(program);
registerRecallCommands(program);
registerReindexCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (isElaxError(e)) {
    console.error(`elax: ${e.message} [${e.code}]`);
    process.exit(e.kind === 'invalid' || e.kind === 'not_found' ? 2 : 1);
  }
  console.error(`elax: ${(e as Error).message}`);
  process.exit(1);
}
