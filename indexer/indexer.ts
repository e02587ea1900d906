/**
 * Indexer worker: turns WAL ranges into parts and publishes them by CAS on router.json (RFC-0003,
 * docs/rfcs/0003-indexer-publish.md). Any number may run against one store; correctness never depends on there
 * being one: a lost publish race is re-read and either retried or abandoned, and an abandoned part is garbage that no
 * router references.
 */
import { ElaxError, isElaxError, type Clock, type Doc, type Id, type Schema, type DistanceMetric } from '../crates-ts/core/index.js';
import type { ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore, type Router, type PartRef } from '../crates-ts/router/index.js';
import { WalLog, decodeWalEntry } from '../crates-ts/wal/index.js';
import { buildPartFiles, uploadPart, newPartId, type PartBuildInput } from '../crates-ts/part/index.js';
import { listNamespaces } from '../crates-ts/engine/index.js';
import { NamespaceCatalog } from '../crates-ts/namespace/index.js';

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
  /** Build part files; defaults to building in this thread (the embedded indexer already runs in a worker). */
  build?: typeof buildPartFiles;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export type IndexOutcome =
  | { ns: string; result: 'published'; part: PartRef; epoch: number }
  | { ns: string; result: 'idle' | 'not_due' | 'abandoned'; reason?: string };

export class Indexer {
  private readonly routers: RouterStore;
  private readonly opts: Required<Omit<IndexerOptions, 'hnsw' | 'log' | 'build'>> & Pick<IndexerOptions, 'hnsw' | 'log' | 'build'>;

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
  }

  /** One pass over every namespace (or one). */
  async runOnce(opts: { ns?: string; force?: boolean } = {}): Promise<IndexOutcome[]> {
    const names = opts.ns ? [opts.ns] : await this.allNamespaces();
    const out: IndexOutcome[] = [];
    for (const ns of names) {
      try {
        out.push(await this.indexNamespace(ns, opts.force ?? false));
      } catch (e) {
        this.opts.log?.('indexer: namespace failed', { ns, error: (e as Error).message });
        out.push({ ns, result: 'abandoned', reason: (e as Error).message });
      }
    }
    return out;
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

  /** RFC-0003 steps 1-6 for one namespace. */
  async indexNamespace(ns: string, force = false): Promise<IndexOutcome> {
    const read = await this.routers.read(ns); // step 1
    if (!read || read.router.deleted) return { ns, result: 'idle', reason: 'no such namespace' };
    const router = read.router;
    const log = new WalLog(this.store, ns);
    const from = Math.max(router.indexed_wal, router.wal_start - 1);
    const tail = await log.listAfter(from); // step 2
    if (tail.length === 0) return { ns, result: 'idle' };
    const bytes = tail.reduce((s, o) => s + o.size, 0);
    const oldestAge = this.opts.clock.now() - tail[0]!.lastModified;
    if (!force && tail.length < this.opts.minEntries && bytes < this.opts.minBytes && oldestAge < this.opts.maxAgeMs) {
      return { ns, result: 'not_due' };
    }
    // Step 3: fold a bounded, contiguous range into its final state per id.
    const changes = new Map<Id, Doc | null>();
    const seqs = new Map<Id, number>();
    const idempotencyKeys: string[] = [];
    let schema: Schema = router.schema;
    let metric: DistanceMetric | null = router.distance_metric;
    let end = from;
    let rows = 0;
    for (const o of tail.slice(0, this.opts.maxEntriesPerPart)) {
      if (o.seq !== end + 1) break; // never skip an entry
      const raw = await log.readBytes(o.seq);
      if (!raw) throw new ElaxError('ELAX_ERR_CORRUPT', `WAL entry ${o.seq} of ${ns} was listed but is gone`);
      const entry = decodeWalEntry(o.seq, raw);
      if (rows > 0 && rows + entry.ops.length > this.opts.maxRowsPerPart) break;
      for (const op of entry.ops) {
        const id = op.kind === 'upsert' ? op.doc.id : op.id;
        changes.delete(id);
        changes.set(id, op.kind === 'upsert' ? op.doc : null);
        seqs.set(id, o.seq);
      }
      if (entry.meta.schema) schema = entry.meta.schema;
      if (entry.meta.distance_metric) metric = entry.meta.distance_metric;
      idempotencyKeys.push(...(entry.meta.idempotency_keys ?? []));
      rows += entry.ops.length;
      end = o.seq;
    }
    if (end === from) return { ns, result: 'idle' };
    const createdAt = new Date(this.opts.clock.now()).toISOString();
    const partId = newPartId(from + 1, end, this.opts.nonce());
    const input: PartBuildInput = {
      namespace: ns,
      partId,
      walStart: from + 1,
      walEnd: end,
      level: 0,
      changes,
      seqs,
      schema,
      distanceMetric: metric,
      hnsw: this.opts.hnsw,
      createdAt,
      idempotencyKeys,
    };
    const built = await (this.opts.build ?? buildPartFiles)(input); // step 4
    await uploadPart(this.store, built); // step 5: files, then manifest.json last
    const ref: PartRef = {
      id: partId,
      wal_start: from + 1,
      wal_end: end,
      rows: built.manifest.rows,
      bytes: built.files.reduce((s, f) => s + f.bytes.length, 0),
      level: 0,
      created_at: createdAt,
      index_kind: built.manifest.index.kind,
    };
    // Step 6: publish by CAS; on a lost race, re-read and decide.
    let current = router;
    let witness = read.witness;
    for (let attempt = 0; attempt < 10; attempt++) {
      const next = RouterStore.next(current, {
        indexed_wal: end,
        parts: [...current.parts, ref],
        schema,
        distance_metric: metric,
        indexer: { ...(current.indexer ?? {}), last_success_at: createdAt, last_part: partId },
      }, createdAt);
      const out = await this.routers.publish(current, witness, next);
      if (out.ok) {
        this.opts.log?.('indexer: published part', { ns, part: partId, wal_start: ref.wal_start, wal_end: end, rows: ref.rows, epoch: next.epoch });
        return { ns, result: 'published', part: ref, epoch: next.epoch };
      }
      const again = await this.routers.read(ns);
      if (!again || again.router.deleted || again.router.wal_start !== router.wal_start) {
        return { ns, result: 'abandoned', reason: 'namespace deleted or recreated meanwhile' };
      }
      if (again.router.indexed_wal !== router.indexed_wal) {
        // Another indexer published this range (or part of it): ours is an unreferenced orphan for GC.
        return { ns, result: 'abandoned', reason: `lost the race: indexed_wal is now ${again.router.indexed_wal}` };
      }
      // Something else changed (compaction, revive): our range still starts right after indexed_wal; retry on top.
      current = again.router;
      witness = again.witness;
    }
    return { ns, result: 'abandoned', reason: 'router.json kept changing' };
  }
}

export function isRetryable(e: unknown): boolean {
  return isElaxError(e) && (e.kind === 'unavailable_retry' || e.kind === 'conflict_retry');
}
