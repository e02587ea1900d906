/**
 * rank_by → RankPlan. Shapes (turbopuffer RankBy):
 *  - ["vector", "ANN" | "kNN", number[] | base64 string]      vector distance
 *  - [attr, "ANN" | "kNN", ...] over another [N]f32 / [N]f16    that attribute's distance, its own metric (RFC-0014)
 *  - [attr, "asc" | "desc"] and [[attr, dir], ...]              attribute order ("id" allowed)
 *  - anything fts/ recognises as a text rank (BM25, Sum, Max, Product, Attribute, Saturate, Decay, Dist, filters)
 * Checked in that order, so an attribute-order pair is never mistaken for a text expression.
 */
import { DISTANCE_METRICS, type DistanceMetric, type Schema } from '../core/index.js';
import { compileFilter, filterAttributes } from '../filter/index.js';
import { isTextRankBy, planTextRank, type RankFilterCompiler } from '../fts/index.js';
import { decodeBase64Vector } from './vector-codec.js';
import { parseSparseQuery } from '../sparse/index.js';
import { isMultiVectorAttr, parseMultiRank } from './parse-multi-rank.js';
import { queryError, show, requireAttribute, isArrayType } from './parse-util.js';
import type { OrderKey, RankPlan } from './types.js';

const VECTOR_TYPE = /^\[(\d+)\](f32|f16)$/;

function isOrderPair(v: unknown): v is [string, 'asc' | 'desc'] {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && (v[1] === 'asc' || v[1] === 'desc');
}

function parseOrderKeys(pairs: [string, 'asc' | 'desc'][], schema: Schema): OrderKey[] {
  return pairs.map(([attr, dir], i) => {
    const where = pairs.length > 1 ? `rank_by[${i}]` : 'rank_by';
    if (attr === 'vector') throw queryError(`${where}: cannot order by 'vector'; use ["vector", "ANN", [...]]`);
    if (VECTOR_TYPE.test(schema[attr]?.type ?? '')) throw queryError(`${where}: cannot order by vector attribute '${attr}'; use ["${attr}", "kNN", [...]]`);
    requireAttribute(schema, attr, where);
    const st = schema[attr]?.type;
    if (st === '{}f16' || st === '{}f32') throw queryError(`${where}: cannot order by sparse vector attribute '${attr}'; use [attr, "SparseKNN", {...}]`);
    if (attr !== 'id' && isArrayType(schema, attr)) {
      throw queryError(`${where}: cannot order by array attribute '${attr}' (type ${schema[attr]!.type})`);
    }
    return { attr, desc: dir === 'desc' };
  });
}

/** The namespace's vector dimensions from the schema's `vector` type ("[N]f32" / "[N]f16"), or null. */
export function vectorDims(schema: Schema): number | null {
  const t = schema.vector?.type;
  const m = typeof t === 'string' ? VECTOR_TYPE.exec(t) : null;
  return m ? Number(m[1]) : null;
}

function parseQueryVector(raw: unknown, dims: number, attr = 'vector'): Float32Array {
  let v: Float32Array;
  if (typeof raw === 'string') {
    const decoded = decodeBase64Vector(raw);
    if (!decoded) throw queryError('rank_by: the query vector string is not base64 of little-endian float32 values (byte length a multiple of 4)');
    v = decoded;
  } else if (raw instanceof Float32Array) {
    v = raw;
  } else if (Array.isArray(raw)) {
    if (typeof raw[0] === 'string') {
      throw queryError(`rank_by: query expressions such as ${show(raw)} are not supported; pass the query vector itself`);
    }
    if (raw.length > 0 && raw.every((x) => Array.isArray(x))) {
      throw queryError('rank_by: multi-vector queries (an array of vectors) are not supported');
    }
    v = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const x = raw[i];
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw queryError(`rank_by: query vector element ${i} must be a finite number, got ${show(x)}`);
      }
      v[i] = x;
    }
  } else {
    throw queryError(`rank_by: the query vector must be an array of numbers or a base64 string, got ${show(raw)}`);
  }
  if (v.length !== dims) {
    throw queryError(
      attr === 'vector'
        ? `rank_by: query vector has ${v.length} dimensions but the namespace's vectors have ${dims}`
        : `rank_by: query vector has ${v.length} dimensions but attribute '${attr}' has ${dims}`,
    );
  }
  for (let i = 0; i < v.length; i++) {
    // float64 values beyond the f32 range become ±Infinity; NaN can arrive through base64.
    if (!Number.isFinite(v[i]!)) throw queryError(`rank_by: query vector element ${i} is not a finite float32 (${v[i]})`);
  }
  return v;
}

export function parseDistanceMetric(v: unknown): DistanceMetric {
  if (!DISTANCE_METRICS.includes(v as DistanceMetric)) {
    throw queryError(`distance_metric must be one of ${DISTANCE_METRICS.join(', ')}, got ${show(v)}`);
  }
  return v as DistanceMetric;
}

/** Filters used as rank expressions: compiled like the query's `filters`, named by their place in rank_by. */
function rankFilterCompiler(schema: Schema): RankFilterCompiler {
  return (filter, path) => ({ test: compileFilter(filter, schema, { path }), attrs: filterAttributes(filter), compileLeaf: (leaf) => compileFilter(leaf, schema) });
}

/**
 * `[attr, "ANN" | "kNN", v]` over a vector attribute other than `vector` (RFC-0014): its metric is the query's
 * `distance_metric` when given, else the attribute's `ann.distance_metric`, else the namespace's, else cosine.
 */
function parseAttrVectorRank(attr: unknown, mode: 'ANN' | 'kNN', raw: unknown, schema: Schema, metric: DistanceMetric | null, queryMetric: DistanceMetric | undefined): RankPlan {
  if (typeof attr !== 'string') throw queryError(`rank_by: ${mode} needs a vector attribute name, got ${show(attr)}`);
  const a = Object.hasOwn(schema, attr) ? schema[attr] : undefined;
  if (a === undefined) throw queryError(`rank_by: attribute '${attr}' is not in the namespace schema`);
  const m = VECTOR_TYPE.exec(a.type);
  if (m === null) throw queryError(`rank_by: ${mode} needs a vector attribute ([N]f32 or [N]f16); '${attr}' has type ${a.type}`);
  if (mode === 'ANN' && a.ann === false) {
    throw queryError(`rank_by: attribute '${attr}' has ann: false, so it has no ANN index; rank by ["${attr}", "kNN", ...] (exact) or set ann in its schema`);
  }
  if (!Array.isArray(raw) && typeof raw !== 'string' && !(raw instanceof Float32Array)) {
    throw queryError(`rank_by: ${mode} needs a query vector (number array or base64 string); expressions such as ${show(raw)} are not supported`);
  }
  const own = typeof a.ann === 'object' && a.ann !== null ? a.ann.distance_metric : undefined;
  const query = parseQueryVector(raw, Number(m[1]), attr);
  return { kind: 'attr_vector', attr, mode, query, metric: queryMetric ?? own ?? metric ?? 'cosine_distance' };
}

export function parseRankBy(rb: unknown, schema: Schema, metric: DistanceMetric | null, queryMetric?: DistanceMetric): RankPlan {
  if (!Array.isArray(rb) || rb.length === 0) throw queryError(`rank_by must be a non-empty array, got ${show(rb)}`);

  if (isOrderPair(rb)) return { kind: 'order', keys: parseOrderKeys([rb], schema) };
  if (rb.every((p) => Array.isArray(p))) {
    const bad = rb.findIndex((p) => !isOrderPair(p));
    if (bad === -1) return { kind: 'order', keys: parseOrderKeys(rb as [string, 'asc' | 'desc'][], schema) };
    // Not a multi-key order; fall through to text ranks (none start with an array) for the error below.
  }

  if (rb.length === 3 && (rb[1] === 'ANN' || rb[1] === 'kNN')) {
    const [attr, mode, raw] = rb as [unknown, 'ANN' | 'kNN', unknown];
    if (isMultiVectorAttr(schema, attr)) return parseMultiRank(attr, mode, raw, schema);
    if (attr !== 'vector') return parseAttrVectorRank(attr, mode, raw, schema, metric, queryMetric);
    const dims = vectorDims(schema);
    if (dims === null) throw queryError(`rank_by: the namespace has no vectors, so it cannot be ranked by ${mode}`);
    if (!Array.isArray(raw) && typeof raw !== 'string' && !(raw instanceof Float32Array)) {
      throw queryError(`rank_by: ${mode} needs a query vector (number array or base64 string); expressions such as ${show(raw)} are not supported`);
    }
    return { kind: 'vector', mode, query: parseQueryVector(raw, dims), metric: metric ?? 'cosine_distance' };
  }
  if (rb[1] === 'SparseKNN') {
    if (rb.length !== 3) throw queryError(`rank_by: SparseKNN takes [attribute, "SparseKNN", {dimension: weight, ...}], got ${show(rb)}`);
    const attr = rb[0];
    if (typeof attr !== 'string') throw queryError(`rank_by: SparseKNN needs an attribute name, got ${show(attr)}`);
    const a = Object.hasOwn(schema, attr) ? schema[attr] : undefined;
    if (a === undefined) throw queryError(`rank_by: attribute '${attr}' is not in the namespace schema`);
    if (a.type !== '{}f16' && a.type !== '{}f32') throw queryError(`rank_by: SparseKNN needs a sparse vector attribute ({}f16 or {}f32); '${attr}' has type ${a.type}`);
    if (a.sparse_knn === undefined) {
      throw queryError(`rank_by: attribute '${attr}' has no sparse kNN index; set "sparse_knn": {"distance_metric": "dot_product"} in its schema`);
    }
    return { kind: 'sparse', attr, query: parseSparseQuery(rb[2], 'rank_by: the SparseKNN query') };
  }

  if (isTextRankBy(rb)) return { kind: 'text', plan: planTextRank(rb, schema, rankFilterCompiler(schema)) };

  throw queryError(
    `rank_by ${show(rb)} is not supported: expected ["vector", "ANN" | "kNN", [...]] (or another vector attribute), [attribute, "asc" | "desc"], ` +
      'a list of such pairs, [attribute, "SparseKNN", {dimension: weight}], or a BM25 expression such as ["text", "BM25", "query"]',
  );
}
