/**
 * How the two metrics elax supports map onto the index's one geometry, squared euclidean distance:
 *  - euclidean_squared: as is.
 *  - cosine_distance: vectors and queries are normalised to unit length; then 1 − cos(a, b) = ‖a − b‖²/2, so the
 *    estimates are scaled by ½. A zero vector stays zero (its true cosine distance, 1, comes from the rerank).
 */
import type { DistanceMetric } from '../core/index.js';

/** The factor from squared euclidean distance in index space to the metric's distance. */
export function metricScale(metric: DistanceMetric): number {
  return metric === 'cosine_distance' ? 0.5 : 1;
}

/** The rows the index clusters and encodes: `data` itself for euclidean, a normalised copy for cosine. */
export function indexSpace(metric: DistanceMetric, data: Float32Array, dims: number): Float32Array {
  if (metric !== 'cosine_distance') return data;
  const out = new Float32Array(data.length);
  for (let off = 0; off < data.length; off += dims) normaliseInto(data, off, dims, out, off);
  return out;
}

/** out[outOff, outOff + dims) = v[off, off + dims) / ‖v‖ (zero stays zero). */
export function normaliseInto(v: Float32Array | Float64Array, off: number, dims: number, out: Float32Array | Float64Array, outOff: number): void {
  let s = 0;
  for (let d = 0; d < dims; d++) s += v[off + d]! * v[off + d]!;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let d = 0; d < dims; d++) out[outOff + d] = v[off + d]! * inv;
}
