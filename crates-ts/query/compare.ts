/**
 * Total orders used for ranking, tie-breaking and group keys.
 *
 * - Ids: numbers numerically, strings by UTF-16 code units (UUIDs are stored lowercase, so this is their natural
 *   order); a namespace holds one id type, but a mixed pair still orders deterministically (numbers first).
 * - Attribute values: null/missing sort lowest — first ascending, last descending, as turbopuffer documents for
 *   ordering by attributes ("missing or null ... sorted first in ascending order and last in descending order").
 *   Then booleans (false < true), numbers, strings (datetimes are normalised ISO strings, so lexicographic order is
 *   chronological). Arrays compare element-wise (only reachable through group keys of untyped data).
 */
import { compareIds, type Doc, type Id } from '../core/index.js';
import type { OrderKey } from './types.js';

export { compareIds };

function typeRank(v: unknown): number {
  if (v === null || v === undefined) return 0;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
      return 2;
    case 'string':
      return 3;
    default:
      return 4;
  }
}

export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return (a ? 1 : 0) - (b ? 1 : 0);
    case 2:
      return (a as number) - (b as number);
    case 3:
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    default: {
      const xa = Array.isArray(a) ? a : [];
      const xb = Array.isArray(b) ? b : [];
      const n = Math.min(xa.length, xb.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(xa[i], xb[i]);
        if (c !== 0) return c;
      }
      return xa.length - xb.length;
    }
  }
}

/** The value an order key reads from a document ('id' is the document id, not an attribute). */
export function orderValue(doc: Doc, attr: string): unknown {
  return attr === 'id' ? doc.id : doc.attrs[attr];
}

/** Comparator for attribute order: the keys in turn, then id ascending so equal keys still order deterministically. */
export function docOrderComparator(keys: readonly OrderKey[]): (a: Doc, b: Doc) => number {
  if (keys.length === 1 && keys[0]!.attr === 'id') {
    return keys[0]!.desc ? (a, b) => compareIds(b.id, a.id) : (a, b) => compareIds(a.id, b.id);
  }
  return (a, b) => {
    for (const k of keys) {
      const c = k.attr === 'id' ? compareIds(a.id, b.id) : compareValues(a.attrs[k.attr], b.attrs[k.attr]);
      if (c !== 0) return k.desc ? -c : c;
    }
    return compareIds(a.id, b.id);
  };
}
