/**
 * A reference model of the Fuzzy filter, independent of elax's code (crates-ts/filter/edit-distance.ts and the fuzzy
 * indexes): tests check the engine's answers against it. Levenshtein distance over code points by the textbook
 * matrix, user-level case folding, the distance thresholds by query length.
 */

/** Levenshtein distance by the full textbook matrix over code points. */
export function lev(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[y.length]!;
}

/** Case folding as a user expects it: each character lowercased when that gives one character. */
export const fold = (s: string) =>
  Array.from(s)
    .map((c) => (Array.from(c.toLowerCase()).length === 1 ? c.toLowerCase() : c))
    .join('');

/** Strings by code point (not by UTF-16 unit, as `<` compares them). */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

export interface FuzzyParams {
  max_edit_distance: { distance: number; min_query_chars: number }[];
  case_sensitive?: boolean;
}

/** Whether `value` (a string, or an array holding one) is within the distance `params` give a query of its length. */
export function fuzzyMatch(value: unknown, query: string, params: FuzzyParams): boolean {
  const len = Array.from(query).length;
  let d = -1;
  for (const e of params.max_edit_distance) if (len >= e.min_query_chars) d = e.distance;
  if (d < 0) return false;
  const cs = params.case_sensitive ?? true;
  const one = (v: unknown) => typeof v === 'string' && lev(cs ? v : fold(v), cs ? query : fold(query)) <= d;
  return Array.isArray(value) ? value.some(one) : one(value);
}

/** Distance 1 from 6 query characters, 2 from 9; case-sensitive. */
export const P12: FuzzyParams = { max_edit_distance: [{ distance: 1, min_query_chars: 6 }, { distance: 2, min_query_chars: 9 }] };
/** P12, P12 case-insensitive, exact matches only (from 3 characters), distance 3 from 12 characters case-insensitive. */
export const PARAMS: FuzzyParams[] = [P12, { ...P12, case_sensitive: false }, { max_edit_distance: [{ distance: 0, min_query_chars: 3 }] }, { max_edit_distance: [{ distance: 3, min_query_chars: 12 }], case_sensitive: false }];
