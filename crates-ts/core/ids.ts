/**
 * The total order of ids, shared by every module that sorts or ranks rows (parts store rows in it; ranking breaks
 * ties by it): numbers numerically, strings by UTF-16 code units (UUIDs are stored lowercase, so this is their
 * natural order); a namespace holds one id type, but a mixed pair still orders deterministically (numbers first).
 */
import type { Id } from './types.js';

export function compareIds(a: Id, b: Id): number {
  if (typeof a === 'number') {
    if (typeof b === 'number') return a - b;
    return -1;
  }
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
