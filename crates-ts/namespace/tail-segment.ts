/**
 * The WAL tail as a segment (RFC-0004 §5): every upsert above indexed_wal is a row, appended in WAL order; a later
 * upsert or delete of the same id kills the earlier row. The rows are columns, not documents: ids, vectors in one
 * growing buffer (row r at r·dims) so the exact scan every query makes over the tail is a tight loop over contiguous
 * memory, and attributes in typed columns (tail-columns.ts). A row becomes a document only when it is returned.
 * O(tail), bounded by the indexer's trigger and backpressure.
 */
import type { AttrValue, Doc, Id } from '../core/index.js';
import { analyzeValue, docTerms, LoosePostings, type DocTerms, type PostingsFile, type TextAnalyzer } from '../fts/index.js';
import { TailColumns } from './tail-columns.js';
import { docLogicalBytes } from './logical-bytes.js';
import { NO_RELEASE, VectorArena, deadOrdinalsOf, sqNormAt, type Release, type Segment, type SegmentVectors } from '../query/index.js';

/** Tail rows from which vectors live in a WebAssembly arena and are scanned by the SIMD kernel. */
export const ARENA_ROWS = 4096;

export class TailSegment implements Segment {
  private ids: Id[] = [];
  private readonly cols = new TailColumns();
  /** Each row's logical size (docLogicalBytes), and the sum over live rows: billing never walks the tail. */
  private rowBytes = new Float64Array(64);
  private live = 0;
  /** Vectors whose length is not the tail's dims (never the case under a schema; kept so no row loses its vector). */
  private readonly oddVectors = new Map<number, Float32Array>();
  private deadMask = new Uint8Array(64);
  private deadCount = 0;
  private sortedDead: number[] | null = null;
  private vecData: Float32Array | null = null;
  /** The arena vecData lives in, once the tail is big enough (growVectors). */
  private arena: VectorArena | null = null;
  private sq: Float64Array | null = null;
  private presentBits = new Uint8Array(8);
  private allPresent = true;
  private dims = 0;
  /** analyser → attribute → analysed text by row ordinal (analyzed()). */
  private readonly termMemo = new Map<TextAnalyzer, Map<string, (DocTerms | null)[]>>();
  /** Rows the segment is about to hold (reserve()): the first vector buffer is made that big. */
  private expectedRows = 0;
  /** analyser → attribute → in-memory postings (loosePostings()). */
  private readonly postingsMemo = new Map<TextAnalyzer, Map<string, LoosePostings>>();
  /** id → its newest tail row, or -1 when its newest tail operation is a delete. */
  readonly index = new Map<Id, number>();

  get rows(): number {
    return this.ids.length;
  }

  get dead(): Uint8Array | null {
    return this.deadCount === 0 ? null : this.deadMask;
  }

  /** Logical bytes of the live rows (docLogicalBytes of each). */
  get liveBytes(): number {
    return this.live;
  }

  get liveRows(): number {
    return this.ids.length - this.deadCount;
  }

  deadOrdinals(): readonly number[] {
    return (this.sortedDead ??= deadOrdinalsOf(this.deadMask, this.ids.length));
  }

  /** Folds one operation of a tail entry (in WAL order). */
  upsert(doc: Doc): void {
    this.killId(doc.id);
    const r = this.ids.length;
    this.ids.push(doc.id);
    this.cols.set(r, doc.attrs);
    if (r >= this.rowBytes.length) {
      const grown = new Float64Array(this.rowBytes.length * 2);
      grown.set(this.rowBytes);
      this.rowBytes = grown;
    }
    this.live += this.rowBytes[r] = docLogicalBytes(doc);
    if (r >= this.deadMask.length) {
      const grown = new Uint8Array(this.deadMask.length * 2);
      grown.set(this.deadMask);
      this.deadMask = grown;
    }
    this.addVector(r, doc.vector);
    this.index.set(doc.id, r);
    // Text indexes a BM25 query asked for are kept current as rows arrive: a query never analyses a backlog. The
    // analysis is cached per document (docTerms), so a rebuilt view replaying the same entries does not redo it.
    for (const [analyzer, perAttr] of this.postingsMemo) {
      for (const [attr, ix] of perAttr) {
        ix.extendTo(r);
        ix.append(docTerms(doc, attr, analyzer));
      }
    }
  }

  /**
   * Announces that about `rows` rows are coming (a rebuilt view replaying its tail): the vector buffer is then sized
   * once instead of doubling, and copying, its way up.
   */
  reserve(rows: number): void {
    this.expectedRows = Math.max(this.expectedRows, rows);
  }

  /**
   * Starts the text indexes `from` keeps (empty, filled as rows are folded in): a view rebuilt at a publish replays its
   * tail into a new segment, and the indexes are rebuilt within that replay (which yields to the event loop) rather
   * than all at once by the next BM25 query.
   */
  inheritTextIndexes(from: TailSegment): void {
    for (const [analyzer, perAttr] of from.postingsMemo) {
      for (const attr of perAttr.keys()) this.loosePostings(attr, analyzer);
    }
  }

  /** The attributes whose in-memory text index a BM25 query asked for (loosePostings): what queries search. */
  textIndexedAttrs(): string[] {
    const out = new Set<string>();
    for (const perAttr of this.postingsMemo.values()) for (const attr of perAttr.keys()) out.add(attr);
    return [...out];
  }

  delete(id: Id): void {
    this.killId(id);
    this.index.set(id, -1);
  }

  /** The newest tail version of `id`: a document, null (deleted in the tail), or undefined (not in the tail). */
  get(id: Id): Doc | null | undefined {
    const r = this.index.get(id);
    if (r === undefined) return undefined;
    return r < 0 ? null : this.docAt(r);
  }

  private killId(id: Id): void {
    const prev = this.index.get(id);
    if (prev !== undefined && prev >= 0 && this.deadMask[prev] !== 1) {
      this.deadMask[prev] = 1;
      this.deadCount++;
      this.live -= this.rowBytes[prev]!;
      this.sortedDead = null;
    }
  }

  private addVector(r: number, v: Float32Array | null): void {
    if (r >> 3 >= this.presentBits.length) {
      const grown = new Uint8Array(this.presentBits.length * 2);
      grown.set(this.presentBits);
      this.presentBits = grown;
    }
    if (v === null || (this.dims !== 0 && v.length !== this.dims)) {
      if (v !== null) this.oddVectors.set(r, Float32Array.from(v));
      this.allPresent = false;
      return;
    }
    if (this.dims === 0) {
      this.dims = v.length;
      // Rows before the first vector had none.
      if (r > 0) this.allPresent = false;
    }
    const data = this.vecData === null || (r + 1) * this.dims > this.vecData.length ? this.growVectors(r) : this.vecData;
    data.set(v, r * this.dims);
    if (this.sq === null || r >= this.sq.length) {
      const grown = new Float64Array(Math.max(64, (this.sq?.length ?? 0) * 2, r + 1));
      if (this.sq) grown.set(this.sq);
      this.sq = grown;
    }
    this.sq[r] = sqNormAt(data, r * this.dims, this.dims);
    this.presentBits[r >> 3]! |= 1 << (r & 7);
  }

  /**
   * Doubles the vector buffer to hold row r. Past ARENA_ROWS rows the vectors move into a WebAssembly arena so the
   * scan runs the SIMD kernel (a small tail stays a plain array: an arena reserves address space per memory). The
   * old buffer is copied, never resized, so a scan holding it keeps valid data.
   */
  private growVectors(r: number): Float32Array {
    const rows = Math.max(r + 1, ((this.vecData?.length ?? 0) / this.dims) * 2, 64, this.expectedRows);
    const used = r * this.dims;
    if (rows >= ARENA_ROWS) {
      const arena = this.arena ? this.arena.grown(rows, r) : VectorArena.create(this.dims, rows);
      if (arena !== null) {
        if (this.arena === null && this.vecData !== null) arena.data.set(this.vecData.subarray(0, used));
        this.arena = arena;
        return (this.vecData = arena.data);
      }
    }
    const grown = new Float32Array(rows * this.dims);
    if (this.vecData) grown.set(this.vecData.subarray(0, used));
    this.arena = null;
    return (this.vecData = grown);
  }

  async prepare(): Promise<Release> {
    return NO_RELEASE;
  }

  id(ord: number): Id {
    return this.ids[ord]!;
  }

  value(attr: string, ord: number): AttrValue | undefined {
    return this.cols.value(attr, ord);
  }

  reader(attr: string): (ord: number) => AttrValue | undefined {
    return this.cols.reader(attr);
  }

  /** Row r as a document (its vector copied out of the buffer). */
  private docAt(r: number): Doc {
    let vector: Float32Array | null = this.oddVectors.get(r) ?? null;
    if (vector === null && this.vecData !== null && (this.allPresent || (this.presentBits[r >> 3]! & (1 << (r & 7))) !== 0)) {
      vector = this.vecData.slice(r * this.dims, (r + 1) * this.dims);
    }
    return { id: this.ids[r]!, vector, attrs: this.cols.attrs(r) };
  }

  vectors(): SegmentVectors | null {
    if (this.vecData === null) return null;
    const present = this.allPresent ? null : this.presentBits;
    if (this.arena !== null) return { data: this.vecData, dims: this.dims, present, sqNorms: this.sq!, scan: this.arena };
    return { data: this.vecData, dims: this.dims, present, sqNorms: this.sq! };
  }

  async docs(ords: readonly number[]): Promise<Doc[]> {
    return ords.map((o) => this.docAt(o));
  }

  postings(): PostingsFile | null {
    return null;
  }

  /**
   * Row `ord`'s analysed text, memoised by ordinal: a row never changes once appended (an upsert of the same id appends
   * a new row), so each is analysed once per analyser and attribute for the tail's life, and a BM25 query over the
   * tail costs a lookup per row instead of an analysis. The memo holds a token list per analysed row: it grows and goes
   * with the tail it belongs to (a view drops its tail rows when a part takes them over).
   */
  analyzed(attr: string, analyzer: TextAnalyzer, ord: number): DocTerms | null {
    let perAttr = this.termMemo.get(analyzer);
    if (perAttr === undefined) this.termMemo.set(analyzer, (perAttr = new Map()));
    let memo = perAttr.get(attr);
    if (memo === undefined) perAttr.set(attr, (memo = []));
    let t = memo[ord];
    if (t === undefined) memo[ord] = t = analyzeValue(this.value(attr, ord), analyzer);
    return t;
  }

  /**
   * The in-memory postings of `attr` under `analyzer`, extended to every row appended so far (BM25 statistics then cost
   * O(matches) per query, fts/loose-postings.ts). Built on the first BM25 query that needs them; they go with the tail.
   */
  loosePostings(attr: string, analyzer: TextAnalyzer): LoosePostings {
    let perAttr = this.postingsMemo.get(analyzer);
    if (perAttr === undefined) this.postingsMemo.set(analyzer, (perAttr = new Map()));
    let ix = perAttr.get(attr);
    if (ix === undefined) perAttr.set(attr, (ix = new LoosePostings(analyzer, (o) => this.value(attr, o))));
    ix.extendTo(this.rows);
    return ix;
  }

  /**
   * The tail as it is now, as a segment that later entries do not change: rows appended after are not in it and rows
   * killed after stay live in it (a query reads one state; its scans and BM25's two passes may span writes).
   */
  snapshot(): Segment {
    const rows = this.ids.length;
    return new TailSnapshot(this, rows, this.deadCount === 0 ? null : this.deadMask.slice(0, rows));
  }

  /** The live documents, in WAL order (export, recall sampling, logical size). */
  *liveDocs(): Generator<Doc> {
    for (let o = 0; o < this.ids.length; o++) if (this.deadMask[o] !== 1) yield this.docAt(o);
  }
}

/** TailSegment.snapshot(): the first `rows` rows with the dead mask of that moment; data read through the tail. */
class TailSnapshot implements Segment {
  private sortedDead: number[] | null = null;

  constructor(
    private readonly tail: TailSegment,
    readonly rows: number,
    readonly dead: Uint8Array | null,
  ) {}

  deadOrdinals(): readonly number[] {
    return (this.sortedDead ??= deadOrdinalsOf(this.dead));
  }

  async prepare(): Promise<Release> {
    return NO_RELEASE;
  }

  id(ord: number): Id {
    return this.tail.id(ord);
  }

  value(attr: string, ord: number): AttrValue | undefined {
    return this.tail.value(attr, ord);
  }

  analyzed(attr: string, analyzer: TextAnalyzer, ord: number): DocTerms | null {
    return this.tail.analyzed(attr, analyzer, ord);
  }

  /** The tail's postings: they may cover rows appended after this snapshot (readers stop at `rows`). */
  loosePostings(attr: string, analyzer: TextAnalyzer): LoosePostings {
    return this.tail.loosePostings(attr, analyzer);
  }

  reader(attr: string): (ord: number) => AttrValue | undefined {
    return this.tail.reader(attr);
  }

  /** The tail's buffers: rows past `rows` may be in them, and scans stop at `rows`. */
  vectors(): SegmentVectors | null {
    return this.tail.vectors();
  }

  docs(ords: readonly number[]): Promise<Doc[]> {
    return this.tail.docs(ords);
  }

  postings(): PostingsFile | null {
    return null;
  }
}
