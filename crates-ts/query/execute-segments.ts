/**
 * Query execution over segments (RFC-0004 §6): the kernels run over row ordinals of each segment — liveness from its
 * dead mask, filters and keys through a RowCursor onto its columns, distances straight over its vector buffer — and
 * only the rows a query returns become documents. Results are the same as executeQuery over the live documents
 * (test/32-segments-oracle.test.ts checks that), ties included.
 *
 * Text ranking scores the segments as fts/ text sources (postings, or analysis of the rows without them), in two
 * passes of one segment at a time (text-segments.ts).
 */
import { CHECK_EVERY_ROWS, KthSmallest, UNCANCELLED, type AttrValue, type Doc, type Id, type QueryControl } from '../core/index.js';
import type { CompiledFilter } from '../filter/index.js';
import { compareIds, compareValues } from './compare.js';
import { cosineFromDot, cosineWithSqNormAt, distanceAt, distanceTo, norm } from './distance.js';
import { AggregationState } from './aggregate.js';
import { buildRow } from './project.js';
import { applyComputed, computeNeeds } from './compute-attributes.js';
import { NO_RELEASE, RowCursor, type DocFields, type SegmentVectors, type OrderBound, type Release, type Segment, type SegmentNeed } from './segment.js';
import type { ScanChunk, VectorScanInput, VectorScanOutput } from './pool-scan.js';
import type { Bm25PartInput, Bm25PartOutput } from '../fts/index.js';
import { scoreTextSegments } from './text-segments.js';
import { queryCodes, useCodeScan, type CodedQuery } from './code-scan.js';
import { ChunkScan } from './chunk-scan.js';
import { scoreFromIndex, scoreFromValues, type SparseSink } from '../sparse/index.js';
import { TopK } from './top-k.js';
import { attrVectorReader } from './attr-vector.js';
import { multiCandidates, multiIvfCandidates, scoreMultiSegment } from './multi-segments.js';
import { maxSimDistanceOf, type MultiVector } from '../multivec/index.js';
import type { OrderKey, ParsedQuery, Projection, QueryResultBody, RankPlan, Row } from './types.js';

/** A ranked row: segment index, ordinal, and $dist (undefined for attribute order). */
export interface Hit {
  seg: number;
  ord: number;
  dist: number | undefined;
}

/** A candidate with what ranking compares, captured while its segment was prepared (segments stream: §6). */
interface Captured extends Hit {
  id: Id;
  /** Order-by key values (attribute order), in key order. */
  vals?: unknown[];
  /** limit.per key. */
  per?: unknown;
}

/** Per segment, the only ordinals to consider (ANN candidates from an index), or null for every row. */
export type Restriction = (seg: number) => ArrayLike<number> | null;

/**
 * Scans stream: a hook prepares one segment (its columns, vectors) just before the scan and the release frees it
 * right after, so a query over many parts holds one part's data at a time. Without a hook, segments are used as
 * they are (already prepared by the caller).
 */
export interface ScanHooks {
  prepare?(seg: number): Promise<Release>;
  /**
   * Text (BM25) queries prepare each segment twice, with different needs (statistics, then scoring:
   * text-segments.ts). Without it the text path uses the segments as they are.
   */
  prepareNeed?(seg: number, need: SegmentNeed): Promise<Release>;
  /**
   * Stops the query cooperatively (deadline passed, client gone): checked before each segment, with a turn of the
   * event loop, and every CHECK_EVERY_ROWS rows inside a segment's scan. Default: never stops.
   */
  control?: QueryControl;
  /**
   * Runs exact vector scans of segments in shared memory on a pool thread (pool-scan.ts; the engine wires it to its
   * pool) when `idle()` says a thread is free; otherwise, or when absent, the scan runs here (a busy pool would make
   * it wait while this thread could run it). The task's `cancel` flag is set when the query stops (control.signal).
   * `bm25` scores a large part's postings there too (text-segments.ts TextPool, fts/part-task.ts).
   */
  scanPool?: {
    idle(): boolean;
    run(input: VectorScanInput, signal: AbortSignal | undefined): Promise<VectorScanOutput>;
    bm25?(input: Bm25PartInput, signal: AbortSignal | undefined): Promise<Bm25PartOutput>;
    /** BM25: postings a part's scoring must reach to go to the pool (default POOL_BM25_MIN_POSTINGS). */
    bm25MinPostings?: number;
  };
}

/** Rows × dims a segment's exact scan must reach to go to the pool: ≈ 1 ms of scan at 128-d (8,192 rows). */
export const POOL_SCAN_MIN_FLOATS = 1 << 20;

/**
 * The query's filter over one segment's rows (always called with a RowCursor): the segment's filter indexes (RFC-0009)
 * decide rows they answer exactly, or narrow the rows the compiled filter still runs on; without indexes, the filter.
 */
function segmentFilter(seg: Segment, q: ParsedQuery, fewRows = false): CompiledFilter | null {
  const f = q.filter;
  const src = q.filterSource;
  if (f === null || src === undefined || seg.filterMask === undefined) return f;
  if (fewRows && seg.filterValues) {
    // A filter over one attribute with a scalar dictionary: each row's value against the values it accepts (the
    // clustered walk tested its candidates so, and built no bitmap of the matches).
    const v = seg.filterValues(src.filter, src.compileLeaf);
    if (v !== null) {
      const { codes, accept } = v;
      return (d) => accept[codes[(d as RowCursor).ord]!] === 1;
    }
  }
  if (fewRows && seg.filterBits) {
    // A few rows to test (ANN candidates): the exact bitmap answers each, without spreading it into a byte per row of
    // the segment (O(rows) a query).
    const b = seg.filterBits(src.filter, src.compileLeaf);
    if (b !== null && b.exact) {
      const bits = b.bits;
      return (d) => bits.has((d as RowCursor).ord);
    }
  }
  const m = seg.filterMask(src.filter, src.compileLeaf);
  if (m === null) return f;
  const mask = m.mask;
  return m.exact ? (d) => mask[(d as RowCursor).ord] === 1 : (d) => mask[(d as RowCursor).ord] === 1 && f(d);
}

/**
 * A document whose attributes are only the filter's, filled from the segment's column readers for one row at a time
 * (ColumnDoc.at). The compiled filter reads `d.attrs[name]`: through a RowCursor every query's cursor has a
 * prototype of its own, so that property load (shared by every query: filter/condition.ts readerFor) sees a new
 * object shape each query and goes megamorphic, ≈50 ns a row on the WAL tail (issue 17). A plain object with the
 * same attributes in the same order has one shape across queries. The id is read only if the filter asks for it.
 */
class ColumnDoc {
  ord = 0;
  readonly vector = null;
  readonly attrs: Record<string, AttrValue | undefined> = {};
  private readonly names: string[];
  private readonly readers: ((ord: number) => AttrValue | undefined)[];

  constructor(
    private readonly segment: Segment,
    names: readonly string[],
  ) {
    this.names = [...new Set(names)].filter((n) => n !== 'id' && n !== 'vector').sort();
    this.readers = this.names.map((n) => segment.reader!(n));
    for (const n of this.names) this.attrs[n] = undefined;
  }

  get id(): Id {
    return this.segment.id(this.ord);
  }

  at(ord: number): this {
    this.ord = ord;
    const { names, readers, attrs } = this;
    for (let j = 0; j < names.length; j++) attrs[names[j]!] = readers[j]!(ord);
    return this;
  }
}

/**
 * The query's filter over one segment as a test of an ordinal (null: no filter). A filter the segment's indexes do
 * not answer (segmentFilter gives the compiled filter itself) runs over a ColumnDoc when the segment reads columns
 * (the WAL tail); otherwise over the cursor. Same results either way: the same compiled filter over the same values.
 */
function rowTest(seg: Segment, q: ParsedQuery, cursor: RowCursor): ((ord: number) => boolean) | null {
  const f = segmentFilter(seg, q);
  if (f === null) return null;
  const src = q.filterSource;
  if (f !== q.filter || src === undefined || !seg.reader) return (o) => f(cursor.at(o));
  const fast = numericLeafTest(seg, src.filter, f) ?? stringEqTest(seg, src.filter, f);
  if (fast !== null) return fast;
  const doc = new ColumnDoc(seg, src.attrs);
  return (o) => f(doc.at(o) as unknown as Doc);
}

const NUMERIC_OPS: Record<string, (v: number, x: number) => boolean> = {
  Lt: (v, x) => v < x,
  Lte: (v, x) => v <= x,
  Gt: (v, x) => v > x,
  Gte: (v, x) => v >= x,
  Eq: (v, x) => v === x,
  NotEq: (v, x) => v !== x,
};

/**
 * A filter that is one comparison of a number column with a number (`["cat", "Lt", 5]`) over a segment that keeps the
 * column as numbers (the WAL tail: numericColumn), as a test reading the column's arrays (a tail scan whose filter
 * matches nothing, 100k rows: 6-7 ns a row, 16 with the compiled filter over a ColumnDoc). The compiled filter stays the reference: it is asked about the
 * operand, its neighbours and a missing value, and unless it answers each as the fast test does (the operand
 * normalised otherwise, e.g. a datetime attribute; a missing value's rule) the caller keeps the compiled filter.
 */
function numericLeafTest(seg: Segment, filter: unknown, compiled: CompiledFilter): ((ord: number) => boolean) | null {
  if (!seg.numericColumn || !Array.isArray(filter) || filter.length !== 3) return null;
  const [attr, op, x] = filter as [unknown, unknown, unknown];
  if (typeof attr !== 'string' || attr === 'id' || typeof op !== 'string' || typeof x !== 'number' || !Number.isFinite(x)) return null;
  const cmp = NUMERIC_OPS[op];
  if (cmp === undefined) return null;
  const col = seg.numericColumn(attr);
  if (col === null) return null;
  const probe = (v: number | undefined) => compiled({ id: 0, vector: null, attrs: v === undefined ? {} : { [attr]: v } } as Doc);
  const missing = probe(undefined);
  for (const v of [x, x - 1, x + 1, x - 0.5, x + 0.5, -x, 0, x * 2]) if (probe(v) !== cmp(v, x)) return null;
  const { values, has, base } = col;
  const n = has.length << 3;
  switch (op) {
    case 'Lt':
      return (o) => { const p = base + o; return p < n && (has[p >> 3]! & (1 << (p & 7))) !== 0 ? values[p]! < x : missing; };
    case 'Lte':
      return (o) => { const p = base + o; return p < n && (has[p >> 3]! & (1 << (p & 7))) !== 0 ? values[p]! <= x : missing; };
    case 'Gt':
      return (o) => { const p = base + o; return p < n && (has[p >> 3]! & (1 << (p & 7))) !== 0 ? values[p]! > x : missing; };
    case 'Gte':
      return (o) => { const p = base + o; return p < n && (has[p >> 3]! & (1 << (p & 7))) !== 0 ? values[p]! >= x : missing; };
    default:
      return (o) => { const p = base + o; return p < n && (has[p >> 3]! & (1 << (p & 7))) !== 0 ? cmp(values[p]!, x) : missing; };
  }
}

/**
 * A filter that is one equality of an attribute with a string (`["category", "Eq", "c3"]`) over a segment that keeps
 * the attribute's values in an array (the WAL tail: valueColumn), as a test reading the array: a row whose value is
 * that string matches, one whose value is another string does not (the compiled Eq compares a string value with the
 * operand: filter/value-ops.ts compileEq), and any other value (missing, null, an array, a number) is asked of the
 * compiled filter. A kNN query over a tail of 17.6k rows under such a filter (issue 17's filtered ANN): a fifth to a
 * third less CPU than the compiled filter over a ColumnDoc (docs/benchmarks.md "WAL-tail vector scan by chunk").
 * Unless the compiled filter matches the operand and rejects other strings (an operand normalised otherwise), the
 * caller keeps it.
 */
function stringEqTest(seg: Segment, filter: unknown, compiled: CompiledFilter): ((ord: number) => boolean) | null {
  if (!seg.valueColumn || !Array.isArray(filter) || filter.length !== 3) return null;
  const [attr, op, x] = filter as [unknown, unknown, unknown];
  if (typeof attr !== 'string' || attr === 'id' || op !== 'Eq' || typeof x !== 'string') return null;
  const col = seg.valueColumn(attr);
  if (col === null) return null;
  // One document the compiled filter reads other values through (synchronous: reused).
  const attrs: Record<string, AttrValue | undefined> = { [attr]: undefined };
  const doc = { id: 0, vector: null, attrs } as unknown as Doc;
  const probe = (v: AttrValue | undefined) => {
    attrs[attr] = v;
    return compiled(doc);
  };
  if (!probe(x)) return null;
  for (const v of ['', `${x} `, x.toUpperCase() === x ? x.toLowerCase() : x.toUpperCase()]) if (v !== x && probe(v)) return null;
  const { values, base } = col;
  return (o) => {
    const v = values[base + o];
    return v === x || (typeof v !== 'string' && probe(v));
  };
}

/** A mask for `(i & ROW_CHECK_MASK) === 0`: true every CHECK_EVERY_ROWS rows (a power of two). */
const ROW_CHECK_MASK = CHECK_EVERY_ROWS - 1;

/**
 * How long a scan of the WAL tail's chunks runs on this thread before it gives the event loop back
 * (control.checkpoint('scan'), looked at every CHECK_EVERY_ROWS rows): a loaded tail of tens of thousands of rows
 * was one synchronous piece per query, ≈ 2 ms on a quiet machine and up to tens of ms on a busy one
 * (docs/rfcs/0010-worker-pool.md "Tail scans in slices"). The
 * scan reads a snapshot (TailSnapshot: its rows and dead mask do not change), so a write folded meanwhile changes
 * nothing it sees. Tests set `ms` to 0 (a pause at every check).
 */
export const scanSlice = { ms: 4 };

/**
 * The pool task scanning a segment's vectors (pool-scan.ts), or null when they are not all in shared memory (the scan
 * then runs here): the WAL tail's chunks in shared arenas, or a part's vectors in a SharedArrayBuffer. A filter or a
 * restriction is applied here (it reads attributes on this thread) and the task gets the matching ordinals;
 * otherwise it gets copies of the dead mask and presence bits (both may change while it runs).
 */
function pooledScan(
  v: SegmentVectors,
  seg: Segment,
  n: number,
  only: ArrayLike<number> | null,
  test: ((ord: number) => boolean) | null,
  query: Float32Array,
  cosine: boolean,
  k: number,
  control: QueryControl,
): VectorScanInput | null {
  let where: Pick<VectorScanInput, 'base' | 'shift' | 'firstChunk' | 'chunks' | 'flat'>;
  if (v.chunks !== undefined) {
    const first = v.base >>> v.shift;
    const last = (v.base + Math.max(seg.rows, 1) - 1) >>> v.shift;
    const chunks: (ScanChunk | null)[] = [];
    for (let c = first; c <= last; c++) {
      const chunk = v.chunks[c];
      if (chunk === undefined) {
        chunks.push(null); // no row of it has a vector: the presence bits skip them all
        continue;
      }
      if (chunk.shared === undefined) return null;
      const codes = chunk.codes;
      chunks.push({ memory: chunk.shared.memory, capacity: chunk.shared.capacity, sqNorms: chunk.sqNorms, ...(codes && isShared(codes.scale) ? { codes: { scale: codes.scale, errNorm: codes.errNorm, codeNorm: codes.codeNorm } } : {}) });
    }
    where = { base: v.base, shift: v.shift, firstChunk: first, chunks };
  } else {
    const sq = cosine ? (v.sqNorms ?? null) : null;
    if (v.scan !== undefined || !isShared(v.data) || (sq !== null && !isShared(sq))) return null;
    where = { base: 0, shift: 0, firstChunk: 0, chunks: [], flat: { data: v.data, sqNorms: sq } };
  }
  const at = { ...where, dims: v.dims, cosine, query, k, codeScan: useCodeScan(k, n, only), cancel: new Int32Array(new SharedArrayBuffer(4)) };
  const { present } = v;
  const dead = seg.dead;
  if (test === null && only === null) {
    return { ...at, n, ords: null, dead: dead === null ? null : dead.slice(0, n), present: present === null ? null : present.slice(0, (n + 7) >> 3) };
  }
  const ords = new Int32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if ((i & ROW_CHECK_MASK) === 0) control.check('scan');
    const o = only === null ? i : only[i]!;
    if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) continue;
    if (dead !== null && dead[o] === 1) continue;
    if (test !== null && !test(o)) continue;
    ords[m++] = o;
  }
  return { ...at, n, ords: ords.slice(0, m), dead: null, present: null };
}

const isShared = (a: ArrayBufferView) => typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer;

function liveTest(seg: Segment, cursor: RowCursor, filter: CompiledFilter | null): (ord: number) => boolean {
  const dead = seg.dead;
  if (filter === null) return dead === null ? () => true : (o) => dead[o] !== 1;
  if (dead === null) return (o) => filter(cursor.at(o));
  return (o) => dead[o] !== 1 && filter(cursor.at(o));
}

/** Top-k by numeric key (smaller first), ties by id: parallel arrays, ids captured (no object per candidate). */
class HitTopK {
  private readonly keys: Float64Array;
  private readonly segs: Int32Array;
  private readonly ords: Int32Array;
  private readonly ids: Id[];
  private size = 0;

  constructor(private readonly k: number) {
    this.keys = new Float64Array(Math.max(k, 0));
    this.segs = new Int32Array(Math.max(k, 0));
    this.ords = new Int32Array(Math.max(k, 0));
    this.ids = new Array<Id>(Math.max(k, 0));
  }

  /** The negated worst key of a full heap (a higher-first score a row must reach to enter), else undefined. */
  threshold(): number | undefined {
    return this.size === this.k && this.k > 0 ? -this.keys[0]! : undefined;
  }

  /** The worst key of a full heap (a key past it cannot enter), else Infinity. */
  get worstKey(): number {
    return this.size === this.k && this.k > 0 ? this.keys[0]! : Infinity;
  }

  /** Whether (key, id) ranks strictly after the current worst entry (so it cannot enter a full heap). */
  rejects(key: number): boolean {
    return this.size === this.k && key > this.keys[0]!;
  }

  push(key: number, s: number, o: number, id: Id): void {
    if (this.k <= 0) return;
    const worse = (ka: number, ia: Id, kb: number, ib: Id) => ka > kb || (ka === kb && compareIds(ia, ib) > 0);
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(key, id, this.keys[p]!, this.ids[p]!)) break;
        this.keys[i] = this.keys[p]!;
        this.segs[i] = this.segs[p]!;
        this.ords[i] = this.ords[p]!;
        this.ids[i] = this.ids[p]!;
        i = p;
      }
      this.keys[i] = key;
      this.segs[i] = s;
      this.ords[i] = o;
      this.ids[i] = id;
      return;
    }
    if (!worse(this.keys[0]!, this.ids[0]!, key, id)) return;
    let i = 0;
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && worse(this.keys[r]!, this.ids[r]!, this.keys[l]!, this.ids[l]!)) c = r;
      if (!worse(this.keys[c]!, this.ids[c]!, key, id)) break;
      this.keys[i] = this.keys[c]!;
      this.segs[i] = this.segs[c]!;
      this.ords[i] = this.ords[c]!;
      this.ids[i] = this.ids[c]!;
      i = c;
    }
    this.keys[i] = key;
    this.segs[i] = s;
    this.ords[i] = o;
    this.ids[i] = id;
  }

  sorted(): Captured[] {
    const out: Captured[] = [];
    for (let i = 0; i < this.size; i++) out.push({ seg: this.segs[i]!, ord: this.ords[i]!, dist: this.keys[i]!, id: this.ids[i]! });
    return out.sort((a, b) => a.dist! - b.dist! || compareIds(a.id, b.id));
  }
}

/** limit.per over explicit candidates: keep at most per.limit of each key in rank order, then the best `total`. */
function selectPerKey(cands: Captured[], cmp: (a: Captured, b: Captured) => number, per: NonNullable<ParsedQuery['per']>, total: number): Captured[] {
  const byKey = new Map<unknown, TopK<Captured>>();
  for (const h of cands) {
    let heap = byKey.get(h.per);
    if (!heap) byKey.set(h.per, (heap = new TopK<Captured>(per.limit, cmp)));
    heap.push(h);
  }
  const best = new TopK<Captured>(total, cmp);
  for (const heap of byKey.values()) for (const h of heap.sorted()) best.push(h);
  return best.sorted();
}

/** Runs `scan` on each segment in turn, prepared by the hook (if any) and released right after. */
/**
 * Prepares, scans and releases each segment in turn. A scan that hands work on the segment to another thread calls
 * `keep()`: its segment stays prepared (ids, columns pinned) and its release is returned, for the caller to call
 * once that work is collected. When a scan throws, everything kept is released before the error propagates.
 */
async function eachSegment(segs: readonly Segment[], hooks: ScanHooks | undefined, scan: (seg: Segment, s: number, keep: () => void) => void | Promise<void>): Promise<Release[]> {
  const control = hooks?.control ?? UNCANCELLED;
  const kept: Release[] = [];
  try {
    for (let s = 0; s < segs.length; s++) {
      await control.checkpoint('segment');
      const release = hooks?.prepare ? await hooks.prepare(s) : NO_RELEASE;
      let keepIt = false;
      try {
        const out = scan(segs[s]!, s, () => (keepIt = true));
        if (out !== undefined) await out;
      } finally {
        if (keepIt) kept.push(release);
        else release();
      }
    }
  } catch (e) {
    for (const r of kept) r();
    throw e;
  }
  return kept;
}

const byDistThenId = (a: Captured, b: Captured) => a.dist! - b.dist! || compareIds(a.id, b.id);

export async function rankSegments(q: ParsedQuery, rank: RankPlan, segs: readonly Segment[], restrict?: Restriction, hooks?: ScanHooks): Promise<Hit[]> {
  const per = q.per;
  const control = hooks?.control ?? UNCANCELLED;
  const perKey = (c: RowCursor): unknown => {
    const vals = per!.attributes.map((a) => (a === 'id' ? c.id : (c.attrs[a] ?? null)));
    return vals.length === 1 ? vals[0] : JSON.stringify(vals);
  };

  if (rank.kind === 'text') {
    // BM25 through fts/ in two passes, one segment at a time (text-segments.ts): postings where a part has them
    // (minus dead rows), the other live rows analysed; max-score top-k unless limit.per needs every match.
    const sp = hooks?.scanPool;
    const bm25 = sp?.bm25;
    const textPool = sp && bm25 ? { idle: () => sp.idle(), run: (i: Bm25PartInput, signal: AbortSignal | undefined) => bm25.call(sp, i, signal), ...(sp.bm25MinPostings !== undefined ? { minPostings: sp.bm25MinPostings } : {}) } : undefined;
    const scan = await scoreTextSegments(q, rank.plan, segs, hooks?.prepareNeed ?? null, per ? perKey : null, undefined, control, textPool);
    if (!per) {
      // Higher score first: the negated score as the key keeps "smaller first, ties by id".
      const heap = new HitTopK(q.limit);
      for (const h of scan.hits) heap.push(-h.score, h.source, h.ord, h.id);
      return heap.sorted().map((h) => ({ seg: h.seg, ord: h.ord, dist: -h.dist! }));
    }
    const all: Captured[] = scan.hits.map((h, i) => ({ seg: h.source, ord: h.ord, dist: -h.score, id: h.id, per: scan.keys[i] }));
    return selectPerKey(all, byDistThenId, per, q.limit).map((h) => ({ seg: h.seg, ord: h.ord, dist: -h.dist! }));
  }

  if (rank.kind === 'vector') {
    const generic = distanceAt(rank.metric, rank.query);
    const dims = rank.query.length;
    const qNorm = norm(rank.query);
    const cosine = rank.metric === 'cosine_distance';
    const query64 = Float64Array.from(rank.query);
    const heap = per ? null : new HitTopK(q.limit);
    let coded: CodedQuery | null | undefined;
    const codeQuery = (): CodedQuery | null => (coded === undefined ? (coded = queryCodes(rank.query, qNorm)) : coded);
    const all: Captured[] = [];
    const offer = (seg: Segment, cursor: RowCursor, s: number, o: number, d: number) => {
      if (heap) {
        if (!heap.rejects(d)) heap.push(d, s, o, seg.id(o));
      } else all.push({ seg: s, ord: o, dist: d, id: seg.id(o), per: perKey(cursor.at(o)) });
    };
    // Scans handed to the pool: their answers join the top-k once the other segments are scanned here.
    const pooled: { s: number; seg: Segment; cursor: RowCursor; out: Promise<VectorScanOutput> }[] = [];
    /** Hands segment s's scan to an idle pool thread when it is big enough and its vectors are shared; false: scan here. */
    const handOff = (v: SegmentVectors, seg: Segment, s: number, n: number, only: ArrayLike<number> | null, test: ((ord: number) => boolean) | null, cursor: RowCursor, keep: () => void): boolean => {
      const pool = hooks?.scanPool;
      if (heap === null || !pool || n * dims < POOL_SCAN_MIN_FLOATS || !pool.idle()) return false;
      const task = pooledScan(v, seg, n, only, test, rank.query, cosine, q.limit, control);
      if (task === null) return false;
      pooled.push({ s, seg, cursor, out: pool.run(task, control.signal) });
      keep(); // its ids are read when the answer is offered
      return true;
    };
    const collectPooled = async () => {
      for (const p of pooled) {
        const r = await p.out;
        if (r.cancelled) control.check('scan'); // the query stopped: its reason
        for (let j = 0; j < r.ords.length; j++) offer(p.seg, p.cursor, p.s, r.ords[j]!, r.dists[j]!);
      }
    };
    let kept: Release[] = [];
    try {
      kept = await eachSegment(segs, hooks, async (seg, s, keep) => {
      const cursor = new RowCursor(seg, q.readAttrs);
      const v = seg.vectors();
      const only = restrict?.(s) ?? null;
      if (v === null) {
        // Only some rows' vectors were fetched (ANN candidates of a part read by block): rank those.
        if (only === null || !seg.vectorAt) return;
        const live = liveTest(seg, cursor, segmentFilter(seg, q, true));
        for (let i = 0; i < only.length; i++) {
          if ((i & ROW_CHECK_MASK) === 0) control.check('scan');
          const o = only[i]!;
          const at = seg.vectorAt(o);
          if (at === null || !live(o)) continue;
          offer(seg, cursor, s, o, generic(at.data, at.off));
        }
        return;
      }
      if (v.dims !== dims) return;
      if (v.chunks !== undefined) {
        // The WAL tail's vectors, in chunks (never copied as the tail grows): the same loop per chunk, with the same
        // kernels, so every distance is the one a single buffer gives.
        const { chunks, shift, base, present } = v;
        const mask = (1 << shift) - 1;
        const dead = seg.dead;
        const test = rowTest(seg, q, cursor);
        const n = only === null ? seg.rows : only.length;
        if (handOff(v, seg, s, n, only, test, cursor, keep)) return;
        // Code scan (code-scan.ts): bounds from the chunks' int8 codes, exact distances only for rows that may enter
        // the top k. `kth`: the k-th smallest upper bound among this segment's rows; a chunk's candidates (ordinal,
        // chunk row, lower bound) are ranked exactly when the scan leaves the chunk (chunk-scan.ts).
        const cq = heap !== null && useCodeScan(q.limit, n, only) ? codeQuery() : null;
        const kth = cq !== null ? new KthSmallest(q.limit) : null;
        const scan = new ChunkScan(rank.query, query64, qNorm, cosine, generic, cq, kth, heap, (o, d) => offer(seg, cursor, s, o, d));
        let sliceFrom = performance.now();
        /**
         * Every CHECK_EVERY_ROWS rows: a check, after a pause once the slice has run (scanSlice). Only a pause awaits:
         * anything that ran between two runs of rows could use the chunks' kernels.
         */
        const pause = async () => {
          // Give the loop back (scanSlice). The chunks' kernels and arenas are shared by every query on this thread:
          // leave the chunk first (its batch and candidates ranked), so nothing of this query is in them while
          // another runs; the next selected row enters its chunk again (its query set anew).
          scan.leave();
          await control.checkpoint('scan');
          sliceFrom = performance.now();
        };
        if (only === null) {
          // Runs of ordinals inside one chunk and one stretch of CHECK_EVERY_ROWS rows, each selected in one loop
          // (ChunkScan.rows). The chunk is looked up for each run: chunk 0 may be replaced by a larger copy during
          // a pause (tail-segment.ts growChunk; the rows the snapshot holds are the same).
          for (let i = 0; i < n; ) {
            if ((i & ROW_CHECK_MASK) === 0) {
              if (i > 0 && performance.now() - sliceFrom >= scanSlice.ms) await pause();
              control.check('scan');
            }
            const p = base + i;
            const ci = p >>> shift;
            const end = Math.min(n, (i | ROW_CHECK_MASK) + 1, (ci + 1) * (mask + 1) - base);
            const c = chunks[ci];
            // An absent chunk has no row with a vector: the presence bits skip them all.
            if (c !== undefined) {
              if (c.scan !== undefined) scan.rows(c, i, end, p & mask, present, dead, test);
              else scan.plainRows(c, i, end, p & mask, present, dead, test);
            }
            i = end;
          }
        } else {
          for (let i = 0; i < n; i++) {
            if ((i & ROW_CHECK_MASK) === 0) {
              if (i > 0 && performance.now() - sliceFrom >= scanSlice.ms) await pause();
              control.check('scan');
            }
            const o = only[i]!;
            if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) continue;
            if (dead !== null && dead[o] === 1) continue;
            if (test !== null && !test(o)) continue;
            const p = base + o;
            scan.row(chunks[p >>> shift]!, p & mask, o);
          }
        }
        scan.leave();
        return;
      }
      // The tight loop every query runs over the tail (and exact scans of parts): liveness, presence and the filter
      // inline, the distance straight over the buffer (with stored norms for cosine: one pass over each vector).
      const { data, present } = v;
      const sq = cosine ? (v.sqNorms ?? null) : null;
      const dead = seg.dead;
      const test = rowTest(seg, q, cursor);
      const n = only === null ? seg.rows : only.length;
      // A part's vectors in shared memory (part-data.ts vectorsWhole): scanned on the pool like the tail.
      if (handOff(v, seg, s, n, only, test, cursor, keep)) return;
      const k = v.scan;
      if (k !== undefined && (sq !== null || !cosine)) {
        // The vectors live in WebAssembly memory: select a batch of rows here, let the SIMD kernel compute their
        // distances (bit-identical to the JS kernels below), then offer them. All synchronous: no other scan can
        // overwrite the arena's query or batch in between.
        k.setQuery(rank.query);
        const { sel, out, batch } = k;
        let m = 0;
        const flush = () => {
          if (cosine) k.dots(m);
          else k.l2s(m);
          for (let j = 0; j < m; j++) {
            const o = sel[j]!;
            offer(seg, cursor, s, o, cosine ? cosineFromDot(out[j]!, qNorm, sq![o]!) : out[j]!);
          }
          m = 0;
        };
        for (let i = 0; i < n; i++) {
          if ((i & ROW_CHECK_MASK) === 0) control.check('scan');
          const o = only === null ? i : only[i]!;
          if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) continue;
          if (dead !== null && dead[o] === 1) continue;
          if (test !== null && !test(o)) continue;
          sel[m++] = o;
          if (m === batch) flush();
        }
        if (m > 0) flush();
        return;
      }
      for (let i = 0; i < n; i++) {
        if ((i & ROW_CHECK_MASK) === 0) control.check('scan');
        const o = only === null ? i : only[i]!;
        if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) continue;
        if (dead !== null && dead[o] === 1) continue;
        if (test !== null && !test(o)) continue;
        const d = sq !== null ? cosineWithSqNormAt(query64, qNorm, data, o * dims, sq[o]!) : generic(data, o * dims);
        offer(seg, cursor, s, o, d);
      }
    });
      await collectPooled();
    } finally {
      // A query stopped mid-scan leaves its pooled scans to end on their own (the signal set their cancel flags).
      for (const p of pooled) p.out.catch(() => {});
      for (const r of kept) r();
    }
    if (heap) return heap.sorted();
    return selectPerKey(all, byDistThenId, per!, q.limit);
  }

  if (rank.kind === 'attr_vector') {
    // kNN / ANN over another vector attribute (RFC-0014): every live, matching row's stored value (or only the ANN
    // candidates of a part's graph, `restrict`), exact distance, lower first, ties by id; parts and WAL tail alike.
    const heap = per ? null : new HitTopK(q.limit);
    const all: Captured[] = [];
    const dist = distanceTo(rank.metric, rank.query);
    await eachSegment(segs, hooks, (seg, s) => {
      const cursor = new RowCursor(seg, q.readAttrs);
      const accept = liveTest(seg, cursor, segmentFilter(seg, q));
      const only = restrict?.(s) ?? null;
      // Packed f32 views where the segment keeps them (RFC-0014 §4), else each value copied into one buffer.
      const read = attrVectorReader(seg, rank.attr, rank.query.length);
      const n = only === null ? seg.rows : only.length;
      for (let i = 0; i < n; i++) {
        if ((i & ROW_CHECK_MASK) === 0) control.check('scan');
        const o = only === null ? i : only[i]!;
        const v = read(o);
        if (v === null || !accept(o)) continue;
        const d = dist(v);
        if (heap) {
          if (!heap.rejects(d)) heap.push(d, s, o, seg.id(o));
        } else all.push({ seg: s, ord: o, dist: d, id: seg.id(o), per: perKey(cursor.at(o)) });
      }
    });
    return heap ? heap.sorted() : selectPerKey(all, byDistThenId, per!, q.limit);
  }

  if (rank.kind === 'multi') {
    // kNN / ANN over a multi-vector attribute (RFC-0015): exact MaxSim over each segment's rows (the ANN path passes
    // its MUVERA candidates as `restrict`), one top-k across segments.
    const heap = per ? null : new HitTopK(q.limit);
    const all: Captured[] = [];
    // Parts whose MUVERA index named candidates: their values are read after the pass (only the candidates' blocks).
    const pending: { s: number; ords: number[] }[] = [];
    await eachSegment(segs, hooks, (seg, s) => {
      const cursor = new RowCursor(seg, q.readAttrs.filter((a) => a !== rank.attr));
      const accept = liveTest(seg, cursor, segmentFilter(seg, q));
      const sink = heap
        ? { offer: (o: number, d: number, id: Id) => heap.push(d, s, o, id) }
        : { offer: (o: number, d: number, id: Id) => all.push({ seg: s, ord: o, dist: d, id, per: perKey(cursor.at(o)) }) };
      const check = () => control.check('scan');
      // ANN: a part's token-level IVF (RFC-0015 §4), or its MUVERA index (§3, parts built before), names the
      // candidates (filtered and live), re-ranked exactly below; the tail and parts without an index are ranked
      // exactly. limit.per needs every match: exact.
      const ivf = rank.mode === 'ANN' && per === null ? (seg.multiIvf?.(rank.attr) ?? null) : null;
      if (ivf !== null) {
        pending.push({ s, ords: multiIvfCandidates(ivf, rank.query, q.limit, q.efSearch, accept, check) });
        return;
      }
      const fde = rank.mode === 'ANN' && per === null ? (seg.multiFde?.(rank.attr) ?? null) : null;
      if (fde !== null) {
        pending.push({ s, ords: multiCandidates(fde, rank.query, q.limit, q.efSearch, accept, check) });
        return;
      }
      scoreMultiSegment(seg, rank.attr, rank.query, restrict?.(s) ?? null, accept, sink, check);
    });
    for (const { s, ords } of pending) {
      await control.checkpoint('segment');
      const docs = await segs[s]!.docs(ords, { attrs: [rank.attr], vector: false });
      docs.forEach((d, i) => {
        const v = d.attrs[rank.attr];
        if (Array.isArray(v) && v.length > 0 && Array.isArray(v[0])) heap!.push(maxSimDistanceOf(rank.query, v as MultiVector), s, ords[i]!, d.id);
      });
    }
    return heap ? heap.sorted() : selectPerKey(all, byDistThenId, per!, q.limit);
  }

  if (rank.kind === 'sparse') {
    // SparseKNN (sparse/score.ts): a part's inverted index where it has one (max-score pruning against the k-th best
    // score so far, carried across segments), the other segments (the WAL tail) scored from their rows' values.
    const heap = per ? null : new HitTopK(q.limit);
    const all: Captured[] = [];
    await eachSegment(segs, hooks, (seg, s) => {
      const cursor = new RowCursor(seg, q.readAttrs);
      const accept = liveTest(seg, cursor, segmentFilter(seg, q));
      const sink: SparseSink = heap
        ? {
            threshold: () => heap.threshold(),
            offer: (o, score) => heap.push(-score, s, o, seg.id(o)),
          }
        : { threshold: () => undefined, offer: (o, score) => all.push({ seg: s, ord: o, dist: -score, id: seg.id(o), per: perKey(cursor.at(o)) }) };
      const check = () => control.check('scan');
      const index = seg.sparseIndex?.(rank.attr) ?? null;
      if (index !== null) scoreFromIndex(rank.query, (d) => index.list(d), accept, sink, check);
      else {
        const read = seg.reader ? seg.reader(rank.attr) : (o: number) => seg.value(rank.attr, o);
        scoreFromValues(rank.query, seg.rows, read, accept, sink, check);
      }
    });
    const best = heap ? heap.sorted() : selectPerKey(all, byDistThenId, per!, q.limit);
    return best.map((h) => ({ seg: h.seg, ord: h.ord, dist: -h.dist! }));
  }

  // Attribute order: the keys in turn, then id ascending. Key values are captured only for rows that make the heap.
  const keys = rank.keys;
  const cmp = capturedComparator(keys);
  const cands: Captured[] = [];
  const heap = per ? null : new TopK<Captured>(q.limit, cmp);
  await eachSegment(segs, hooks, (seg, s) => {
    const cursor = new RowCursor(seg, q.readAttrs);
    const only = restrict?.(s) ?? null;
    const readers = keys.map((k) => (k.attr === 'id' ? null : seg.reader ? seg.reader(k.attr) : (o: number) => seg.value(k.attr, o)));
    const valsOf = (o: number) => readers.map((r) => (r === null ? null : r(o)));
    // One attribute key and a part with a filter index on it (RFC-0009 slice 3): walk its rows in key order and stop
    // at the first value that ranks after the full heap's worst, instead of testing every row.
    const walk = keys.length === 1 && keys[0]!.attr !== 'id' ? keys[0]! : null;
    const src = q.filterSource;
    let bound: OrderBound | null = null;
    if (heap && only === null && walk !== null && seg.walkOrder && seg.orderBound && src !== undefined && q.filter !== null) {
      // The filter requires values of the order attribute (`price < 100` in an And, ranked by price): walk the order
      // from the first value it accepts, testing each row with the compiled filter, into this segment's own top k;
      // values it rejects are skipped whole. No bitmap of the matches is built (for `cat = cX AND price < 100` that
      // was tens of thousands of value tests a part). When the other leaves are rare within the bound the walk would
      // be long: past orderMatchScanMax rows visited it gives up, keeps nothing, and the bitmap path below ranks.
      bound = seg.orderBound(walk.attr, src.filter, src.compileLeaf);
      if (bound !== null) {
        const mine = new TopK<Captured>(q.limit, cmp);
        const test = liveTest(seg, cursor, q.filter);
        const budget = orderMatchScanMax(q.limit, seg.rows);
        let visited = 0;
        let over = false;
        const walked = seg.walkOrder(walk.attr, walk.desc, (value, o) => {
          if ((visited & ROW_CHECK_MASK) === 0) control.check('scan');
          if (++visited > budget) return !(over = true);
          // Past the worst of a full top k (this segment's, or every segment's so far): nothing later can enter.
          const a = mine.worst();
          const b = heap.worst();
          if (a !== undefined && pastWorst(value, a, walk.desc)) return false;
          if (b !== undefined && pastWorst(value, b, walk.desc)) return false;
          if (!test(o)) return true;
          const worst = mine.worst();
          if (worst !== undefined && beatsNot(keys, readers, seg, o, worst)) return true;
          mine.push({ seg: s, ord: o, dist: undefined, id: seg.id(o), vals: valsOf(o) });
          return true;
        }, bound);
        if (walked && !over) {
          for (const c of mine.sorted()) heap.push(c);
          return;
        }
      }
    }
    if (heap && only === null && walk !== null && seg.walkOrder) {
      // A selective filter the indexes answer exactly: rank its matching rows, read from the bitmap, rather than walk
      // the order until k of them turn up (a walk visits about k / selectivity rows, and far more when the filter and
      // the order are correlated: `price < 100` walked by price descending passes every other row first).
      const few = fewMatches(seg, q, q.limit);
      if (few !== null) {
        const dead = seg.dead;
        for (let i = 0; i < few.length; i++) {
          if ((i & ROW_CHECK_MASK) === 0) control.check('scan');
          const o = few[i]!;
          if (dead !== null && dead[o] === 1) continue;
          const worst = heap.worst();
          if (worst !== undefined && beatsNot(keys, readers, seg, o, worst)) continue;
          heap.push({ seg: s, ord: o, dist: undefined, id: seg.id(o), vals: valsOf(o) });
        }
        return;
      }
    }
    const live = liveTest(seg, cursor, segmentFilter(seg, q));
    const n = only === null ? seg.rows : only.length;
    if (heap && only === null && walk !== null && seg.walkOrder) {
      let i = 0;
      const walked = seg.walkOrder(walk.attr, walk.desc, (value, o) => {
        if ((i++ & ROW_CHECK_MASK) === 0) control.check('scan');
        const worst = heap.worst();
        if (worst !== undefined) {
          const c = compareValues(value, worst.vals![0]);
          if ((walk.desc ? -c : c) > 0) return false;
        }
        if (!live(o)) return true;
        if (worst !== undefined && beatsNot(keys, readers, seg, o, worst)) return true;
        heap.push({ seg: s, ord: o, dist: undefined, id: seg.id(o), vals: valsOf(o) });
        return true;
      }, bound ?? undefined);
      if (walked) return;
    }
    for (let i = 0; i < n; i++) {
      if ((i & ROW_CHECK_MASK) === 0) control.check('scan');
      const o = only === null ? i : only[i]!;
      if (!live(o)) continue;
      if (heap) {
        const worst = heap.worst();
        if (worst !== undefined && beatsNot(keys, readers, seg, o, worst)) continue;
        heap.push({ seg: s, ord: o, dist: undefined, id: seg.id(o), vals: valsOf(o) });
      } else cands.push({ seg: s, ord: o, dist: undefined, id: seg.id(o), vals: valsOf(o), per: perKey(cursor.at(o)) });
    }
  });
  return heap ? heap.sorted() : selectPerKey(cands, cmp, per!, q.limit);
}

/**
 * The rows an attribute-ordered top-k ranks directly when the filter is selective (see rankSegments): the filter's
 * exact bitmap on this segment, when the indexes give one with at most orderMatchScanMax rows; else null (walk).
 */
function fewMatches(seg: Segment, q: ParsedQuery, k: number): Uint32Array | null {
  const src = q.filterSource;
  if (q.filter === null || src === undefined || !seg.filterBits) return null;
  const b = seg.filterBits(src.filter, src.compileLeaf);
  if (b === null || !b.exact || b.bits.cardinality > orderMatchScanMax(k, seg.rows)) return null;
  return b.bits.toArray();
}

/**
 * Largest match count an attribute-ordered top k ranks by reading every match instead of walking the order index:
 * a walk visits about k·rows/matches rows if filter and order are independent, so ranking the matches costs less up to
 * √(k·rows) of them; four times that, as a walk pays per visited row what the scan pays per match and correlated
 * filters make it longer. At least 4,096.
 */
export function orderMatchScanMax(k: number, rows: number): number {
  return Math.max(4096, Math.floor(4 * Math.sqrt(Math.max(1, k) * rows)));
}

/** Compares captured candidates: the keys in turn, then id ascending. */
function capturedComparator(keys: readonly OrderKey[]): (a: Captured, b: Captured) => number {
  return (a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const c = k.attr === 'id' ? compareIds(a.id, b.id) : compareValues(a.vals![i], b.vals![i]);
      if (c !== 0) return k.desc ? -c : c;
    }
    return compareIds(a.id, b.id);
  };
}

/** True when an order-key value ranks strictly after a full heap's worst entry (one key: nothing later can enter). */
function pastWorst(value: unknown, worst: Captured, desc: boolean): boolean {
  const c = compareValues(value, worst.vals![0]);
  return (desc ? -c : c) > 0;
}

/** True when row `o` of `seg` does not rank strictly before `worst` (so it cannot enter the full heap). */
function beatsNot(keys: readonly OrderKey[], readers: readonly (((o: number) => unknown) | null)[], seg: Segment, o: number, worst: Captured): boolean {
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const c = k.attr === 'id' ? compareIds(seg.id(o), worst.id) : compareValues(readers[i]!(o), worst.vals![i]);
    if (c !== 0) return (k.desc ? -c : c) > 0;
  }
  return compareIds(seg.id(o), worst.id) >= 0;
}

/** Every live row of the segments as a cursor positioned on it (aggregations read through it, keep nothing). */
export function* liveRows(segs: readonly Segment[], attrs: readonly string[]): Generator<Doc> {
  for (const seg of segs) {
    const cursor = new RowCursor(seg, attrs);
    const dead = seg.dead;
    for (let o = 0; o < seg.rows; o++) if (dead === null || dead[o] !== 1) yield cursor.at(o);
  }
}

/** What a projection needs of the returned rows' documents. */
function fieldsOf(p: Projection): DocFields {
  switch (p.kind) {
    case 'none':
      return { attrs: [], vector: false };
    case 'all':
      return { attrs: 'all', vector: true };
    case 'include':
      return { attrs: p.attrs, vector: p.vector };
    case 'exclude':
      return { attrs: 'all', vector: p.vector };
  }
}

/** A projection's fields plus what compute_attributes read. */
function withNeeds(f: DocFields, need: { attrs: string[]; vector: boolean }): DocFields {
  const attrs = f.attrs === 'all' ? 'all' : [...new Set([...f.attrs, ...need.attrs])];
  return { attrs, vector: f.vector || need.vector };
}

/** The documents of `hits`, in order (each segment asked once for all of its rows). */
export async function materialize(hits: readonly Hit[], segs: readonly Segment[], fields?: DocFields): Promise<Doc[]> {
  const bySeg = new Map<number, number[]>();
  hits.forEach((h, i) => {
    const list = bySeg.get(h.seg);
    if (list) list.push(i);
    else bySeg.set(h.seg, [i]);
  });
  const out = new Array<Doc>(hits.length);
  await Promise.all(
    [...bySeg].map(async ([s, idx]) => {
      const docs = await segs[s]!.docs(idx.map((i) => hits[i]!.ord), fields);
      idx.forEach((i, j) => (out[i] = docs[j]!));
    }),
  );
  return out;
}

/** A query (rows or aggregations) over segments; `hooks` stream the scans (see ScanHooks). */
export async function executeOnSegments(q: ParsedQuery, segs: readonly Segment[], restrict?: Restriction, hooks?: ScanHooks): Promise<QueryResultBody> {
  if (q.aggregates) {
    const state = new AggregationState(q);
    const control = hooks?.control ?? UNCANCELLED;
    const groupAttr = state.countedGroupKey();
    // Count / Count attr / Sum over bitmaps (RFC-0009 slice 5) where a part's indexes answer the filter exactly and
    // the group key (if any) has a dictionary: counts from value bitmap ∧ filter mask minus dead rows, and only
    // the summed columns read, for those rows.
    const bitmapAgg = groupAttr !== undefined && (q.filter === null || q.filterSource !== undefined) && q.aggregates.every((s) => s.fn === 'count' || (s.attr !== 'id' && s.attr !== 'vector'));
    const needRows = q.aggregates.some((s) => s.fn !== 'count');
    await eachSegment(segs, hooks, (seg) => {
      const groups = bitmapAgg && seg.aggregateByIndex ? seg.aggregateByIndex(q.filter === null ? null : q.filterSource!.filter, q.filterSource?.compileLeaf, groupAttr!, needRows) : null;
      if (groups !== null) {
        const readers = new Map<string, (o: number) => unknown>();
        const read = (attr: string) => {
          let r = readers.get(attr);
          if (!r) readers.set(attr, (r = seg.reader ? seg.reader(attr) : (o: number) => seg.value(attr, o)));
          return r;
        };
        for (const g of groups) {
          control.check('scan');
          state.addCounted(g.value, g.count, (spec, acc) => {
            const r = read(spec.attr);
            for (const o of g.rows!) {
              const v = r(o);
              if (spec.fn === 'count_attr') acc += v !== null && v !== undefined ? 1 : 0;
              else if (typeof v === 'number') acc += v;
            }
            return acc;
          });
        }
        return;
      }
      const cursor = new RowCursor(seg, q.readAttrs);
      const filter = segmentFilter(seg, q);
      const dead = seg.dead;
      for (let o = 0; o < seg.rows; o++) {
        if ((o & ROW_CHECK_MASK) === 0) control.check('scan');
        if (dead !== null && dead[o] === 1) continue;
        cursor.at(o);
        if (filter === null || filter(cursor)) state.add(cursor);
      }
    });
    return state.result();
  }
  const hits = await rankSegments(q, q.rank!, segs, restrict, hooks);
  const compute = q.compute ?? [];
  const docs = await materialize(hits, segs, compute.length > 0 ? withNeeds(fieldsOf(q.projection), computeNeeds(compute)) : fieldsOf(q.projection));
  const rows: Row[] = hits.map((h, i) => buildRow(docs[i]!, h.dist, q.projection, q.vectorEncoding));
  // compute_attributes: for the returned rows only, from the documents just read (buildRow shows only the projection).
  if (compute.length > 0) applyComputed(compute, docs, rows);
  return { rows };
}
