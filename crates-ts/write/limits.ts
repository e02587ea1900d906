/**
 * How many documents one filter-based write may change. turbopuffer's write docs (rows_remaining) and limits page:
 * "5M documents for delete_by_filter", "50k documents for patch_by_filter" ("Max rows affected by patch by filter:
 * 50k", "by delete by filter: 5M"). A filter matching more is a 400 that writes nothing, unless the request sets
 * `*_allow_partial`: then exactly the limit is changed and `rows_remaining: true` says more documents match.
 * Injectable (EngineOptions.writeLimits) so tests can exercise "exactly at the limit" and "one above" cheaply.
 */
export interface WriteLimits {
  /** Max documents one delete_by_filter deletes. */
  deleteByFilterRows: number;
  /** Max documents one patch_by_filter patches. */
  patchByFilterRows: number;
}

export const DEFAULT_WRITE_LIMITS: Readonly<WriteLimits> = Object.freeze({
  deleteByFilterRows: 5_000_000,
  patchByFilterRows: 50_000,
});

/** Defaults filled in; every limit a positive integer (a configuration error otherwise: thrown at construction). */
export function resolveWriteLimits(given: Partial<WriteLimits> = {}): WriteLimits {
  const out: WriteLimits = { ...DEFAULT_WRITE_LIMITS };
  for (const k of Object.keys(DEFAULT_WRITE_LIMITS) as (keyof WriteLimits)[]) {
    const v = given[k];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 1) throw new Error(`write limit ${k} must be a positive integer, got ${v}`);
    out[k] = v;
  }
  return out;
}
