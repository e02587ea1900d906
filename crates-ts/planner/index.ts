/**
 * planner: how a query reads a view (RFC-0009 §2–§4). Which filter index answers each leaf of the filter per part,
 * which predicates stay residual, estimated and actual rows, whether an order-by walks an index, and whether
 * filtered ANN walks the vector index with an allow-bitmap or ranks the matching rows exactly (`annChoice`, which
 * the HNSW and clustered-part searches consult too). `renderPlan` puts it in words for `explain_query`.
 *
 * Does not: evaluate filters itself (part/ filter-eval.ts does, per segment), run queries, or read the store.
 */
export { annChoice, ivfExactMaxRows, ivfWalkKind, IVF_VALUE_WALK_MIN_SHARE, HNSW_EXACT_MAX_ROWS, type AnnChoice, type IvfWalk } from './ann-choice.js';
export { planSegment, planQuery, describeQuery, leafText, type LeafPlan, type QueryPlan, type SegmentInfo, type SegmentPlan } from './plan.js';
export { renderPlan } from './render.js';
