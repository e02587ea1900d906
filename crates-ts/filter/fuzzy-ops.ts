/**
 * The Fuzzy filter (issue 14 item 13): `[attr, "Fuzzy", query, {max_edit_distance: [{distance, min_query_chars}, ...],
 * case_sensitive?}]` on a string or []string attribute whose schema sets `fuzzy: true`. Decisions where turbopuffer's
 * types are silent (docs/api.md):
 *
 *   - The whole value is compared with the query (an array attribute: any element), by Levenshtein distance over
 *     Unicode code points (edit-distance.ts); a transposition costs 2.
 *   - The distance allowed is that of the entry with the largest `min_query_chars` ≤ the query's length in code
 *     points; a query shorter than every `min_query_chars` matches nothing (the client's doc: "Queries shorter than the
 *     first threshold return no matches").
 *   - `min_query_chars` ≥ 3 · (distance + 1) (the client's doc), entries in strictly increasing `min_query_chars`,
 *     distance an integer 0..MAX_FUZZY_DISTANCE, at most MAX_FUZZY_ENTRIES entries: anything else is a 400.
 *   - `case_sensitive` (default true): false compares foldCase forms.
 *   - A missing (null) value never matches; `["Not", ["a", "Fuzzy", ...]]` matches it.
 */
import { condFail, type CompiledFilter, type CondCtx, type Reader } from './condition.js';
import { codePoints, foldCase, withinDistance } from './edit-distance.js';
import { describeValue } from './operand.js';
import { patternSizeError } from './regex.js';

/** Largest `distance` accepted in max_edit_distance (elax's limit: the work of a walk grows fast with it). */
export const MAX_FUZZY_DISTANCE = 4;
/** Entries accepted in max_edit_distance. */
export const MAX_FUZZY_ENTRIES = 16;

export interface FuzzySpec {
  /** The query as given (case-sensitive form) and folded. */
  query: string;
  /** The query's code points as compared (folded when case-insensitive). */
  q: Uint32Array;
  /** The folded query's code points (an index of folded values is walked with it). */
  folded: Uint32Array;
  /** Maximum edit distance for this query, or -1: the query is too short to match anything. */
  distance: number;
  caseSensitive: boolean;
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The validated query and parameters of a Fuzzy leaf, or an error message. */
export function parseFuzzy(query: unknown, params: unknown): FuzzySpec | { error: string } {
  if (typeof query !== 'string') return { error: `needs a query string, got ${describeValue(query)}` };
  const tooLong = patternSizeError(query);
  if (tooLong !== null) return { error: tooLong.replace('pattern', 'query').replace('patterns', 'queries') };
  if (!isPlain(params)) {
    return { error: `needs parameters {"max_edit_distance": [{"distance": 1, "min_query_chars": 6}, ...]} after the query, got ${params === undefined ? 'nothing' : describeValue(params)}` };
  }
  for (const k of Object.keys(params)) {
    if (k !== 'max_edit_distance' && k !== 'case_sensitive') return { error: `unknown parameter '${k}' (expected max_edit_distance, case_sensitive)` };
  }
  const cs = params.case_sensitive ?? true;
  if (typeof cs !== 'boolean') return { error: `case_sensitive must be a boolean, got ${describeValue(cs)}` };
  const list = params.max_edit_distance;
  if (!Array.isArray(list) || list.length === 0) return { error: 'max_edit_distance must be a non-empty array of {"distance", "min_query_chars"}' };
  if (list.length > MAX_FUZZY_ENTRIES) return { error: `max_edit_distance has ${list.length} entries; the limit is ${MAX_FUZZY_ENTRIES}` };
  const entries: { distance: number; min: number }[] = [];
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    const where = `max_edit_distance[${i}]`;
    if (!isPlain(e)) return { error: `${where} must be an object {"distance", "min_query_chars"}, got ${describeValue(e)}` };
    for (const k of Object.keys(e)) if (k !== 'distance' && k !== 'min_query_chars') return { error: `${where}: unknown field '${k}'` };
    const { distance, min_query_chars: min } = e;
    if (typeof distance !== 'number' || !Number.isInteger(distance) || distance < 0 || distance > MAX_FUZZY_DISTANCE) {
      return { error: `${where}.distance must be an integer from 0 to ${MAX_FUZZY_DISTANCE}, got ${describeValue(distance)}` };
    }
    if (typeof min !== 'number' || !Number.isInteger(min)) return { error: `${where}.min_query_chars must be an integer, got ${describeValue(min)}` };
    if (min < 3 * (distance + 1)) return { error: `${where}.min_query_chars must be at least 3 · (distance + 1) = ${3 * (distance + 1)} for distance ${distance}, got ${min}` };
    if (entries.length > 0 && min <= entries[entries.length - 1]!.min) {
      return { error: `${where}.min_query_chars must be greater than the previous entry's (${entries[entries.length - 1]!.min}): entries go by increasing query length` };
    }
    entries.push({ distance, min });
  }
  const folded = codePoints(foldCase(query));
  const q = cs ? codePoints(query) : folded;
  let distance = -1;
  for (const e of entries) if (q.length >= e.min) distance = e.distance;
  return { query, q, folded, distance, caseSensitive: cs };
}

/** A string predicate: the value is within the spec's distance of its query. */
export function fuzzyMatcher(spec: FuzzySpec): (s: string) => boolean {
  const { q, distance, caseSensitive } = spec;
  if (distance < 0) return () => false;
  return (s) => withinDistance(codePoints(caseSensitive ? s : foldCase(s)), q, distance);
}

export function compileFuzzy(c: CondCtx, get: Reader, operand: unknown, params: unknown): CompiledFilter {
  if (c.a.kind !== 'string' && c.a.kind !== 'any') throw condFail(c, `needs a string attribute, but the attribute has type ${c.a.array ? '[]' : ''}${c.a.kind}`);
  const spec = parseFuzzy(operand, params);
  if ('error' in spec) throw condFail(c, spec.error);
  if (spec.distance < 0) return () => false;
  const m = fuzzyMatcher(spec);
  return (d) => {
    const v = get(d);
    if (typeof v === 'string') return m(v);
    if (Array.isArray(v)) {
      for (const e of v) if (typeof e === 'string' && m(e)) return true;
    }
    return false;
  };
}
