/**
 * Query execution over segments (RFC-0004 §6): the kernels run over row ordinals of each segment — liveness from its
 * dead mask, filters and keys through a RowCursor onto its columns, distances straight over its vector buffer — and
 * only the rows a query returns become documents. Results are the same as executeQuery over the live documents
 * (test/32-segments-oracle.test.ts checks that), ties included.
 *
 * Text ranking scores the segments as fts/ text sources (postings, or analysis of the rows without them).
 */
import type { Doc, Id } from '../core/index.js';
import type { CompiledFilter } from '../filter/index.js';
import { compareIds, compareValues } from './compare.js';
import { cosineWithSqNormAt, distanceAt, norm } from './distance.js';
import { executeAggregation } from './aggregate.js';
import { buildRow } from './project.js';
import { hasBit, RowCursor, type DocFields, type Segment } from './segment.js';
import { TopK } from './top-k.js';
import type { OrderKey, ParsedQuery, Projection, QueryResultBody, RankPlan, Row } from './types.js';
import type { TextSource } from '../fts/index.js';

/** A ranked row: segment index, ordinal, and $dist (undefined for attribute order). */
export interface Hit {
  seg: number;
  ord: number;
  dist: number | undefined;
}

/** Per segment, the only ordinals to consider (ANN candidates from an index), or null for every row. */
export type Restriction = (seg: number) => ArrayLike<number> | null;

function liveTest(seg: Segment, cursor: RowCursor, filter: CompiledFilter | null): (ord: number) => boolean {
  const dead = seg.dead;
  if (filter === null) return dead === null ? () => true : (o) => dead[o] !== 1;
  if (dead === null) return (o) => filter(cursor.at(o));
  return (o) => dead[o] !== 1 && filter(cursor.at(o));
}

/** Calls `visit(ord)` for every ordinal of segment `s` that the restriction allows (all rows without one). */
function eachOrdinal(seg: Segment, s: number, restrict: Restriction | undefined, visit: (ord: number) => void): void {
  const only = restrict?.(s) ?? null;
  if (only === null) for (let o = 0; o < seg.rows; o++) visit(o);
  else for (let i = 0; i < only.length; i++) visit(only[i]!);
}

/** Top-k by numeric key (smaller first), ties by id: parallel arrays, no object per candidate. */
class HitTopK {
  private readonly keys: Float64Array;
  private readonly segs: Int32Array;
  private readonly ords: Int32Array;
  private size = 0;

  constructor(
    private readonly k: number,
    private readonly idOf: (seg: number, ord: number) => Id,
  ) {
    this.keys = new Float64Array(Math.max(k, 0));
    this.segs = new Int32Array(Math.max(k, 0));
    this.ords = new Int32Array(Math.max(k, 0));
  }

  private worse(ka: number, sa: number, oa: number, kb: number, sb: number, ob: number): boolean {
    return ka > kb || (ka === kb && compareIds(this.idOf(sa, oa), this.idOf(sb, ob)) > 0);
  }

  push(key: number, s: number, o: number): void {
    if (this.k <= 0) return;
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(key, s, o, this.keys[p]!, this.segs[p]!, this.ords[p]!)) break;
        this.keys[i] = this.keys[p]!;
        this.segs[i] = this.segs[p]!;
        this.ords[i] = this.ords[p]!;
        i = p;
      }
      this.keys[i] = key;
      this.segs[i] = s;
      this.ords[i] = o;
      return;
    }
    if (!this.worse(this.keys[0]!, this.segs[0]!, this.ords[0]!, key, s, o)) return;
    let i = 0;
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.worse(this.keys[r]!, this.segs[r]!, this.ords[r]!, this.keys[l]!, this.segs[l]!, this.ords[l]!)) c = r;
      if (!this.worse(this.keys[c]!, this.segs[c]!, this.ords[c]!, key, s, o)) break;
      this.keys[i] = this.keys[c]!;
      this.segs[i] = this.segs[c]!;
      this.ords[i] = this.ords[c]!;
      i = c;
    }
    this.keys[i] = key;
    this.segs[i] = s;
    this.ords[i] = o;
  }

  sorted(): Hit[] {
    const out: Hit[] = [];
    for (let i = 0; i < this.size; i++) out.push({ seg: this.segs[i]!, ord: this.ords[i]!, dist: this.keys[i]! });
    return out.sort((a, b) => a.dist! - b.dist! || compareIds(this.idOf(a.seg, a.ord), this.idOf(b.seg, b.ord)));
  }
}

/** limit.per over explicit candidates: keep at most per.limit of each key in rank order, then the best `total`. */
function selectPerKey(cands: Hit[], cmp: (a: Hit, b: Hit) => number, keyOf: (h: Hit) => unknown, per: NonNullable<ParsedQuery['per']>, total: number): Hit[] {
  const byKey = new Map<unknown, TopK<Hit>>();
  for (const h of cands) {
    const key = keyOf(h);
    let heap = byKey.get(key);
    if (!heap) byKey.set(key, (heap = new TopK<Hit>(per.limit, cmp)));
    heap.push(h);
  }
  const best = new TopK<Hit>(total, cmp);
  for (const heap of byKey.values()) for (const h of heap.sorted()) best.push(h);
  return best.sorted();
}

export function rankSegments(q: ParsedQuery, rank: RankPlan, segs: readonly Segment[], restrict?: Restriction): Hit[] {
  const cursors = segs.map((seg) => new RowCursor(seg, q.readAttrs));
  const idOf = (s: number, o: number) => segs[s]!.id(o);
  const per = q.per;
  const perKey = per
    ? (h: Hit) => {
        const c = cursors[h.seg]!.at(h.ord);
        const vals = per.attributes.map((a) => (a === 'id' ? c.id : (c.attrs[a] ?? null)));
        return vals.length === 1 ? vals[0] : JSON.stringify(vals);
      }
    : null;

  if (rank.kind === 'text') {
    // BM25 through fts/ over the segments as text sources: postings where a part has them (minus dead rows), the
    // other live rows analysed; namespace-wide statistics; max-score top-k unless limit.per needs every match.
    const filter = q.filter;
    const sources = textSources(segs, filter === null ? null : (s) => (o) => filter(cursors[s]!.at(o)));
    const scored = rank.plan.evaluateSources(sources, per ? null : q.limit);
    if (!per) {
      // Higher score first: the negated score as the key keeps "smaller first, ties by id".
      const heap = new HitTopK(q.limit, idOf);
      for (const h of scored) heap.push(-h.score, h.source, h.ord);
      return heap.sorted().map((h) => ({ seg: h.seg, ord: h.ord, dist: -h.dist! }));
    }
    const all: Hit[] = scored.map((h) => ({ seg: h.source, ord: h.ord, dist: -h.score }));
    const cmp = (a: Hit, b: Hit) => a.dist! - b.dist! || compareIds(idOf(a.seg, a.ord), idOf(b.seg, b.ord));
    return selectPerKey(all, cmp, perKey!, per, q.limit).map((h) => ({ ...h, dist: -h.dist! }));
  }

  if (rank.kind === 'vector') {
    const generic = distanceAt(rank.metric, rank.query);
    const dims = rank.query.length;
    const qNorm = norm(rank.query);
    const cosine = rank.metric === 'cosine_distance';
    const heap = per ? null : new HitTopK(q.limit, idOf);
    const all: Hit[] = [];
    segs.forEach((seg, s) => {
      const v = seg.vectors();
      if (v === null) {
        // Only some rows' vectors were fetched (ANN candidates of a part read by block): rank those.
        const only = restrict?.(s) ?? null;
        if (only === null || !seg.vectorAt) return;
        const live = liveTest(seg, cursors[s]!, q.filter);
        for (let i = 0; i < only.length; i++) {
          const o = only[i]!;
          const at = seg.vectorAt(o);
          if (at === null || !live(o)) continue;
          const d = generic(at.data, at.off);
          if (heap) heap.push(d, s, o);
          else all.push({ seg: s, ord: o, dist: d });
        }
        return;
      }
      if (v.dims !== dims) return;
      // The tight loop every query runs over the tail (and exact scans of parts): liveness, presence and the filter
      // inline, the distance straight over the buffer (with stored norms for cosine: one pass over each vector).
      const { data, present } = v;
      const sq = cosine ? (v.sqNorms ?? null) : null;
      const query = rank.query;
      const dead = seg.dead;
      const filter = q.filter;
      const cursor = cursors[s]!;
      const only = restrict?.(s) ?? null;
      const n = only === null ? seg.rows : only.length;
      for (let i = 0; i < n; i++) {
        const o = only === null ? i : only[i]!;
        if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) continue;
        if (dead !== null && dead[o] === 1) continue;
        if (filter !== null && !filter(cursor.at(o))) continue;
        const d = sq !== null ? cosineWithSqNormAt(query, qNorm, data, o * dims, sq[o]!) : generic(data, o * dims);
        if (heap) heap.push(d, s, o);
        else all.push({ seg: s, ord: o, dist: d });
      }
    });
    if (heap) return heap.sorted();
    const cmp = (a: Hit, b: Hit) => a.dist! - b.dist! || compareIds(idOf(a.seg, a.ord), idOf(b.seg, b.ord));
    return selectPerKey(all, cmp, perKey!, per!, q.limit);
  }

  // Attribute order: the keys in turn, then id ascending.
  const cmp = orderComparator(rank.keys, segs);
  const cands: Hit[] = [];
  const heap = per ? null : new TopK<Hit>(q.limit, cmp);
  segs.forEach((seg, s) => {
    const live = liveTest(seg, cursors[s]!, q.filter);
    eachOrdinal(seg, s, restrict, (o) => {
      if (!live(o)) return;
      const h: Hit = { seg: s, ord: o, dist: undefined };
      if (heap) heap.push(h);
      else cands.push(h);
    });
  });
  return heap ? heap.sorted() : selectPerKey(cands, cmp, perKey!, per!, q.limit);
}

/** Segments as fts/ text sources; `filterFor(s)` gives segment s's row filter (null: none). */
export function textSources(segs: readonly Segment[], filterFor: ((s: number) => (ord: number) => boolean) | null = null): TextSource[] {
  return segs.map((seg, s) => ({
    rows: seg.rows,
    postings: (attr, analysis) => seg.postings(attr, analysis),
    dead: seg.dead,
    deadOrdinals: seg.deadOrdinals(),
    id: (o) => seg.id(o),
    value: (attr, o) => seg.value(attr, o),
    filter: filterFor === null ? null : filterFor(s),
  }));
}

function orderComparator(keys: readonly OrderKey[], segs: readonly Segment[]): (a: Hit, b: Hit) => number {
  const id = (h: Hit) => segs[h.seg]!.id(h.ord);
  if (keys.length === 1 && keys[0]!.attr === 'id') return keys[0]!.desc ? (a, b) => compareIds(id(b), id(a)) : (a, b) => compareIds(id(a), id(b));
  return (a, b) => {
    for (const k of keys) {
      const c = k.attr === 'id' ? compareIds(id(a), id(b)) : compareValues(segs[a.seg]!.value(k.attr, a.ord), segs[b.seg]!.value(k.attr, b.ord));
      if (c !== 0) return k.desc ? -c : c;
    }
    return compareIds(id(a), id(b));
  };
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

/** A non-text query (rows or aggregations) over segments. */
export async function executeOnSegments(q: ParsedQuery, segs: readonly Segment[], restrict?: Restriction): Promise<QueryResultBody> {
  if (q.aggregates) return executeAggregation(q, liveRows(segs, q.readAttrs));
  const hits = rankSegments(q, q.rank!, segs, restrict);
  const docs = await materialize(hits, segs, fieldsOf(q.projection));
  const rows: Row[] = hits.map((h, i) => buildRow(docs[i]!, h.dist, q.projection, q.vectorEncoding));
  return { rows };
}
