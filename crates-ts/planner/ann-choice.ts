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
