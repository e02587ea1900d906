/**
 * BM25 over segments (RFC-0004 §6, §8): fts/'s two passes, one segment at a time, so that a query over many parts
 * holds one part's postings (and the next one's, prefetched) instead of every part's at once.
 *
 *   1. Statistics: each segment is prepared with its postings dictionaries (plus, when it has dead rows, the lists of
 *      the query's terms: their dead entries are subtracted from df) and no ids; a segment whose postings cannot serve
 *      every clause (the WAL tail, a part built with another analysis) with the clauses' text columns instead, and its
 *      live rows are analysed (the rows that hold a query term are kept for pass 2). Added to the namespace-wide
 *      statistics, released.
 *   2. Scoring: each segment that can hold a match is prepared with its ids and filter columns (and its postings with
 *      the lists the query names), scored into the top-k carried across segments, released. Rows returned later read
 *      only their own blocks (materialize).
 *
 * Both passes read each segment's liveness (`dead`, `deadOrdinals`) from the same segment object: the view hands
 * out segments whose liveness never changes under them (namespace/: copy-on-write masks, a snapshot of the tail).
 */
import { UNCANCELLED, type Doc, type QueryControl } from '../core/index.js';
import type { SourceHit, TextAnalyzer, TextRankPlan, TextSource } from '../fts/index.js';
import { NO_RELEASE, RowCursor, type Release, type Segment, type SegmentNeed } from './segment.js';
import type { ParsedQuery } from './types.js';

/** Prepares segment `seg` with `need` (the caller's caches); the release unpins it. */
export type PrepareNeed = (seg: number, need: SegmentNeed) => Promise<Release>;

/**
 * Segments prepared ahead of the one being used: the next segment's reads overlap this one's statistics or scoring.
 * At most 1 + TEXT_PREFETCH segments are pinned at once. bench/engine-v2.ts (10M rows, 97 parts): see
 * docs/benchmarks.md.
 */
export const TEXT_PREFETCH = 1;

/**
 * A segment as an fts/ text source; `filter` is its row filter (null: none), `row` its rows with the attributes a
 * general rank expression reads (absent: read through seg.value).
 */
export function textSource(seg: Segment, filter: ((ord: number) => boolean) | null = null, row?: (ord: number) => RowCursor): TextSource {
  return {
    rows: seg.rows,
    postings: (attr, analysis) => seg.postings(attr, analysis),
    dead: seg.dead,
    deadOrdinals: seg.deadOrdinals(),
    id: (o) => seg.id(o),
    value: (attr, o) => seg.value(attr, o),
    ...(seg.analyzed ? { terms: (attr: string, analyzer: TextAnalyzer, o: number) => seg.analyzed!(attr, analyzer, o) } : {}),
    ...(seg.loosePostings ? { loosePostings: (attr: string, analyzer: TextAnalyzer) => seg.loosePostings!(attr, analyzer) } : {}),
    ...(row ? { row } : {}),
    ...(seg.filterMask ? { filterMask: (f: unknown, compile: (leaf: unknown) => (doc: Doc) => boolean) => seg.filterMask!(f, compile) } : {}),
    ...(seg.attrRange ? { attrRange: (attr: string) => seg.attrRange!(attr) } : {}),
    // Scalar indexes only: an array attribute's walk visits a row once per element.
    ...(seg.walkOrder ? { walkOrder: (attr: string, desc: boolean, visit: (value: unknown, ord: number) => boolean) => seg.filterIndexInfo?.(attr)?.array === false && seg.walkOrder!(attr, desc, visit) } : {}),
    ...(seg.walkOrder && seg.orderBound
      ? {
          walkFrom: (attr: string, atLeast: (value: unknown) => boolean, up: boolean, visit: (value: unknown, ord: number) => boolean) => {
            if (seg.filterIndexInfo?.(attr)?.array !== false) return false;
            // The index positions of the values atLeast accepts (a binary search with it, as for a Gte filter leaf).
            const b = seg.orderBound!(attr, [attr, 'Gte', 0], () => (doc: Doc) => atLeast(doc.attrs[attr]));
            if (b === null) return false;
            return seg.walkOrder!(attr, !up, visit, up ? { lo: b.lo, hi: b.hi, nulls: false } : { lo: 0, hi: b.lo, nulls: false });
          },
        }
      : {}),
    filter,
  };
}

/** Segments as fts/ text sources; `filterFor(s)` gives segment s's row filter (null: none). */
export function textSources(segs: readonly Segment[], filterFor: ((s: number) => (ord: number) => boolean) | null = null): TextSource[] {
  return segs.map((seg, s) => textSource(seg, filterFor === null ? null : filterFor(s)));
}

/**
 * Runs `use` on each of `order` in turn once `prepare` resolved for it, with up to `ahead` more prepares in flight,
 * and releases each right after its use (and, on a failure, whatever was prepared ahead).
 */
export async function eachPrepared(
  order: readonly number[],
  prepare: (s: number) => Promise<Release>,
  use: (s: number) => void,
  ahead = TEXT_PREFETCH,
  control: QueryControl = UNCANCELLED,
): Promise<void> {
  const pending: Promise<Release>[] = [];
  let next = 0;
  try {
    for (let i = 0; i < order.length; i++) {
      await control.checkpoint('text');
      while (next < order.length && pending.length <= ahead) {
        const p = prepare(order[next++]!);
        p.catch(() => undefined); // awaited in turn; a failure ahead must not go unhandled meanwhile
        pending.push(p);
      }
      const release = await pending.shift()!;
      try {
        use(order[i]!);
      } finally {
        release();
      }
    }
  } finally {
    for (const p of pending) p.then((release) => release(), () => undefined);
  }
}

export interface TextScan {
  /** With k (top_k): a set holding the best k; with every match (limit.per): all of them. */
  hits: SourceHit[];
  /** limit.per keys of `hits`, read while each hit's segment was prepared (empty without limit.per). */
  keys: unknown[];
}

/**
 * The text-ranked rows of `segs` (see the module comment). `prepare` null: the segments are used as they are (already
 * prepared for both passes, or in memory). `perKey`: limit.per, so every match is kept with its key.
 */
export async function scoreTextSegments(
  q: ParsedQuery,
  plan: TextRankPlan,
  segs: readonly Segment[],
  prepare: PrepareNeed | null,
  perKey: ((row: RowCursor) => unknown) | null,
  ahead = TEXT_PREFETCH,
  control: QueryControl = UNCANCELLED,
): Promise<TextScan> {
  const run = plan.stream(perKey === null ? q.limit : null);
  if (run.empty) return { hits: [], keys: [] };
  const prep: PrepareNeed = prepare ?? (() => Promise.resolve(NO_RELEASE));
  const all = segs.map((_, s) => s);

  // 1. Statistics.
  const withStatistics = async (s: number): Promise<Release> => {
    const seg = segs[s]!;
    const postings = plan.statisticsNeeds(seg.deadOrdinals().length > 0);
    const release = await prep(s, { attrs: [], vectors: false, ids: false, postings });
    if (run.usesPostings(textSource(seg))) return release;
    try {
      const text = await prep(s, { attrs: plan.attributes, vectors: false, ids: false });
      return () => {
        text();
        release();
      };
    } catch (e) {
      release();
      throw e;
    }
  };
  await eachPrepared(all, withStatistics, (s) => run.addStatistics(s, textSource(segs[s]!)), ahead, control);
  run.finishStatistics();

  // 2. Scoring, only where a match can be.
  const scored = all.filter((s) => run.scoredFrom(s) !== null);
  const need = (s: number): SegmentNeed => ({
    attrs: q.readAttrs,
    vectors: false,
    postings: run.scoredFrom(s) === 'postings' ? plan.needs : undefined,
    filterIndexes:
      plan.filterAttributes.length + plan.orderAttributes.length > 0 ? [...(q.filterSource?.attrs ?? []), ...plan.filterAttributes, ...plan.orderAttributes] : q.filterSource?.attrs,
    fuzzyIndexes: q.filterSource?.fuzzyAttrs,
  });
  const hits: SourceHit[] = [];
  const keys: unknown[] = [];
  const filter = q.filter;
  await eachPrepared(
    scored,
    (s) => prep(s, need(s)),
    (s) => {
      const seg = segs[s]!;
      // Cursors resolve their columns when made: after the prepare.
      const cursor = new RowCursor(seg, q.readAttrs);
      // Parts with filter indexes (RFC-0009): their mask decides, or narrows the rows the closure runs on.
      const src = q.filterSource;
      const m = filter !== null && src && seg.filterMask ? seg.filterMask(src.filter, src.compileLeaf) : null;
      const mask = m?.mask;
      const test =
        filter === null ? null : m === null ? (o: number) => filter(cursor.at(o)) : m.exact ? (o: number) => mask![o] === 1 : (o: number) => mask![o] === 1 && filter(cursor.at(o));
      const row = plan.valueAttributes.length > 0 ? (o: number) => cursor.at(o) : undefined;
      const got = run.score(s, textSource(seg, test, row));
      if (perKey === null) return;
      for (const h of got) {
        hits.push(h);
        keys.push(perKey(cursor.at(h.ord)));
      }
    },
    ahead,
    control,
  );
  return perKey === null ? { hits: run.results(), keys } : { hits, keys };
}
