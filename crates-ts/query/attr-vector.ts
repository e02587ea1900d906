/**
 * Distances to a vector attribute other than `vector` (RFC-0014). Such attributes are stored per row as an array of
 * numbers, each exactly an f32 (schema/values.ts), so the row's vector is Float32Array.from(value) and the distance is
 * the same kernel as the `vector` column's (query/distance.ts, float64 accumulation): a row ranks identically whichever
 * column holds the same vector. Rows without a value (absent or null) have no distance and are not ranked.
 */
import type { AttrValue, DistanceMetric } from '../core/index.js';
import { distanceTo } from './distance.js';
import type { Segment } from './segment.js';

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

/**
 * A number array of `buf.length` numbers copied into `buf` (the reused buffer), or null when `value` is not one: the
 * form of a vector attribute value a segment keeps as JSON (a json column block, the tail's values).
 */
export function vectorInto(value: unknown, buf: Float32Array): Float32Array | null {
  if (!Array.isArray(value) || value.length !== buf.length) return null;
  for (let i = 0; i < buf.length; i++) buf[i] = value[i] as number;
  return buf;
}

/** A reader of a value-reader's vectors as f32 (a buffer reused per call): segments without vectorReader. */
export function vectorsFromValues(read: (ord: number) => AttrValue | undefined, dims: number): (ord: number) => Float32Array | null {
  const buf = new Float32Array(dims);
  return (o) => vectorInto(read(o), buf);
}

/** `attr`'s vectors of `dims` numbers in `seg` as f32 (packed views where the segment has them): the kNN scan's reader. */
export function attrVectorReader(seg: Segment, attr: string, dims: number): (ord: number) => Float32Array | null {
  if (seg.vectorReader) return seg.vectorReader(attr, dims);
  return vectorsFromValues(seg.reader ? seg.reader(attr) : (o: number) => seg.value(attr, o), dims);
}
