/**
 * Multi-queries (turbopuffer query docs, "Multi-queries"): 1..16 sub-queries run against one snapshot; results come
 * back in query order as `{results: [...]}`. The root holds only `queries`, `rerank_by`, `vector_encoding` and
 * `consistency`; sub-queries may not set the latter two.
 *
 * rerank_by ["RRF"] | ["RRF", {rank_constant?, weights?}] fuses the sub-queries' rows by reciprocal rank fusion:
 *   score(d) = Σ_i w_i / (k + rank_i(d)),  rank_i starting at 1, k = rank_constant (default 60, must be > 0),
 *   w_i = weights[i] (default 1, must be > 0, one per sub-query).
 * The fused list is returned as the single element of `results` (turbopuffer's skill docs: "fused list in
 * res.results[0].rows"), ordered by fused score descending (ties: id ascending), `$dist` = fused score, at most
 * max(sub-query limits) rows. A fused row carries the union of the attributes its sub-query rows carried.
 */
import type { Id } from '../core/index.js';
import { executeQuery } from './execute.js';
import { compareIds } from './compare.js';
import { parseQueryAt, parseVectorEncoding, parseConsistency } from './parse-query.js';
import { queryError, show, isPlainObject } from './parse-util.js';
import {
  DEFAULT_RRF_RANK_CONSTANT,
  MAX_MULTI_QUERIES,
  type ParsedMultiQuery,
  type ParsedQuery,
  type QueryContext,
  type QueryResultBody,
  type Row,
} from './types.js';
import type { Doc } from '../core/index.js';

const ROOT_KEYS = new Set(['queries', 'rerank_by', 'vector_encoding', 'consistency']);

function parseRerankBy(v: unknown, n: number): { k: number; weights?: number[] } {
  if (!Array.isArray(v) || v.length < 1 || v.length > 2 || v[0] !== 'RRF') {
    throw queryError(`rerank_by must be ["RRF"] or ["RRF", {"rank_constant": k, "weights": [...]}], got ${show(v)}`);
  }
  const params = v[1];
  if (params === undefined || params === null) return { k: DEFAULT_RRF_RANK_CONSTANT };
  if (!isPlainObject(params)) throw queryError(`rerank_by[1] must be an object with rank_constant and/or weights, got ${show(params)}`);
  for (const key of Object.keys(params)) {
    if (key !== 'rank_constant' && key !== 'weights') throw queryError(`rerank_by: unknown RRF parameter '${key}'`);
  }
  let k = DEFAULT_RRF_RANK_CONSTANT;
  if (params.rank_constant !== undefined && params.rank_constant !== null) {
    const rc = params.rank_constant;
    if (typeof rc !== 'number' || !Number.isFinite(rc) || rc <= 0) {
      throw queryError(`rerank_by: rank_constant must be a number greater than 0, got ${show(rc)}`);
    }
    k = rc;
  }
  if (params.weights === undefined || params.weights === null) return { k };
  const w = params.weights;
  if (!Array.isArray(w)) throw queryError(`rerank_by: weights must be an array of numbers, got ${show(w)}`);
  if (w.length !== n) throw queryError(`rerank_by: weights has ${w.length} entries but there are ${n} queries`);
  w.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) {
      throw queryError(`rerank_by: weights[${i}] must be a positive number, got ${show(x)}`);
    }
  });
  return { k, weights: [...(w as number[])] };
}

export function parseMultiQuery(body: unknown, ctx: QueryContext): ParsedMultiQuery {
  if (!isPlainObject(body)) throw queryError(`multi-query body must be a JSON object, got ${show(body)}`);
  for (const k of Object.keys(body)) {
    if (!ROOT_KEYS.has(k) && body[k] !== undefined) {
      throw queryError(
        `unknown multi-query parameter '${k}': the root accepts only queries, rerank_by, vector_encoding and consistency; ` +
          'put query parameters inside each entry of queries',
      );
    }
  }
  const queries = body.queries;
  if (!Array.isArray(queries)) throw queryError(`queries must be an array of query objects, got ${show(queries)}`);
  if (queries.length === 0) throw queryError('queries must contain at least one query');
  if (queries.length > MAX_MULTI_QUERIES) {
    throw queryError(`queries has ${queries.length} queries; the maximum is ${MAX_MULTI_QUERIES}`);
  }
  const vectorEncoding = parseVectorEncoding(body.vector_encoding ?? undefined);
  const consistency = parseConsistency(body.consistency ?? undefined);
  const parsed = queries.map((q, i) => {
    const p = parseQueryAt(q, ctx, `queries[${i}]: `, true);
    p.vectorEncoding = vectorEncoding;
    return p;
  });
  const out: ParsedMultiQuery = { queries: parsed, consistency };
  if (body.rerank_by !== undefined && body.rerank_by !== null) {
    out.rerank = parseRerankBy(body.rerank_by, parsed.length);
    parsed.forEach((p, i) => {
      if (p.aggregates) throw queryError(`queries[${i}]: rerank_by fuses rows, so its sub-queries cannot use aggregate_by`);
    });
  }
  return out;
}

/** Reciprocal rank fusion of ranked row lists (see the module comment). */
export function fuseRrf(lists: readonly (readonly Row[])[], k: number, weights: readonly number[] | undefined, limit: number): Row[] {
  const fused = new Map<Id, { row: Row; score: number }>();
  lists.forEach((rows, i) => {
    const w = weights ? weights[i]! : 1;
    rows.forEach((row, j) => {
      const contribution = w / (k + j + 1);
      const f = fused.get(row.id);
      if (f) {
        Object.assign(f.row, row);
        f.score += contribution;
      } else fused.set(row.id, { row: { ...row }, score: contribution });
    });
  });
  const ordered = [...fused.values()].sort((a, b) => b.score - a.score || compareIds(a.row.id, b.row.id)).slice(0, limit);
  return ordered.map(({ row, score }) => {
    row.$dist = score;
    return row;
  });
}

export function executeMultiQuery(
  q: ParsedMultiQuery,
  docs: readonly Doc[],
  ctx: QueryContext,
  /** Per-sub-query candidate documents (ANN retrieval from indexes); default: all `docs`. */
  docsFor?: (sub: ParsedQuery) => readonly Doc[],
): { results: QueryResultBody[] } {
  const results = q.queries.map((sub) => executeQuery(sub, docsFor ? docsFor(sub) : docs, ctx));
  if (!q.rerank) return { results };
  const limit = Math.max(...q.queries.map((s) => s.limit));
  const rows = fuseRrf(
    results.map((r) => r.rows ?? []),
    q.rerank.k,
    q.rerank.weights,
    limit,
  );
  return { results: [{ rows }] };
}
