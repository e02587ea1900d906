/**
 * `rank_by [attr, asc|desc]` over a part's filter index (RFC-0009 §3, slice 3): the rows in the order of the
 * attribute's values, so a top-k stops after the first k live matches (and the rows tied with the k-th) instead of
 * reading every row. The order is query/compare.ts's: missing/null first ascending and last descending, then
 * booleans, numbers, strings. A sorted index walks its pairs; a dictionary of scalars its values (each value's rows
 * in ordinal order). Ties within a value are left to the caller's tie-break (id).
 */
import type { AttrIndex } from './filter-eval.js';

/**
 * Calls `visit(value, ord)` for every row in order (null for missing values) until it returns false. Returns false,
 * visiting nothing, when the index cannot order its attribute (a dictionary of array elements).
 */
export function walkIndexOrder(idx: AttrIndex, desc: boolean, visit: (value: unknown, ord: number) => boolean): boolean {
  if (idx.kind === 'dict' && idx.array) return false;
  const nulls = (): boolean => {
    const ords = idx.nulls.toArray();
    for (let i = 0; i < ords.length; i++) if (!visit(null, ords[i]!)) return false;
    return true;
  };
  if (!desc && !nulls()) return true;
  if (idx.kind === 'sorted') {
    const { values, ords } = idx;
    const n = ords.length;
    if (desc) {
      for (let i = n - 1; i >= 0; i--) if (!visit(values[i], ords[i]!)) return true;
    } else for (let i = 0; i < n; i++) if (!visit(values[i], ords[i]!)) return true;
  } else {
    const n = idx.values.length;
    for (let j = 0; j < n; j++) {
      const v = desc ? n - 1 - j : j;
      const value = idx.values[v];
      const ords = idx.bitmaps[v]!.toArray();
      for (let i = 0; i < ords.length; i++) if (!visit(value, ords[i]!)) return true;
    }
  }
  if (desc) nulls();
  return true;
}
