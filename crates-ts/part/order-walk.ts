/**
 * `rank_by [attr, asc|desc]` over a part's filter index (RFC-0009 §3, slice 3): the rows in the order of the
 * attribute's values, so a top-k stops after the first k live matches (and the rows tied with the k-th) instead of
 * reading every row. The order is query/compare.ts's: missing/null first ascending and last descending, then
 * booleans, numbers, strings. A sorted index walks its pairs; a dictionary of scalars its values (each value's rows
 * in ordinal order). Ties within a value are left to the caller's tie-break (id).
 */
import type { OrderBound } from '../query/index.js';
import type { AttrIndex } from './filter-eval.js';

/**
 * Calls `visit(value, ord)` for every row in order (null for missing values) until it returns false. Returns false,
 * visiting nothing, when the index cannot order its attribute (a dictionary of array elements). `bound` (filter-eval.ts
 * requiredRange: positions [lo, hi) of the index's values or pairs, and whether missing values can match) limits
 * the walk to the rows that can match.
 */
export function walkIndexOrder(idx: AttrIndex, desc: boolean, visit: (value: unknown, ord: number) => boolean, bound?: OrderBound): boolean {
  if (idx.kind === 'dict' && idx.array) return false;
  const lo = bound?.lo ?? 0;
  const hi = Math.min(bound?.hi ?? idx.values.length, idx.values.length);
  const nulls = (): boolean => {
    if (bound !== undefined && !bound.nulls) return true;
    const ords = idx.nulls.toArray();
    for (let i = 0; i < ords.length; i++) if (!visit(null, ords[i]!)) return false;
    return true;
  };
  if (!desc && !nulls()) return true;
  if (idx.kind === 'sorted') {
    const { values, ords } = idx;
    if (desc) {
      for (let i = hi - 1; i >= lo; i--) if (!visit(values[i], ords[i]!)) return true;
    } else for (let i = lo; i < hi; i++) if (!visit(values[i], ords[i]!)) return true;
  } else {
    for (let j = lo; j < hi; j++) {
      const v = desc ? hi - 1 - (j - lo) : j;
      const value = idx.values[v];
      const ords = idx.bitmaps[v]!.toArray();
      for (let i = 0; i < ords.length; i++) if (!visit(value, ords[i]!)) return true;
    }
  }
  if (desc) nulls();
  return true;
}
