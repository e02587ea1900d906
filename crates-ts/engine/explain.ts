/**
 * `explain_query` (RFC-0009 §4): the planner's plan of a query over a view, in words. Each segment is prepared as the
 * query would prepare it (filter columns, filter indexes), planned (lookups, estimates, the actual live matches,
 * order-by access, the filtered-ANN choice) and released, one at a time; nothing is ranked or returned.
 */
import { CachedViewPart, type NamespaceView } from '../namespace/index.js';
import { planQuery, planSegment, renderPlan, type SegmentInfo, type SegmentPlan } from '../planner/index.js';
import { UNCANCELLED, type QueryControl } from '../core/index.js';
import type { ParsedQuery } from '../query/index.js';

/** The filter indexes a query prepares: the filter's attributes, a single order key's, a single group key's (engine.ts runQuery). */
export function indexAttrsOf(q: ParsedQuery): readonly string[] | undefined {
  const r = q.rank;
  const orderAttr = r?.kind === 'order' && r.keys.length === 1 && r.keys[0]!.attr !== 'id' ? r.keys[0]!.attr : null;
  // A single plain group key: aggregations count over its dictionary (slice 5).
  const groupAttr = q.groupBy?.length === 1 && !q.groupBy[0]!.forEachUnique && q.groupBy[0]!.attr !== 'id' ? q.groupBy[0]!.attr : null;
  const extra = [orderAttr, groupAttr].filter((a) => a !== null);
  return extra.length === 0 ? q.filterSource?.attrs : [...new Set([...(q.filterSource?.attrs ?? []), ...extra])];
}

export async function explainQuery(view: NamespaceView, q: ParsedQuery, body: Record<string, unknown>, control: QueryControl = UNCANCELLED): Promise<string> {
  const segs = view.segments();
  const infos: SegmentInfo[] = segs.map((seg, i) => {
    const p = view.parts[i];
    if (p === undefined) return { seg, name: 'tail', kind: 'tail', vectorIndex: null };
    const head = p instanceof CachedViewPart ? p.data.head : null;
    const vectorIndex = head === null ? null : head.ivf !== undefined ? 'ivf' : head.index.kind === 'hnsw' ? 'hnsw' : null;
    // A sharded namespace's part (RFC-0013) says its shard.
    const shard = view.router.parts[i]?.shard;
    return { seg, name: shard === undefined ? p.id : `${p.id} (shard ${shard})`, kind: 'part', vectorIndex };
  });
  const filterIndexes = indexAttrsOf(q);
  const plans: SegmentPlan[] = [];
  for (const info of infos) {
    await control.checkpoint('segment');
    const release = await info.seg.prepare({ attrs: q.readAttrs, vectors: false, filterIndexes, fuzzyIndexes: q.filterSource?.fuzzyAttrs });
    try {
      plans.push(planSegment(q, info));
    } finally {
      release();
    }
  }
  return renderPlan(planQuery(q, body, plans, infos));
}
