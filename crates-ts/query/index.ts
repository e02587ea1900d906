/**
 * query: what does this query body mean, and which rows (or aggregates) answer it over a set of live documents?
 *
 * Owns: validating turbopuffer query and multi-query bodies (rank_by, top_k/limit, filters, include/exclude
 * attributes, aggregate_by/group_by, distance_metric, vector_encoding, consistency, rerank_by) into ParsedQuery,
 * and executing them exhaustively and exactly (vector distances, BM25 via fts/, attribute order, aggregations,
 * RRF fusion), plus exact kNN for recall ground truth.
 *
 * Does not: load documents or decide which are live (namespace/), act on consistency (the caller does), compile
 * filters (filter/) or score text (fts/), or search ANN indexes (ANN is answered exactly until indexes exist).
 */
export { parseQuery } from './parse-query.js';
export { executeQuery, exactKnn, rankDocuments } from './execute.js';
export { parseMultiQuery, executeMultiQuery, fuseRrf } from './multi-query.js';
export { executeOnSegments, rankSegments, materialize, liveRows, orderMatchScanMax, type Hit, type Restriction, type ScanHooks } from './execute-segments.js';
export { scoreTextSegments, textSource, textSources, eachPrepared, TEXT_PREFETCH, type PrepareNeed, type TextScan } from './text-segments.js';
export { DocsSegment, RowCursor, hasBit, deadOrdinalsOf, NO_RELEASE, type Segment, type SegmentNeed, type SegmentVectors, type FlatVectors, type ChunkedVectors, type VectorChunk, vectorSlot, type OrdinalHit, type Release, type DocFields, type OrderBound } from './segment.js';
export { distance, distanceTo, distanceAt, sqNormAt } from './distance.js';
export { VectorArena, arenasAvailable, setArenaPrefault, unsetArenaPrefault, type VectorScan, type ArenaPrefaulter } from './vector-arena.js';
export { prefaultThread, type PrefaultThread } from './prefault-thread.js';
export { codeScanStats, codesKept, encodeRow, setCodeScanMode, type ChunkCodes } from './code-scan.js';
export { scanVectors, type VectorScanInput, type VectorScanOutput, type ScanChunk } from './pool-scan.js';
export { compareIds, compareValues } from './compare.js';
export { vectorDims } from './parse-rank-by.js';
export { encodeBase64Vector, decodeBase64Vector } from './vector-codec.js';
export { vectorInto } from './attr-vector.js';
export {
  MAX_TOP_K,
  DEFAULT_TOP_K,
  MAX_MULTI_QUERIES,
  DEFAULT_RRF_RANK_CONSTANT,
} from './types.js';
export type {
  ParsedQuery,
  FilterSource,
  ParsedMultiQuery,
  QueryContext,
  QueryResultBody,
  Row,
  RankPlan,
  OrderKey,
  Projection,
  AggregateSpec,
  GroupKeySpec,
  VectorEncoding,
  ConsistencyLevel,
  Scored,
} from './types.js';
