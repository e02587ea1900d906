/**
 * parseQuery: one turbopuffer query body → ParsedQuery, or a 400 naming the problem.
 *
 * Decisions where turbopuffer's docs leave room (README.md in this directory lists them all, with sources):
 *  - Neither rank_by nor aggregate_by: rows ordered by id ascending (turbopuffer's v1 behaviour, "If neither is
 *    passed, results are sorted by ID"); v2 docs call rank_by required, elax stays lenient.
 *  - No top_k / limit: 10 rows (turbopuffer's documented top_k default); with group_by, up to MAX_TOP_K groups.
 *  - top_k and limit together: 400 (top_k is an alias for limit.total).
 *  - aggregate_by with rank_by, include_attributes or exclude_attributes: 400 (docs: "Cannot be specified with
 *    rank_by or include_attributes").
 *  - A key whose value is null or undefined counts as absent.
 */
import { ElaxError } from '../core/index.js';
import { compileFilter, filterAttributes, fuzzyAttributes } from '../filter/index.js';
import { parseRankBy, parseDistanceMetric } from './parse-rank-by.js';
import { parseAggregateBy, parseGroupBy } from './parse-aggregate.js';
import { parseProjection } from './project.js';
import { parseComputeAttributes } from './compute-attributes.js';
import { queryError, show, isPlainObject, isStringArray, parseCount, requireAttribute, isSparseType, isMultiVectorType } from './parse-util.js';
import { DEFAULT_TOP_K, MAX_TOP_K, type ConsistencyLevel, type ParsedQuery, type QueryContext, type RankPlan, type VectorEncoding } from './types.js';

const QUERY_KEYS = new Set([
  'rank_by',
  'top_k',
  'limit',
  'filters',
  'include_attributes',
  'exclude_attributes',
  'aggregate_by',
  'group_by',
  'distance_metric',
  'vector_encoding',
  'consistency',
  'compute_attributes',
  // elax extension: HNSW beam width for this ANN query (overrides the namespace's schema vector.ann.ef_search).
  'ef_search',
]);
/** turbopuffer v1 query keys that have a v2 spelling: named in the 400 so the fix is obvious. */
const V1_HINTS: Record<string, string> = {
  vector: 'use rank_by: ["vector", "ANN", [...]]',
  include_vectors: 'use include_attributes: ["vector"]',
};
/** Keys a multi-query accepts only at its root. */
/** Largest accepted ef_search (HNSW beam width): beyond this a query costs more than an exact scan of most parts. */
export const MAX_EF_SEARCH = 10_000;

export const ROOT_ONLY_KEYS = new Set(['vector_encoding', 'consistency']);

export function parseVectorEncoding(v: unknown): VectorEncoding {
  if (v === undefined) return 'float';
  if (v !== 'float' && v !== 'base64') throw queryError(`vector_encoding must be 'float' or 'base64', got ${show(v)}`);
  return v;
}

export function parseConsistency(v: unknown): ConsistencyLevel {
  if (v === undefined) return 'strong';
  if (!isPlainObject(v)) throw queryError(`consistency must be an object like {"level": "strong"}, got ${show(v)}`);
  for (const k of Object.keys(v)) if (k !== 'level') throw queryError(`consistency: unknown key '${k}'`);
  const level = v.level ?? 'strong';
  if (level !== 'strong' && level !== 'eventual') throw queryError(`consistency.level must be 'strong' or 'eventual', got ${show(level)}`);
  return level;
}

interface ParsedLimit {
  total: number;
  per: { attributes: string[]; limit: number } | null;
}

function parseLimit(topK: unknown, limit: unknown, ctx: QueryContext, defaultTotal: number): ParsedLimit {
  if (topK !== undefined && limit !== undefined) {
    throw queryError('top_k and limit cannot both be given (top_k is an alias for limit.total)');
  }
  if (topK !== undefined) return { total: parseCount(topK, 'top_k', MAX_TOP_K), per: null };
  if (limit === undefined) return { total: defaultTotal, per: null };
  if (typeof limit === 'number') return { total: parseCount(limit, 'limit', MAX_TOP_K), per: null };
  if (!isPlainObject(limit)) throw queryError(`limit must be a number or {"total": n, "per": {...}}, got ${show(limit)}`);
  for (const k of Object.keys(limit)) if (k !== 'total' && k !== 'per') throw queryError(`limit: unknown key '${k}'`);
  if (limit.total === undefined) throw queryError('limit.total is required when limit is an object');
  const total = parseCount(limit.total, 'limit.total', MAX_TOP_K);
  if (limit.per === undefined || limit.per === null) return { total, per: null };
  const per = limit.per;
  if (!isPlainObject(per)) throw queryError(`limit.per must be {"attributes": [...], "limit": n}, got ${show(per)}`);
  for (const k of Object.keys(per)) if (k !== 'attributes' && k !== 'limit') throw queryError(`limit.per: unknown key '${k}'`);
  if (!isStringArray(per.attributes) || per.attributes.length === 0) {
    throw queryError(`limit.per.attributes must be a non-empty array of attribute names, got ${show(per.attributes)}`);
  }
  per.attributes.forEach((a, i) => {
    requireAttribute(ctx.schema, a, `limit.per.attributes[${i}]`);
    if (a === 'vector') throw queryError(`limit.per.attributes[${i}]: cannot limit per 'vector'`);
    if (isSparseType(ctx.schema, a)) throw queryError(`limit.per.attributes[${i}]: cannot limit per sparse vector attribute '${a}'`);
    if (isMultiVectorType(ctx.schema, a)) throw queryError(`limit.per.attributes[${i}]: cannot limit per multi-vector attribute '${a}'`);
  });
  const perLimit = parseCount(per.limit, 'limit.per.limit', MAX_TOP_K);
  return { total, per: { attributes: [...per.attributes], limit: perLimit } };
}

/** Parses a body; `where` prefixes every message (e.g. "queries[2]: ") for multi-queries. */
export function parseQueryAt(body: unknown, ctx: QueryContext, where: string, rootOnlyForbidden: boolean): ParsedQuery {
  try {
    return parseQueryBody(body, ctx, rootOnlyForbidden);
  } catch (e) {
    if (where && e instanceof ElaxError) throw new ElaxError(e.code, `${where}${e.message}`, { cause: e });
    throw e;
  }
}

/** The attributes a query's kernels read (ParsedQuery.readAttrs); `id` and `vector` are never attributes. */
function readAttributes(
  filters: unknown,
  rank: RankPlan | null,
  per: ParsedQuery['per'],
  aggregates: ParsedQuery['aggregates'],
  groupBy: ParsedQuery['groupBy'],
): string[] {
  const out = new Set<string>(filters === undefined ? [] : filterAttributes(filters));
  if (rank?.kind === 'order') for (const k of rank.keys) out.add(k.attr);
  if (rank?.kind === 'attr_vector') out.add(rank.attr);
  if (rank?.kind === 'multi') out.add(rank.attr);
  // Attribute / filter leaves of a rank expression are read for every candidate row (fts/rank-eval.ts).
  if (rank?.kind === 'text') for (const a of rank.plan.valueAttributes) out.add(a);
  for (const a of per?.attributes ?? []) out.add(a);
  for (const a of aggregates ?? []) if (a.fn !== 'count') out.add(a.attr);
  for (const g of groupBy ?? []) out.add(g.attr);
  out.delete('id');
  out.delete('vector');
  return [...out];
}

export function parseQuery(body: unknown, ctx: QueryContext): ParsedQuery {
  return parseQueryAt(body, ctx, '', false);
}

function parseQueryBody(body: unknown, ctx: QueryContext, rootOnlyForbidden: boolean): ParsedQuery {
  if (!isPlainObject(body)) throw queryError(`query body must be a JSON object, got ${show(body)}`);
  const b: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (!QUERY_KEYS.has(k)) {
      if (k === 'queries') throw queryError("'queries' cannot be combined with other query parameters");
      throw queryError(`unknown query parameter '${k}'${Object.hasOwn(V1_HINTS, k) ? ` (${V1_HINTS[k]})` : ''}`);
    }
    if (rootOnlyForbidden && ROOT_ONLY_KEYS.has(k)) {
      throw queryError(`'${k}' must be set on the multi-query's root object, not on a sub-query`);
    }
    if (v !== undefined && v !== null) b[k] = v;
  }

  const vectorEncoding = parseVectorEncoding(b.vector_encoding);
  const consistency = parseConsistency(b.consistency);
  const metric = b.distance_metric === undefined ? ctx.distanceMetric : parseDistanceMetric(b.distance_metric);
  const filter = b.filters === undefined ? null : compileFilter(b.filters, ctx.schema);
  const filterSource =
    filter === null ? {} : { filterSource: { filter: b.filters, attrs: filterAttributes(b.filters), fuzzyAttrs: fuzzyAttributes(b.filters), compileLeaf: memoLeaf((leaf: unknown) => compileFilter(leaf, ctx.schema)) } };

  if (b.aggregate_by !== undefined) {
    if (b.rank_by !== undefined) throw queryError('rank_by and aggregate_by cannot both be given');
    if (b.include_attributes !== undefined) throw queryError('include_attributes cannot be combined with aggregate_by');
    if (b.exclude_attributes !== undefined) throw queryError('exclude_attributes cannot be combined with aggregate_by');
    if (b.compute_attributes !== undefined) throw queryError('compute_attributes applies to rows; it cannot be combined with aggregate_by');
    const aggregates = parseAggregateBy(b.aggregate_by, ctx.schema);
    const groupBy = b.group_by === undefined ? null : parseGroupBy(b.group_by, ctx.schema, aggregates);
    const limit = parseLimit(b.top_k, b.limit, ctx, groupBy ? MAX_TOP_K : DEFAULT_TOP_K);
    if (limit.per) throw queryError('limit.per applies to rows; it cannot be combined with aggregate_by');
    if (b.ef_search !== undefined) throw queryError('ef_search applies only to rank_by ["vector", "ANN", ...]');
    return {
      efSearch: null,
      readAttrs: readAttributes(b.filters, null, null, aggregates, groupBy),
      rank: null,
      limit: limit.total,
      per: null,
      filter,
      ...filterSource,
      projection: { kind: 'none' },
      vectorEncoding,
      consistency,
      aggregates,
      groupBy,
    };
  }
  if (b.group_by !== undefined) throw queryError('group_by requires aggregate_by');

  const rank = b.rank_by === undefined ? { kind: 'order' as const, keys: [{ attr: 'id', desc: false }] } : parseRankBy(b.rank_by, ctx.schema, metric, b.distance_metric === undefined ? undefined : (metric ?? undefined));
  const limit = parseLimit(b.top_k, b.limit, ctx, DEFAULT_TOP_K);
  let efSearch: number | null = null;
  if (b.ef_search !== undefined) {
    // Multi-vector ANN (RFC-0015): the MUVERA candidates a part re-ranks exactly.
    const multiAnn = rank.kind === 'multi' && rank.mode === 'ANN';
    if (((rank.kind !== 'vector' && rank.kind !== 'attr_vector') || rank.mode !== 'ANN') && !multiAnn) throw queryError('ef_search applies only to rank_by ["vector", "ANN", ...], [attribute, "ANN", ...] over another vector attribute, and multi-vector ANN');
    if (!Number.isInteger(b.ef_search) || (b.ef_search as number) < 1 || (b.ef_search as number) > MAX_EF_SEARCH) {
      throw queryError(`ef_search must be an integer in 1..${MAX_EF_SEARCH}, got ${show(b.ef_search)}`);
    }
    efSearch = b.ef_search as number;
  }
  const compute =
    b.compute_attributes === undefined ? [] : parseComputeAttributes(b.compute_attributes, { schema: ctx.schema, rank, metric: metric ?? 'cosine_distance' });
  return {
    efSearch,
    readAttrs: readAttributes(b.filters, rank, limit.per, null, null),
    rank,
    limit: limit.total,
    per: limit.per,
    filter,
    ...filterSource,
    projection: parseProjection(b.include_attributes, b.exclude_attributes, ctx.schema),
    vectorEncoding,
    consistency,
    aggregates: null,
    groupBy: null,
    ...(compute.length > 0 ? { compute } : {}),
  };
}

/**
 * A leaf compiler that compiles each leaf object once per parsed query: filtered ANN evaluates the same leaves for
 * its count by value and, when the filter is selective, for its bitmap (the compiled closures keep no state).
 */
function memoLeaf<F>(compile: (leaf: unknown) => F): (leaf: unknown) => F {
  const seen = new WeakMap<object, F>();
  return (leaf) => {
    if (typeof leaf !== 'object' || leaf === null) return compile(leaf);
    let f = seen.get(leaf);
    if (f === undefined) {
      f = compile(leaf);
      seen.set(leaf, f);
    }
    return f;
  };
}
