/**
 * A query's plan over one view (RFC-0009 §2–§4): per segment (each part, then the WAL tail), which filter index
 * answers each leaf of the filter and how many rows it gave, which leaves stay residual (run on the candidate rows
 * only), the estimated rows (from the lookups' bitmap cardinalities and sorted-run lengths, before the dead rows and
 * the residual), the actual live matching rows, and how the ranking reads the rows: an order-by walk through an
 * index, or a scan; for filtered ANN, a walk with an allow-bitmap or an exact ranking of the matching rows
 * (ann-choice.ts, from the actual count).
 *
 * The segments must be prepared by the caller (filter columns and filter indexes pinned).
 */
import { multiCandidateCount, mvIvfCandidateCount, mvIvfPartProbes } from '../query/multi-segments.js';
import { RowCursor, orderMatchScanMax, type ParsedQuery, type Segment } from '../query/index.js';
import { annChoice, ivfWalkKind, type AnnChoice, type IvfWalk } from './ann-choice.js';

export interface LeafPlan {
  /** The leaf as written: `price Lt 100`. */
  text: string;
  /** The index that answered it (kind and file; a fuzzy index's term count), or null: residual. */
  index: { kind: 'dict' | 'sorted' | 'fuzzy'; file: string; terms?: number } | null;
  /** Rows of the index lookup (dead rows included); null when residual. */
  rows: number | null;
}

export interface SegmentPlan {
  name: string;
  kind: 'part' | 'tail';
  rows: number;
  live: number;
  /** 'all': no filter; 'index': the indexes answer it alone; 'index+residual': they narrow the rows the rest runs on. */
  access: 'all' | 'index' | 'index+residual' | 'scan';
  leaves: LeafPlan[];
  /** Leaves evaluated per candidate row (the compiled filter runs on the candidates unless `access` is 'index'). */
  residual: string[];
  /** Rows expected to pass the filter, from the lookups alone (no index: every row). */
  estimate: number;
  /** Rows of the indexes' candidate mask (null: no index helped: every row is a candidate). */
  candidates: number | null;
  /** Live rows the filter matches. */
  actual: number;
  /** How an attribute order reads this segment. */
  order?: string;
  /** How aggregations read this segment: counts over bitmaps, or a scan of the matching rows. */
  aggregate?: string;
  /** Filtered ANN over this part's HNSW graph: walk with the allow-bitmap, or rank the matching rows exactly. */
  ann?: AnnChoice;
  /**
   * The filter reads one attribute with a scalar dictionary: it can be tested per row by value (Segment.filterValues),
   * and its live matches are counted from the dictionary's value counts (no bitmap built).
   */
  byValue?: { attr: string; file: string; rows: number };
}

export interface QueryPlan {
  query: string;
  segments: SegmentPlan[];
  /**
   * Filtered ANN over the format-3 (clustered) parts together: their matching rows and the choice, and for a walk how
   * it tests candidates ('walk-values': by value, no bitmap; 'walk': against the bitmap of the matches).
   */
  ivf?: { parts: number; rows: number; matching: number; choice: AnnChoice; walk?: IvfWalk; byValue?: { attr: string; file: string } };
}

/** What the planner needs to know of a segment besides the Segment interface. */
export interface SegmentInfo {
  seg: Segment;
  name: string;
  kind: 'part' | 'tail';
  /** The part's vector index ('hnsw' graph, 'ivf' clusters), or null. */
  vectorIndex: 'hnsw' | 'ivf' | null;
}

const isLogical = (f: unknown[]) => f.length === 2 && (((f[0] === 'And' || f[0] === 'Or') && Array.isArray(f[1])) || f[0] === 'Not');

export function leafText(f: unknown[]): string {
  return `${String(f[0])} ${String(f[1])} ${f.slice(2).map((x) => JSON.stringify(x)).join(' ')}`.trimEnd();
}

/** The leaves of a filter tree, in order. */
function leavesOf(f: unknown, out: unknown[][] = []): unknown[][] {
  if (!Array.isArray(f)) return out;
  if (!isLogical(f)) out.push(f);
  else if (f[0] === 'Not') leavesOf(f[1], out);
  else for (const k of f[1] as unknown[]) leavesOf(k, out);
  return out;
}

/** Upper bound of the rows a filter tree passes, from its leaves' lookup sizes (unknown leaves: every row). */
function estimateOf(f: unknown, rows: number, sizes: Map<unknown, number>): number {
  if (!Array.isArray(f)) return rows;
  if (!isLogical(f)) return sizes.get(f) ?? rows;
  if (f[0] === 'Not') {
    const c = f[1];
    // A leaf's complement is exact; a subtree's is bounded by every row.
    return Array.isArray(c) && !isLogical(c) && sizes.has(c) ? rows - sizes.get(c)! : rows;
  }
  const kids = (f[1] as unknown[]).map((k) => estimateOf(k, rows, sizes));
  if (f[0] === 'And') return kids.length === 0 ? rows : Math.min(...kids);
  return Math.min(rows, kids.reduce((a, b) => a + b, 0));
}

/** The plan of one prepared segment. */
export function planSegment(q: ParsedQuery, info: SegmentInfo): SegmentPlan {
  const { seg } = info;
  const dead = seg.dead;
  let live = seg.rows;
  if (dead !== null) for (let o = 0; o < seg.rows; o++) if (dead[o] === 1) live--;
  const plan: SegmentPlan = { name: info.name, kind: info.kind, rows: seg.rows, live, access: 'all', leaves: [], residual: [], estimate: live, candidates: null, actual: live };
  const src = q.filterSource;
  if (q.filter !== null) {
    const traced = new Map<unknown, { rows: number | null; kind: 'dict' | 'sorted' | 'fuzzy' | null }>();
    const m = src && seg.filterMask ? seg.filterMask(src.filter, src.compileLeaf, (leaf, rows, kind) => traced.set(leaf, { rows, kind })) : null;
    const sizes = new Map<unknown, number>();
    for (const leaf of src ? leavesOf(src.filter) : []) {
      const t = traced.get(leaf);
      const fz = t?.kind === 'fuzzy' ? seg.fuzzyIndexInfo?.(leaf[0] as string) : undefined;
      const file = t?.kind === 'fuzzy' ? fz?.file : t?.kind ? seg.filterIndexInfo?.(leaf[0] as string)?.file : undefined;
      const indexed = t !== undefined && t.kind !== null && t.rows !== null;
      if (indexed) sizes.set(leaf, t.rows!);
      plan.leaves.push({ text: leafText(leaf), index: indexed ? { kind: t.kind!, file: file ?? '?', ...(fz ? { terms: fz.terms } : {}) } : null, rows: indexed ? t.rows : null });
      if (!indexed) plan.residual.push(leafText(leaf));
    }
    plan.access = m === null ? 'scan' : m.exact ? 'index' : 'index+residual';
    plan.estimate = src && m !== null ? estimateOf(src.filter, seg.rows, sizes) : live;
    // The actual count: what the query's scan will keep (the mask, then the compiled filter unless exact).
    const cursor = new RowCursor(seg, q.readAttrs);
    const mask = m?.mask ?? null;
    let candidates = 0;
    let actual = 0;
    for (let o = 0; o < seg.rows; o++) {
      if (mask !== null && mask[o] !== 1) continue;
      candidates++;
      if (dead !== null && dead[o] === 1) continue;
      if (m?.exact || q.filter(cursor.at(o))) actual++;
    }
    plan.candidates = m === null ? null : candidates;
    plan.actual = actual;
    const v = src && seg.filterValues ? seg.filterValues(src.filter, src.compileLeaf) : null;
    if (v) plan.byValue = { attr: v.attr, file: seg.filterIndexInfo?.(v.attr)?.file ?? '?', rows: v.live };
  }
  const r = q.rank;
  if (r?.kind === 'order' && r.keys.length === 1 && r.keys[0]!.attr !== 'id' && !q.per) {
    const k = r.keys[0]!;
    const idx = seg.walkOrder ? seg.filterIndexInfo?.(k.attr) : null;
    // As query/execute-segments.ts decides: a walk bounded by the filter's range leaves on the order attribute first
    // (up to orderMatchScanMax rows visited); then an exact filter bitmap of few rows is ranked row by row, else the walk.
    const few = plan.access === 'index' && plan.candidates !== null && plan.candidates <= orderMatchScanMax(q.limit, seg.rows);
    const bound = idx && !idx.array && src && seg.orderBound ? seg.orderBound(k.attr, src.filter, src.compileLeaf) : null;
    plan.order =
      bound
        ? `walk ${idx!.kind} index ${idx!.file} in ${k.desc ? 'descending' : 'ascending'} order over the ${bound.hi - bound.lo} ${idx!.kind === 'dict' ? 'values' : 'rows'} the filter's ${k.attr} range leaves allow, testing each row, until top_k ${q.limit} live matches (past ${orderMatchScanMax(q.limit, seg.rows)} rows visited: ${few ? `rank the ${plan.candidates} rows of the filter's bitmap` : 'the same walk, its rows tested with the filter'})`
        : idx && !idx.array && few
        ? `rank the ${plan.candidates} rows of the filter's bitmap into a top-${q.limit} heap (fewer than a walk of the ${k.attr} index would visit)`
        : idx && !idx.array
          ? `walk ${idx.kind} index ${idx.file} in ${k.desc ? 'descending' : 'ascending'} order until top_k ${q.limit} live matches`
          : `scan ${plan.access === 'all' ? live : plan.actual} rows into a top-${q.limit} heap`;
  } else if (r?.kind === 'order') plan.order = `scan into a top-${q.limit} heap by ${r.keys.map((x) => `${x.attr} ${x.desc ? 'desc' : 'asc'}`).join(', ')}`;
  else if (r?.kind === 'sparse') {
    // As query/execute-segments.ts decides: a part's sparse index (RFC-0012) when it has one, else every row's value.
    const file = seg.sparseIndexName?.(r.attr) ?? null;
    const lists = `candidates from the postings of the query's ${r.query.dims.length} dimensions (max-score: lists whose bounds cannot reach the k-th best score so far are only looked up), into a top-${q.limit} heap`;
    plan.order = file !== null
      ? `SparseKNN over sparse index ${file}: ${lists}`
      : info.kind === 'tail' && (seg.sparseIndex?.(r.attr) ?? null) !== null
        ? `SparseKNN over the tail's in-memory sparse postings: ${lists}`
        : `SparseKNN: dot product of each of the ${plan.access === 'all' ? live : plan.actual} rows' ${r.attr} values (no sparse index), into a top-${q.limit} heap`;
  } else if (r?.kind === 'multi') {
    // As query/execute-segments.ts decides (RFC-0015): ANN over a part's token-level IVF (§4) or MUVERA index (§3)
    // names candidates, else exact.
    const ivf = r.mode === 'ANN' && q.per === null ? (seg.multiIvfName?.(r.attr) ?? null) : null;
    const file = r.mode === 'ANN' && q.per === null ? (seg.multiFdeName?.(r.attr) ?? null) : null;
    plan.order = ivf !== null
      ? `${r.mode} over token-level IVF ${ivf}: each of the ${r.query.vectors.length} query vectors probes ${mvIvfPartProbes(q.limit, q.efSearch, seg.rows) === Infinity ? 'every list (no more rows than candidates)' : `its ${mvIvfPartProbes(q.limit, q.efSearch, seg.rows)} nearest lists (read by ranges)`}; the best ${mvIvfCandidateCount(q.limit, q.efSearch)} rows by approximate MaxSim, re-ranked by exact MaxSim of ${r.attr} into a top-${q.limit} heap`
      : file !== null
      ? `${r.mode} over MUVERA index ${file}: the best ${multiCandidateCount(q.limit, q.efSearch)} rows by FDE inner product, re-ranked by exact MaxSim of ${r.attr} into a top-${q.limit} heap`
      : `${r.mode}: exact MaxSim of each of the ${plan.access === 'all' ? live : plan.actual} rows' ${r.attr} vectors, into a top-${q.limit} heap`;
  }
  else if (r?.kind === 'attr_vector') {
    // As engine.ts runQuery decides (RFC-0014): unfiltered ANN searches a part's graph of the column in the rank's
    // metric when it has one; otherwise every row's value of the attribute is ranked exactly.
    const graph = r.mode === 'ANN' ? (seg.vectorAttrIndexName?.(r.attr, r.metric) ?? null) : null;
    plan.order =
      graph !== null
        ? `ANN over ${r.attr}: HNSW graph ${graph} gives about top_k ${q.limit} candidates (${q.filter !== null ? 'a walk restricted to the live rows the filter accepts, or those rows when few' : 'plus dead rows'}), their exact ${r.metric} from the ${r.attr} column, into a top-${q.limit} heap`
        : `${r.mode} over ${r.attr}: exact ${r.metric} of each of the ${plan.access === 'all' ? live : plan.actual} rows' ${r.attr} values${r.mode === 'ANN' ? ` (no graph of ${r.attr} in this ${info.kind === 'tail' ? 'tail' : 'part'})` : ''}, into a top-${q.limit} heap`;
  }
  if (q.aggregates) {
    // As query/execute-segments.ts decides: an exact mask (or no filter) and, with group_by, one plain key with a
    // scalar dictionary.
    const g = q.groupBy;
    const key = g === null ? null : g.length === 1 && !g[0]!.forEachUnique && g[0]!.attr !== 'id' ? g[0]!.attr : undefined;
    const dict = key ? seg.filterIndexInfo?.(key) : null;
    const specsOk = q.aggregates.every((a) => a.fn === 'count' || (a.attr !== 'id' && a.attr !== 'vector'));
    const bitmaps = info.kind === 'part' && specsOk && (plan.access === 'all' || plan.access === 'index') && (key === null || (dict?.kind === 'dict' && !dict.array));
    plan.aggregate = bitmaps
      ? `over bitmaps: ${key === null ? 'the filter mask minus dead rows' : `value bitmaps of dict index ${dict!.file} ∧ filter mask minus dead rows`}${q.aggregates.some((a) => a.fn !== 'count') ? ', summed columns read for those rows' : ', no rows read'}`
      : `scan of ${plan.actual} matching rows`;
  }
  if (r?.kind === 'vector' && r.mode === 'ANN' && info.vectorIndex === 'hnsw' && q.filter !== null) plan.ann = annChoice('hnsw', plan.actual, q.limit);
  return plan;
}

/** The query in one line. */
export function describeQuery(q: ParsedQuery, body: Record<string, unknown>): string {
  const parts: string[] = [];
  const r = q.rank;
  if (r?.kind === 'vector') parts.push(`rank_by vector ${r.mode} (${r.query.length} dims, ${r.metric})`);
  else if (r?.kind === 'text') parts.push(`rank_by ${JSON.stringify(body.rank_by)}`);
  else if (r?.kind === 'order') parts.push(`rank_by ${r.keys.map((k) => `${k.attr} ${k.desc ? 'desc' : 'asc'}`).join(', ')}`);
  else if (r?.kind === 'attr_vector') parts.push(`rank_by ${r.attr} ${r.mode} (${r.query.length} dims, ${r.metric})`);
  else if (r?.kind === 'sparse') parts.push(`rank_by ${r.attr} SparseKNN (${r.query.dims.length} dims, dot_product)`);
  else if (r?.kind === 'multi') parts.push(`rank_by ${r.attr} ${r.mode} (${r.query.vectors.length} query vectors, MaxSim, ${r.query.metric})`);
  if (q.aggregates) parts.push(`aggregate_by ${Object.keys((body.aggregate_by as object) ?? {}).join(', ')}${q.groupBy ? ` group_by ${q.groupBy.map((g) => g.attr).join(', ')}` : ''}`);
  else parts.push(`top_k ${q.limit}`);
  if (q.filterSource) parts.push(`filters ${JSON.stringify(q.filterSource.filter)}`);
  return parts.join(', ');
}

/** The whole plan: every segment's, and for filtered ANN over format-3 parts, their shared choice. */
export function planQuery(q: ParsedQuery, body: Record<string, unknown>, segs: readonly SegmentPlan[], infos: readonly SegmentInfo[]): QueryPlan {
  const plan: QueryPlan = { query: describeQuery(q, body), segments: [...segs] };
  const r = q.rank;
  const ivf = infos.map((s, i) => (s.vectorIndex === 'ivf' ? segs[i]! : null)).filter((s) => s !== null);
  if (r?.kind === 'vector' && r.mode === 'ANN' && q.filter !== null && ivf.length > 0) {
    const rows = ivf.reduce((n, s) => n + s.rows, 0);
    const matching = ivf.reduce((n, s) => n + s.actual, 0);
    const choice = annChoice('ivf', matching, q.limit, rows);
    plan.ivf = { parts: ivf.length, rows, matching, choice };
    if (choice === 'walk') {
      // As namespace/ivf-query.ts decides: by value when every clustered part can test the filter so.
      const byValue = ivf.every((s) => s.byValue !== undefined);
      plan.ivf.walk = ivfWalkKind(matching, rows, byValue);
      if (plan.ivf.walk === 'walk-values') plan.ivf.byValue = { attr: ivf[0]!.byValue!.attr, file: ivf.map((s) => s.byValue!.file).filter((f, i, a) => a.indexOf(f) === i).join(', ') };
    }
  }
  return plan;
}
