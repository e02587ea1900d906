/**
 * The state of one namespace as of a WAL sequence (RFC-0004 §6): the router's parts with which of their rows are
 * dead, and the WAL tail above router.indexed_wal as a segment. There is no map of documents: queries run over
 * segments, writes look ids up, counts come from the parts' row counts minus their dead rows.
 *
 * Liveness of part rows: under a v2 router, each part's deletion vector (stored, RFC-0004 §3); under a v1 router,
 * computed once here by folding the parts (a row is dead when a newer part holds its id, as a row or a tombstone).
 * Then the tail shadows: every id a tail entry writes or deletes kills its live part row (or its earlier tail row).
 * Invariant L holds throughout: each id has at most one live row, in its newest source.
 */
import { shardOf, type Doc, type Id, type Schema, type DistanceMetric, type ShardingConfig } from '../core/index.js';
import type { CompiledFilter } from '../filter/index.js';
import type { TextNeed } from '../fts/index.js';
import { RowCursor, type FilterSource, type Segment } from '../query/index.js';
import type { ViewPart } from './view-part.js';
import type { Router } from '../router/index.js';
import type { Witness } from '../store/index.js';
import { entryVoidIn, type WalEntry } from '../wal/index.js';
import { TailSegment } from './tail-segment.js';
import type { IvfIndex } from '../ivf/index.js';

export interface TailEntryInfo {
  seq: number;
  bytes: number;
  rows: number;
  committedAt: number;
  /** Tail rows before this entry's first upsert (its place in the view's TailSegment when it was folded). */
  firstRow: number;
  /** The entry's idempotency keys, if any (a carried-over view keeps those of its entries). */
  keys?: readonly string[];
  /** The entry changed the schema or the distance metric. */
  setsSchema?: boolean;
  setsMetric?: boolean;
  /** The entry is void in this incarnation (wal/format.ts entryVoidIn, RFC-0001 step 5): nothing of it was folded. */
  void?: true;
}

/** A publish's carry-over may keep this many rows the parts took over in the shared tail store (TailSegment). */
export const CARRY_SLACK_ROWS = 65_536;

/**
 * applyOps asks its `stop` every this many operations. An upsert of a 128-d row with a full-text attribute folds in
 * ≈ 4-6 µs on a loaded event loop, several times that when the machine is busy, so 256 operations could overshoot a
 * 5 ms slice by several ms (docs/rfcs/0010-worker-pool.md "Tail scans in slices"); 32 keep the overshoot to a
 * fraction of that, at a clock read per 32 rows.
 */
const APPLY_STOP_OPS = 32;

/**
 * How apply() folds an entry: at most `ms` of the event loop at a time, asking every `ops` operations (tests set both
 * low to fold every entry in many slices).
 */
export interface FoldSlice {
  ms: number;
  ops: number;
}

export const DEFAULT_FOLD_SLICE: FoldSlice = { ms: 5, ops: APPLY_STOP_OPS };

/** A row's place in a view: segment index (segments() order) and ordinal. */
export interface ScanPosition {
  seg: number;
  ord: number;
}

/** What a filter-based write looks for: rows `filter` accepts (reading `attrs`) unless `skip` says to pass over them. */
export interface FilterScan {
  filter: CompiledFilter;
  attrs: readonly string[];
  /** The raw filter of `filter`, for parts with filter indexes (RFC-0009): their masks replace or narrow the pass. */
  source?: FilterSource;
  skip?: (seg: number, ord: number, row: Doc) => boolean;
}

export class NamespaceView {
  readonly namespace: string;
  router: Router;
  routerWitness: Witness;
  /** Highest WAL seq folded into the view. */
  headSeq: number;
  schema: Schema;
  distanceMetric: DistanceMetric | null;
  /** Namespace sharding (RFC-0013): the router's, or the first tail entry's when not indexed yet; null = unsharded. */
  sharding: ShardingConfig | null;
  /** WAL entries above router.indexed_wal (the unindexed tail), oldest first. */
  readonly tail: TailEntryInfo[] = [];
  /** Idempotency keys of the tail's requests (the parts' are looked up: hasKeys). */
  readonly idempotencyKeys = new Set<string>();
  /** Epoch ms of the last successful refresh against the store (eventual consistency uses it). */
  refreshedAt = 0;
  /** Epoch ms of the newest committed entry. */
  updatedAt: number;
  /** Parts of router.parts in router order (oldest WAL range first). */
  readonly parts: readonly ViewPart[];
  /** Tail ids whose shadowing of part rows is not resolved yet (settle()). */
  private pending: Id[] = [];
  /** Ids a settle() took from `pending` and is looking up (a carry-over meanwhile resolves them again). */
  private readonly settling = new Set<Id[]>();
  /** The settle() step in flight (one at a time: every other settle() waits for it). */
  private resolving: Promise<void> | null = null;
  /**
   * Part rows the tail killed (settle()): part index, ordinal and the tail id that did. A publish that keeps the part
   * kills them again in the new view's deletion vectors when the id is still in the tail (carryOver).
   */
  private killLog: { part: number; ord: number; id: Id }[] = [];
  /** The tail's rows. */
  readonly tailRows: TailSegment;
  /**
   * The view of a newer router this one was carried over into (carryOver): its tail index moved there, so lookups are
   * answered by it (same or newer state); its segments stay this view's.
   */
  private successor: NamespaceView | null = null;
  /** Per part (router order): which rows are dead. */
  private readonly dead: PartLiveness[];
  private segs: Segment[] | null = null;
  /** The tail row of the first operation of the entry being folded by applyOps (-1: none under way). */
  private applyingFirstRow = -1;
  /** The namespace codebook as an IVF index (router.vindex; cached by the catalog), or null when it has none. */
  ivfIndex: (() => Promise<IvfIndex>) | null = null;
  private logicalBytes: number | null = null;
  /** How apply() slices a large entry (FoldSlice). */
  foldSlice: FoldSlice = DEFAULT_FOLD_SLICE;
  /**
   * A fold in slices under way (apply): resolves once every entry handed to apply() is folded whole. Meanwhile
   * segments() is the view as of the last whole entry, and settle() (so every reader that needs the newest state:
   * queries, lookups, write resolution) waits for it.
   */
  private folding: Promise<void> | null = null;
  /** Entries handed to apply() while a fold was under way, folded after it in order. */
  private readonly foldQueue: { entry: WalEntry; bytes: number }[] = [];
  /** Highest seq handed to apply(): folded, being folded, or queued. */
  private acceptedHead = -1;
  /** Set when folding an entry threw: the view holds part of it and must not be used again (the catalog drops it). */
  failed: unknown = null;

  /**
   * `masks`: the parts' deletion vectors under a v2 router (a row is live iff its bit is clear); null under a v1
   * router (liveness by folding the parts).
   */
  constructor(router: Router, witness: Witness, parts: readonly ViewPart[] = [], masks: readonly (Uint8Array | null)[] | null = null, tail?: TailSegment) {
    this.tailRows = tail ?? new TailSegment();
    this.namespace = router.namespace;
    this.router = router;
    this.routerWitness = witness;
    this.parts = parts;
    // Deletion vectors are shared with the cache (copied only when the tail kills a row of that part) and counted by
    // the router: building a view costs nothing per row (RFC-0004 §9).
    this.dead = masks !== null ? parts.map((p, i) => PartLiveness.shared(p.rows, masks[i] ?? null, router.parts[i]?.deletes?.count ?? 0)) : foldLiveness(parts);
    this.headSeq = Math.max(router.wal_start - 1, router.indexed_wal);
    this.schema = structuredClone(router.schema);
    this.distanceMetric = router.distance_metric;
    this.sharding = router.sharding ?? null;
    this.updatedAt = Date.parse(router.updated_at) || 0;
  }

  /** Fetch what a query needs from every part (HNSW indexes, postings), for callers that only warm caches. */
  async prepare(need: { index?: boolean; postings?: readonly TextNeed[] }): Promise<void> {
    const releases = await Promise.all(this.segments().map((s) => s.prepare({ attrs: [], vectors: false, ...need })));
    for (const r of releases) r();
  }

  /**
   * Resolve the shadowing of part rows by tail entries folded since the last call (id lookups, RFC-0004 §4). Every
   * reader of the view awaits it first; apply() only records the ids (it is synchronous).
   *
   * One lookup runs at a time, and every caller waits for the one in flight: a reader that came in while another's
   * lookup ran found nothing pending and read the view with those part rows still live — a part's older row beside
   * (or instead of) its tail row. The soak (bench/soak.ts, seed 25) caught fresh servers answering strong reads so.
   */
  async settle(): Promise<void> {
    while (this.folding !== null || this.resolving !== null || this.pending.length > 0) {
      if (this.folding !== null) {
        // The entry being folded: its ids are resolved once it is whole (its rows are not visible before).
        await this.folding;
        if (this.failed !== null) throw this.failed;
        continue;
      }
      if (this.resolving !== null) {
        // Another reader's lookup: its kills are in once it settles (its failure puts its ids back in `pending`,
        // which this loop then looks up itself).
        await this.resolving.catch(() => undefined);
        continue;
      }
      const step = this.resolvePending();
      this.resolving = step;
      try {
        await step;
      } finally {
        if (this.resolving === step) this.resolving = null;
      }
    }
  }

  /** One settle() step: the pending ids' live part rows looked up, and killed. */
  private async resolvePending(): Promise<void> {
    const ids = this.pending;
    this.pending = [];
    this.settling.add(ids);
    let kills: Map<Id, { part: number; ord: number }>;
    try {
      kills = await this.livePartRows(ids);
    } catch (e) {
      // Still unresolved (a part file GC took, say): the next settle, or a carry-over of this view, resolves them.
      this.pending.push(...ids);
      throw e;
    } finally {
      this.settling.delete(ids);
    }
    for (const [id, at] of kills) {
      this.dead[at.part]!.kill(at.ord);
      this.killLog.push({ part: at.part, ord: at.ord, id });
    }
    this.segs = null;
    this.logicalBytes = null;
  }

  /**
   * The view as segments (RFC-0004 §6): each part (its rows, dead mask, postings, vectors), then the tail. Rebuilt
   * after every apply. A query reads one state even while writes land meanwhile (queries stream segments, and BM25
   * reads each one twice: statistics, then scoring): the parts' masks are shared, never written once handed out
   * (the next kill copies), and the tail is a snapshot (its rows and dead mask as of now).
   */
  segments(): readonly Segment[] {
    if (this.segs === null) {
      const segs: Segment[] = this.parts.map((part, i) => part.segment(this.dead[i]!.handOut()));
      segs.push(this.tailRows.snapshot());
      this.segs = segs;
    }
    return this.segs;
  }

  /**
   * ANN candidates as a restriction of segments() (query/ execute-segments): each indexed part's index hits that are
   * live and pass `filter`; flat parts and the tail in full (scanned exactly). Segments must be prepared (index,
   * filter columns). Parts for which `exact(i)` holds are scanned exactly too (their index is not in memory).
   */
  annRestriction(
    query: Float32Array,
    k: number,
    ef: number,
    filter: CompiledFilter | null,
    attrs: readonly string[],
    exact: (seg: number) => boolean = () => false,
    source?: FilterSource,
  ): (seg: number) => Int32Array | null {
    const segs = this.segments();
    const perPart = this.parts.map((_, i) => {
      if (exact(i)) return null;
      const hits = this.partAnnHits(i, segs[i]!, query, k, ef, filter, attrs, source);
      return hits === null ? null : Int32Array.from(hits, (h) => h.ordinal);
    });
    return (s) => (s < perPart.length ? perPart[s]! : null);
  }

  private partAnnHits(
    i: number,
    seg: Segment,
    query: Float32Array,
    k: number,
    ef: number,
    filter: CompiledFilter | null,
    attrs: readonly string[],
    source?: FilterSource,
  ): { ordinal: number }[] | null {
    if (!seg.annSearch) return null;
    const dead = this.dead[i]!.mask;
    if (filter === null) {
      // Most rows of most parts are live: search unfiltered (no per-row callback), keep the live hits, and only fall
      // back to the filtered walk when shadowed rows crowded out the top k.
      const hits = seg.annSearch(query, k, Math.max(ef, k), null);
      if (hits === null) return null;
      const live = dead === null ? hits : hits.filter((h) => dead[h.ordinal] !== 1);
      if (live.length === hits.length || live.length >= k) return live;
    }
    // Liveness from the dead mask, the filter through a cursor onto the part's columns: this test runs for every row.
    // With filter indexes (RFC-0009) the part's mask answers first: alone when exact, else before the closure.
    const m = filter !== null && source && seg.filterMask ? seg.filterMask(source.filter, source.compileLeaf) : null;
    if (m !== null) {
      const mask = m.mask;
      if (m.exact) return seg.annSearch(query, k, Math.max(ef, k), (ord) => mask[ord] === 1 && (dead === null || dead[ord] !== 1));
      const cur = new RowCursor(seg, attrs);
      return seg.annSearch(query, k, Math.max(ef, k), (ord) => mask[ord] === 1 && (dead === null || dead[ord] !== 1) && filter!(cur.at(ord)));
    }
    const cursor = filter === null ? null : new RowCursor(seg, attrs);
    const allow = (ord: number) => (dead === null || dead[ord] !== 1) && (cursor === null || filter!(cursor.at(ord)));
    return seg.annSearch(query, k, Math.max(ef, k), allow);
  }

  /**
   * The highest WAL seq handed to apply() (folded, or being folded in slices): what the catalog lists the WAL after and
   * compares a commit's seq with. headSeq is the highest seq folded whole.
   */
  get acceptedSeq(): number {
    return Math.max(this.headSeq, this.acceptedHead);
  }

  /**
   * No entry of this incarnation folded (or indexed) yet but void ones (RFC-0001 step 5): the next entry is the
   * inaugural write, which may configure sharding (write/sharding.ts).
   */
  get inaugural(): boolean {
    return this.router.indexed_wal <= this.router.wal_start - 1 && this.acceptedSeq === this.headSeq && this.tail.every((t) => t.void === true);
  }

  /** Whether an entry is being folded in slices (apply). */
  get isFolding(): boolean {
    return this.folding !== null;
  }

  /** Resolves when no fold in slices is under way. */
  async folded(): Promise<void> {
    while (this.folding !== null) await this.folding;
  }

  /**
   * Fold the next entry. Entries must arrive in sequence order; older ones are ignored (idempotent). A large entry (a
   * group commit of thousands of rows) is folded in slices of foldSlice.ms, giving the event loop back in between
   * (docs/rfcs/0010-worker-pool.md "What is left": a commit's fold held the loop 30-45 ms). Until it is whole, readers
   * see the view as of the entry before it: segments() hides its rows (TailSegment.beginEntry) and settle() waits for
   * it, so a query after the write's acknowledgement (which settles) sees all of it, and no query sees part of it.
   * Entries handed in meanwhile are queued behind it.
   */
  apply(entry: WalEntry, bytes: number): void {
    if (this.failed !== null || entry.seq <= this.acceptedSeq) return;
    this.acceptedHead = entry.seq;
    if (this.folding !== null) {
      this.foldQueue.push({ entry, bytes });
      return;
    }
    const at = this.foldSome(entry, bytes, 0);
    if (at < entry.ops.length) this.folding = this.foldRest(entry, bytes, at);
  }

  /** One slice of `entry` from operation `from` (applyOps with the fold's stop); the index of the first not folded. */
  private foldSome(entry: WalEntry, bytes: number, from: number): number {
    const started = performance.now();
    const { ms, ops } = this.foldSlice;
    try {
      return this.applyOps(entry, bytes, from, () => performance.now() - started >= ms, ops);
    } catch (e) {
      this.failed = e;
      throw e;
    }
  }

  private async foldRest(first: WalEntry, firstBytes: number, firstAt: number): Promise<void> {
    let entry = first;
    let bytes = firstBytes;
    let at = firstAt;
    try {
      for (;;) {
        while (at < entry.ops.length) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          at = this.foldSome(entry, bytes, at);
        }
        const next = this.foldQueue.shift();
        if (next === undefined) break;
        entry = next.entry;
        bytes = next.bytes;
        at = this.foldSome(entry, bytes, 0);
      }
    } catch (e) {
      this.failed ??= e;
      this.foldQueue.length = 0;
    } finally {
      this.folding = null;
    }
  }

  /**
   * Folds the operations of `entry` from `from` on, until `stop()` (asked every APPLY_STOP_OPS operations) says to
   * stop; returns the index of the first operation not folded: ops.length once the entry is folded and recorded (or
   * ignored: an entry at or below the head, a superseded view). Between a call that stopped and the next one (from
   * the returned index) the view holds part of an entry: only for a view no reader holds yet (a rebuilt view being
   * replayed, catalog.ts replayCached), so that a large entry's replay yields to the event loop too.
   */
  applyOps(entry: WalEntry, bytes: number, from: number, stop: (() => boolean) | null, every = APPLY_STOP_OPS): number {
    const ops = entry.ops;
    if (from === 0) {
      // A superseded view takes no more entries: its successor folds them (the catalog hands them to the current view).
      if (entry.seq <= this.headSeq || this.successor !== null) return ops.length;
      if (entryVoidIn(entry.meta, this.router.wal_start)) {
        // Planned on another incarnation's state (RFC-0001 step 5): its seq is folded, nothing else of it (rows,
        // schema, metric, sharding, keys). Its bytes stay counted: it is in the unindexed WAL until a part covers it.
        this.tail.push({ seq: entry.seq, bytes, rows: 0, committedAt: entry.meta.committed_at, firstRow: this.tailRows.rows, void: true });
        this.headSeq = entry.seq;
        return ops.length;
      }
      this.applyingFirstRow = this.tailRows.rows;
      // Until the entry is whole, a snapshot of the tail is the tail before it; segs (if built) is that state already.
      this.tailRows.beginEntry();
    } else if (this.applyingFirstRow < 0) throw new Error(`entry ${entry.seq} resumed at operation ${from} without its start`);
    for (let i = from; i < ops.length; i++) {
      if (stop !== null && i > from && (i - from) % every === 0 && stop()) return i;
      const op = ops[i]!;
      const id = op.kind === 'upsert' ? op.doc.id : op.id;
      // The first tail operation on an id shadows its live part row (resolved by settle()); later ones replace the
      // earlier tail row.
      if (this.parts.length > 0 && !this.tailRows.has(id)) this.pending.push(id);
      if (op.kind === 'upsert') this.tailRows.upsert(op.doc);
      else this.tailRows.delete(id, entry.seq);
    }
    const firstRow = this.applyingFirstRow;
    this.applyingFirstRow = -1;
    this.tailRows.endEntry();
    if (entry.meta.schema) this.schema = entry.meta.schema;
    if (entry.meta.distance_metric) this.distanceMetric = entry.meta.distance_metric;
    if (entry.meta.sharding) this.sharding = entry.meta.sharding;
    const keys = entry.meta.idempotency_keys;
    for (const k of keys ?? []) this.idempotencyKeys.add(k);
    this.headSeq = entry.seq;
    this.updatedAt = Math.max(this.updatedAt, entry.meta.committed_at);
    const info: TailEntryInfo = { seq: entry.seq, bytes, rows: entry.ops.length, committedAt: entry.meta.committed_at, firstRow };
    if (keys && keys.length > 0) info.keys = keys;
    if (entry.meta.schema) info.setsSchema = true;
    if (entry.meta.distance_metric) info.setsMetric = true;
    this.tail.push(info);
    this.segs = null;
    this.logicalBytes = null;
    return ops.length;
  }

  /**
   * The live part row of each id (the newest part holding it; older ones are dead by Invariant L), by batched lookups
   * newest part first. Ids no part holds live are absent.
   */
  private async livePartRows(ids: readonly Id[]): Promise<Map<Id, { part: number; ord: number }>> {
    const out = new Map<Id, { part: number; ord: number }>();
    let remaining = Array.from(new Set(ids));
    const v1 = this.router.format_version < 2;
    // Sharded (RFC-0013): an id only ever lives in its shard's parts; the others are not asked.
    const n = this.router.sharding?.num_shards;
    const shardOfId = n === undefined ? null : new Map(remaining.map((id) => [id, shardOf(id, n)]));
    for (let i = this.parts.length - 1; i >= 0 && remaining.length > 0; i--) {
      const part = this.parts[i]!;
      const shard = this.router.parts[i]?.shard;
      const asked = shardOfId === null || shard === undefined ? remaining : remaining.filter((id) => shardOfId.get(id) === shard);
      if (asked.length === 0) continue;
      const found = await part.lookup(asked);
      const next: Id[] = asked === remaining ? [] : remaining.filter((id) => shardOfId!.get(id) !== shard);
      // An index loop: this runs once per fold and part, mostly unoptimised, where a for-of allocates every step.
      for (let j = 0; j < asked.length; j++) {
        const id = asked[j]!;
        const ord = found.get(id);
        if (ord === undefined) {
          // Under a v1 router a tombstone in a newer part deletes the id from every older one.
          if (!(v1 && part.tombstones.has(id))) next.push(id);
          continue;
        }
        if (!this.dead[i]!.isDead(ord)) out.set(id, { part: i, ord });
      }
      remaining = next;
    }
    return out;
  }

  /** The live documents of `ids` (absent: no such live document). What write resolution reads (RFC-0004 §7). */
  async lookup(ids: Iterable<Id>): Promise<Map<Id, Doc>> {
    if (this.successor !== null) return this.successor.lookup(ids);
    await this.settle();
    if (this.successor !== null) return (this as NamespaceView).successor!.lookup(ids);
    const out = new Map<Id, Doc>();
    const inParts: Id[] = [];
    for (const id of ids) {
      const t = this.tailRows.get(id);
      if (t === undefined) inParts.push(id);
      else if (t !== null) out.set(id, t);
    }
    const rows = await this.livePartRows(inParts);
    const byPart = new Map<number, Id[]>();
    for (const [id, at] of rows) byPart.set(at.part, [...(byPart.get(at.part) ?? []), id]);
    await Promise.all(
      [...byPart].map(async ([p, list]) => {
        const docs = await this.parts[p]!.docs(list.map((id) => rows.get(id)!.ord));
        list.forEach((id, j) => out.set(id, docs[j]!));
      }),
    );
    return out;
  }

  /** Which of `keys` a request folded into the view carried (ingest dedup): the tail's, then the parts'. */
  async hasKeys(keys: readonly string[]): Promise<Set<string>> {
    // As lookup(): the newest state, every entry handed to apply() folded (an entry's keys are the view's once whole).
    if (this.successor !== null) return this.successor.hasKeys(keys);
    await this.settle();
    if (this.successor !== null) return (this as NamespaceView).successor!.hasKeys(keys);
    const out = new Set(keys.filter((k) => this.idempotencyKeys.has(k)));
    const rest = keys.filter((k) => !out.has(k));
    if (rest.length > 0) for (const found of await Promise.all(this.parts.map((p) => p.hasKeys(rest)))) for (const k of found) out.add(k);
    return out;
  }

  /**
   * Visits the live rows `scan.filter` accepts (and `scan.skip` does not pass over), segment by segment in view order,
   * until `max` were found: `take` gets each segment's matching ordinals while the segment is prepared (its filter
   * columns only, released after). What filter-based writes read (RFC-0004 §7): never the whole namespace at once.
   */
  private async scanMatches(scan: FilterScan, max: number, take: (s: number, seg: Segment, ords: number[]) => Promise<void> | void): Promise<void> {
    await this.settle();
    const segs = this.segments();
    let found = 0;
    for (let s = 0; s < segs.length && found < max; s++) {
      const seg = segs[s]!;
      const release = await seg.prepare({ attrs: scan.attrs, vectors: false, filterIndexes: scan.source?.attrs, fuzzyIndexes: scan.source?.fuzzyAttrs });
      try {
        const cursor = new RowCursor(seg, scan.attrs);
        const dead = seg.dead;
        const skip = scan.skip;
        const ords: number[] = [];
        const src = scan.source;
        const m = src && seg.filterMask ? seg.filterMask(src.filter, src.compileLeaf) : null;
        const mask = m?.mask ?? null;
        const residual = m === null || !m.exact;
        for (let o = 0; o < seg.rows && found < max; o++) {
          if (dead !== null && dead[o] === 1) continue;
          if (mask !== null && mask[o] !== 1) continue;
          const row = cursor.at(o);
          if ((residual && !scan.filter(row)) || (skip !== undefined && skip(s, o, row))) continue;
          ords.push(o);
          found++;
        }
        if (ords.length > 0) await take(s, seg, ords);
      } finally {
        release();
      }
    }
  }

  /**
   * Live documents that the scan accepts, at most `max` (patch_by_filter): only the matches become documents.
   */
  async matching(scan: FilterScan, max: number): Promise<Doc[]> {
    const out: Doc[] = [];
    await this.scanMatches(scan, max, async (_s, seg, ords) => void out.push(...(await seg.docs(ords))));
    return out;
  }

  /**
   * The ids of the live rows the scan accepts, at most `max`, in view order (delete_by_filter: no document is built,
   * one id per match). `mark`: also where the match with that index lies (a later scan can then tell the rows up to
   * it, FilterScan.skip).
   */
  async matchingIds(scan: FilterScan, max: number, mark = -1): Promise<{ ids: Id[]; marked: ScanPosition | null }> {
    const ids: Id[] = [];
    let marked: ScanPosition | null = null;
    await this.scanMatches(scan, max, (s, seg, ords) => {
      if (mark >= ids.length && mark < ids.length + ords.length) marked = { seg: s, ord: ords[mark - ids.length]! };
      for (const o of ords) ids.push(seg.id(o));
    });
    return { ids, marked };
  }

  /** Every live document, part by part in chunks (export): O(namespace) by request, never on a query's path. */
  async *liveDocs(chunk = 4096): AsyncGenerator<Doc> {
    await this.settle();
    for (let i = 0; i < this.parts.length; i++) {
      const part = this.parts[i]!;
      const l = this.dead[i]!;
      for (let start = 0; start < part.rows; start += chunk) {
        const ords: number[] = [];
        for (let o = start; o < Math.min(part.rows, start + chunk); o++) if (!l.isDead(o)) ords.push(o);
        yield* await part.docs(ords);
      }
    }
    yield* this.tailRows.liveDocs();
  }

  /**
   * The view of `router` (same incarnation, format 2: liveness from deletion vectors) when its parts cover a WAL prefix
   * of this view's tail, built from this view instead of replaying the tail (issue 17: a publish costs what it indexed,
   * not the tail). `entryAt(seq)` gives the tail entries the publish covers (the catalog's cache). The new view:
   *  - the tail segment carried over (TailSegment.carryOver): the rows of the covered entries dropped, the others kept
   *    as they are (not decoded nor appended again), with their dead mask, counts and text memos;
   *  - the new router's parts and deletion vectors, which already kill the part rows the covered entries replaced;
   *    the tail's kills of rows of parts the router kept are redone from the kill log when the id is still in the tail;
   *  - shadowing to resolve (settle) only for the ids of the new parts that may also be in the tail: the covered
   *    entries' ids that the tail wrote again, and the killed rows of parts the router dropped (a compaction merged
   *    them) — not every tail id;
   *  - the tail entries, idempotency keys, schema and metric a rebuild would give.
   * Null when it cannot, and the caller rebuilds (replays the tail) as before: a v1 router on either side, a superseded
   * view, a router that moved backwards or past this view's head (a gap: entries this view never saw), a covered
   * entry missing from `entryAt`, or when the store would then hold more rows the parts took over than the tail
   * keeps (plus `slackRows`, default CARRY_SLACK_ROWS): a rebuild then costs O(tail) ≤ O(rows indexed since the last one), and frees them.
   * This view is superseded: lookups go to the new view, its segments stay as they were.
   */
  carryOver(
    router: Router,
    witness: Witness,
    parts: readonly ViewPart[],
    masks: readonly (Uint8Array | null)[] | null,
    idsAt: (seq: number) => readonly Id[] | undefined,
    slackRows = CARRY_SLACK_ROWS,
  ): NamespaceView | null {
    const was = this.router;
    // Mid-fold (apply in slices) the tail holds part of an entry: the caller waits for it (catalog.carry) or rebuilds.
    if (this.folding !== null || this.applyingFirstRow >= 0 || this.failed !== null) return null;
    if (this.successor !== null || masks === null || was.format_version < 2 || router.format_version < 2) return null;
    if (router.indexed_wal < was.indexed_wal || router.indexed_wal > this.headSeq || router.wal_start - 1 > this.headSeq) return null;
    // The tail entries the new parts cover, and the first one they do not.
    let keep = 0;
    while (keep < this.tail.length && this.tail[keep]!.seq <= router.indexed_wal) keep++;
    const drop = keep < this.tail.length ? this.tail[keep]!.firstRow : this.tailRows.rows;
    const windowRows = this.tailRows.rows - drop;
    if (this.tailRows.storeDroppedRows + drop > windowRows + slackRows) return null;
    const covered: (readonly Id[])[] = [];
    for (let i = 0; i < keep; i++) {
      const ids = this.tail[i]!.void ? [] : idsAt(this.tail[i]!.seq); // a void entry wrote no tail row
      if (ids === undefined) return null;
      covered.push(ids);
    }
    function* prefixIds(): Generator<Id> {
      for (const ids of covered) yield* ids;
    }
    // Ids being resolved against this view's parts (settle() in flight): the new view resolves them again.
    const unresolved = [...this.pending];
    for (const batch of this.settling) unresolved.push(...batch);

    // The covered ids written again later in the tail: each shadows its row in the new part (settle()).
    const pending: Id[] = [];
    const tail = this.tailRows.carryOver(drop, router.indexed_wal, prefixIds(), pending);
    const next = new NamespaceView(router, witness, parts, masks, tail);
    this.successor = next;
    // Kills of rows of parts the router kept, by ids still in the tail; those of dropped parts are looked up again.
    const partIndex = new Map<string, number>();
    parts.forEach((p, i) => partIndex.set(p.id, i));
    for (const k of this.killLog) {
      if (!tail.has(k.id)) continue; // the id's tail operations are all covered: the deletion vectors say it
      const j = partIndex.get(this.parts[k.part]!.id);
      if (j === undefined) pending.push(k.id);
      else {
        next.dead[j]!.kill(k.ord);
        next.killLog.push({ part: j, ord: k.ord, id: k.id });
      }
    }
    for (const id of unresolved) if (tail.has(id)) pending.push(id);
    if (parts.length > 0) next.pending = pending;

    const kept = this.tail.slice(keep);
    let updatedAt = Date.parse(router.updated_at) || 0;
    for (const t of kept) {
      next.tail.push({ ...t, firstRow: t.firstRow - drop });
      for (const k of t.keys ?? []) next.idempotencyKeys.add(k);
      if (!t.void) updatedAt = Math.max(updatedAt, t.committedAt);
    }
    next.updatedAt = updatedAt;
    if (kept.some((t) => t.setsSchema)) next.schema = this.schema;
    if (kept.some((t) => t.setsMetric)) next.distanceMetric = this.distanceMetric;
    next.sharding = router.sharding ?? (router.wal_start === was.wal_start ? this.sharding : null);
    next.headSeq = this.headSeq;
    return next;
  }

  /** Live rows: the parts' rows minus their dead ones, plus the live tail rows. O(parts). */
  get liveCount(): number {
    let n = this.tailRows.liveRows;
    for (let i = 0; i < this.parts.length; i++) n += this.parts[i]!.rows - this.dead[i]!.count;
    return n;
  }

  /** Live rows of the tail (scanned exactly by every query). */
  get tailLiveCount(): number {
    return this.tailRows.liveRows;
  }

  get unindexedBytes(): number {
    let b = 0;
    for (const t of this.tail) b += t.bytes;
    return b;
  }

  get unindexedRows(): number {
    let r = 0;
    for (const t of this.tail) r += t.rows;
    return r;
  }

  /**
   * Approximate logical size of the live documents (vectors + attributes): each part's size scaled by its live
   * fraction, plus the live tail documents (counted as they are folded). O(parts).
   */
  approxLogicalBytes(): number {
    if (this.logicalBytes !== null) return this.logicalBytes;
    let bytes = 0;
    for (let i = 0; i < this.parts.length; i++) {
      const p = this.parts[i]!;
      const rows = p.rows;
      if (rows > 0) bytes += Math.round((p.logicalBytes() * (rows - this.dead[i]!.count)) / rows);
    }
    bytes += this.tailRows.liveBytes;
    this.logicalBytes = bytes;
    return bytes;
  }
}

export { docLogicalBytes } from '../core/index.js';

/** v1 routers: a row is dead when a newer part holds its id as a row or a tombstone (the fold, newest first). */
function foldLiveness(viewParts: readonly ViewPart[]): PartLiveness[] {
  const out: PartLiveness[] = new Array(viewParts.length);
  const newer = new Set<Id>();
  for (let i = viewParts.length - 1; i >= 0; i--) {
    const part = viewParts[i]!.decoded;
    if (part === null) throw new Error('a part under a v1 router must be decoded (catalog loads LoadedParts for v1 routers)');
    const l = new PartLiveness(part.docs.length);
    part.docs.forEach((d, o) => {
      if (newer.has(d.id)) l.kill(o);
    });
    out[i] = l;
    for (const d of part.docs) newer.add(d.id);
    for (const id of part.tombstones) newer.add(id);
  }
  return out;
}

/** Dead rows of one part: a mask (1 = dead) for scans, and a count. */
class PartLiveness {
  mask: Uint8Array | null = null;
  count = 0;
  /** The mask is shared (a stored deletion vector in the cache, or handed out to segments): copy before writing. */
  private sharedMask = false;

  constructor(private readonly rows: number) {}

  /** From a stored deletion vector (and its count, from the router), shared until a tail kill writes to it. */
  static shared(rows: number, mask: Uint8Array | null, count: number): PartLiveness {
    const l = new PartLiveness(rows);
    if (mask !== null) {
      l.mask = mask;
      l.count = count;
      l.sharedMask = true;
    }
    return l;
  }

  isDead(ord: number): boolean {
    return this.mask !== null && this.mask[ord] === 1;
  }

  /** The mask for a segment: from now on it is never written (the next kill works on a copy). */
  handOut(): Uint8Array | null {
    if (this.mask !== null) this.sharedMask = true;
    return this.mask;
  }

  kill(ord: number): void {
    if (this.mask !== null && this.mask[ord] === 1) return;
    if (this.sharedMask) {
      this.mask = this.mask!.slice();
      this.sharedMask = false;
    }
    this.mask ??= new Uint8Array(this.rows);
    this.mask[ord] = 1;
    this.count++;
  }
}
