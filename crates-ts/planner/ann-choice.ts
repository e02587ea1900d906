/**
 * Filtered ANN: walk the vector index with an allow-bitmap, or rank the matching rows exactly (RFC-0009 §3). Decided
 * from the number of live rows the filter matches (the filter indexes' bitmap cardinality, after the dead rows),
 * never guessed: a walk through a graph or clusters whose rows mostly fail the filter starves, and a few thousand
 * rows cost less to rank exactly than the many probes a selective filter needs.
 */

/** An HNSW part ranks its allowed rows exactly up to this many (or k). */
export const HNSW_EXACT_MAX_ROWS = 2048;

/** Format-3 (clustered) parts rank their matching rows exactly up to this many (or k), over `rows` rows in all. */
export function ivfExactMaxRows(rows: number): number {
  return Math.max(4096, Math.ceil(rows / 64));
}

export type AnnChoice = 'exact' | 'walk';

/** The choice for `matching` live rows allowed by the filter, top `k`, over an HNSW part or the format-3 parts' `rows`. */
export function annChoice(index: 'hnsw' | 'ivf', matching: number, k: number, rows = 0): AnnChoice {
  const max = index === 'hnsw' ? HNSW_EXACT_MAX_ROWS : ivfExactMaxRows(rows);
  return matching <= Math.max(max, k) ? 'exact' : 'walk';
}

/**
 * From this share of the clustered parts' rows, a filter over one attribute with a scalar dictionary is not turned
 * into a bitmap of its matches: the walk tests each row it examines by value (the row's dictionary position against
 * the values the filter accepts), and counts a cluster's matches only when the walk reaches it. A bitmap costs a bit
 * set per matching row (a range over thousands of values ORs them all: 1.2 ms at 500,000 rows), the walk a lookup
 * per row of the clusters it examines (nprobe × √(rows/matching) clusters holding matches, more when the filter
 * avoids the query's neighbourhood), so it pays once the matches are many: at 1M rows, 5 % of them 1.5× unfiltered
 * by value against 1.7× through the bitmap (docs/benchmarks.md, "Filter indexes and ANN, ninth session").
 */
export const IVF_VALUE_WALK_MIN_SHARE = 1 / 32;

export type IvfWalk = 'walk' | 'walk-values';

/** A walk's way of testing rows over the format-3 parts' `rows`: by value when it may (`byValue`) and the matches are many. */
export function ivfWalkKind(matching: number, rows: number, byValue: boolean): IvfWalk {
  return byValue && matching >= rows * IVF_VALUE_WALK_MIN_SHARE ? 'walk-values' : 'walk';
}
