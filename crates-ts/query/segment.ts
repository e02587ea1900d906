/**
 * Segments (RFC-0004 §6): what a query reads. A namespace is a list of segments — each part, then the WAL tail —
 * whose rows are addressed by ordinal 0..rows-1. A query first `prepare`s what it needs (column blocks, vectors,
 * postings: async, through the caches), then runs synchronous kernels over ordinals, and finally materialises whole
 * documents only for the rows it returns (`docs`). No segment ever has to hold its rows as documents.
 */
import type { Bitmap } from '../bitmap/index.js';
import type { AttrValue, DistanceMetric, Doc, Id, WasmMemory } from '../core/index.js';
import type { DocTerms, LooseIndex, PostingsFile, TextAnalyzer, TextNeed } from '../fts/index.js';
import type { VectorScan } from './vector-arena.js';
import type { ChunkCodes } from './code-scan.js';
import type { SparseLists } from '../sparse/index.js';
import type { FdeFile, MvIvfHeld } from '../multivec/index.js';
import type { FuzzyAttrNeed } from '../filter/index.js';

/**
 * The positions of an index (a scalar dictionary's values, or a sorted index's pairs) every row matching a filter
 * holds, [lo, hi), and whether a row without the attribute can match (`nulls`): bounds an order walk.
 */
export interface OrderBound {
  lo: number;
  hi: number;
  nulls: boolean;
}

export interface SegmentNeed {
  /** Attributes whose values the kernels read for every row (filters, order keys, aggregates, group keys). */
  attrs: readonly string[];
  /** The ids (default true: every ranking reads them; BM25's statistics pass does not). */
  ids?: boolean;
  /**
   * With `ids: false`, only these rows' ids (ANN results of a part: read by block, never the whole id column, on a cold
   * node). id(ord) then answers for them alone.
   */
  idRows?: ArrayLike<number>;
  /** The vectors (vector ranking, exact re-rank). */
  vectors: boolean;
  /** BM25 postings to fetch (parts). */
  postings?: readonly TextNeed[];
  /** The ANN index (parts with one). */
  index?: boolean;
  /** Only these rows' vectors (ANN candidates): read by block instead of the whole vector file. */
  vectorRows?: ArrayLike<number>;
  /** Attributes whose filter indexes (parts that have them) the query's filter may use (RFC-0009). */
  filterIndexes?: readonly string[];
  /** Attributes whose fuzzy indexes (parts that have them) the filter's Fuzzy leaves use (part/fuzzy-index.ts). */
  fuzzyIndexes?: readonly FuzzyAttrNeed[];
  /**
   * Sparse vector attributes a SparseKNN query ranks by, with the query's dimensions: a part's sparse index of each
   * (RFC-0012; a large one read by ranges: table, then those dimensions' lists), or the column when the part has none
   * (built before the index, or the attribute had no sparse_knn then).
   */
  sparse?: readonly { attr: string; dims: ArrayLike<number> }[];
  /** A vector attribute other than `vector` whose ANN index (parts that have one: RFC-0014) an ANN query searches. */
  vectorAttrIndex?: string;
  /**
   * Only these rows' values of `attr` (ANN candidates of another vector column, RFC-0014): read by block instead of the
   * whole column; reader(attr) / value(attr) then answer for them alone. Ignored when `attrs` names `attr`.
   */
  attrRows?: { attr: string; rows: ArrayLike<number> };
  /** Multi-vector attributes an ANN query ranks by: a part's MUVERA index of each (RFC-0015 §3), when it has one. */
  multiFde?: readonly string[];
  /**
   * Multi-vector attributes an ANN query ranks by, with the query's vectors and the lists each probes in this segment
   * (query/multi-segments.ts mvIvfPartProbes): a part's token-level IVF of each (RFC-0015 §4), when it has one: its
   * prefix and the lists those vectors probe, read by ranges.
   */
  multiIvf?: readonly { attr: string; query: readonly Float32Array[]; nprobe: number }[];
}

export interface DocFields {
  attrs: readonly string[] | 'all';
  vector: boolean;
}

/** Undo of a prepare: data pinned for a running query becomes ordinary (evictable) cache again. */
export type Release = () => void;
export const NO_RELEASE: Release = () => {};

/** A segment's vectors in one buffer (parts). */
export interface FlatVectors {
  /** Row r's vector is data[r·dims, r·dims + dims). */
  readonly data: Float32Array;
  readonly dims: number;
  /** Bit r set: row r has a vector; null: every row has one. */
  readonly present: Uint8Array | null;
  /** Σ y² of each row's vector (distance.ts sqNormAt), when the segment keeps them: cosine then reads each vector once. */
  readonly sqNorms?: Float64Array;
  /** A SIMD kernel over `data` (the vectors live in its WebAssembly memory: vector-arena.ts), when there is one. */
  readonly scan?: VectorScan;
  readonly chunks?: undefined;
}

/** One chunk of ChunkedVectors: its rows' vectors (row r at data[r·dims]), their Σ y², and a SIMD kernel over them. */
export interface VectorChunk {
  readonly data: Float32Array;
  readonly sqNorms: Float64Array;
  readonly scan?: VectorScan;
  /** The rows' compact codes (code-scan.ts: the WAL tail's chunks in arenas), which bound each row's distance. */
  readonly codes?: ChunkCodes;
  /**
   * Set when the chunk's vectors are in a shared arena (and sqNorms in a SharedArrayBuffer): a pool thread can scan
   * it in place (pool-scan.ts). Its first `capacity` rows' layout is VectorArena's.
   */
  readonly shared?: { readonly memory: WasmMemory; readonly capacity: number };
}

/**
 * A segment's vectors in chunks of 2^shift rows (the WAL tail: appended without ever copying what it holds).
 * Ordinal o is row p = base + o of the chunks: chunk p >> shift, row p & (2^shift − 1) in it (a chunk is absent only
 * when none of its rows has a vector).
 */
export interface ChunkedVectors {
  readonly dims: number;
  /** Bit o set: ordinal o has a vector; null: every row has one. */
  readonly present: Uint8Array | null;
  readonly base: number;
  readonly shift: number;
  readonly chunks: readonly (VectorChunk | undefined)[];
  readonly data?: undefined;
}

export type SegmentVectors = FlatVectors | ChunkedVectors;

/** Where ordinal `ord`'s vector lies (it must have one): the buffer and the offset of its first value. */
export function vectorSlot(v: SegmentVectors, ord: number): { data: Float32Array; off: number } {
  if (v.chunks === undefined) return { data: v.data, off: ord * v.dims };
  const p = v.base + ord;
  return { data: v.chunks[p >>> v.shift]!.data, off: (p & ((1 << v.shift) - 1)) * v.dims };
}

export interface OrdinalHit {
  ordinal: number;
  distance: number;
}

export interface Segment {
  readonly rows: number;
  /** 1 = dead (a deletion vector, or shadowed by a newer source); null when every row is live. */
  readonly dead: Uint8Array | null;
  /** Ordinals of the dead rows, ascending; the same array until liveness changes (BM25 statistics cache on it). */
  deadOrdinals(): readonly number[];
  /**
   * Fetch what `need` names, so that the accessors below answer synchronously until the returned release is called
   * (the data stays pinned meanwhile). Shareable between concurrent queries.
   */
  prepare(need: SegmentNeed): Promise<Release>;
  id(ord: number): Id;
  /**
   * Rows `filter` (the raw filter; `compile` compiles one leaf) may match by the segment's prepared filter indexes:
   * mask[o] = 1 for a candidate, and with `exact` every candidate matches. Null or absent: no index helped.
   */
  filterMask?(
    filter: unknown,
    compile: (leaf: unknown) => (doc: Doc) => boolean,
    trace?: (leaf: unknown[], rows: number | null, index: 'dict' | 'sorted' | 'fuzzy' | null) => void,
  ): { mask: Uint8Array; exact: boolean } | null;
  /**
   * The live rows `filter` (raw; null: none) matches, whole (`groupAttr` null) or per value of `groupAttr` (null for
   * missing values), counted from the segment's filter indexes without reading rows, with the ordinals when `rows`
   * (ascending). Null or absent: the indexes cannot answer it exactly (the caller scans).
   */
  aggregateByIndex?(
    filter: unknown,
    compile: ((leaf: unknown) => (doc: Doc) => boolean) | undefined,
    groupAttr: string | null,
    rows: boolean,
  ): { value: unknown; count: number; rows?: Uint32Array }[] | null;
  /**
   * The analysed terms of row `ord`'s text attribute, memoised for the segment's life (the WAL tail: its rows are
   * analysed once, not on every BM25 query). Absent: text ranking analyses `value`.
   */
  analyzed?(attr: string, analyzer: TextAnalyzer, ord: number): DocTerms | null;
  /** In-memory postings of a text attribute covering every row (the WAL tail: fts/loose-postings.ts), or absent. */
  loosePostings?(attr: string, analyzer: TextAnalyzer): LooseIndex | null;
  /**
   * `attr`'s values as numbers, row of ordinal o at values[base + o], present when bit base + o of `has` is set (a
   * bit past `has` is clear): the WAL tail's column while it holds only numbers. Null or absent: not so kept.
   */
  numericColumn?(attr: string): { values: Float64Array; has: Uint8Array; base: number } | null;
  /**
   * `attr`'s values, row of ordinal o at values[base + o] (undefined: missing, as past the end): the WAL tail's column
   * once it holds values other than numbers. Null or absent: not so kept.
   */
  valueColumn?(attr: string): { values: readonly (AttrValue | undefined)[]; base: number } | null;
  /** filterMask's rows as a bitmap (dead rows included), for counts and range cardinalities; null: no index helped. */
  filterBits?(filter: unknown, compile: (leaf: unknown) => (doc: Doc) => boolean): { bits: Bitmap; exact: boolean } | null;
  /**
   * A filter over one attribute with a scalar dictionary, as a test per row (no bitmap of the matching rows): the
   * dictionary position of each row's value (`codes`, `accept.length − 1` for missing), the positions it accepts
   * (`accept[code] === 1`), and the live rows it matches (`live`, counted from the value bitmaps, exact). Null or
   * absent: the filter reads something else (filterBits then).
   */
  filterValues?(filter: unknown, compile: (leaf: unknown) => (doc: Doc) => boolean): { attr: string; codes: Uint16Array | Uint32Array; accept: Uint8Array; live: number } | null;
  /** The segment's filter index of `attr` (kind, file name, over array elements or not), or null (explain_query). */
  filterIndexInfo?(attr: string): { kind: 'dict' | 'sorted'; file: string; array: boolean } | null;
  /** The smallest and largest value of `attr` in the segment (a part's column stats), or null when unknown. */
  attrRange?(attr: string): { min: number | string; max: number | string } | null;
  /** The file of `attr`'s fuzzy index (parts), or null when the part has none. */
  fuzzyIndexInfo?(attr: string): { file: string; terms: number } | null;
  /**
   * Visits the rows in the order of `attr` (descending with `desc`; missing values first ascending, last descending)
   * through a prepared filter index (need.filterIndexes) until `visit` returns false. False, visiting nothing, when
   * the segment has no such index (the caller sorts by scanning). `bound` (from orderBound) limits it to the index
   * positions that can match.
   */
  walkOrder?(attr: string, desc: boolean, visit: (value: unknown, ord: number) => boolean, bound?: OrderBound): boolean;
  /**
   * The positions [lo, hi) of `attr`'s index a row must hold to match `filter`, from the range leaves on `attr` the
   * filter requires (`price < 100` in an And), and whether a row without `attr` can match; null when there are none
   * or `attr` has no index that orders. Bounds an order walk (query/execute-segments.ts).
   */
  orderBound?(attr: string, filter: unknown, compile: (leaf: unknown) => (doc: Doc) => boolean): OrderBound | null;
  /** An attribute's value (undefined or null: missing). The attribute must have been prepared. */
  value(attr: string, ord: number): AttrValue | undefined;
  /**
   * A reader of one prepared attribute, for scans: resolves the column once (and follows sequential ordinals block by
   * block) instead of per value. Valid while the prepare that fetched it holds.
   */
  reader?(attr: string): (ord: number) => AttrValue | undefined;
  /**
   * A reader of a prepared vector attribute other than `vector` (RFC-0014 §4) as `dims`-long f32 vectors, for scans: a
   * view into the segment's packed values where it keeps them (a part's fvec blocks: no copy, no decode), else the
   * value converted into a buffer the reader reuses (valid until its next call); null when the row has no value of
   * `dims` numbers. Absent: query/attr-vector.ts reads values through reader(attr).
   */
  vectorReader?(attr: string, dims: number): (ord: number) => Float32Array | null;
  /** The prepared vectors (need.vectors), or null when the segment has none or only some were prepared. */
  vectors(): SegmentVectors | null;
  /** One row's vector (prepared by need.vectors or need.vectorRows), or null when the row has none. */
  vectorAt?(ord: number): { data: Float32Array; off: number } | null;
  /**
   * Documents of these rows (returned rows, writes): fetches just their data. `fields` narrows what is read (a
   * projection): the listed attributes ('all' for every one) and the vector or not; default everything.
   */
  docs(ords: readonly number[], fields?: DocFields): Promise<Doc[]>;
  /** The file of `attr`'s sparse kNN index per the part head (nothing fetched), or null/absent (explain_query). */
  sparseIndexName?(attr: string): string | null;
  /**
   * The postings of `attr`'s sparse vectors: a part's prepared sparse kNN index (need.sparse), the WAL tail's in-memory
   * postings; null/absent: score from the rows' values.
   */
  sparseIndex?(attr: string): SparseLists | null;
  /** A part's prepared MUVERA index of `attr` (need.multiFde), or null/absent (RFC-0015 §3). */
  multiFde?(attr: string): FdeFile | null;
  /** The file of `attr`'s MUVERA index per the part head (nothing fetched), or null/absent (explain_query). */
  multiFdeName?(attr: string): string | null;
  /** A part's prepared token-level IVF of `attr` (need.multiIvf: prefix and probed lists), or null/absent (RFC-0015 §4). */
  multiIvf?(attr: string): MvIvfHeld | null;
  /** The file of `attr`'s token-level IVF per the part head (nothing fetched), or null/absent (explain_query). */
  multiIvfName?(attr: string): string | null;
  /** BM25 postings of `attr` if present and built with `analysis` (prepared), else null. */
  postings(attr: string, analysis: string): PostingsFile | null;
  /**
   * Approximate nearest neighbours among rows passing `allow` (null: every live row), when the segment has an ANN
   * index (prepared with `index`); null when it has none (the caller scans exactly).
   */
  annSearch?(query: Float32Array, k: number, ef: number, allow: ((ord: number) => boolean) | null): OrdinalHit[] | null;
  /**
   * Whether an ANN query should search this segment through its index now (in memory, small enough to load first,
   * or none needed). False: the query scans it exactly and then calls `loadAnn` (RFC-0004 §6, cold ANN). Absent:
   * prepare({ index }) loads the index itself.
   */
  annReady?(): boolean;
  /** Starts loading the ANN index in the background (after a query that scanned exactly answered). */
  loadAnn?(): void;
  /**
   * The ordinals of about the `k` rows nearest `query` among those passing `allow` (null: every row) by another vector
   * column's ANN index (RFC-0014; prepared with `vectorAttrIndex`), unordered; null when the segment has no index of
   * `attr` in `metric` (the caller scans exactly).
   */
  vectorAttrAnnSearch?(attr: string, metric: DistanceMetric, query: Float32Array, k: number, ef: number, allow: ((ord: number) => boolean) | null): number[] | null;
  /** The file of `attr`'s ANN graph in `metric` per the part head (nothing fetched), or null/absent (explain_query). */
  vectorAttrIndexName?(attr: string, metric: DistanceMetric): string | null;
  /** As annReady / loadAnn, for `attr`'s graph (RFC-0014). */
  vectorAttrAnnReady?(attr: string): boolean;
  loadVectorAttrAnn?(attr: string): void;
}

/** The ordinals marked dead (1) in the first `rows` entries of a dead mask, ascending (none for a null mask). */
export function deadOrdinalsOf(dead: Uint8Array | null, rows = dead?.length ?? 0): number[] {
  const out: number[] = [];
  if (dead) for (let o = 0; o < rows; o++) if (dead[o] === 1) out.push(o);
  return out;
}

/** Whether bit `ord` is set in a presence bitmap (null: all set). */
export function hasBit(bits: Uint8Array | null, ord: number): boolean {
  return bits === null || (bits[ord >> 3]! & (1 << (ord & 7))) !== 0;
}

/**
 * A document-shaped view of one row of a segment, moved with `at(ord)`: filters, order keys and aggregates written
 * against `Doc` (`d.id`, `d.attrs[name]`) read a segment's columns through it without a document per row. Reuse
 * one cursor per scan; never keep it (it is not the row, only a window onto the current one).
 */
export class RowCursor implements Doc {
  ord = 0;
  readonly attrs: Record<string, AttrValue>;

  /** `attrs`: the attributes readers will ask for (others read as missing). */
  constructor(
    readonly segment: Segment,
    attrs: readonly string[],
  ) {
    // Getters on a prototype, not a Proxy: a property load the engine can cache, ~10x cheaper per read.
    const proto: Record<string, AttrValue> = Object.create(null) as Record<string, AttrValue>;
    const cursor = this;
    for (const name of new Set(attrs)) {
      if (name === 'id' || name === 'vector') continue;
      const read = segment.reader ? segment.reader(name) : (o: number) => segment.value(name, o);
      Object.defineProperty(proto, name, { get: () => read(cursor.ord) ?? undefined, enumerable: true });
    }
    this.attrs = Object.create(proto) as Record<string, AttrValue>;
  }

  at(ord: number): this {
    this.ord = ord;
    return this;
  }

  get id(): Id {
    return this.segment.id(this.ord);
  }

  get vector(): Float32Array | null {
    const v = this.segment.vectors();
    if (v === null || !hasBit(v.present, this.ord)) return null;
    const { data, off } = vectorSlot(v, this.ord);
    return data.subarray(off, off + v.dims);
  }
}

/** A segment over documents held in memory (a part decoded whole, tests). */
export class DocsSegment implements Segment {
  private vecs: FlatVectors | null | undefined;
  private sortedDead: readonly number[] | null = null;

  constructor(
    readonly rowDocs: readonly Doc[],
    readonly dead: Uint8Array | null = null,
    private readonly postingsOf: (attr: string, analysis: string) => PostingsFile | null = () => null,
    /** The rows' vectors when the caller already holds them contiguously (a decoded part). */
    vectors?: FlatVectors | null,
  ) {
    this.vecs = vectors;
  }

  get rows(): number {
    return this.rowDocs.length;
  }

  deadOrdinals(): readonly number[] {
    return (this.sortedDead ??= deadOrdinalsOf(this.dead));
  }

  async prepare(): Promise<Release> {
    return NO_RELEASE;
  }

  id(ord: number): Id {
    return this.rowDocs[ord]!.id;
  }

  value(attr: string, ord: number): AttrValue | undefined {
    return this.rowDocs[ord]!.attrs[attr];
  }

  vectors(): SegmentVectors | null {
    if (this.vecs === undefined) {
      let dims = 0;
      for (const d of this.rowDocs) if (d.vector) dims = d.vector.length;
      if (dims === 0) this.vecs = null;
      else {
        const data = new Float32Array(this.rowDocs.length * dims);
        const present = new Uint8Array((this.rowDocs.length + 7) >> 3);
        this.rowDocs.forEach((d, r) => {
          if (d.vector && d.vector.length === dims) {
            data.set(d.vector, r * dims);
            present[r >> 3]! |= 1 << (r & 7);
          }
        });
        this.vecs = { data, dims, present };
      }
    }
    return this.vecs;
  }

  async docs(ords: readonly number[]): Promise<Doc[]> {
    return ords.map((o) => this.rowDocs[o]!);
  }

  postings(attr: string, analysis: string): PostingsFile | null {
    return this.postingsOf(attr, analysis);
  }
}
