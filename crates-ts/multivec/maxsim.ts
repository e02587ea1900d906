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
import { distanceTo, norm } from '../query/distance.js';
import type { MultiVector } from './vector.js';

/** A parsed multi-vector query: its vectors with a distance function each (norms hoisted). */
export interface MultiQuery {
  vectors: Float32Array[];
  metric: DistanceMetric;
  /** One per query vector. */
  dist: ((b: Float32Array) => number)[];
  /** The query vectors' norms (cosine), for maxSimDistanceOf. */
  norms: Float64Array | null;
}

export function multiQuery(vectors: Float32Array[], metric: DistanceMetric): MultiQuery {
  const norms = metric === 'cosine_distance' ? Float64Array.from(vectors, (v) => norm(v)) : null;
  return { vectors, metric, dist: vectors.map((q) => distanceTo(metric, q)), norms };
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

/**
 * Like maxSimDistance for a stored value (array of number arrays), without converting it: the row's norms are computed
 * once (cosine), then each (q, d) pair costs one dot product (or one squared difference), 4-way unrolled. Same
 * definition as the Float32Array kernels (zero vector: cosine distance 1; clamped to [0, 2]); summation order fixed, so
 * every path that scores stored values (tail, parts, the document oracle) gives the same bits.
 */
export function maxSimDistanceOf(q: MultiQuery, row: MultiVector): number {
  const cosine = q.metric === 'cosine_distance';
  const m = row.length;
  let norms: Float64Array | null = null;
  if (cosine) {
    norms = new Float64Array(m);
    for (let k = 0; k < m; k++) norms[k] = Math.sqrt(dotArr(row[k]!, row[k]!));
  }
  let total = 0;
  const qs = q.vectors;
  for (let i = 0; i < qs.length; i++) {
    const qv = qs[i]!;
    let best = Infinity;
    if (cosine) {
      const qn = q.norms![i]!;
      for (let k = 0; k < m; k++) {
        const dn = norms![k]!;
        let x: number;
        if (qn === 0 || dn === 0) x = 1;
        else {
          x = 1 - dotQ(qv, row[k]!) / (qn * dn);
          x = x < 0 ? 0 : x > 2 ? 2 : x;
        }
        if (x < best) best = x;
      }
    } else {
      for (let k = 0; k < m; k++) {
        const x = l2Q(qv, row[k]!);
        if (x < best) best = x;
      }
    }
    total += best;
  }
  return total;
}

// dotArr / dotQ / l2Q repeat query/distance.ts's 4-lane kernels over the stored form (arrays of numbers): one
// element type per function keeps each call site monomorphic; the Float32Array kernels stay as they are for `vector`.
function dotArr(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
    s2 += a[i + 2]! * b[i + 2]!;
    s3 += a[i + 3]! * b[i + 3]!;
  }
  let s = s0 + s1 + s2 + s3;
  for (; i < n; i++) s += a[i]! * b[i]!;
  return s;
}

function dotQ(a: Float32Array, b: readonly number[]): number {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
    s2 += a[i + 2]! * b[i + 2]!;
    s3 += a[i + 3]! * b[i + 3]!;
  }
  let s = s0 + s1 + s2 + s3;
  for (; i < n; i++) s += a[i]! * b[i]!;
  return s;
}

function l2Q(a: Float32Array, b: readonly number[]): number {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const d0 = a[i]! - b[i]!;
    const d1 = a[i + 1]! - b[i + 1]!;
    const d2 = a[i + 2]! - b[i + 2]!;
    const d3 = a[i + 3]! - b[i + 3]!;
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  let s = s0 + s1 + s2 + s3;
  for (; i < n; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}
