/**
 * MaxSim (late interaction) between a query's vectors Q and a row's vectors D, reported as a distance:
 *
 *   $dist = Σ_{q ∈ Q} min_{d ∈ D} dist(q, d)
 *
 * with dist the attribute's metric (query/distance.ts: cosine_distance = 1 − cos_sim, euclidean_squared). Lower is
 * closer, as every vector `$dist`. For cosine_distance it is |Q| − MaxSim(Q, D) with MaxSim = Σ_q max_d cos_sim(q, d),
 * the ColBERT score, so ranking by it ascending is ranking by MaxSim descending; for euclidean_squared it is −MaxSim
 * with sim = −euclidean_squared. A row with one vector and a query with one vector get the single-vector distance.
 * Summation is in f64 in query-vector order; the min over D is exact, so scores do not depend on storage.
 */
import type { DistanceMetric } from '../core/index.js';
import { distanceTo } from '../query/distance.js';
import type { MultiVector } from './vector.js';

/** A parsed multi-vector query: its vectors with a distance function each (norms hoisted). */
export interface MultiQuery {
  vectors: Float32Array[];
  metric: DistanceMetric;
  /** One per query vector. */
  dist: ((b: Float32Array) => number)[];
}

export function multiQuery(vectors: Float32Array[], metric: DistanceMetric): MultiQuery {
  return { vectors, metric, dist: vectors.map((q) => distanceTo(metric, q)) };
}

/** The row's vectors as Float32Arrays (values are f32-exact, so this is lossless). */
export function rowVectors(row: MultiVector): Float32Array[] {
  return row.map((v) => Float32Array.from(v));
}

/** Σ_q min_d dist(q, d) over the row's vectors (already as Float32Arrays). */
export function maxSimDistance(q: MultiQuery, row: readonly Float32Array[]): number {
  let s = 0;
  for (const f of q.dist) {
    let best = Infinity;
    for (const d of row) {
      const x = f(d);
      if (x < best) best = x;
    }
    s += best;
  }
  return s;
}

/** Like maxSimDistance for a stored value (array of number arrays). */
export function maxSimDistanceOf(q: MultiQuery, row: MultiVector): number {
  return maxSimDistance(q, rowVectors(row));
}
