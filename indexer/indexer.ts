/**
 * Indexer worker: turns WAL ranges into parts and publishes them by CAS on router.json (RFC-0003,
 * docs/rfcs/0003-indexer-publish.md). Any number may run against one store; correctness never depends on there
 * being one: a lost publish race is re-read and either retried or abandoned, and an abandoned part is garbage that no
 * router references.
 */
import { ElaxError, isElaxError, type Clock, type Doc, type Id, type Schema, type DistanceMetric, type ShardingConfig } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore, withCodebook, type Router, type RouterRead, type PartRef } from '../crates-ts/router/index.js';
import { WalLog, decodeWalEntry, entryVoidIn } from '../crates-ts/wal/index.js';
import { buildPartFiles, packBuildInput, packRows, uploadPart, newPartId, type BuiltPart, type PackedRows, type PartBuildInput } from '../crates-ts/part/index.js';
import { listNamespaces } from '../crates-ts/engine/index.js';
import { NamespaceCatalog } from '../crates-ts/namespace/index.js';
import { writeCodebook } from '../crates-ts/vindex/index.js';
import type { TaskPool } from '../crates-ts/pool/index.js';
import { formatTwoHnsw, type VectorIndexOptions } from './vector-index.js';
import { buildGroups, splitByShard } from './shards.js';
import { LivenessReader, LIVENESS_ROUTER_FORMAT, partsAfterPublish } from './liveness.js';
import {
  DEFAULT_FAILURE_POLICY,
  FailureTracker,
  IndexAttemptError,
  clearFailuresUpTo,
  hasStaleFailures,
  withFailureRecorded,
  withoutStaleFailures,
  type FailurePolicy,
  type FailureState,
  type FailureStage,
} from './failures.js';

export interface IndexerOptions {
  clock: Clock;
  /** Unique-enough suffix for part ids (process id + random); parts of racing indexers never collide. */
  nonce: () => string;
  /** Index when the unindexed tail has at least this many entries... */
  minEntries?: number;
  /** ...or this many bytes... */
  minBytes?: number;
  /** ...or its oldest entry is older than this. */
  maxAgeMs?: number;
  /** Cap on WAL entries / rows folded into one part. */
  maxEntriesPerPart?: number;
  maxRowsPerPart?: number;
  hnsw?: { M?: number; efConstruction?: number; flatThreshold?: number };
  /** Part format to write (default DEFAULT_PART_FORMAT). */
  partFormat?: number;
  /**
   * IVF (part format 3, RFC-0008) or HNSW/flat (format 2, the default) for new parts (vector-index.ts). With IVF a
   * part that gets format 3 ignores `partFormat`.
   */
  vectorIndex?: VectorIndexOptions;
  /** Build part files; defaults to building in this thread (the embedded indexer already runs in a worker). */
  build?: typeof buildPartFiles;
  /**
   * Threads for the shards of a sharded namespace's pass (RFC-0013 "Parallel shard builds"): with more than one part
   * to build, each is built by the pool task `part-build`; without (or with `build`), they build in this thread.
   * The caller owns the pool (creates and closes it).
   */
  buildPool?: TaskPool;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Backoff and recording of namespaces that fail to index (failures.ts). */
  failures?: Partial<FailurePolicy>;
}

export type IndexOutcome =
  /** `part`: the first of `parts` (a sharded namespace publishes one part per shard with changes, RFC-0013). */
  | { ns: string; result: 'published'; part: PartRef; parts: PartRef[]; epoch: number }
  | { ns: string; result: 'idle' | 'not_due' | 'abandoned'; reason?: string }
  /** The namespace failed recently and its backoff has not expired (runOnce only). */
  | { ns: string; result: 'backoff'; reason: string; retry_at: string }
  /** This attempt failed (runOnce only); retried after a backoff, recorded in router.json after maxAttempts. */
  | { ns: string; result: 'failed'; reason: string; attempts: number; recorded: boolean };

export class Indexer {
  private readonly routers: RouterStore;
  private readonly opts: Required<Omit<IndexerOptions, 'hnsw' | 'log' | 'build' | 'buildPool' | 'failures' | 'partFormat' | 'vectorIndex'>> & Pick<IndexerOptions, 'hnsw' | 'log' | 'build' | 'buildPool' | 'partFormat' | 'vectorIndex'>;
  /** Per-namespace failure streaks of this process (backoff, range narrowing, what to record). */
  readonly failures: FailureTracker;

  constructor(
    private readonly store: ObjectStore,
    options: IndexerOptions,
  ) {
    this.routers = new RouterStore(store);
    this.opts = {
      minEntries: 16,
      minBytes: 8 * 1024 * 1024,
      maxAgeMs: 2_000,
      maxEntriesPerPart: 512,
      maxRowsPerPart: 250_000,
      ...options,
    };
    this.failures = new FailureTracker({ ...DEFAULT_FAILURE_POLICY, ...options.failures }, options.clock);
  }

  /**
   * One pass over every namespace (or one). A namespace that throws is backed off (per namespace, capped
   * exponential) and, after `failures.maxAttempts` attempts, recorded in its router.json; the others carry on.
   * Namespaces with a failure streak are visited even if no longer listed (deleted), so their record gets cleared.
   */
  async runOnce(opts: { ns?: string; force?: boolean } = {}): Promise<IndexOutcome[]> {
    const names = opts.ns ? [opts.ns] : [...new Set([...(await this.allNamespaces()), ...this.failures.namespaces()])];
    const out: IndexOutcome[] = [];
    for (const ns of names) {
      if (!this.failures.due(ns)) {
        const s = this.failures.get(ns)!;
        out.push({ ns, result: 'backoff', reason: s.error, retry_at: new Date(s.nextAttemptAt).toISOString() });
        continue;
      }
      try {
        const o = await this.indexNamespace(ns, opts.force ?? false, { maxEntries: this.failures.get(ns)?.rangeCap });
        this.failures.succeed(ns); // it went through (or someone else got past it): the streak is over
        out.push(o);
      } catch (e) {
        out.push(await this.onFailure(ns, e));
      }
    }
    return out;
  }

  private async onFailure(ns: string, e: unknown): Promise<IndexOutcome> {
    const s = this.failures.fail(ns, e);
    const retryInMs = s.nextAttemptAt - this.opts.clock.now();
    let recorded = false;
    if (this.failures.shouldRecord(s)) {
      try {
        recorded = await this.recordFailure(ns, s);
      } catch (re) {
        this.opts.log?.('indexer: could not record the failure in router.json', { ns, error: (re as Error).message });
      }
    }
    this.opts.log?.('indexer: namespace failed', { ns, seq: s.seq, wal_end: s.walEnd, stage: s.stage, attempts: s.attempts, retry_in_ms: retryInMs, recorded, error: s.error });
    return { ns, result: 'failed', reason: (e as Error).message, attempts: s.attempts, recorded };
  }

  /** Write the streak into router.indexer.failed_entries by CAS (epoch + 1). False if the head moved meanwhile. */
  private async recordFailure(ns: string, s: FailureState): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const read = await this.routers.read(ns);
      if (!read || read.router.deleted || s.seq === null || s.seq <= read.router.indexed_wal || s.seq < read.router.wal_start) return false;
      const nowIso = new Date(this.opts.clock.now()).toISOString();
      const next = RouterStore.next(read.router, { indexer: withFailureRecorded(read.router.indexer, s) }, nowIso);
      if ((await this.routers.publish(read.router, read.witness, next)).ok) return true;
    }
    return false;
  }

  /** Drop failure records that are already resolved (deleted namespace, head moved past them) by CAS. */
  private async clearStaleFailures(ns: string, read: RouterRead): Promise<RouterRead> {
    const nowIso = new Date(this.opts.clock.now()).toISOString();
    const next = RouterStore.next(read.router, { indexer: withoutStaleFailures(read.router) }, nowIso);
    const out = await this.routers.publish(read.router, read.witness, next);
    if (!out.ok) return read; // someone else published: the next publish re-reads anyway
    this.opts.log?.('indexer: cleared resolved failure records', { ns, epoch: next.epoch });
    return { router: next, witness: out.witness };
  }

  /** Index until the namespace has no unindexed WAL left (used by tests and `elax indexer --once`). */
  async drain(ns: string): Promise<number> {
    let published = 0;
    for (let i = 0; i < 10_000; i++) {
      const o = await this.indexNamespace(ns, true);
      if (o.result === 'published') published++;
      else if (o.result === 'idle') return published;
    }
    return published;
  }

  private async allNamespaces(): Promise<string[]> {
    const catalog = new NamespaceCatalog(this.store, { clock: this.opts.clock });
    const names: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await listNamespaces(catalog, { cursor, pageSize: 1000 });
      names.push(...page.namespaces.map((n) => n.id));
      if (!page.next_cursor) return names;
      cursor = page.next_cursor;
    }
  }

  /** A pass indexes a tail of at least minEntries entries, or minBytes, or whose oldest entry is maxAgeMs old. */
  private isDue(tail: readonly { size: number; lastModified: number }[]): boolean {
    if (tail.length === 0) return false;
    const bytes = tail.reduce((s, o) => s + o.size, 0);
    const oldestAge = this.opts.clock.now() - tail[0]!.lastModified;
    return tail.length >= this.opts.minEntries || bytes >= this.opts.minBytes || oldestAge >= this.opts.maxAgeMs;
  }

  /**
   * Whether `ns` has WAL entries beyond what is indexed, due or not. Asked by the loop right after a publish: if
   * entries arrived while that pass built its part, indexing is behind its writers and compaction waits (loop.ts).
   */
  async behind(ns: string): Promise<boolean> {
    const read = await this.routers.read(ns);
    if (!read || read.router.deleted) return false;
    const from = Math.max(read.router.indexed_wal, read.router.wal_start - 1);
    return (await new WalLog(this.store, ns).listAfter(from)).length > 0;
  }

  /**
   * RFC-0003 steps 1-6 for one namespace. Throws IndexAttemptError (which range, which stage) when a step fails;
   * an entry that cannot be read or decoded ends the range before it, so the entries ahead of it still get indexed
   * and the bad one fails alone (its own seq is what gets recorded). `maxEntries` narrows the range (failure
   * isolation after a failed build).
   */
  async indexNamespace(ns: string, force = false, opts: { maxEntries?: number } = {}): Promise<IndexOutcome> {
    let read;
    try {
      read = await this.routers.read(ns); // step 1
    } catch (e) {
      throw new IndexAttemptError(ns, null, null, 'read', e);
    }
    if (read && hasStaleFailures(read.router)) read = await this.clearStaleFailures(ns, read);
    if (!read || read.router.deleted) return { ns, result: 'idle', reason: 'no such namespace' };
    const router = read.router;
    const log = new WalLog(this.store, ns);
    const from = Math.max(router.indexed_wal, router.wal_start - 1);
    let tail;
    try {
      tail = await log.listAfter(from); // step 2
    } catch (e) {
      throw new IndexAttemptError(ns, null, null, 'read', e);
    }
    if (tail.length === 0) return { ns, result: 'idle' };
    if (!force && !this.isDue(tail)) return { ns, result: 'not_due' };
    // Step 3: fold a bounded, contiguous range into its final state per id.
    const changes = new Map<Id, Doc | null>();
    const seqs = new Map<Id, number>();
    const idempotencyKeys: string[] = [];
    let schema: Schema = router.schema;
    let metric: DistanceMetric | null = router.distance_metric;
    let sharding: ShardingConfig | undefined = router.sharding;
    let end = from;
    let rows = 0;
    const cap = Math.max(1, Math.min(this.opts.maxEntriesPerPart, opts.maxEntries ?? Infinity));
    for (const o of tail.slice(0, cap)) {
      if (o.seq !== end + 1) break; // never skip an entry
      let entry;
      let stage: FailureStage = 'read';
      try {
        const raw = await log.readBytes(o.seq);
        if (!raw) throw new ElaxError('ELAX_ERR_CORRUPT', `WAL entry ${o.seq} of ${ns} was listed but is gone`);
        stage = 'decode';
        entry = decodeWalEntry(o.seq, raw);
      } catch (e) {
        if (end > from) break; // index what precedes it; it fails alone next time
        throw new IndexAttemptError(ns, o.seq, o.seq, stage, e);
      }
      if (entryVoidIn(entry.meta, router.wal_start)) {
        // Planned on an incarnation a namespace delete ended (RFC-0001 step 5): covered by the range, nothing of it
        // in the part (rows, schema, metric, sharding, keys).
        end = o.seq;
        continue;
      }
      if (rows > 0 && rows + entry.ops.length > this.opts.maxRowsPerPart) break;
      for (const op of entry.ops) {
        const id = op.kind === 'upsert' ? op.doc.id : op.id;
        changes.delete(id);
        changes.set(id, op.kind === 'upsert' ? op.doc : null);
        seqs.set(id, o.seq);
      }
      if (entry.meta.schema) schema = entry.meta.schema;
      if (entry.meta.distance_metric) metric = entry.meta.distance_metric;
      // Only the first entry of an incarnation carries it (write/sharding.ts); the router keeps it from then on.
      if (entry.meta.sharding && router.sharding === undefined) sharding = entry.meta.sharding;
      idempotencyKeys.push(...(entry.meta.idempotency_keys ?? []));
      rows += entry.ops.length;
      end = o.seq;
    }
    if (end === from) return { ns, result: 'idle' };
    const createdAt = new Date(this.opts.clock.now()).toISOString();
    // Sharded (RFC-0013): one part per shard with rows or deletes in the range, built together, published in one CAS.
    const groups = splitByShard(changes, seqs, sharding?.num_shards);
    // One nonce per pass; a shard's part id ends in `.s{shard}`, so the parts of one pass never share an id.
    const passNonce = this.opts.nonce();
    const partIds = groups.map((g) => newPartId(from + 1, end, g.shard === undefined ? passNonce : `${passNonce}.s${g.shard}`));
    const partId = partIds[0]!;
    // Step 4. The shards of a pass build in parallel on the build pool when there is one (RFC-0013 "Parallel shard
    // builds"); a single part builds here (the embedded indexer already runs on its own thread).
    const pool = this.opts.buildPool;
    const onPool = this.opts.build === undefined && pool !== undefined && pool.threads > 0 && groups.length > 1;
    // A shard's rows are packed once (part/packed-input.ts), for its nearest-centroid search and its build.
    const packed = new WeakMap<object, PackedRows>();
    const pack = (input: PartBuildInput) => {
      let rows = packed.get(input.changes);
      if (rows === undefined) packed.set(input.changes, (rows = packRows(input)));
      return packBuildInput(input, rows);
    };
    const build = this.opts.build ?? (onPool ? (input: PartBuildInput) => pool.run('part-build', pack(input)) : buildPartFiles);
    const nearest = onPool ? (input: PartBuildInput) => pool.run('ivf-nearest', pack(input)) : undefined;
    const { built, codebook } = await this.step(ns, from + 1, end, 'build', () =>
      buildGroups(
        this.store,
        ns,
        router,
        groups,
        this.opts.vectorIndex,
        (g, i, vectorIndex): PartBuildInput => ({
          namespace: ns,
          partId: partIds[i]!,
          walStart: from + 1,
          walEnd: end,
          level: 0,
          ...(g.shard !== undefined ? { shard: g.shard } : {}),
          changes: g.changes,
          seqs: g.seqs,
          schema,
          distanceMetric: metric,
          hnsw: vectorIndex ? this.opts.hnsw : formatTwoHnsw(this.opts.vectorIndex, this.opts.hnsw),
          partFormat: vectorIndex ? undefined : this.opts.partFormat,
          vectorIndex,
          createdAt,
          // Keys are looked up namespace-wide (the union over parts): one part holds them.
          idempotencyKeys: i === 0 ? idempotencyKeys : [],
        }),
        build,
        nearest,
      ),
    );
    await this.step(ns, from + 1, end, 'upload', () => Promise.all(built.map((b: BuiltPart) => uploadPart(this.store, b)))); // step 5: files, then manifest.json last
    // A trained or extended codebook is its own object, uploaded before the publish that names it (RFC-0008 §1); if
    // that publish is lost, it is an orphan like the part (GC, RFC-0006).
    const vindex = codebook ? await this.step(ns, from + 1, end, 'upload', () => writeCodebook(this.store, ns, codebook.codebook, this.opts.nonce())) : undefined;
    const vectorIndex = built.some((b) => b.codebook !== undefined);
    const refs: PartRef[] = built.map((b, i) => ({
      id: partIds[i]!,
      wal_start: from + 1,
      wal_end: end,
      rows: b.manifest.rows,
      bytes: b.files.reduce((s, f) => s + f.bytes.length, 0),
      level: 0,
      created_at: createdAt,
      index_kind: b.manifest.index.kind,
      ...(groups[i]!.shard !== undefined ? { shard: groups[i]!.shard } : {}),
    }));
    const ref = refs[0]!;
    // Step 6: publish by CAS; on a lost race, re-read and decide. The rows this part shadows or deletes in older
    // parts die in the same CAS, through new deletion vectors (RFC-0004 §3), recomputed on every attempt.
    let current = router;
    let witness = read.witness;
    const liveness = new LivenessReader(this.store, ns);
    const touched = [...changes.keys()];
    for (let attempt = 0; attempt < 10; attempt++) {
      const epoch = current.epoch + 1;
      const older = await this.step(ns, from + 1, end, 'publish', () => partsAfterPublish(liveness, current, touched, epoch, this.opts.nonce()));
      const next = RouterStore.next(current, {
        format_version: LIVENESS_ROUTER_FORMAT,
        indexed_wal: end,
        parts: [...older, ...refs],
        schema,
        distance_metric: metric,
        ...(sharding ? { sharding } : {}),
        // A new codebook version keeps the namespace's recorded probe depth (RFC-0008 §5).
        ...(vindex ? { vindex: withCodebook(current.vindex, vindex) } : {}),
        // Indexing got past any recorded failure in this range: clear it.
        indexer: { ...clearFailuresUpTo(current.indexer, end), last_success_at: createdAt, last_part: partId },
      }, createdAt);
      const out = await this.step(ns, from + 1, end, 'publish', () => this.routers.publish(current, witness, next));
      if (out.ok) {
        this.opts.log?.('indexer: published part', { ns, part: partId, parts: refs.length, wal_start: ref.wal_start, wal_end: end, rows: refs.reduce((n, r) => n + r.rows, 0), epoch: next.epoch });
        return { ns, result: 'published', part: ref, parts: refs, epoch: next.epoch };
      }
      this.opts.log?.('indexer: router publish conflict', { ns, part: partId, epoch: current.epoch });
      const again = await this.step(ns, from + 1, end, 'publish', () => this.routers.read(ns));
      if (!again || again.router.deleted || again.router.wal_start !== router.wal_start) {
        return { ns, result: 'abandoned', reason: 'namespace deleted or recreated meanwhile' };
      }
      if (again.router.indexed_wal !== router.indexed_wal) {
        // Another indexer published this range (or part of it): ours is an unreferenced orphan for GC.
        return { ns, result: 'abandoned', reason: `lost the race: indexed_wal is now ${again.router.indexed_wal}` };
      }
      if (vectorIndex && again.router.vindex?.codebook !== router.vindex?.codebook) {
        // Our part's centroid ids mean what the codebook we built against says; another lineage may differ.
        return { ns, result: 'abandoned', reason: `the namespace codebook changed meanwhile (now ${again.router.vindex?.codebook ?? 'none'})` };
      }
      // Something else changed (compaction, revive): our range still starts right after indexed_wal; retry on top.
      current = again.router;
      witness = again.witness;
    }
    return { ns, result: 'abandoned', reason: 'router.json kept changing' };
  }

  /** Run one step of indexing WAL seq..walEnd, tagging its failure with the range and stage. */
  private async step<T>(ns: string, seq: number, walEnd: number, stage: FailureStage, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new IndexAttemptError(ns, seq, walEnd, stage, e);
    }
  }
}

export function isRetryable(e: unknown): boolean {
  if (e instanceof IndexAttemptError) e = e.cause;
  return isElaxError(e) && (e.kind === 'unavailable_retry' || e.kind === 'conflict_retry');
}
