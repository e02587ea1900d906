/** A document id: an unsigned 64-bit integer (as a JS number, exact up to 2^53), a UUID or a string of ≤ 64 bytes. */
export type Id = number | string;

/** Scalar attribute values as stored. Datetimes are normalised ISO-8601 strings; UUIDs are lowercase strings. */
export type Scalar = string | number | boolean;
/**
 * A sparse vector (types `{}f16` / `{}f32`): dimension (a u32 as its decimal string, as JSON object keys are) →
 * weight. Stored normalised: keys canonical, ascending, weights finite (f16-rounded for `{}f16`). crates-ts/sparse/.
 */
export type SparseVector = { readonly [dim: string]: number };
/** A multi-vector (type `[][N]f32`): one or more N-dim vectors of f32-exact numbers (crates-ts/multivec/). */
export type MultiVectorValue = number[][];
export type AttrValue = Scalar | Scalar[] | SparseVector | MultiVectorValue | null;

/**
 * A full document as held by the WAL and the query path. `vector` is null when the document has none.
 * Attributes never include `id` or `vector`; an absent attribute and a null attribute are the same.
 */
export interface Doc {
  id: Id;
  vector: Float32Array | null;
  attrs: Record<string, AttrValue>;
}

export type DistanceMetric = 'cosine_distance' | 'euclidean_squared';
export const DISTANCE_METRICS: readonly DistanceMetric[] = ['cosine_distance', 'euclidean_squared'];

/** Full-text-search configuration of one attribute (turbopuffer FullTextSearchConfig), with defaults filled. */
export interface FullTextConfig {
  language: string;
  stemming: boolean;
  remove_stopwords: boolean;
  case_sensitive: boolean;
  ascii_folding: boolean;
  max_token_length: number;
  tokenizer: string;
  k1: number;
  b: number;
}

/** One attribute's schema, as stored in router.json / WAL entries and returned by the schema endpoint. */
export interface AttributeSchema {
  /** string, int, uint, float, uuid, datetime, bool, []string ... []bool, [N]f32, [N]f16 */
  type: string;
  filterable?: boolean;
  full_text_search?: FullTextConfig | false;
  /** Regex filters enabled (turbopuffer `regex`); stored only when true. */
  regex?: boolean;
  /** Glob filters enabled (turbopuffer `glob`); stored only when true. */
  glob?: boolean;
  /** Fuzzy filters enabled (turbopuffer `fuzzy`); stored only when true. Parts index the values (part/fuzzy-index.ts). */
  fuzzy?: boolean;
  ann?: boolean | AnnConfig;
  /** Sparse kNN index (turbopuffer `sparse_knn`) of a `{}f16` / `{}f32` attribute: SparseKNN ranks by it. */
  sparse_knn?: SparseKnnConfig;
}

/** turbopuffer SparseDistanceMetric: only the dot product (a higher score ranks first). */
export type SparseDistanceMetric = 'dot_product';
export interface SparseKnnConfig {
  distance_metric: SparseDistanceMetric;
}

/** attribute name -> schema. Includes `id` and, once known, `vector`. */
export type Schema = Record<string, AttributeSchema>;

/** Injected time source: crates-ts never reads the wall clock directly, so tests can control it. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/**
 * `vector.ann` options. distance_metric is turbopuffer's; the HNSW parameters are elax extensions (per namespace):
 * m and ef_construction apply to parts built after they are set (`elax reindex` rebuilds older ones), ef_search
 * to queries at once (a query's own `ef_search` overrides it).
 */
export interface AnnConfig {
  distance_metric?: DistanceMetric;
  /** Late-interaction (MUVERA) indexing of a `[][N]f32` attribute (RFC-0015); required for ANN on such attributes. */
  late_interaction?: boolean;
  m?: number;
  ef_construction?: number;
  ef_search?: number;
}
