/**
 * Distances to a vector attribute other than `vector` (RFC-0014). Such attributes are stored per row as an array of
 * numbers, each exactly an f32 (schema/values.ts), so the row's vector is Float32Array.from(value) and the distance is
 * the same kernel as the `vector` column's (query/distance.ts, float64 accumulation): a row ranks identically whichever
 * column holds the same vector. Rows without a value (absent or null) have no distance and are not ranked.
 */
import type { DistanceMetric } from '../core/index.js';
import { distanceTo } from './distance.js';

/** The distance from `query` to a stored attribute value under `metric`, or null when the row has no vector. */
export function attrVectorDistance(metric: DistanceMetric, query: Float32Array): (value: unknown) => number | null {
  const dist = distanceTo(metric, query);
  const buf = new Float32Array(query.length);
  return (value) => {
    if (!Array.isArray(value) || value.length !== buf.length) return null;
    for (let i = 0; i < buf.length; i++) buf[i] = value[i] as number;
    return dist(buf);
  };
}
