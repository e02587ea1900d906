/**
 * Comparing source rows with namespace rows fairly: both sides go through the server's own write parser
 * (parseWriteRequest) against the namespace schema, so ids, datetimes, uuids, f16 rounding and vector encodings
 * (arrays or base64) are normalised exactly as the server stores them. A missing attribute and null are the same.
 */
import { isElaxError, type Doc, type DistanceMetric, type Schema } from '../../crates-ts/core/index.js';
import { parseWriteRequest } from '../../crates-ts/schema/index.js';

export interface Normalizer {
  /** The stored form of a row, or an error message when the server would reject it. */
  doc(row: Record<string, unknown>): Doc | string;
}

export function normalizer(schema: Schema, metric: DistanceMetric | null): Normalizer {
  return {
    doc(row) {
      try {
        const req = parseWriteRequest({ upsert_rows: [row], ...(metric ? { distance_metric: metric } : {}) }, { schema, distanceMetric: metric });
        return req.upserts[0]!;
      } catch (e) {
        if (isElaxError(e)) return e.message;
        throw e;
      }
    },
  };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  return false;
}

/** Names of what differs between two stored documents ('vector' and attribute names); empty when equal. */
export function differences(source: Doc, stored: Doc): string[] {
  const out: string[] = [];
  const sv = source.vector;
  const tv = stored.vector;
  if ((sv === null) !== (tv === null) || (sv && tv && (sv.length !== tv.length || sv.some((x, i) => x !== tv[i])))) out.push('vector');
  const names = new Set([...Object.keys(source.attrs), ...Object.keys(stored.attrs)]);
  for (const n of [...names].sort()) if (!sameValue(source.attrs[n], stored.attrs[n])) out.push(n);
  return out;
}
