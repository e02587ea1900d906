/**
 * A part decoded in memory: rows in ordinal order (id order, except format 3's (cluster, id) order), id lookup by
 * binary search, tombstones, and
 * nearest-neighbour search (HNSW when the part has an index, exact scan otherwise). Rows are immutable; the HNSW
 * index and postings are fetched on first need (prepare), so a cold query reads only the files it uses.
 */
import { ElaxError, docLogicalBytes, type DistanceMetric, type Doc, type Id } from '../core/index.js';
import { compareIds, distanceTo } from '../query/index.js';
import { neededLists, type PostingsFile, type TextNeed } from '../fts/index.js';
import type { HnswIndex } from './hnsw.js';
import type { PartManifest } from './manifest.js';
import { OrdinalTopK, compareHits, type OrdinalHit } from './top-k.js';

/**
 * A filtered HNSW search degrades as the filter gets selective (the graph walk visits ~1/selectivity more nodes to
 * find allowed ones), while an exact scan of the allowed rows gets cheaper. At or below this many allowed rows, or
 * this fraction of the indexed rows, scan instead. First measured on 20k × 128-d, k 10, ef 64 (exact scan ≈ 0.4 µs
 * per vector): filtered HNSW cost 19.7 ms at 0.2% selectivity, 4.4 ms at 2%, 1.5 ms at 5%, 1.2 ms at 10%, 0.33 ms
 * at 30%; scanning the allowed rows 0.2, 0.3, 0.6, 1.2, 3.8 ms. At ef 128 on 50k-row parts the walk is dearer (each
 * visited node calls back into JS): bench/ann-filtered.ts measured whole queries at 5% selectivity at 18.9 ms with
 * a 2% cut-over and 8.9 ms with 10%, and an anti-correlated 10% filter went from recall 0.994 to exact. The scan is
 * also exact.
 */
export const FILTERED_EXACT_MAX_ROWS = 2048;
export const FILTERED_EXACT_MAX_FRACTION = 0.1;

export class LoadedPart {
  readonly manifest: PartManifest;
  /** Rows in ordinal order (= index). Vectors are views into one shared buffer: never mutate them. */
  readonly docs: readonly Doc[];
  /** WAL seq each row's version came from. */
  readonly seqs: Float64Array;
  readonly tombstones: ReadonlySet<Id>;
  /** Idempotency-Keys of the requests the part covers (empty for parts without any). */
  readonly idempotencyKeys: readonly string[];
  readonly dims: number | null;
  /** Ordinals of rows that have a vector, ascending. */
  readonly vectorOrdinals: Int32Array;
  private readonly vectors: Float32Array;
  /** Loaded by prepare({index}) when the part has an HNSW index; null for flat parts and until then. */
  private index: HnswIndex | null = null;
  private readonly loadIndex: (() => Promise<HnswIndex>) | null;
  private indexLoading: Promise<void> | null = null;
  private readonly metric: DistanceMetric;
  private readonly footprint: number;
  private readonly postingsByAttr = new Map<
    string,
    { analysis: string; bytes: number; load: () => Promise<PostingsFile>; file: PostingsFile | null; loading: Promise<void> | null }
  >();

  constructor(init: {
    manifest: PartManifest;
    docs: Doc[];
    seqs: Float64Array;
    vectors: Float32Array;
    dims: number | null;
    tombstones: Id[];
    /** Fetches and decodes the HNSW index (null: flat part). */
    loadIndex: (() => Promise<HnswIndex>) | null;
    /** Size of the index file (counted in the footprint whether loaded yet or not, so cache accounting is stable). */
    indexBytes: number;
    idempotencyKeys?: readonly string[];
    postings?: ReadonlyArray<{ attr: string; analysis: string; bytes: number; load: () => Promise<PostingsFile> }>;
  }) {
    this.idempotencyKeys = init.idempotencyKeys ?? [];
    for (const p of init.postings ?? []) this.postingsByAttr.set(p.attr, { ...p, file: null, loading: null });
    this.manifest = init.manifest;
    this.docs = init.docs;
    this.seqs = init.seqs;
    this.tombstones = new Set(init.tombstones);
    this.dims = init.dims;
    this.vectors = init.vectors;
    this.loadIndex = init.loadIndex;
    this.metric = init.manifest.distance_metric ?? (init.manifest.index.space === 'l2' ? 'euclidean_squared' : 'cosine_distance');
    let count = 0;
    for (const d of init.docs) if (d.vector !== null) count++;
    const ords = new Int32Array(count);
    let j = 0;
    init.docs.forEach((d, i) => {
      if (d.vector !== null) ords[j++] = i;
    });
    this.vectorOrdinals = ords;
    let postingsBytes = 0;
    for (const p of this.postingsByAttr.values()) postingsBytes += p.bytes * 3; // decoded lists ≈ 2× the varints
    this.footprint = init.vectors.byteLength + init.indexBytes + estimateDocsBytes(init.docs) + init.tombstones.length * 48 + postingsBytes;
  }

  /** Postings of a full_text_search attribute, if the part has them with analysis `analysis` (else null). */
  postings(attr: string, analysis: string): PostingsFile | null {
    const p = this.postingsByAttr.get(attr);
    if (p === undefined || p.analysis !== analysis) return null;
    if (p.file === null) throw new ElaxError('ELAX_ERR_INTERNAL', `postings of '${attr}' in part ${this.manifest.part_id} were used before prepare() loaded them`);
    return p.file;
  }

  /**
   * Fetch what a query needs and is not loaded yet: the HNSW index (ANN queries), the postings of some attributes
   * (BM25 and token filters). Cold queries read only these; concurrent callers share one fetch.
   */
  async prepare(need: { index?: boolean; postings?: readonly TextNeed[] }): Promise<void> {
    const waits: Promise<void>[] = [];
    if (need.index && this.loadIndex !== null && this.index === null) {
      this.indexLoading ??= this.loadIndex().then(
        (ix) => {
          this.index = ix;
        },
        (e: unknown) => {
          this.indexLoading = null; // a failed fetch is retried by the next query
          throw e;
        },
      );
      waits.push(this.indexLoading);
    }
    for (const text of need.postings ?? []) {
      const p = this.postingsByAttr.get(text.attr);
      if (p === undefined) continue;
      p.loading ??= p.load().then(
        (f) => {
          p.file = f;
        },
        (e: unknown) => {
          p.loading = null; // a failed fetch is retried by the next query
          throw e;
        },
      );
      // Then the lists this query names (a no-op for files read whole).
      waits.push(p.loading.then(() => p.file!.fetch(neededLists(p.file!, text))));
    }
    await Promise.all(waits);
  }

  /** Ordinals in id order; null while the rows themselves are in id order (formats 1 and 2). Built on first lookup. */
  private idOrder: Uint32Array | null | undefined;

  /** Row ordinal of `id`, or -1. Binary search over the rows in id order. */
  getOrdinal(id: Id): number {
    const docs = this.docs;
    if (this.idOrder === undefined) {
      let sorted = true;
      for (let i = 1; i < docs.length && sorted; i++) sorted = compareIds(docs[i - 1]!.id, docs[i]!.id) < 0;
      this.idOrder = sorted ? null : Uint32Array.from(docs.keys()).sort((a, b) => compareIds(docs[a]!.id, docs[b]!.id));
    }
    const order = this.idOrder;
    let lo = 0;
    let hi = docs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const o = order === null ? mid : order[mid]!;
      const c = compareIds(docs[o]!.id, id);
      if (c === 0) return o;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * The k nearest rows to `query` by the part's metric among rows with a vector for which allow(ordinal) holds,
   * best first (ties by ordinal). Exact for flat parts and for selective filters; approximate (HNSW, candidate list
   * `ef`) otherwise. Distances are always recomputed exactly from the stored vectors with query/ distance().
   */
  annSearch(query: Float32Array, k: number, ef: number, allow?: (ordinal: number) => boolean): OrdinalHit[] {
    const dims = this.dims;
    if (k <= 0 || dims === null || this.vectorOrdinals.length === 0) return [];
    if (query.length !== dims) {
      throw new ElaxError('ELAX_ERR_INVALID_VECTOR', `query vector has ${query.length} dimensions; part ${this.manifest.part_id} has ${dims}`);
    }
    const dist = distanceTo(this.metric, query);
    if (this.index === null) {
      if (this.loadIndex !== null) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${this.manifest.part_id}: annSearch before prepare() loaded its HNSW index`);
      return this.exactScan(dist, k, allow);
    }

    // The filter is evaluated once per row: into a mask for hnswlib's label callback, and a list for a scan.
    let candidates = this.vectorOrdinals;
    let mask: Uint8Array | null = null;
    if (allow) {
      mask = new Uint8Array(this.docs.length);
      const list = new Int32Array(this.vectorOrdinals.length);
      let allowed = 0;
      for (const o of this.vectorOrdinals) {
        if (allow(o)) {
          mask[o] = 1;
          list[allowed++] = o;
        }
      }
      candidates = list.subarray(0, allowed);
      if (allowed === 0) return [];
      if (allowed <= FILTERED_EXACT_MAX_ROWS || allowed <= this.vectorOrdinals.length * FILTERED_EXACT_MAX_FRACTION) {
        return this.scan(dist, k, candidates);
      }
    }
    const want = Math.min(k, candidates.length);
    this.index.setEf(Math.max(ef, want));
    const m = mask;
    const res = this.index.searchKnn(Array.from(query), want, m ? (label) => m[label] === 1 : undefined);
    // A filtered walk can strand itself in a region with no allowed rows; never return fewer hits than exist.
    if (res.neighbors.length < want) return this.scan(dist, k, candidates);
    const hits: OrdinalHit[] = res.neighbors.map((o) => ({ ordinal: o, dist: dist(this.vectorOf(o)) }));
    return hits.sort(compareHits);
  }

  /** Exhaustive k nearest among rows with a vector for which allow(ordinal) holds (all of them without allow). */
  exactScan(dist: (v: Float32Array) => number, k: number, allow?: (ordinal: number) => boolean): OrdinalHit[] {
    if (!allow) return this.scan(dist, k, this.vectorOrdinals);
    const top = new OrdinalTopK(k);
    for (const o of this.vectorOrdinals) if (allow(o)) top.push(dist(this.vectorOf(o)), o);
    return top.sorted();
  }

  private scan(dist: (v: Float32Array) => number, k: number, ordinals: Int32Array): OrdinalHit[] {
    const top = new OrdinalTopK(k);
    for (const o of ordinals) top.push(dist(this.vectorOf(o)), o);
    return top.sorted();
  }

  private vectorOf(ordinal: number): Float32Array {
    const dims = this.dims!;
    return this.vectors.subarray(ordinal * dims, (ordinal + 1) * dims);
  }

  private presence: Uint8Array | null | undefined;
  private logical: number | null = null;

  /** Logical size of the rows (vectors + attributes as a client sees them), computed once. */
  logicalBytes(): number {
    if (this.logical === null) {
      let bytes = 0;
      for (const d of this.docs) bytes += docLogicalBytes(d);
      this.logical = bytes;
    }
    return this.logical;
  }

  /** The rows' vectors in one buffer (row r at r·dims) with a presence bitmap, for segment kernels (null: none). */
  vectorData(): { data: Float32Array; dims: number; present: Uint8Array | null } | null {
    if (this.dims === null) return null;
    if (this.presence === undefined) {
      if (this.vectorOrdinals.length === this.docs.length) this.presence = null;
      else {
        const bits = new Uint8Array((this.docs.length + 7) >> 3);
        for (const o of this.vectorOrdinals) bits[o >> 3]! |= 1 << (o & 7);
        this.presence = bits;
      }
    }
    return { data: this.vectors, dims: this.dims, present: this.presence };
  }

  /** Approximate memory footprint (vectors, HNSW graph, decoded rows), for LoadedPartCache. */
  bytes(): number {
    return this.footprint;
  }
}

/** Rough V8 heap cost of decoded docs: object headers, strings (2 bytes/char), numbers, arrays. */
function estimateDocsBytes(docs: readonly Doc[]): number {
  let total = 0;
  for (const d of docs) {
    total += 120 + (typeof d.id === 'string' ? 16 + 2 * d.id.length : 0);
    for (const name in d.attrs) {
      const v = d.attrs[name];
      total += 16 + valueBytes(v); // keys live in shared hidden classes
    }
  }
  return total;
}

function valueBytes(v: unknown): number {
  if (typeof v === 'string') return 16 + 2 * v.length;
  if (Array.isArray(v)) {
    let s = 32;
    for (const x of v) s += 8 + valueBytes(x);
    return s;
  }
  return 8;
}
