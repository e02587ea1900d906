/**
 * The query module's vocabulary: a validated, normalized query (ParsedQuery) and the response bodies it produces.
 * Every field is resolved at parse time (defaults filled, names checked against the schema, filters compiled), so
 * execution never re-validates and never throws for user input.
 */
import type { Doc, Id, Schema, DistanceMetric } from '../core/index.js';
import type { CompiledFilter, FuzzyAttrNeed } from '../filter/index.js';
import type { TextRankPlan } from '../fts/index.js';
import type { TextCorpus } from '../fts/index.js';
import type { ComputeSpec } from './compute-attributes.js';
import type { SparseEntries } from '../sparse/index.js';
import type { MultiQuery } from '../multivec/index.js';

/**
 * Maximum top_k / limit.total (and aggregation groups): turbopuffer's limits page, "Max limit.total: 10k" and "Max
 * aggregation groups per query: 10k"; its export recipe pages through a namespace 10,000 rows at a time. Ranking
 * keeps a bounded heap of this many rows per query (query/top-k.ts), and a response holds them.
 */
export const MAX_TOP_K = 10_000;
/** Rows returned when neither top_k nor limit is given (turbopuffer's documented top_k default). */
export const DEFAULT_TOP_K = 10;
/** Sub-queries per multi-query (query docs: "Up to 16 queries can be sent per request"). */
export const MAX_MULTI_QUERIES = 16;
/** RRF rank constant k when rerank_by gives none (RrfParams.rank_constant: "Defaults to 60"). */
export const DEFAULT_RRF_RANK_CONSTANT = 60;

export interface QueryContext {
  schema: Schema;
  /** The namespace's metric; a query's `distance_metric` overrides it. */
  distanceMetric: DistanceMetric | null;
  /**
   * The namespace's text corpus (parts with postings + loose documents), when it has parts. Text ranking then
   * scores from postings instead of analysing every document; without it, the candidate documents are analysed.
   */
  textCorpus?: () => TextCorpus;
}

export type VectorEncoding = 'float' | 'base64';
export type ConsistencyLevel = 'strong' | 'eventual';

export interface OrderKey {
  /** An attribute name, or 'id' for the document id. */
  attr: string;
  desc: boolean;
}

/** How rows are ranked. `order` is also used when a query gives no rank_by at all (id ascending). */
export type RankPlan =
  | { kind: 'vector'; mode: 'ANN' | 'kNN'; query: Float32Array; metric: DistanceMetric }
  /**
   * kNN / ANN over a vector attribute other than `vector` (RFC-0014), stored as an array of f32 numbers per row: the
   * exact distance of every candidate row (all rows, or a part graph's ANN candidates); `metric` is already resolved
   * (query, attribute, namespace).
   */
  | { kind: 'attr_vector'; attr: string; mode: 'ANN' | 'kNN'; query: Float32Array; metric: DistanceMetric }
  | { kind: 'text'; plan: TextRankPlan }
  /** SparseKNN over a `{}f16` / `{}f32` attribute with `sparse_knn`: dot product, higher first (crates-ts/sparse/). */
  | { kind: 'sparse'; attr: string; query: SparseEntries }
  /** kNN / ANN over a `[][N]f32` attribute: MaxSim as a distance, lower first (crates-ts/multivec/, RFC-0015). */
  | { kind: 'multi'; attr: string; mode: 'ANN' | 'kNN'; query: MultiQuery }
  | { kind: 'order'; keys: OrderKey[] };

/** Which attributes a row carries besides `id` (and `$dist`). */
export type Projection = (
  | { kind: 'none' }
  | { kind: 'all' }
  | { kind: 'include'; attrs: string[]; vector: boolean }
  | { kind: 'exclude'; attrs: ReadonlySet<string>; vector: boolean }
) & {
  /** Vector attributes other than `vector` (RFC-0014) the rows may carry: base64-encoded with vector_encoding base64. */
  vectorAttrs?: readonly string[];
};

export type AggregateSpec =
  | { label: string; fn: 'count' }
  | { label: string; fn: 'count_attr'; attr: string }
  | { label: string; fn: 'sum'; attr: string };

/** One component of a group key: a plain attribute, or `{label: ["ForEachUnique", attr]}` exploding an array. */
export interface GroupKeySpec {
  label: string;
  attr: string;
  forEachUnique: boolean;
}

export interface FilterSource {
  filter: unknown;
  /** Attributes the filter reads. */
  attrs: readonly string[];
  /** Attributes of its Fuzzy leaves: their fuzzy indexes are prepared too (SegmentNeed.fuzzyIndexes). */
  fuzzyAttrs?: readonly FuzzyAttrNeed[];
  compileLeaf: (leaf: unknown) => CompiledFilter;
}

export interface ParsedQuery {
  /** null only for aggregation queries; without rank_by it is id ascending. */
  rank: RankPlan | null;
  /** limit.total (or top_k): rows returned, or groups returned with group_by (defaults already applied). */
  limit: number;
  /** limit.per: at most `limit` rows per distinct value of `attributes`, applied in rank order. */
  per: { attributes: string[]; limit: number } | null;
  /** null when the query has no filters (matches everything). */
  filter: CompiledFilter | null;
  /**
   * The filter as given, with a compiler of its leaves, for segments with filter indexes (RFC-0009); absent when there
   * is no filter or the query was not parsed from a body.
   */
  filterSource?: FilterSource;
  projection: Projection;
  vectorEncoding: VectorEncoding;
  consistency: ConsistencyLevel;
  /** null unless aggregate_by was given. */
  aggregates: AggregateSpec[] | null;
  /** null unless group_by was given (requires aggregates). */
  groupBy: GroupKeySpec[] | null;
  /** Per-query HNSW ef_search (elax extension), or null for the namespace / server default. */
  efSearch: number | null;
  /**
   * Attributes the query's kernels read for every candidate row (filters, order keys, limit.per keys, aggregates,
   * group keys): what a segment must prepare before the scan. Projection is not included (only returned rows).
   */
  readAttrs: string[];
  /** compute_attributes, evaluated for the returned rows only (compute-attributes.ts); absent or empty: none. */
  compute?: ComputeSpec[];
}

export interface ParsedMultiQuery {
  queries: ParsedQuery[];
  /** RRF fusion; `k` is the rank constant, `weights` one per sub-query. */
  rerank?: { k: number; weights?: number[] };
  /** Root-level consistency (sub-queries may not set it); the root vector_encoding is copied into each query. */
  consistency: ConsistencyLevel;
}

/** A result row (turbopuffer Row): id, optional vector and $dist, then the projected attributes. */
export interface Row {
  id: Id;
  vector?: number[] | string;
  $dist?: number;
  [attr: string]: unknown;
}

export interface QueryResultBody {
  rows?: Row[];
  aggregations?: Record<string, unknown>;
  aggregation_groups?: Record<string, unknown>[];
}

/** A ranked document with its score: a distance (vector, lower first) or a BM25 score (higher first). */
export interface Scored {
  doc: Doc;
  score: number;
}
