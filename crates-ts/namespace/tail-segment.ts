/**
 * The WAL tail as a segment (RFC-0004 §5): every upsert above indexed_wal is a row, appended in WAL order; a later
 * upsert or delete of the same id kills the earlier row. The rows are columns, not documents: ids, vectors in chunks
 * of 2^14 rows (row r at (r mod 2^14)·dims of its chunk, never copied once the chunk is full) so the exact scan every
 * query makes over the tail is a tight loop over contiguous memory, and attributes in typed columns (tail-columns.ts).
 * A row becomes a document only when it is returned. O(tail), bounded by the indexer's trigger and backpressure. A
 * publish carries the segment over (carryOver, RFC-0010 "A publish carries the tail over"): the rows stay in the same
 * store and the new segment starts past those the new parts hold.
 */
import { docLogicalBytes, type AttrValue, type Doc, type Id } from '../core/index.js';
import { analyzeValue, LoosePostings, LooseWindow, type DocTerms, type LooseIndex, type PostingsFile, type TextAnalyzer } from '../fts/index.js';
import { TailColumns } from './tail-columns.js';
import { LooseSparseIndex, SparseWindow, type SparseLists } from '../sparse/index.js';
import { NO_RELEASE, VectorArena, codesKept, deadOrdinalsOf, encodeRow, sqNormAt, type ChunkCodes, type Release, type Segment, type SegmentVectors, type VectorChunk } from '../query/index.js';

/** Tail rows from which vectors live in a WebAssembly arena and are scanned by the SIMD kernel. */
export const ARENA_ROWS = 4096;

/**
 * The tail's row data, append-only: ids, attribute columns, logical sizes, vectors (one growing buffer, row p at
 * p·dims) with squared norms, and what text analysis memoises, by physical row. Shared by the segments a publish
 * carries over from one another (TailSegment.carryOver): only the newest segment appends, the older ones are sealed
 * and read the rows they held, which never change.
 */
class TailStore {
  ids: Id[] = [];
  readonly cols = new TailColumns();
  /** Each row's logical size (docLogicalBytes). */
  rowBytes = new Float64Array(64);
  /** Vectors whose length is not the tail's dims (never the case under a schema; kept so no row loses its vector). */
  readonly oddVectors = new Map<number, Float32Array>();
  /**
   * Vectors in chunks of 2^chunkShift rows (physical row p in chunk p >> chunkShift), each with its rows' Σ y² and, once
   * big enough, in a WebAssembly arena its scan kernel reads (growChunk). A chunk is never copied once full; only the
   * first one grows (doubling, up to a chunk) so a small tail stays small.
   */
  readonly chunks: (StoreChunk | undefined)[] = [];
  presentBits = new Uint8Array(8);
  allPresent = true;
  dims = 0;
  /** Rows the store is about to hold (reserve()): the first vector buffer is made that big. */
  expectedRows = 0;
  /** analyser → attribute → analysed text by physical row (analyzed()). */
  readonly termMemo = new Map<TextAnalyzer, Map<string, (DocTerms | null)[]>>();
  /** analyser → attribute → in-memory postings over physical rows (loosePostings()). */
  readonly postingsMemo = new Map<TextAnalyzer, Map<string, LoosePostings>>();
  /** attribute → in-memory sparse postings over physical rows (sparseLists(); RFC-0012 §3). */
  readonly sparseMemo = new Map<string, LooseSparseIndex>();

  constructor(readonly chunkShift = CHUNK_SHIFT) {}

  get rows(): number {
    return this.ids.length;
  }

  /** Appends a document; its physical row. */
  append(doc: Doc): number {
    const p = this.ids.length;
    this.ids.push(doc.id);
    this.cols.set(p, doc.attrs);
    if (p >= this.rowBytes.length) {
      const grown = new Float64Array(this.rowBytes.length * 2);
      grown.set(this.rowBytes);
      this.rowBytes = grown;
    }
    this.rowBytes[p] = docLogicalBytes(doc);
    this.addVector(p, doc.vector);
    // Text indexes a BM25 query asked for are kept current as rows arrive: a query never analyses a backlog. The row
    // is analysed straight into the postings (no per-document analysis object kept: a rebuilt view replaying the same
    // entries analyses them again, which costs less than keeping every tail document's analysis alive for the GC).
    for (const perAttr of this.postingsMemo.values()) {
      for (const [attr, ix] of perAttr) {
        ix.extendTo(p);
        ix.appendValue(doc.attrs[attr]);
      }
    }
    // Sparse postings a SparseKNN query asked for are kept current the same way (RFC-0012 §3).
    for (const ix of this.sparseMemo.values()) if (ix.indexed === p) ix.extendTo(p + 1); // else its catch-up takes it
    return p;
  }

  hasVector(p: number): boolean {
    return this.dims !== 0 && (this.allPresent || (this.presentBits[p >> 3]! & (1 << (p & 7))) !== 0);
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
    const c = r >>> this.chunkShift;
    const at = r & ((1 << this.chunkShift) - 1);
    let chunk = this.chunks[c];
    if (chunk === undefined || at >= chunk.capacity) chunk = this.growChunk(c, at);
    chunk.data.set(v, at * this.dims);
    // Σ y² from the code's kernel when the row is coded (the same bits as sqNormAt: query/code-scan.ts encodeRow).
    chunk.sqNorms[at] = chunk.codes !== undefined ? encodeRow(chunk.codes, at) : sqNormAt(chunk.data, at * this.dims, this.dims);
    this.presentBits[r >> 3]! |= 1 << (r & 7);
  }

  /**
   * Makes chunk c hold its row `at`. A chunk after the first is made whole at once: 2^chunkShift rows, in a
   * WebAssembly arena (the SIMD scan kernel's memory) when there is SIMD. The first grows by doubling from 64 rows (or
   * the rows announced by reserve()) up to a chunk, moving into an arena past ARENA_ROWS rows (a small tail stays a
   * plain array: an arena reserves address space per memory); its old buffer is copied, never resized, so a scan
   * holding it keeps valid data. Nothing else is ever copied: at 200k × 128-d rows the doubling copied 100 MB at once.
   */
  private growChunk(c: number, at: number): StoreChunk {
    const full = 1 << this.chunkShift;
    const old = this.chunks[c];
    const capacity = c > 0 ? full : Math.min(full, Math.max(at + 1, (old?.capacity ?? 0) * 2, 64, this.expectedRows));
    let arena: VectorArena | null = null;
    // Shared arenas: a pool thread scans the rows in place (query/pool-scan.ts); rows below `rows` never change.
    // Codes beside the rows (query/code-scan.ts): scans bound each row's distance from them (RFC-0004 §5).
    if (c > 0 || capacity >= ARENA_ROWS) {
      arena = old?.arena ? old.arena.grown(capacity, at) : VectorArena.create(this.dims, capacity, { shared: true, codes: codesKept() });
      // Rows past those copied are written one entry at a time: their pages are faulted in on a pool thread meanwhile.
      arena?.prefault(at, capacity); // (rows below `at` were just copied in)
    }
    const data = arena?.data ?? new Float32Array(capacity * this.dims);
    if (old !== undefined && !(arena !== null && old.arena !== null)) data.set(old.data.subarray(0, at * this.dims));
    const sqNorms = arena?.shared ? new Float64Array(new SharedArrayBuffer(capacity * 8)) : new Float64Array(capacity);
    if (old !== undefined) sqNorms.set(old.sqNorms.subarray(0, at));
    let codes: ChunkCodes | undefined;
    if (arena?.codes) {
      // In shared memory with a shared arena: pool threads scan the codes too (query/pool-scan.ts).
      const f64 = () => (arena!.shared ? new Float64Array(new SharedArrayBuffer(capacity * 8)) : new Float64Array(capacity));
      codes = { arena, codes: arena.codes, scale: f64(), errNorm: f64(), codeNorm: f64() };
      const was = old?.codes;
      if (was !== undefined) {
        codes.scale.set(was.scale.subarray(0, at));
        codes.errNorm.set(was.errNorm.subarray(0, at));
        codes.codeNorm.set(was.codeNorm.subarray(0, at));
      } else for (let r = 0; r < at; r++) encodeRow(codes, r); // the first chunk moving into an arena
    }
    const chunk: StoreChunk =
      arena !== null
        ? { data, sqNorms, capacity, arena, scan: arena, ...(codes ? { codes } : {}), ...(arena.shared ? { shared: { memory: arena.memory, capacity } } : {}) }
        : { data, sqNorms, capacity, arena: null };
    this.chunks[c] = chunk;
    return chunk;
  }

  /** Physical row p as a document (its vector copied out of the buffer). */
  docAt(p: number): Doc {
    let vector: Float32Array | null = this.oddVectors.get(p) ?? null;
    if (vector === null && this.hasVector(p)) {
      const at = (p & ((1 << this.chunkShift) - 1)) * this.dims;
      vector = this.chunks[p >>> this.chunkShift]!.data.slice(at, at + this.dims);
    }
    return { id: this.ids[p]!, vector, attrs: this.cols.attrs(p) };
  }

  analyzed(attr: string, analyzer: TextAnalyzer, p: number): DocTerms | null {
    let perAttr = this.termMemo.get(analyzer);
    if (perAttr === undefined) this.termMemo.set(analyzer, (perAttr = new Map()));
    let memo = perAttr.get(attr);
    if (memo === undefined) perAttr.set(attr, (memo = []));
    let t = memo[p];
    if (t === undefined) memo[p] = t = analyzeValue(this.cols.value(attr, p), analyzer);
    return t;
  }

  /**
   * The sparse postings of `attr` covering every row appended so far, or null while they are being built: a backlog of
   * more than SPARSE_SYNC_ROWS rows (the first SparseKNN query over a large tail, a rebuilt view) is indexed in steps
   * that yield to the event loop, and queries meanwhile score the tail from its values (the same scores).
   */
  sparseLists(attr: string): LooseSparseIndex | null {
    let ix = this.sparseMemo.get(attr);
    if (ix === undefined) this.sparseMemo.set(attr, (ix = new LooseSparseIndex((p) => this.cols.value(attr, p))));
    if (ix.indexed >= this.rows) return ix;
    if (!ix.catchingUp && this.rows - ix.indexed <= SPARSE_SYNC_ROWS) {
      ix.extendTo(this.rows);
      return ix;
    }
    if (!ix.catchingUp) {
      ix.catchingUp = true;
      const index = ix;
      const step = () => {
        index.extendTo(Math.min(this.rows, index.indexed + SPARSE_SYNC_ROWS));
        if (index.indexed < this.rows) setImmediate(step);
        else index.catchingUp = false;
      };
      setImmediate(step);
    }
    return null;
  }

  loosePostings(attr: string, analyzer: TextAnalyzer): LoosePostings {
    let perAttr = this.postingsMemo.get(analyzer);
    if (perAttr === undefined) this.postingsMemo.set(analyzer, (perAttr = new Map()));
    let ix = perAttr.get(attr);
    if (ix === undefined) perAttr.set(attr, (ix = new LoosePostings(analyzer, (p) => this.cols.value(attr, p))));
    ix.extendTo(this.rows);
    return ix;
  }
}

/** Tail rows a query indexes into its sparse postings before answering; a larger backlog is indexed in the background. */
export const SPARSE_SYNC_ROWS = 4096;

/** Rows per chunk of tail vectors: 2^14 (8 MiB of 128-d vectors). */
const CHUNK_SHIFT = 14;

interface StoreChunk extends VectorChunk {
  /** Rows the chunk has room for. */
  readonly capacity: number;
  readonly arena: VectorArena | null;
}

/** What TailSegment.carryOver says about the rows it dropped. */
export interface CarryStats {
  /** Rows the new segment no longer holds (the publish's parts hold them now). */
  droppedRows: number;
  /** Rows of the shared store below the new segment: dropped by this carry-over and the ones before it. */
  storeDroppedRows: number;
}

/**
 * The WAL tail as a segment: the rows [base, base + rows) of a TailStore, ordinal o at physical row base + o, with
 * its own dead mask and id index. A publish whose parts cover a WAL prefix of the tail carries the segment over
 * (carryOver): the new one starts past the rows the parts now hold and shares the store, so no row is decoded or
 * appended again.
 */
export class TailSegment implements Segment {
  private readonly store: TailStore;
  /** Physical row of ordinal 0. */
  private readonly base: number;
  private count = 0;
  /** WAL seq at or below which a delete is no longer the tail's (the parts hold it): the router's indexed_wal. */
  private baseSeq = -1;
  private live = 0;
  private deadMask = new Uint8Array(64);
  private deadCount = 0;
  private sortedDead: number[] | null = null;
  /** Set once carried over: a newer segment appends to the store, this one only reads what it held. */
  private sealed = false;
  /**
   * While a view folds an entry in slices (NamespaceView.apply): the rows before the entry and the ordinals below them
   * the entry killed so far. snapshot() then shows the tail as it was before the entry.
   */
  private mark: { rows: number; kills: number[] } | null = null;
  /**
   * id → physical row of its newest tail upsert, or -1 - seq when its newest tail operation is a delete (in entry
   * `seq`). Moved to the carried-over segment (its owner, the view, hands lookups of a superseded view to the new
   * one); entries below `base` / `baseSeq` belong to rows the parts took over and are not this segment's.
   */
  private readonly index: Map<Id, number>;

  /** A segment whose vectors are kept in chunks of 2^shift rows (tests: many chunks from few rows). */
  static withChunkShift(shift: number): TailSegment {
    return new TailSegment(new TailStore(shift));
  }

  constructor(store?: TailStore, base = 0, index?: Map<Id, number>) {
    this.store = store ?? new TailStore();
    this.base = base;
    this.index = index ?? new Map();
  }

  get rows(): number {
    return this.count;
  }

  get dead(): Uint8Array | null {
    return this.deadCount === 0 ? null : this.deadMask;
  }

  /** Logical bytes of the live rows (docLogicalBytes of each). */
  get liveBytes(): number {
    return this.live;
  }

  get liveRows(): number {
    return this.count - this.deadCount;
  }

  /** Physical rows of the shared store below this segment (rows carried-over segments dropped). */
  get storeDroppedRows(): number {
    return this.base;
  }

  deadOrdinals(): readonly number[] {
    return (this.sortedDead ??= deadOrdinalsOf(this.deadMask, this.count));
  }

  /** Folds one operation of a tail entry (in WAL order). */
  upsert(doc: Doc): void {
    if (this.sealed || this.base + this.count !== this.store.rows) throw new Error('a tail segment that was carried over takes no more rows');
    this.killId(doc.id);
    const r = this.count;
    const p = this.store.append(doc);
    this.count++;
    this.live += this.store.rowBytes[p]!;
    if (r >= this.deadMask.length) {
      const grown = new Uint8Array(this.deadMask.length * 2);
      grown.set(this.deadMask);
      this.deadMask = grown;
    }
    this.index.set(doc.id, p);
  }

  /**
   * Announces that about `rows` rows are coming (a rebuilt view replaying its tail): the vector buffer is then sized
   * once instead of doubling, and copying, its way up.
   */
  reserve(rows: number): void {
    this.store.expectedRows = Math.max(this.store.expectedRows, this.base + rows);
  }

  /**
   * Starts the text indexes `from` keeps (empty, filled as rows are folded in): a view rebuilt at a publish replays its
   * tail into a new segment, and the indexes are rebuilt within that replay (which yields to the event loop) rather
   * than all at once by the next BM25 query.
   */
  inheritTextIndexes(from: TailSegment): void {
    for (const [analyzer, perAttr] of from.store.postingsMemo) {
      for (const attr of perAttr.keys()) this.store.loosePostings(attr, analyzer);
    }
    for (const attr of from.store.sparseMemo.keys()) this.store.sparseLists(attr);
  }

  /** The attributes whose in-memory text index a BM25 query asked for (loosePostings): what queries search. */
  textIndexedAttrs(): string[] {
    const out = new Set<string>();
    for (const perAttr of this.store.postingsMemo.values()) for (const attr of perAttr.keys()) out.add(attr);
    return [...out];
  }

  /** Folds a delete (in entry `seq`). */
  delete(id: Id, seq = 0): void {
    if (this.sealed) throw new Error('a tail segment that was carried over takes no more rows');
    this.killId(id);
    this.index.set(id, -1 - seq);
  }

  /** Whether the tail has an operation on `id` (its newest: a row or a delete). */
  has(id: Id): boolean {
    const v = this.index.get(id);
    return v !== undefined && (v >= 0 ? v >= this.base : -1 - v > this.baseSeq);
  }

  /** The newest tail version of `id`: a document, null (deleted in the tail), or undefined (not in the tail). */
  get(id: Id): Doc | null | undefined {
    if (!this.has(id)) return undefined;
    const p = this.index.get(id)!;
    return p < 0 ? null : this.store.docAt(p);
  }

  /**
   * The segment of a newer router whose parts hold the first `drop` rows of this one, and every operation of the WAL
   * entries through `indexedWal` (a publish; 0 rows for a compaction, which does not move the boundary): the same
   * store from row base + drop on, this segment's dead mask and counts from there, and its id index, from which the
   * ids of `prefixIds` (the ids the covered entries wrote) that belong to the covered rows are removed. O(drop +
   * prefixIds) plus a copy of the dead mask (a byte per row). `again` receives the ids of `prefixIds` the new
   * segment still has (written again after the covered entries). This segment is sealed: it keeps reading its rows, and
   * its id index is the new segment's (the view hands a superseded view's lookups to its successor).
   */
  carryOver(drop: number, indexedWal: number, prefixIds: Iterable<Id>, again?: Id[]): TailSegment {
    if (this.sealed) throw new Error('a tail segment is carried over once');
    const next = new TailSegment(this.store, this.base + drop, this.index);
    next.baseSeq = Math.max(this.baseSeq, indexedWal);
    next.count = this.count - drop;
    next.deadMask = new Uint8Array(Math.max(64, next.count));
    next.deadMask.set(this.deadMask.subarray(drop, this.count));
    let deadDropped = 0;
    let bytesDropped = 0;
    for (let o = 0; o < drop; o++) {
      if (this.deadMask[o] === 1) deadDropped++;
      else bytesDropped += this.store.rowBytes[this.base + o]!;
    }
    next.deadCount = this.deadCount - deadDropped;
    next.live = this.live - bytesDropped;
    for (const id of prefixIds) {
      if (next.has(id)) again?.push(id);
      else this.index.delete(id);
    }
    this.sealed = true;
    return next;
  }

  private killId(id: Id): void {
    const prev = this.index.get(id);
    if (prev === undefined || prev < this.base) return;
    const o = prev - this.base;
    if (this.deadMask[o] !== 1) {
      this.deadMask[o] = 1;
      if (this.mark !== null && o < this.mark.rows) this.mark.kills.push(o);
      this.deadCount++;
      this.live -= this.store.rowBytes[prev]!;
      this.sortedDead = null;
    }
  }

  async prepare(): Promise<Release> {
    return NO_RELEASE;
  }

  id(ord: number): Id {
    return this.store.ids[this.base + ord]!;
  }

  value(attr: string, ord: number): AttrValue | undefined {
    return this.store.cols.value(attr, this.base + ord);
  }

  reader(attr: string): (ord: number) => AttrValue | undefined {
    const read = this.store.cols.reader(attr);
    const base = this.base;
    return base === 0 ? read : (o) => read(base + o);
  }

  /** `attr`'s numbers by physical row (ordinal o at base + o) while it holds only numbers (query/segment.ts). */
  numericColumn(attr: string): { values: Float64Array; has: Uint8Array; base: number } | null {
    const c = this.store.cols.numeric(attr);
    return c === null ? null : { ...c, base: this.base };
  }

  /** `attr`'s values by physical row (ordinal o at base + o) once it holds other values than numbers (query/segment.ts). */
  valueColumn(attr: string): { values: readonly (AttrValue | undefined)[]; base: number } | null {
    const values = this.store.cols.valueArray(attr);
    return values === null ? null : { values, base: this.base };
  }

  vectorReader(attr: string, dims: number): (ord: number) => Float32Array | null {
    const read = this.store.cols.vectorReader(attr, dims);
    const base = this.base;
    return base === 0 ? read : (o) => read(base + o);
  }

  vectors(): SegmentVectors | null {
    const s = this.store;
    if (s.dims === 0) return null;
    const base = this.base;
    let present: Uint8Array | null = null;
    if (!s.allPresent) {
      if ((base & 7) === 0) present = s.presentBits.subarray(base >> 3);
      else {
        // A carried-over segment starting mid-byte: its presence bits, shifted (only when some rows lack a vector).
        present = new Uint8Array((this.count + 7) >> 3);
        for (let o = 0; o < this.count; o++) if (s.hasVector(base + o)) present[o >> 3]! |= 1 << (o & 7);
      }
    }
    return { dims: s.dims, present, base, shift: s.chunkShift, chunks: s.chunks };
  }

  async docs(ords: readonly number[]): Promise<Doc[]> {
    return ords.map((o) => this.store.docAt(this.base + o));
  }

  postings(): PostingsFile | null {
    return null;
  }

  /**
   * Row `ord`'s analysed text, memoised by row: a row never changes once appended (an upsert of the same id appends
   * a new row), so each is analysed once per analyser and attribute for the tail's life, and a BM25 query over the
   * tail costs a lookup per row instead of an analysis. The memo holds a token list per analysed row: it grows and goes
   * with the tail it belongs to (a view drops its tail rows when a part takes them over).
   */
  analyzed(attr: string, analyzer: TextAnalyzer, ord: number): DocTerms | null {
    return this.store.analyzed(attr, analyzer, this.base + ord);
  }

  /**
   * The in-memory postings of `attr` under `analyzer`, extended to every row appended so far (BM25 statistics then cost
   * O(matches) per query, fts/loose-postings.ts). Built on the first BM25 query that needs them; they go with the tail.
   * A carried-over segment reads the store's postings through its window (ordinals shifted by `base`).
   */
  loosePostings(attr: string, analyzer: TextAnalyzer): LooseIndex {
    const ix = this.store.loosePostings(attr, analyzer);
    return this.base === 0 ? ix : new LooseWindow(ix, this.base);
  }

  /** The tail's sparse postings of `attr` (RFC-0012 §3) through this segment's window, the first `rows` ordinals. */
  sparseIndex(attr: string, rows = this.count): SparseLists | null {
    const ix = this.store.sparseLists(attr);
    if (ix === null) return null;
    return this.base === 0 && rows === this.store.rows ? ix : new SparseWindow(ix, this.base, rows);
  }

  /**
   * The tail as it is now, as a segment that later entries do not change: rows appended after are not in it and rows
   * killed after stay live in it (a query reads one state; its scans and BM25's two passes may span writes).
   */
  snapshot(): Segment {
    const m = this.mark;
    if (m !== null) {
      // An entry is being folded: the state before it (its rows are not in it, the rows it killed are live again).
      const dead = this.deadMask.slice(0, m.rows);
      for (const o of m.kills) dead[o] = 0;
      return new TailSnapshot(this, m.rows, dead.indexOf(1) === -1 ? null : dead);
    }
    const rows = this.count;
    return new TailSnapshot(this, rows, this.deadCount === 0 ? null : this.deadMask.slice(0, rows));
  }

  /** An entry's operations begin: until endEntry(), snapshot() is the tail before them (a fold in slices). */
  beginEntry(): void {
    this.mark = { rows: this.count, kills: [] };
  }

  /** The entry begun by beginEntry() is folded whole. */
  endEntry(): void {
    this.mark = null;
  }

  /** The live documents, in WAL order (export, recall sampling, logical size). */
  *liveDocs(): Generator<Doc> {
    for (let o = 0; o < this.count; o++) if (this.deadMask[o] !== 1) yield this.store.docAt(this.base + o);
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

  /** The tail's sparse postings, cut to this snapshot's rows. */
  sparseIndex(attr: string): SparseLists | null {
    return this.tail.sparseIndex(attr, this.rows);
  }

  /** The tail's postings: they may cover rows appended after this snapshot (readers stop at `rows`). */
  loosePostings(attr: string, analyzer: TextAnalyzer): LooseIndex {
    return this.tail.loosePostings(attr, analyzer);
  }

  reader(attr: string): (ord: number) => AttrValue | undefined {
    return this.tail.reader(attr);
  }

  vectorReader(attr: string, dims: number): (ord: number) => Float32Array | null {
    return this.tail.vectorReader(attr, dims);
  }

  numericColumn(attr: string): { values: Float64Array; has: Uint8Array; base: number } | null {
    return this.tail.numericColumn(attr);
  }

  valueColumn(attr: string): { values: readonly (AttrValue | undefined)[]; base: number } | null {
    return this.tail.valueColumn(attr);
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
