/**
 * The materialized state of one namespace as of a WAL sequence: every live document, the effective schema and
 * distance metric, and tail statistics. Built by folding WAL entries in sequence order onto the router's state.
 *
 * Until parts exist (indexer issue), the fold starts from an empty namespace at router.wal_start.
 */
import type { Doc, Id, Schema, DistanceMetric } from '../core/index.js';
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
  private live: Doc[] | null = null;

  constructor(router: Router, witness: Witness) {
    this.namespace = router.namespace;
    this.router = router;
    this.routerWitness = witness;
    this.headSeq = router.wal_start - 1;
    this.schema = structuredClone(router.schema);
    this.distanceMetric = router.distance_metric;
    this.updatedAt = Date.parse(router.updated_at) || 0;
  }

  /** Fold the next entry. Entries must arrive in sequence order; older ones are ignored (idempotent). */
  apply(entry: WalEntry, bytes: number): void {
    if (entry.seq <= this.headSeq) return;
    for (const op of entry.ops) {
      if (op.kind === 'upsert') this.docs.set(op.doc.id, op.doc);
      else this.docs.delete(op.id);
    }
    if (entry.meta.schema) this.schema = entry.meta.schema;
    if (entry.meta.distance_metric) this.distanceMetric = entry.meta.distance_metric;
    for (const k of entry.meta.idempotency_keys ?? []) this.idempotencyKeys.add(k);
    this.headSeq = entry.seq;
    this.updatedAt = Math.max(this.updatedAt, entry.meta.committed_at);
    if (entry.seq > this.router.indexed_wal) {
      this.tail.push({ seq: entry.seq, bytes, rows: entry.ops.length, committedAt: entry.meta.committed_at });
    }
    this.live = null;
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
    let bytes = 0;
    for (const d of this.docs.values()) {
      bytes += (d.vector ? d.vector.length * 4 : 0) + 16;
      for (const k in d.attrs) {
        const v = d.attrs[k];
        bytes += k.length + (typeof v === 'string' ? v.length : Array.isArray(v) ? v.length * 8 : 8);
      }
    }
    return bytes;
  }
}
