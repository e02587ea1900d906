/**
 * A part as a namespace view uses it (RFC-0004 §6): a segment under the view's dead mask, id lookups, whole documents
 * of a few rows, its idempotency keys. Two kinds: a v2 part read through the caches (PartData: never decoded whole),
 * and a part decoded whole in memory (LoadedPart: format 1 parts, and every part under a v1 router, whose liveness
 * the view computes by folding their rows).
 */
import type { Doc, Id } from '../core/index.js';
import { blockOf, type LoadedPart, type PartData } from '../part/index.js';
import { DocsSegment, vectorSlot, type OrdinalHit, type Segment } from '../query/index.js';

export interface ViewPart {
  readonly id: string;
  readonly rows: number;
  /** Ids this part deletes (they shadow older parts under a v1 router; unused under v2). */
  readonly tombstones: ReadonlySet<Id>;
  /** The part as a query segment under `dead`. */
  segment(dead: Uint8Array | null): Segment;
  /** Ordinals of those `ids` the part holds (live or not). */
  lookup(ids: readonly Id[]): Promise<Map<Id, number>>;
  docs(ords: readonly number[]): Promise<Doc[]>;
  /** Logical size of all its rows (vectors + attributes), for approx_logical_bytes. */
  logicalBytes(): number;
  /** Which of `keys` the part's requests carried. */
  hasKeys(keys: readonly string[]): Promise<Set<string>>;
  /** Every row, decoded (v1 fold, export): only LoadedPart has them at hand. */
  readonly decoded: LoadedPart | null;
}

/** A part decoded whole (format 1, or any part under a v1 router). */
export class LoadedViewPart implements ViewPart {
  readonly decoded: LoadedPart;
  private readonly keys: ReadonlySet<string>;

  constructor(readonly part: LoadedPart) {
    this.decoded = part;
    this.keys = new Set(part.idempotencyKeys);
  }

  get id(): string {
    return this.part.manifest.part_id;
  }
  get rows(): number {
    return this.part.docs.length;
  }
  get tombstones(): ReadonlySet<Id> {
    return this.part.tombstones;
  }

  segment(dead: Uint8Array | null): Segment {
    const part = this.part;
    const seg = new DocsSegment(part.docs, dead, (attr, analysis) => part.postings(attr, analysis), part.vectorData());
    const annSearch = (query: Float32Array, k: number, ef: number, allow: ((ord: number) => boolean) | null): OrdinalHit[] | null =>
      part.manifest.index.kind === 'hnsw' ? part.annSearch(query, k, ef, allow ?? undefined).map((h) => ({ ordinal: h.ordinal, distance: h.dist })) : null;
    const prepare = seg.prepare.bind(seg);
    return Object.assign(seg, {
      annSearch,
      prepare: async (need: Parameters<Segment['prepare']>[0]) => {
        await part.prepare({ index: need.index, postings: need.postings });
        return prepare();
      },
      vectorAt: (ord: number) => {
        const v = seg.vectors();
        if (v === null || (v.present !== null && (v.present[ord >> 3]! & (1 << (ord & 7))) === 0)) return null;
        return vectorSlot(v, ord);
      },
    });
  }

  async lookup(ids: readonly Id[]): Promise<Map<Id, number>> {
    const out = new Map<Id, number>();
    for (const id of ids) {
      const o = this.part.getOrdinal(id);
      if (o >= 0) out.set(id, o);
    }
    return out;
  }

  async docs(ords: readonly number[]): Promise<Doc[]> {
    return ords.map((o) => this.part.docs[o]!);
  }

  logicalBytes(): number {
    return this.part.logicalBytes();
  }

  async hasKeys(keys: readonly string[]): Promise<Set<string>> {
    return new Set(keys.filter((k) => this.keys.has(k)));
  }
}

/** A v2 part read through the caches (PartData). */
export class CachedViewPart implements ViewPart {
  readonly decoded = null;
  readonly tombstones: ReadonlySet<Id> = new Set();
  private keys: Promise<Set<string>> | null = null;

  constructor(
    readonly data: PartData,
    private readonly lookupIds: (ids: readonly Id[]) => Promise<Map<Id, number>>,
    private readonly readWhole: (name: string) => Promise<Uint8Array>,
  ) {}

  get id(): string {
    return this.data.partId;
  }
  get rows(): number {
    return this.data.rows;
  }

  segment(dead: Uint8Array | null): Segment {
    return this.data.segment(dead);
  }

  lookup(ids: readonly Id[]): Promise<Map<Id, number>> {
    return this.lookupIds(ids);
  }

  docs(ords: readonly number[]): Promise<Doc[]> {
    return this.data.docs(ords);
  }

  logicalBytes(): number {
    // The stored size of what a client sees: vectors and attribute columns (compressed text counts as stored).
    const h = this.data.head;
    let bytes = 0;
    const names = new Set([h.vectors?.file, ...h.columns.map((c) => c.file)]);
    for (const f of h.files) if (names.has(f.name)) bytes += f.bytes;
    return bytes + 16 * h.rows;
  }

  /** Idempotency keys are few per part (one per request): the keys file is read whole once and kept. */
  async hasKeys(keys: readonly string[]): Promise<Set<string>> {
    const k = this.data.head.keys;
    if (k === null || keys.length === 0) return new Set();
    this.keys ??= this.readWhole(k.file).then((bytes) => {
      const all = new Set<string>();
      for (let b = 0; b < k.blocks.offset.length; b++) {
        const block = decodeKeysBlock(blockOf(bytes, k.blocks, b, k.file));
        for (const key of block) all.add(key);
      }
      return all;
    });
    this.keys.catch(() => (this.keys = null));
    const all = await this.keys;
    return new Set(keys.filter((key) => all.has(key)));
  }
}

import { ColumnBlock } from '../part/index.js';
function decodeKeysBlock(block: Uint8Array): string[] {
  const b = ColumnBlock.decode(block, 'keys');
  const out: string[] = [];
  for (let i = 0; i < b.rows; i++) out.push(b.get(i) as string);
  return out;
}
