/**
 * The engine: one object per process that serves the API's operations over a store. The HTTP server and the CLI
 * call it; it wires namespace views, the write coordinator and query execution together.
 */
import { explainQuery, indexAttrsOf } from './explain.js';
import { ElaxError, UNCANCELLED, reusedBuffers, type Clock, type Doc, type QueryControl, type Schema } from '../core/index.js';
import type { ObjectStore } from '../store/index.js';
import { NamespaceCatalog, ivfSearch, type Consistency, type NamespaceView } from '../namespace/index.js';
import { clusteredIndexOf, ivfPartsOf, probeDepth, type ProbeDepth } from './ivf-probes.js';
import { WriteCoordinator, type WriteLimits } from '../write/index.js';
import { walColumns } from '../wal/index.js';
import { parseWriteRequest, parseSchemaUpdate, renderSchemaForResponse } from '../schema/index.js';
import { compileFilter } from '../filter/index.js';
import {
  parseQuery, parseMultiQuery, executeOnSegments, fuseRrf, NO_RELEASE, type ParsedQuery, type QueryContext, type QueryResultBody, type Release, type Restriction, type ScanHooks,
  type SegmentNeed, type Segment, setArenaPrefault, unsetArenaPrefault, prefaultThread, type PrefaultThread,
} from '../query/index.js';
import { mvIvfPartProbes } from '../query/multi-segments.js';
import { listNamespaces, deleteNamespace, validateNamespaceName } from './namespaces.js';
import { cloneNamespace, parseCloneRequest, type CloneRequest } from './branch.js';
import { evaluateRecall, type RecallRequest } from './recall.js';
import { vectorAttrRestriction } from './vector-attr-ann.js';
import { recordProbesMin, type RecordOutcome } from './recall-tuning.js';
import type { Router } from '../router/index.js';
import { missingPartFile } from '../part/index.js';
import type { TaskPool } from '../pool/index.js';
import { NamespacePins, parseMetadataPatch, recordPinning } from './pinning.js';

export interface EngineOptions {
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  /** Seeded or real randomness (recall sampling). */
  random: () => number;
  groupCommitMs?: number;
  eventualMaxAgeMs?: number;
  onCommit?: (ns: string, seq: number, rows: number, bytes: number) => void;
  onConflict?: (ns: string) => void;
  /** Writes get 429 when a namespace's unindexed WAL exceeds this many bytes (unless disable_backpressure). Default 2 GiB. */
  backpressureBytes?: number;
  /** HNSW ef_search for ANN queries over parts (beam width; higher = better recall, slower). Default 128. */
  efSearch?: number;
  /** A read met a part file that is gone and is retried on a fresh view (metrics/logs). */
  onPartRetry?: (key: string) => void;
  /** Namespace view caching options (part caches). */
  catalog?: Partial<import('../namespace/index.js').CatalogOptions>;
  /** Documents one delete_by_filter / patch_by_filter may change (write/limits.ts; default turbopuffer's 5M / 50k). */
  writeLimits?: Partial<WriteLimits>;
  /**
   * Worker pool for WAL encoding (group commit) and decoding (tail catch-up), pool/. Unset: both run on this thread.
   * The caller owns it (closes it after close()).
   */
  pool?: TaskPool;
  /**
   * Whether exact vector scans go to the pool (query/pool-scan.ts). Default: when it has at least 2 threads
   * (POOL_SCANS_MIN_THREADS); ELAX_POOL_SCANS=on / off overrides the default. On a 2-core machine the one pool thread
   * also parses and encodes every write, and handing it the scans measured worse query latency and no better
   * event-loop lag (docs/benchmarks.md, eleventh session). BM25 over a large part too (fts/part-task.ts): its postings
   * are then kept in shared memory.
   */
  poolScans?: boolean;
  /** BM25: postings a part's scoring must reach to go to the pool (query/ POOL_BM25_MIN_POSTINGS; tests lower it). */
  poolBm25MinPostings?: number;
  /** A pinned namespace's background load failed (logs); it is retried on the next request that opens the namespace. */
  onPinWarmError?: (ns: string, e: unknown) => void;
}

/** Whether an ANN query is answered from the parts' indexes (plus the tail, exactly) rather than an exact scan. */
function usesAnnIndex(view: NamespaceView, q: ParsedQuery): boolean {
  const r = q.rank;
  return !!r && r.kind === 'vector' && r.mode === 'ANN' && view.parts.length > 0 && r.metric === (view.distanceMetric ?? 'cosine_distance');
}

/** Pool threads from which exact vector scans go to the pool by default (EngineOptions.poolScans). */
export const POOL_SCANS_MIN_THREADS = 2;

/**
 * One query over the view's segments (RFC-0004 §6: kernels over ordinals, documents only for returned rows): BM25
 * from postings where parts have them, ANN restricted to index candidates, everything else exactly. Segments stream
 * (prepared, used, released in turn) except the graphs of an ANN query.
 */
export async function runQuery(
  view: NamespaceView,
  q: ParsedQuery,
  efSearch: number,
  /** probes, eps0: a recall request's own probe depth and ε0 for the clustered parts (ivf-probes.ts); onProbes: the depth used. */
  /** control: stops the query cooperatively (deadline, client gone; core/cancel.ts). */
  /** scanPool: runs exact vector scans on the pool when a thread is idle (ScanHooks.scanPool). */
  opts: { waitForIndex?: boolean; probes?: number; eps0?: number; onProbes?: (d: ProbeDepth) => void; control?: QueryControl; scanPool?: ScanHooks['scanPool'] } = {},
): Promise<QueryResultBody> {
  const r = q.rank;
  const control = opts.control ?? UNCANCELLED;
  const scanPool = opts.scanPool;
  const segs = view.segments();
  const ann = !!r && r.kind === 'vector' && usesAnnIndex(view, q);
  // Filter indexes of the parts (RFC-0009) for the attributes the filter reads, and for a single order key (the
  // order-by walk, slice 3): prepared with the scan's columns.
  const filterIndexes = indexAttrsOf(q);
  const fuzzyIndexes = q.filterSource?.fuzzyAttrs;
  // 1. What every segment must hold for the kernels (RFC-0004 §6): filter / order / aggregate columns, the vectors for
  //    an exact scan, the postings a BM25 query names; pinned while the kernel runs over that segment.
  const releases: Release[] = [];
  try {
    if (ann && r.kind === 'vector') {
      // 2. ANN: parts whose graph is in memory (or small enough to load first) are searched through it (graph and
      //    filter columns pinned for the whole query); a part with a large graph not in memory (a cold node) is
      //    scanned exactly this time and its graph loads in the background afterwards: the vectors are fewer bytes
      //    than the graph and a scan costs milliseconds, where loading a graph into hnswlib takes seconds. Recall
      //    evaluation waits for the graphs instead (it measures them).
      // Format-3 parts (RFC-0008 §4) are probed together through the namespace codebook, one merged search.
      await control.checkpoint('ann');
      const ivf = await ivfPartsOf(view, r.metric, r.query.length);
      const graphed = segs.map((s, i) => !ivf.parts.some((p) => p.seg === i) && s.annSearch !== undefined && (opts.waitForIndex || s.annReady === undefined || s.annReady()));
      releases.push(...(await Promise.all(segs.map((s, i) => (graphed[i] ? s.prepare({ attrs: q.readAttrs, vectors: false, index: true, filterIndexes, fuzzyIndexes }) : Promise.resolve(NO_RELEASE))))));
      // Beam width: the query's own ef_search, else the namespace's (schema vector.ann.ef_search), else the server's.
      const a = view.schema.vector?.ann;
      const ef = q.efSearch ?? (typeof a === 'object' ? a.ef_search : undefined) ?? efSearch;
      const base = view.annRestriction(r.query, q.limit, ef, q.filter, q.readAttrs, (i) => !graphed[i], q.filterSource);
      // Probe depth of the clustered parts: the same order, with the namespace's tuned depth before the server's.
      const depth = ivf.index === null ? null : probeDepth(view, q, efSearch, opts.probes, opts.eps0);
      if (depth !== null) opts.onProbes?.(depth);
      const probed = ivf.index === null || depth === null ? null : await ivfSearch(ivf.index, ivf.parts, { metric: r.metric, query: r.query, k: q.limit, nprobe: depth.probes, eps0: depth.eps0, filter: q.filter, filterSource: q.filterSource, attrs: q.readAttrs });
      if (probed !== null) releases.push(probed.release);
      // A selective filter: ivfSearch hands back the few matching rows, ranked exactly here. Fewer than k live
      // matches in the probed clusters (many deletes): the format-3 parts are scanned exactly instead, as a filtered
      // HNSW walk falls back to the allowed rows (never fewer than exist).
      const ivfHits = probed === null ? 0 : [...probed.bySeg.values()].reduce((n, o) => n + o.length, 0);
      const byIvf = probed === null ? null : (probed.exactRows ?? (ivfHits >= q.limit ? probed.bySeg : null));
      const restrict: Restriction = (s) => byIvf?.get(s) ?? base(s);
      // 3. Segments stream: the candidates' vectors of a graphed part (a few blocks), or every vector (and the filter
      //    columns) of a segment scanned exactly, one segment at a time.
      const result = await executeOnSegments(q, segs, restrict, {
        control,
        scanPool,
        prepare: (s) => {
          const rows = restrict(s);
          // A restricted segment reads its candidates' vector and id blocks only: on a cold node, never a whole column.
          return rows === null
            ? segs[s]!.prepare({ attrs: q.readAttrs, vectors: true, filterIndexes, fuzzyIndexes })
            : segs[s]!.prepare({ attrs: [], vectors: false, vectorRows: rows, ids: false, idRows: rows });
        },
      });
      // 4. The graphs this query did without start loading now, after its own reads.
      segs.forEach((s, i) => graphed[i] || s.loadAnn?.());
      return result;
    }
    if (r?.kind === 'attr_vector' && r.mode === 'ANN' && view.parts.length > 0) {
      // ANN over another vector column (RFC-0014 §3): candidates from each part's graph of it (vector-attr-ann.ts),
      // ranked exactly from the column; the tail and parts without a graph ranked over all their rows.
      const a = view.schema[r.attr]?.ann;
      const ef = q.efSearch ?? (typeof a === 'object' ? a.ef_search : undefined) ?? efSearch;
      const { restrict, later } = await vectorAttrRestriction(segs, q, r, ef, control, { filterIndexes, fuzzyIndexes, waitForIndex: opts.waitForIndex });
      // A part with candidates reads only their blocks of the column and of the ids (on a cold node, never the whole
      // column); the filter's columns stay whole (the ranking re-tests the candidates). Other segments: everything.
      const others = q.readAttrs.filter((a) => a !== r.attr);
      const result = await executeOnSegments(q, segs, restrict, {
        control,
        prepare: (s) => {
          const rows = restrict(s);
          return rows === null
            ? segs[s]!.prepare({ attrs: q.readAttrs, vectors: false, filterIndexes, fuzzyIndexes })
            : segs[s]!.prepare({ attrs: others, vectors: false, ids: false, idRows: rows, attrRows: { attr: r.attr, rows }, filterIndexes, fuzzyIndexes });
        },
      });
      for (const s of later) s.loadVectorAttrAnn?.(r.attr); // the graphs this query did without load now
      return result;
    }
    if (r?.kind === 'text') {
      // BM25 streams too, in two passes (query/ text-segments.ts): each part's postings dictionary for the
      // namespace-wide statistics, then each part that can match scored with them, one part (and the next,
      // prefetched) at a time.
      return await executeOnSegments(q, segs, undefined, { control, scanPool, prepareNeed: (s, need) => segs[s]!.prepare(need) });
    }
    // Scans stream: one segment's columns (and vectors) at a time, released after its pass (RFC-0004 §8: a
    // query over many parts holds one part's data, not the namespace's).
    const base: SegmentNeed = { attrs: q.readAttrs, vectors: !!r && r.kind === 'vector', filterIndexes, fuzzyIndexes };
    // SparseKNN: each part's sparse index (RFC-0012), or its column when it has none.
    if (r?.kind === 'sparse') base.sparse = [{ attr: r.attr, dims: r.query.dims }];
    // ANN over a multi-vector attribute: each part's token-level IVF (RFC-0015 §4: its prefix and the lists the query
    // vectors probe, by ranges) or, in parts built before it, its MUVERA index (§3); such a part's column is not
    // prepared: only its candidates' values are read (their blocks), after the index named them.
    if (r?.kind === 'multi' && r.mode === 'ANN' && q.per === null) {
      const lean = base.attrs.filter((a) => a !== r.attr);
      const fde: SegmentNeed = { ...base, attrs: lean, multiFde: [r.attr] };
      const needOf = (seg: Segment): SegmentNeed =>
        seg.multiIvfName?.(r.attr)
          ? { ...base, attrs: lean, multiIvf: [{ attr: r.attr, query: r.query.vectors, nprobe: mvIvfPartProbes(q.limit, q.efSearch, seg.rows) }] }
          : seg.multiFdeName?.(r.attr)
            ? fde
            : base;
      return await executeOnSegments(q, segs, undefined, { control, scanPool, prepare: (s) => segs[s]!.prepare(needOf(segs[s]!)) });
    }
    return await executeOnSegments(q, segs, undefined, { control, scanPool, prepare: (s) => segs[s]!.prepare(base) });
  } finally {
    for (const release of releases) release();
  }
}

/** runExact remembering its answers by query (rank, filters, top_k, projection): the same sample, the same truth. */
function memoExact(memo: Map<string, QueryResultBody>, run: (q: ParsedQuery) => Promise<QueryResultBody>): (q: ParsedQuery) => Promise<QueryResultBody> {
  return async (q) => {
    const r = q.rank;
    // The ranked attribute is part of the key: a recall run measures other vector columns too (RFC-0014 §5).
    const key = JSON.stringify([r?.kind === 'vector' ? Array.from(r.query) : null, r?.kind === 'attr_vector' ? [r.attr, Array.from(r.query)] : null, q.filterSource?.filter ?? null, q.limit, q.projection]);
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const out = await run(q);
    memo.set(key, out);
    return out;
  };
}

/** What parsing a query needs of a view: its schema and metric. */
export function queryContext(view: NamespaceView): QueryContext {
  return { schema: view.schema, distanceMetric: view.distanceMetric };
}

export interface QueryPerformance {
  approx_namespace_size: number;
  cache_hit_ratio: number;
  cache_temperature: 'hot' | 'warm' | 'cold';
  exhaustive_search_count: number;
  query_execution_ms: number;
  server_total_ms: number;
}

function readConsistency(body: unknown): Consistency {
  if (body && typeof body === 'object' && 'consistency' in body) {
    const c = (body as { consistency?: unknown }).consistency;
    if (c === undefined || c === null) return 'strong';
    const level = typeof c === 'object' ? (c as { level?: unknown }).level : undefined;
    if (level === undefined || level === 'strong') return 'strong';
    if (level === 'eventual') return 'eventual';
    throw new ElaxError('ELAX_ERR_INVALID_QUERY', `consistency.level must be 'strong' or 'eventual', got ${JSON.stringify(level)}`);
  }
  return 'strong';
}

function docBytes(d: Doc): number {
  return (d.vector ? d.vector.length * 4 : 0) + JSON.stringify(d.attrs).length + 8;
}

export class Engine {
  readonly catalog: NamespaceCatalog;
  readonly writer: WriteCoordinator;
  private readonly efSearch: number;
  private readonly scanPool: ScanHooks['scanPool'];
  /** Pinned namespaces on this node (pinning.ts): held in the block and graph caches, loaded when opened. */
  readonly pins: NamespacePins;
  private readonly prefaults: PrefaultThread | null = null;

  constructor(
    readonly store: ObjectStore,
    private readonly opts: EngineOptions,
  ) {
    const pool = opts.pool;
    // Exact vector scans on the pool when a thread is idle (query/pool-scan.ts), stopped through their cancel flag when
    // the query stops; EngineOptions.poolScans says when.
    const env = process.env.ELAX_POOL_SCANS;
    const poolScans = pool !== undefined && (opts.poolScans ?? (env === 'on' ? true : env === 'off' ? false : pool.threads >= POOL_SCANS_MIN_THREADS));
    this.scanPool =
      pool && poolScans
        ? {
            idle: () => pool.idleThreads() > 0,
            run: (input, signal) => pool.run('vector-scan', input, signal && input.cancel ? { signal, cancel: input.cancel } : {}),
            bm25: (input, signal) => pool.run('bm25-part', input, signal && input.cancel ? { signal, cancel: input.cancel } : {}),
            ...(opts.poolBm25MinPostings !== undefined ? { bm25MinPostings: opts.poolBm25MinPostings } : {}),
          }
        : undefined;
    this.catalog = new NamespaceCatalog(store, {
      ...opts.catalog,
      clock: opts.clock,
      eventualMaxAgeMs: opts.eventualMaxAgeMs,
      sharedPartVectors: poolScans,
      // Copied, not transferred: the store may hand out a buffer it keeps (memory store, caches) or a pooled Buffer.
      ...(pool ? { decodeWal: (seq: number, bytes: Uint8Array) => pool.run('wal-decode', { seq, bytes }) } : {}),
    });
    this.efSearch = opts.efSearch ?? 128;
    this.pins = new NamespacePins([this.catalog.blocks, this.catalog.graphs], (ns) => this.withPartRetry('strong', () => this.loadPinned(ns)), opts.clock, opts.onPinWarmError);
    if (pool !== undefined && pool.threads > 0) {
      // The WAL tail's vector arenas have their fresh pages faulted in on a thread of their own (VectorArena.prefault,
      // query/prefault-thread.ts), where a machine has a core besides the event loop's.
      this.prefaults = prefaultThread();
      setArenaPrefault(this.prefaults.prefault);
    }
    this.writer = new WriteCoordinator(this.catalog, {
      clock: opts.clock,
      sleep: opts.sleep,
      groupCommitMs: opts.groupCommitMs,
      onCommit: opts.onCommit,
      onConflict: opts.onConflict,
      limits: opts.writeLimits,
      ...(pool
        ? {
            encode: async (meta, ops) => {
              // Gathered here (a few ms per 10k rows), so that only two JSON arrays (one string each), a byte per row
              // and one vector buffer cross to the worker instead of a document per row (wal/format.ts WalColumns).
              // The buffer is shared, not moved: a task the pool fails is run again inline on this input (pool.ts),
              // which a detached buffer would turn into zero-length vectors. It is a reused one
              // (core/reused-buffers.ts: filling fresh memory costs a page fault per 4 KiB), given back once the
              // encode has returned (the thread reads it no more).
              const columns = walColumns(meta, ops, (bytes) => reusedBuffers.acquire(bytes));
              const bytes = await pool.run('wal-encode', columns);
              if (columns.vectors !== null) reusedBuffers.release(columns.vectors.buffer as SharedArrayBuffer);
              return bytes;
            },
          }
        : {}),
    });
  }

  async write(ns: string, body: unknown, opts: { idempotencyKey?: string } = {}) {
    const started = this.opts.clock.now();
    validateNamespaceName(ns);
    const clone = parseCloneRequest(body, ns);
    if (clone) return this.cloneFrom(ns, clone, started);
    // Validate against the freshest state this process knows; the committer re-checks against the head. A view
    // cached here may predate another node's delete or schema change: if the request is rejected as invalid after
    // being validated on a cached view, validate and commit once more against a fresh view before answering 400.
    const cached = this.catalog.cachedView(ns);
    const attempt = async (known: NamespaceView | null) => {
      const req = parseWriteRequest(body, { schema: known?.schema ?? {}, distanceMetric: known?.distanceMetric ?? null });
      // Compile every filter now, so a bad filter is a 400 before anything (even the namespace) is created.
      for (const [what, f] of [
        ['delete_by_filter', req.deleteByFilter?.filter],
        ['patch_by_filter.filters', req.patchByFilter?.filter],
        ['upsert_condition', req.upsertCondition],
        ['patch_condition', req.patchCondition],
        ['delete_condition', req.deleteCondition],
      ] as const) {
        // $ref_new names the document being written: meaningful in the three conditions only.
        if (f !== undefined) compileFilter(f, req.schema, { path: what, allowRefNew: what.endsWith('_condition') });
      }
      // Backpressure (docs/ARCHITECTURE.md, engine/): an indexer that cannot keep up must slow writers down, or queries (which
      // scan the unindexed tail exactly) get ever slower.
      const limit = this.opts.backpressureBytes ?? 2 * 1024 ** 3;
      if (known && !req.disableBackpressure && known.unindexedBytes > limit) {
        throw new ElaxError(
          'ELAX_ERR_BACKPRESSURE',
          `namespace '${ns}' has ${known.unindexedBytes} unindexed WAL bytes (limit ${limit}); retry later or set disable_backpressure`,
          { retryAfter: 5 },
        );
      }
      return { req, out: await this.writer.write(ns, req, opts.idempotencyKey) };
    };
    let done: Awaited<ReturnType<typeof attempt>>;
    try {
      done = await attempt(cached ?? (await this.catalog.view(ns, 'strong')));
    } catch (e) {
      // Not for errors no view could change: a repeated id, or a filter write over its limit (counted by the committer
      // on the freshest state already).
      if (!cached || !(e instanceof ElaxError) || e.kind !== 'invalid' || e.code === 'ELAX_ERR_DUPLICATE_ID' || e.code === 'ELAX_ERR_FILTER_WRITE_LIMIT') throw e;
      done = await attempt(await this.catalog.view(ns, 'strong'));
    }
    const { req, out } = done;
    const bytesWritten = req.upserts.reduce((s, d) => s + docBytes(d), 0) + req.patches.length * 16 + req.deletes.length * 8;
    const affected = out.upserted.size + out.patched.size + out.deleted.size;
    const res: Record<string, unknown> = {
      status: 'OK',
      message: out.duplicate ? 'already applied (idempotency key seen before); nothing written' : `${affected} rows affected`,
      rows_affected: affected,
      rows_upserted: out.upserted.size,
      rows_patched: out.patched.size,
      rows_deleted: out.deleted.size,
      billing: { billable_logical_bytes_written: out.duplicate ? 0 : bytesWritten },
      performance: { server_total_ms: this.opts.clock.now() - started },
    };
    if (req.deleteByFilter?.allowPartial || req.patchByFilter?.allowPartial) res.rows_remaining = out.rowsRemaining;
    if (req.returnAffectedIds) {
      if (out.upserted.size) res.upserted_ids = [...out.upserted];
      if (out.patched.size) res.patched_ids = [...out.patched];
      if (out.deleted.size) res.deleted_ids = [...out.deleted];
    }
    return res;
  }

  /** branch_from_namespace / copy_from_namespace (RFC-0011): `ns` becomes its source at one point of the source's history. */
  private async cloneFrom(ns: string, clone: CloneRequest, started: number): Promise<Record<string, unknown>> {
    const done = await cloneNamespace(this.catalog, clone.source, ns, clone.mode, { clock: this.opts.clock, beforeCommit: this.cloneHook });
    const view = await this.catalog.require(ns, 'strong');
    const rows = view.liveCount;
    return {
      status: 'OK',
      message: `${clone.mode === 'branch' ? 'branched' : 'copied'} ${rows} rows from '${clone.source}' (as of its WAL entry ${done.head})`,
      rows_affected: rows,
      billing: { billable_logical_bytes_written: clone.mode === 'copy' ? view.approxLogicalBytes() : 0 },
      performance: { server_total_ms: this.opts.clock.now() - started },
    };
  }

  /** Tests only: runs between a branch's point and its commit (writes racing a branch). */
  cloneHook: (() => Promise<void>) | undefined;

  /** `staleParts`: a query's first try may be answered while a new part set's view is built (catalog viewFor). */
  private async viewFor(ns: string, consistency: Consistency, staleParts = false) {
    validateNamespaceName(ns);
    const before = { ...this.catalog.stats };
    const view = await this.openView(ns, consistency, staleParts);
    const hits = this.catalog.stats.entryHits - before.entryHits;
    const misses = this.catalog.stats.entryMisses - before.entryMisses;
    const ratio = hits + misses === 0 ? 1 : hits / (hits + misses);
    return { view, ratio };
  }

  /** catalog.require, and the view's pinning acted on (pinning.ts: a pinned namespace is held and loaded when opened). */
  private async openView(ns: string, consistency: Consistency, staleParts = false): Promise<NamespaceView> {
    let view: NamespaceView;
    try {
      view = await this.catalog.require(ns, consistency, staleParts);
    } catch (e) {
      if (e instanceof ElaxError && e.code === 'ELAX_ERR_NAMESPACE_NOT_FOUND') this.pins.forget(ns);
      throw e;
    }
    this.pins.observe(view);
    return view;
  }

  private performance(view: NamespaceView, ratio: number, started: number, execStarted: number): QueryPerformance {
    const now = this.opts.clock.now();
    return {
      approx_namespace_size: view.liveCount,
      cache_hit_ratio: ratio,
      cache_temperature: ratio >= 0.9 ? 'hot' : ratio >= 0.5 ? 'warm' : 'cold',
      // Unindexed (WAL tail) documents are scanned exactly by every query.
      exhaustive_search_count: view.tailLiveCount,
      query_execution_ms: now - execStarted,
      server_total_ms: now - started,
    };
  }

  /**
   * Run a read; if it meets a part file that is gone, the view predates a GC of a part that left the router (a node
   * may hold a router for a while): refresh the view from the router and run it once more (docs/rfcs/0006-gc.md
   * step 4). A part the current router still references and that is missing fails the retry: real corruption.
   */
  private async withPartRetry<T>(consistency: Consistency, run: (c: Consistency, retry: boolean) => Promise<T>): Promise<T> {
    try {
      return await run(consistency, false);
    } catch (e) {
      if (missingPartFile(e) === null) throw e;
      this.opts.onPartRetry?.(missingPartFile(e)!);
      return run('strong', true); // the router's own part set this time, never a cached view of an older one
    }
  }

  /** `control` stops the query cooperatively when its owner says so (deadline, client gone: core/cancel.ts). */
  async query(ns: string, body: unknown, control: QueryControl = UNCANCELLED) {
    return this.withPartRetry(readConsistency(body), (c, retry) => this.queryOnce(ns, body, c, control, retry));
  }

  private async queryOnce(ns: string, body: unknown, consistency: Consistency, control: QueryControl, retry = false) {
    const started = this.opts.clock.now();
    const { view, ratio } = await this.viewFor(ns, consistency, !retry);
    control.check('view');
    const ctx = queryContext(view);
    const q = parseQuery(body, ctx);
    const execStarted = this.opts.clock.now();
    const result = await runQuery(view, q, this.efSearch, { control, scanPool: this.scanPool });
    return {
      ...result,
      billing: this.billing(view, result),
      performance: this.performance(view, ratio, started, execStarted),
    };
  }

  /**
   * `explain_query` (RFC-0009 §4): the plan of a query body in words (`plan_text`), from the same view a query would
   * read; the lookups and counts run, the ranking does not.
   */
  async explainQuery(ns: string, body: unknown, control: QueryControl = UNCANCELLED): Promise<{ plan_text: string }> {
    return this.withPartRetry(readConsistency(body), async (c) => {
      const { view } = await this.viewFor(ns, c);
      control.check('view');
      const q = parseQuery(body, queryContext(view));
      return { plan_text: await explainQuery(view, q, (body ?? {}) as Record<string, unknown>, control) };
    });
  }

  async multiQuery(ns: string, body: unknown, control: QueryControl = UNCANCELLED) {
    return this.withPartRetry(readConsistency(body), (c) => this.multiQueryOnce(ns, body, c, control));
  }

  private async multiQueryOnce(ns: string, body: unknown, consistency: Consistency, control: QueryControl) {
    const started = this.opts.clock.now();
    const { view, ratio } = await this.viewFor(ns, consistency);
    control.check('view');
    const ctx = queryContext(view);
    const q = parseMultiQuery(body, ctx);
    const execStarted = this.opts.clock.now();
    const results: QueryResultBody[] = [];
    for (const sub of q.queries) results.push(await runQuery(view, sub, this.efSearch, { control, scanPool: this.scanPool }));
    const result = q.rerank
      ? { results: [{ rows: fuseRrf(results.map((r) => r.rows ?? []), q.rerank.k, q.rerank.weights, Math.max(...q.queries.map((s) => s.limit))) }] }
      : { results };
    return {
      ...result,
      billing: this.billing(view, result),
      performance: this.performance(view, ratio, started, execStarted),
    };
  }

  private billing(view: NamespaceView, result: unknown) {
    return {
      billable_logical_bytes_queried: view.approxLogicalBytes(),
      billable_logical_bytes_returned: JSON.stringify(result).length,
    };
  }

  listNamespaces(opts: { prefix?: string; cursor?: string; pageSize?: number }) {
    return listNamespaces(this.catalog, opts);
  }

  async deleteNamespace(ns: string) {
    validateNamespaceName(ns);
    await deleteNamespace(this.catalog, ns, this.opts.clock);
    this.pins.forget(ns);
    return { status: 'OK' as const };
  }

  async metadata(ns: string) {
    validateNamespaceName(ns);
    const view = await this.openView(ns, 'strong');
    const unindexed = view.unindexedBytes;
    const pinning = this.pins.status(view);
    return {
      approx_logical_bytes: view.approxLogicalBytes(),
      approx_row_count: view.liveCount,
      created_at: view.router.created_at,
      updated_at: new Date(Math.max(view.updatedAt, Date.parse(view.router.updated_at) || 0)).toISOString(),
      encryption: { mode: 'default' },
      index: unindexed > 0 ? { status: 'updating', unindexed_bytes: unindexed } : { status: 'up-to-date' },
      ...(pinning ? { pinning } : {}),
      schema: renderSchemaForResponse(view.schema),
      ...(view.sharding ? { sharding: { num_shards: view.sharding.num_shards } } : {}),
    };
  }

  /**
   * `PATCH /v1/namespaces/:ns/metadata` (turbopuffer's updateMetadata): records the pinning change in router.json
   * (pinning.ts) and answers the namespace's metadata, read after it (this node starts loading a pinned namespace).
   */
  async updateMetadata(ns: string, body: unknown) {
    validateNamespaceName(ns);
    const patch = parseMetadataPatch(body);
    if (patch.pinning !== undefined) await recordPinning(this.catalog.routers, ns, patch.pinning, this.opts.clock);
    return this.metadata(ns);
  }

  async schema(ns: string) {
    validateNamespaceName(ns);
    const view = await this.catalog.require(ns, 'strong');
    return renderSchemaForResponse(view.schema);
  }

  /** POST /v1/namespaces/:ns/schema: a write that carries only a schema change (creates the namespace if needed). */
  async updateSchema(ns: string, body: unknown) {
    validateNamespaceName(ns);
    const update: Schema = parseSchemaUpdate(body);
    await this.write(ns, { schema: update });
    return this.schema(ns);
  }

  async warmCache(ns: string) {
    validateNamespaceName(ns);
    return this.withPartRetry('strong', () => this.warmCacheOnce(ns));
  }

  /** What warming a namespace prepares in every segment (hint_cache_warm, and pinning's loads). */
  private static warmNeed(view: NamespaceView): SegmentNeed {
    // Warm means the next query pays no fetch (within the cache budget): ids and every column, the vectors, HNSW
    // indexes, postings (dictionaries; small files whole), sparse indexes, filter indexes and fuzzy directories.
    const postings = Object.keys(view.schema)
      .filter((a) => view.schema[a]!.full_text_search)
      .map((attr) => ({ attr, terms: [], prefixes: [] }));
    const attrs = Object.keys(view.schema).filter((a) => a !== 'id' && a !== 'vector');
    // Sparse kNN indexes (RFC-0012) too (a large one: its table); the tail's sparse postings are built by the first
    // SparseKNN query.
    const sparse = attrs.filter((a) => view.schema[a]!.sparse_knn !== undefined).map((attr) => ({ attr, dims: [] }));
    // The graph of the other vector column (RFC-0014: at most one besides `vector`).
    const other = attrs.find((a) => /^\[\d+\]f(32|16)$/.test(view.schema[a]!.type) && view.schema[a]!.ann !== false);
    // Filter indexes of every filterable attribute, and fuzzy indexes (version 2: their directories; RFC-0009).
    const filterIndexes = attrs.filter((a) => view.schema[a]!.filterable !== false);
    const fuzzyIndexes = attrs.filter((a) => view.schema[a]!.fuzzy === true).map((attr) => ({ attr, specs: [] }));
    return { attrs, vectors: true, index: true, postings, sparse, filterIndexes, fuzzyIndexes, ...(other !== undefined ? { vectorAttrIndex: other } : {}) };
  }

  private async warmCacheOnce(ns: string) {
    const view = await this.catalog.require(ns, 'strong');
    const need = Engine.warmNeed(view);
    const releases = await Promise.all(view.segments().map((s) => s.prepare(need)));
    for (const r of releases) r();
    return { status: 'ACCEPTED' as const, message: 'namespace state loaded into this node\'s cache' };
  }

  /**
   * A pinned namespace's background load (pinning.ts): what hint_cache_warm loads, one segment at a time (each
   * released before the next is prepared), so a namespace larger than the cache never holds more than one segment's
   * data beyond what the cache keeps. Opens the view without pins.observe: this is observe's own load.
   */
  private async loadPinned(ns: string): Promise<void> {
    validateNamespaceName(ns);
    const view = await this.catalog.require(ns, 'strong');
    const need = Engine.warmNeed(view);
    for (const s of view.segments()) (await s.prepare(need))();
  }

  /**
   * `/_debug/recall` over `ns`. `truth` (elax recall --tune) remembers the exact answers across calls on the same
   * sample: a sweep measures one sample at many depths, and the ground truth does not depend on the depth.
   */
  async recall(ns: string, body: unknown, truth?: Map<string, QueryResultBody>) {
    validateNamespaceName(ns);
    return this.withPartRetry('strong', () => this.recallOnce(ns, body, truth));
  }

  private async recallOnce(ns: string, body: unknown, truth?: Map<string, QueryResultBody>) {
    const view = await this.catalog.require(ns, 'strong');
    await view.prepare({ index: true });
    let used: ProbeDepth | null = null;
    const exact = (q: ParsedQuery) => runQuery(view, q, this.efSearch, { waitForIndex: true, scanPool: this.scanPool });
    return evaluateRecall(view, (body ?? {}) as RecallRequest, this.opts.random, {
      runAnn: (q, probes, eps0) => runQuery(view, q, this.efSearch, { waitForIndex: true, probes, eps0, onProbes: (d) => (used = d) }),
      runExact: truth === undefined ? exact : memoExact(truth, exact),
      clusters: async () => (await clusteredIndexOf(view))?.k ?? null,
      probesUsed: () => used,
    });
  }

  /**
   * Records a tuned probe depth as router.vindex.probes_min of `ns` (RFC-0008 §5; recall-tuning.ts), and ε0 as
   * router.vindex.eps0 when given (null clears it), given the router the measurement started from.
   */
  async recordProbesMin(ns: string, probes: number, measured: Pick<Router, 'wal_start' | 'vindex'>, eps0?: number | null): Promise<RecordOutcome> {
    validateNamespaceName(ns);
    return recordProbesMin(this.catalog.routers, ns, probes, measured, this.opts.clock, eps0);
  }

  /** Flush queued writes (graceful shutdown). */
  async close(): Promise<void> {
    await this.writer.close();
    if (this.prefaults !== null) {
      unsetArenaPrefault(this.prefaults.prefault);
      await this.prefaults.close();
    }
  }
}
