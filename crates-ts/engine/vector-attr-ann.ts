/**
 * ANN over a vector column other than `vector` (RFC-0014 §3): which rows of each segment the exact ranking considers.
 * A part with a graph of the column in the rank's metric gives about top_k candidates (unfiltered: top_k plus its dead
 * rows, dead ones dropped by the ranking; filtered: a graph walk restricted to the live rows the filter accepts, or
 * those rows themselves when they are few or the walk finds fewer than exist, as the `vector` path does); every other
 * segment (the WAL tail, parts without a graph) is ranked over all its rows. Graphs are held one part at a time.
 * As for `vector` (RFC-0004 §6, cold ANN): a part whose graph is large and not in memory is ranked exactly this time
 * (unless `waitForIndex`, as recall does) and named in `later`, whose graphs the caller loads after answering.
 */
import type { QueryControl } from '../core/index.js';
import { RowCursor, type ParsedQuery, type Restriction, type Segment, type SegmentNeed } from '../query/index.js';

type AttrVectorRank = Extract<NonNullable<ParsedQuery['rank']>, { kind: 'attr_vector' }>;

export async function vectorAttrRestriction(
  segs: readonly Segment[],
  q: ParsedQuery,
  r: AttrVectorRank,
  ef: number,
  control: QueryControl,
  need: { filterIndexes?: readonly string[]; fuzzyIndexes?: SegmentNeed['fuzzyIndexes']; waitForIndex?: boolean },
): Promise<{ restrict: Restriction; later: Segment[] }> {
  const cands: (ArrayLike<number> | null)[] = [];
  const later: Segment[] = [];
  for (const seg of segs) {
    await control.checkpoint('ann');
    if (seg.vectorAttrAnnSearch === undefined || seg.vectorAttrIndexName?.(r.attr, r.metric) == null) {
      cands.push(null);
      continue;
    }
    if (!need.waitForIndex && seg.vectorAttrAnnReady !== undefined && !seg.vectorAttrAnnReady(r.attr)) {
      cands.push(null);
      later.push(seg);
      continue;
    }
    const filtered = q.filter !== null;
    const release = await seg.prepare({
      attrs: filtered ? q.readAttrs : [],
      vectors: false,
      ids: false,
      vectorAttrIndex: r.attr,
      ...(filtered ? { filterIndexes: need.filterIndexes, fuzzyIndexes: need.fuzzyIndexes } : {}),
    });
    try {
      let c: number[] | null;
      const dead = seg.dead;
      if (!filtered) {
        c = seg.vectorAttrAnnSearch(r.attr, r.metric, r.query, q.limit + (dead === null ? 0 : seg.deadOrdinals().length), ef, null);
      } else {
        const filter = q.filter!;
        const src = q.filterSource;
        const m = src && seg.filterMask ? seg.filterMask(src.filter, src.compileLeaf) : null;
        const cursor = new RowCursor(seg, q.readAttrs);
        const live = (o: number) => dead === null || dead[o] !== 1;
        const allow =
          m === null
            ? (o: number) => live(o) && filter(cursor.at(o))
            : m.exact
              ? (o: number) => m.mask[o] === 1 && live(o)
              : (o: number) => m.mask[o] === 1 && live(o) && filter(cursor.at(o));
        c = seg.vectorAttrAnnSearch(r.attr, r.metric, r.query, q.limit, ef, allow);
      }
      cands.push(c === null ? null : Int32Array.from(c).sort());
    } finally {
      release();
    }
  }
  return { restrict: (s) => cands[s] ?? null, later };
}
