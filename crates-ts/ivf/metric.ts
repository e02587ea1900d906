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
  for (let off = 0; off < data.length; off += dims) normaliseRow(data, off, dims, out, off);
  return out;
}

/**
 * The index-space rows of `vectors` (each `dims` long), into one new array: indexSpace over their concatenation,
 * without the concatenated copy (a part build's vectors are views of decoded WAL or part blocks).
 */
export function indexSpaceOf(metric: DistanceMetric, vectors: readonly Float32Array[], dims: number): Float32Array {
  const out = new Float32Array(vectors.length * dims);
  const cosine = metric === 'cosine_distance';
  for (let j = 0; j < vectors.length; j++) {
    const v = vectors[j]!;
    if (cosine) normaliseRow(v, 0, dims, out, j * dims);
    else for (let d = 0; d < dims; d++) out[j * dims + d] = v[d]!;
  }
  return out;
}

/** normaliseInto for f32 rows only: one element type at each access, which the build's hot loop needs to stay fast. */
function normaliseRow(v: Float32Array, off: number, dims: number, out: Float32Array, outOff: number): void {
  let s = 0;
  for (let d = 0; d < dims; d++) {
    const x = v[off + d]!;
    s += x * x;
  }
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let d = 0; d < dims; d++) out[outOff + d] = v[off + d]! * inv;
}

/** out[outOff, outOff + dims) = v[off, off + dims) / ‖v‖ (zero stays zero). */
export function normaliseInto(v: Float32Array | Float64Array, off: number, dims: number, out: Float32Array | Float64Array, outOff: number): void {
  let s = 0;
  for (let d = 0; d < dims; d++) s += v[off + d]! * v[off + d]!;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let d = 0; d < dims; d++) out[outOff + d] = v[off + d]! * inv;
}
