/**
 * The materialized state of one namespace as of a WAL sequence: every live document, the effective schema and
 * distance metric, and tail statistics. Built by folding the router's parts (oldest first: tombstones, then rows)
 * and then the WAL entries above router.indexed_wal, in sequence order.
 *
 * A row of a part is live exactly when `docs.get(row.id)` is that same object: any newer source (a later part or
 * a tail entry) replaced or deleted it. ANN search over part indexes uses that identity test to skip shadowed rows.
 */
import type { Doc, Id, Schema, DistanceMetric } from '../core/index.js';
import type { CompiledFilter } from '../filter/index.js';
import { DocsSegment, type Segment } from '../query/index.js';
import type { TextCorpus, TextNeed, TextSegment } from '../fts/index.js';
import type { LoadedPart } from '../part/index.js';
import type { Router } from '../router/index.js';
import type { Witness } from '../store/index.js';
import type { WalEntry } from '../wal/index.js';

export interface TailEntryInfo {
  seq: number;
  bytes: number;
  rows: number;
  committedAt: number;
}

export class NamespaceView {
  readonly namespace: string;
  router: Router;
  routerWitness: Witness;
  /** Highest WAL seq folded into `docs`. */
  headSeq: number;
  readonly docs = new Map<Id, Doc>();
  schema: Schema;
  distanceMetric: DistanceMetric | null;
  /** WAL entries above router.indexed_wal (the unindexed tail), oldest first. */
  readonly tail: TailEntryInfo[] = [];
  /** Idempotency keys of every request folded so far (ingest dedup; never expires). */
  readonly idempotencyKeys = new Set<string>();
  /** Epoch ms of the last successful refresh against the store (eventual consistency uses it). */
  refreshedAt = 0;
  /** Epoch ms of the newest committed entry. */
  updatedAt: number;
  /** Parts of router.parts, loaded, in router order (oldest WAL range first). */
  readonly parts: readonly LoadedPart[];
  /** Ids written or deleted by tail entries (above indexed_wal): their live docs are not in any part index. */
  private readonly tailIds = new Set<Id>();
  private live: Doc[] | null = null;
  /** Cached approxLogicalBytes(); reset whenever the documents change (it walks every document). */
  private logicalBytes: number | null = null;
  /** Per part (router order): which rows are dead, i.e. shadowed by a newer part or by the tail. */
  private readonly dead: PartLiveness[];
  private corpus: TextCorpus | null = null;

  /**
   * `masks`: the parts' deletion vectors under a v2 router (RFC-0004 §3): a row is live iff its mask bit is clear.
   * Null (a v1 router): liveness by folding the parts oldest first (newest version wins, tombstones delete).
   */
  constructor(router: Router, witness: Witness, parts: readonly LoadedPart[] = [], masks: readonly (Uint8Array | null)[] | null = null) {
    this.namespace = router.namespace;
    this.router = router;
    this.routerWitness = witness;
    this.parts = parts;
    if (masks !== null) {
      this.dead = parts.map((part, i) => {
        const l = new PartLiveness(part.docs.length);
        const mask = masks[i] ?? null;
        part.docs.forEach((d, ord) => {
          if (mask !== null && mask[ord] === 1) l.kill(ord);
          else this.docs.set(d.id, d);
        });
        for (const k of part.idempotencyKeys) this.idempotencyKeys.add(k);
        return l;
      });
    } else {
      for (const part of parts) {
        for (const id of part.tombstones) this.docs.delete(id);
        for (const d of part.docs) this.docs.set(d.id, d);
        for (const k of part.idempotencyKeys) this.idempotencyKeys.add(k);
      }
      this.dead = parts.map((part) => {
        const l = new PartLiveness(part.docs.length);
        part.docs.forEach((d, ord) => {
          if (this.docs.get(d.id) !== d) l.kill(ord);
        });
        return l;
      });
    }
    this.headSeq = Math.max(router.wal_start - 1, router.indexed_wal);
    this.schema = structuredClone(router.schema);
    this.distanceMetric = router.distance_metric;
    this.updatedAt = Date.parse(router.updated_at) || 0;
  }

  /** Fetch what a query needs from every part (HNSW indexes, postings) before it runs synchronously. */
  async prepare(need: { index?: boolean; postings?: readonly TextNeed[] }): Promise<void> {
    await Promise.all(this.parts.map((p) => p.prepare(need)));
  }

  /** Live documents whose newest version came from the WAL tail (scanned exactly by every query). */
  tailLiveDocs(): Doc[] {
    const out: Doc[] = [];
    for (const id of this.tailIds) {
      const d = this.docs.get(id);
      if (d) out.push(d);
    }
    return out;
  }

  private segs: Segment[] | null = null;

  /**
   * The view as segments (RFC-0004 §6): each part (its rows, dead mask, postings, vectors), then the live tail
   * documents. Rebuilt after every apply (the tail changed); the parts' masks are shared, not copied.
   */
  segments(): readonly Segment[] {
    if (this.segs === null) {
      const segs: Segment[] = this.parts.map((part, i) => new DocsSegment(part.docs, this.dead[i]!.mask, (attr, analysis) => part.postings(attr, analysis), part.vectorData()));
      segs.push(new DocsSegment(this.tailLiveDocs()));
      this.segs = segs;
    }
    return this.segs;
  }

  /**
   * ANN candidates as a restriction of segments() (query/ execute-segments): each part's index hits that are live and
   * pass `filter`, the tail in full. The same candidates as annCandidates, by ordinal.
   */
  annRestriction(query: Float32Array, k: number, ef: number, filter: CompiledFilter | null): (seg: number) => Int32Array | null {
    const perPart = this.parts.map((_, i) => Int32Array.from(this.partAnnHits(i, query, k, ef, filter), (h) => h.ordinal));
    return (s) => (s < perPart.length ? perPart[s]! : null);
  }

  private partAnnHits(i: number, query: Float32Array, k: number, ef: number, filter: CompiledFilter | null): { ordinal: number }[] {
    const part = this.parts[i]!;
    const rows = part.docs;
    const dead = this.dead[i]!.mask;
    if (filter === null) {
      const hits = part.annSearch(query, k, Math.max(ef, k));
      const live = dead === null ? hits : hits.filter((h) => dead[h.ordinal] !== 1);
      if (live.length === hits.length || live.length >= k) return live;
    }
    const allow = (ord: number) => (dead === null || dead[ord] !== 1) && (filter === null || filter(rows[ord]!));
    return part.annSearch(query, k, Math.max(ef, k), allow);
  }

  /**
   * Candidates for an ANN query: every live tail document, plus each part's nearest live rows that pass `filter`
   * (HNSW with the liveness/filter test inside the search; an exact scan when the filter leaves few rows).
   * The caller ranks the candidates exactly, so the result equals kNN whenever the indexes find the true neighbours.
   */
  annCandidates(query: Float32Array, k: number, ef: number, filter: CompiledFilter | null): { docs: Doc[]; tailScanned: number } {
    const docs = this.tailLiveDocs();
    const tailScanned = docs.length;
    for (let i = 0; i < this.parts.length; i++) {
      const part = this.parts[i]!;
      const rows = part.docs;
      const dead = this.dead[i]!.mask;
      if (filter === null) {
        // Most rows of most parts are live: search the index unfiltered (no per-row callback), keep the live hits,
        // and only fall back to the filtered walk when shadowed rows crowded out the top k.
        const hits = part.annSearch(query, k, Math.max(ef, k));
        const live = dead === null ? hits : hits.filter((h) => dead[h.ordinal] !== 1);
        if (live.length === hits.length || live.length >= k) {
          for (const h of live) docs.push(rows[h.ordinal]!);
          continue;
        }
      }
      // The part builds a mask from `allow` and scans exactly when few rows pass (selective filters starve a walk).
      // Liveness from the part's dead mask (kept in step with this.docs by the constructor and apply), not a map
      // lookup per row: this test runs for every row of every part on a filtered query.
      const allow = (ord: number) => (dead === null || dead[ord] !== 1) && (filter === null || filter(rows[ord]!));
      for (const hit of part.annSearch(query, k, Math.max(ef, k), allow)) docs.push(rows[hit.ordinal]!);
    }
    return { docs, tailScanned };
  }

  /** Fold the next entry. Entries must arrive in sequence order; older ones are ignored (idempotent). */
  apply(entry: WalEntry, bytes: number): void {
    if (entry.seq <= this.headSeq) return;
    const inTail = entry.seq > this.router.indexed_wal;
    for (const op of entry.ops) {
      const id = op.kind === 'upsert' ? op.doc.id : op.id;
      if (inTail && !this.tailIds.has(id)) this.killPartRow(id);
      if (op.kind === 'upsert') this.docs.set(id, op.doc);
      else this.docs.delete(id);
      if (inTail) this.tailIds.add(id);
    }
    if (entry.meta.schema) this.schema = entry.meta.schema;
    if (entry.meta.distance_metric) this.distanceMetric = entry.meta.distance_metric;
    for (const k of entry.meta.idempotency_keys ?? []) this.idempotencyKeys.add(k);
    this.headSeq = entry.seq;
    this.updatedAt = Math.max(this.updatedAt, entry.meta.committed_at);
    if (inTail) {
      this.tail.push({ seq: entry.seq, bytes, rows: entry.ops.length, committedAt: entry.meta.committed_at });
    }
    this.live = null;
    this.logicalBytes = null;
    this.corpus = null;
    this.segs = null;
  }

  /** The part row that is the live version of `id` (if any) is about to be shadowed by the tail. */
  private killPartRow(id: Id): void {
    const current = this.docs.get(id);
    if (current === undefined) return;
    for (let i = this.parts.length - 1; i >= 0; i--) {
      const ord = this.parts[i]!.getOrdinal(id);
      if (ord >= 0 && this.parts[i]!.docs[ord] === current) {
        this.dead[i]!.kill(ord);
        return;
      }
    }
  }

  /** The text corpus for BM25: parts (postings, minus dead rows) and the tail's live documents. Cached until the next apply. */
  textCorpus(): TextCorpus {
    if (this.corpus === null) {
      const segments: TextSegment[] = this.parts.map((part, i) => {
        const l = this.dead[i]!;
        return { docs: part.docs, postings: (attr, analysis) => part.postings(attr, analysis), dead: l.mask, deadOrdinals: l.ordinals() };
      });
      this.corpus = { segments, loose: this.tailLiveDocs() };
    }
    return this.corpus;
  }

  /** All live documents, as a stable array until the next apply (queries scan it). */
  liveDocs(): readonly Doc[] {
    if (!this.live) this.live = Array.from(this.docs.values());
    return this.live;
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

  /** Approximate logical size of the live documents in bytes (vectors + JSON attributes). */
  approxLogicalBytes(): number {
    if (this.logicalBytes !== null) return this.logicalBytes;
    let bytes = 0;
    for (const d of this.docs.values()) {
      bytes += (d.vector ? d.vector.length * 4 : 0) + 16;
      for (const k in d.attrs) {
        const v = d.attrs[k];
        bytes += k.length + (typeof v === 'string' ? v.length : Array.isArray(v) ? v.length * 8 : 8);
      }
    }
    this.logicalBytes = bytes;
    return bytes;
  }
}

/** Dead rows of one part: a mask for scans and a sorted ordinal list for probes (rebuilt only after a change). */
class PartLiveness {
  mask: Uint8Array | null = null;
  private readonly killed: number[] = [];
  private sorted: readonly number[] = [];
  private dirty = false;

  constructor(private readonly rows: number) {}

  kill(ord: number): void {
    this.mask ??= new Uint8Array(this.rows);
    if (this.mask[ord] === 1) return;
    this.mask[ord] = 1;
    this.killed.push(ord);
    this.dirty = true;
  }

  /** Ascending; a new array object after every change (callers cache per-array derived statistics). */
  ordinals(): readonly number[] {
    if (this.dirty) {
      this.sorted = [...this.killed].sort((a, b) => a - b);
      this.dirty = false;
    }
    return this.sorted;
  }
}
