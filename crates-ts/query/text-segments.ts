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
import type { Bm25PartInput, Bm25PartOutput, SourceHit, TextAnalyzer, TextRankPlan, TextSource } from '../fts/index.js';
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
 * Postings a part's scoring must reach (the lists of the query's terms there, summed) to go to the pool. Max-score
 * makes top-k scoring cheap per posting (bench/micro/bm25-pool.ts, 200k-row part, top 10, quiet machine: p50 0.20 ms
 * at 8k-32k postings, 0.31 ms at 32k-128k, 0.94 ms for frequent words there), and handing a task over costs the event
 * loop ≈ 0.1 ms p50 (0.03 ms for an empty task; 0.25-0.9 ms when the cores are saturated): from 2^15 postings the
 * hand-off saves event-loop time, below it about nothing. docs/rfcs/0010-worker-pool.md "BM25 over parts on the pool".
 */
export const POOL_BM25_MIN_POSTINGS = 32_768;

/** Scores parts on a pool thread (fts/part-task.ts), when `idle()` says a thread is free (the engine's pool). */
export interface TextPool {
  idle(): boolean;
  run(input: Bm25PartInput, signal: AbortSignal | undefined): Promise<Bm25PartOutput>;
  /** Default POOL_BM25_MIN_POSTINGS (tests lower it). */
  minPostings?: number;
}

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
 * and releases each right after its use (and, on a failure, whatever was prepared ahead). A use that hands work on
 * its segment to another thread calls `keep()`: the segment stays prepared and its release is returned, for the
 * caller to call once that work is collected (on a failure, everything kept is released).
 */
export async function eachPrepared(
  order: readonly number[],
  prepare: (s: number) => Promise<Release>,
  use: (s: number, keep: () => void) => void,
  ahead = TEXT_PREFETCH,
  control: QueryControl = UNCANCELLED,
): Promise<Release[]> {
  const pending: Promise<Release>[] = [];
  const kept: Release[] = [];
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
      let keepIt = false;
      try {
        use(order[i]!, () => (keepIt = true));
      } finally {
        if (keepIt) kept.push(release);
        else release();
      }
    }
  } catch (e) {
    for (const r of kept) r();
    throw e;
  } finally {
    for (const p of pending) p.then((release) => release(), () => undefined);
  }
  return kept;
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
  pool?: TextPool,
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
  // Parts scored on the pool: their answers join the top-k once the other segments are scored here.
  const pooled: { s: number; src: TextSource; out: Promise<Bm25PartOutput> }[] = [];
  const minPostings = pool?.minPostings ?? POOL_BM25_MIN_POSTINGS;
  let kept: Release[] = [];
  try {
    kept = await eachPrepared(
      scored,
      (s) => prep(s, need(s)),
      (s, keep) => {
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
        const source = textSource(seg, test, row);
        if (perKey === null && pool !== undefined && (filter === null || m?.exact === true) && pool.idle()) {
          // A large part to an idle pool thread (only then: a busy one would make it wait while this thread could score),
          // with its filter as the filter index's exact mask (a filter that reads rows keeps the part here).
          const input = run.pooledInput(s, source, minPostings, new Int32Array(new SharedArrayBuffer(4)), m?.mask ?? null);
          if (input !== null) {
            const out = pool.run(input, control.signal);
            out.catch(() => {}); // awaited after the other parts; a cancellation meanwhile must not go unhandled
            pooled.push({ s, src: source, out });
            keep(); // its ids are read when the answer is offered
            return;
          }
        }
        const got = run.score(s, source);
        if (perKey === null) return;
        for (const h of got) {
          hits.push(h);
          keys.push(perKey(cursor.at(h.ord)));
        }
      },
      ahead,
      control,
    );
    for (const p of pooled) {
      const r = await p.out;
      if (r.cancelled) control.check('text'); // the query stopped: its reason
      run.offerPooled(p.s, p.src, r);
    }
  } finally {
    // A query stopped mid-way leaves its pooled tasks to end on their own (the signal set their cancel flags).
    for (const p of pooled) p.out.catch(() => {});
    for (const r of kept) r();
  }
  return perKey === null ? { hits: run.results(), keys } : { hits, keys };
}
