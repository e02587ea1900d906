/**
 * Evaluating a filter tree over a part's dictionary indexes (RFC-0009 §2, slice 2). Each leaf on an indexed
 * attribute becomes a bitmap by running the leaf's own compiled closure once per distinct value (not once per row),
 * so the index answers exactly what the scan would, whatever the operator, null rule or value normalisation:
 *
 *   - scalar attribute: rows(leaf) = ⋃ {bitmap(v) : leaf(v)} ∪ (nulls if leaf(missing)); every operator.
 *   - array attribute: only operators that match when any element does (Eq with a scalar, In, Contains,
 *     ContainsAny): ⋃ {bitmap(e) : leaf([e])} ∪ (nulls if leaf(missing)) ∪ (empty arrays if leaf([])); their Not*
 *     forms are the complement (each is exactly the negation of its positive form, filter/compile.ts).
 *
 * A leaf on an attribute with a sorted index (slice 3: near-unique numbers, strings, datetimes) becomes runs of the
 * sorted pairs: Lt/Lte a prefix, Gt/Gte a suffix, Eq and each In element a run, a prefix Glob (`abc*`) the run from
 * `Gte abc` on; NotEq / NotIn / NotGlob the complement of their positive forms. The run's ends are found by binary
 * search with the leaf's own compiled closure (the values of one type are ordered as the filter compares them, so
 * each such leaf is true on one contiguous run), and the null rows join when the closure accepts a missing value:
 * turbopuffer's null rules and operand normalisation stay filter/'s. Other operators on it stay residual.
 *
 * And intersects, Or unions, Not complements within the part's rows. A leaf the index cannot answer (an attribute
 * without an index, `id`, other array operators) makes its subtree inexact: the result is then a superset of the
 * matching rows (or null: every row), on which the caller still runs the compiled filter.
 */
import { Bitmap } from '../bitmap/index.js';
import type { Doc } from '../core/index.js';
import { parseFuzzy } from '../filter/index.js';
import { dictCodes, type DictIndex } from './filter-index.js';
import { fuzzyLookupAny, type FuzzyReader } from './fuzzy-blocks.js';
import { firstTrue, runBitmap, type SortedIndex } from './sorted-index.js';

/** A part's index of one attribute, whichever kind it has. */
export type AttrIndex = DictIndex | SortedIndex;

export type LeafCompiler = (leaf: unknown) => (doc: Doc) => boolean;

/**
 * Told about every leaf as it is evaluated (the planner's explain, RFC-0009 §4): the rows its index lookup gave
 * (dead rows included) and the index kind, or null and null when the leaf stays residual.
 */
export type LeafTrace = (leaf: unknown[], rows: number | null, index: 'dict' | 'sorted' | 'fuzzy' | null) => void;

/** A part's fuzzy index of an attribute (schema `fuzzy: true`), or null. */
export type FuzzyIndexOf = (attr: string) => FuzzyReader | null;

/**
 * A Fuzzy leaf over a fuzzy index (fuzzy-index.ts): the rows holding a value within the query's distance, by a walk
 * of the folded term dictionary. Null when the leaf is malformed (the compiled filter reports it) or the attribute has
 * no fuzzy index. A missing value never matches, so the result is exact.
 */
function fuzzyLeaf(f: unknown[], rows: number, fuzzy: FuzzyIndexOf | undefined): Bitmap | null {
  if (fuzzy === undefined || f.length !== 4 || f[1] !== 'Fuzzy' || typeof f[0] !== 'string') return null;
  const d = fuzzy(f[0]);
  if (d === null) return null;
  const spec = parseFuzzy(f[2], f[3]);
  if ('error' in spec) return null;
  return fuzzyLookupAny(d, spec, rows).bits;
}

/** bits: a superset of the matching rows (null: all rows); exact: it is the matching set. */
interface Eval {
  bits: Bitmap | null;
  exact: boolean;
}

const ANY_OPS = new Set(['Eq', 'In', 'Contains', 'ContainsAny']);
const NEGATED: Record<string, string> = { NotEq: 'Eq', NotIn: 'In', NotContains: 'Contains', NotContainsAny: 'ContainsAny' };
const INEXACT: Eval = { bits: null, exact: false };

const docOf = (attr: string, v: unknown): Doc => ({ id: 0, vector: null, attrs: v === undefined ? {} : { [attr]: v } }) as Doc;

const SORTED_NEGATED: Record<string, string> = { NotEq: 'Eq', NotIn: 'In', NotGlob: 'Glob' };

/** `abc*` → `abc`: a case-sensitive glob matching exactly the strings with a literal prefix; else null. */
export function globPrefix(pattern: unknown): string | null {
  if (typeof pattern !== 'string' || pattern.length < 2 || !pattern.endsWith('*')) return null;
  const lit = pattern.slice(0, -1);
  return /[*?[\]{}\\]/.test(lit) ? null : lit;
}

/** A leaf over a sorted index (see the header), or null when the index does not answer it (residual). */
function sortedLeaf(f: unknown[], d: SortedIndex, rows: number, compile: LeafCompiler): Bitmap | null {
  if (f.length !== 3) return null;
  const attr = f[0] as string;
  let op = f[1] as string;
  const operand = f[2];
  const negate = op in SORTED_NEGATED;
  if (negate) op = SORTED_NEGATED[op]!;
  const n = d.values.length;
  const at = (test: (doc: Doc) => boolean) => (i: number) => test(docOf(attr, d.values[i]));
  try {
    const test = compile([attr, op, operand]);
    // The run of values equal to x: from the first value ≥ x while Eq holds.
    const eqRun = (x: unknown): [number, number] => {
      const lo = firstTrue(0, n, at(compile([attr, 'Gte', x])));
      const eq = at(compile([attr, 'Eq', x]));
      return [lo, firstTrue(lo, n, (i) => !eq(i))];
    };
    let runs: [number, number][];
    switch (op) {
      case 'Lt':
      case 'Lte': {
        const t = at(test);
        runs = [[0, firstTrue(0, n, (i) => !t(i))]];
        break;
      }
      case 'Gt':
      case 'Gte':
        runs = [[firstTrue(0, n, at(test)), n]];
        break;
      case 'Eq':
        if (Array.isArray(operand)) return null;
        runs = [eqRun(operand)];
        break;
      case 'In':
        if (!Array.isArray(operand)) return null;
        runs = operand.map(eqRun);
        break;
      case 'Glob': {
        const prefix = globPrefix(operand);
        if (prefix === null || d.type !== 'string') return null;
        const t = at(test);
        const lo = firstTrue(0, n, at(compile([attr, 'Gte', prefix])));
        runs = [[lo, firstTrue(lo, n, (i) => !t(i))]];
        break;
      }
      default:
        return null;
    }
    const parts = runs.map(([lo, hi]) => runBitmap(d, rows, lo, hi));
    if (test(docOf(attr, undefined))) parts.push(d.nulls);
    const bits = Bitmap.union(rows, parts.length === 0 ? [Bitmap.empty(rows)] : parts);
    return negate ? bits.complement() : bits;
  } catch {
    // A derived leaf (Gte x for an Eq x) the filter rejects: leave the leaf to the compiled filter.
    return null;
  }
}

const RANGE_OPS = new Set(['Lt', 'Lte', 'Gt', 'Gte']);

/**
 * Which values of a scalar dictionary a leaf accepts: one byte per value (1 = accepted) and a last one for a missing
 * value (null). The leaf's own compiled closure decides, once per value; a range (Lt, Lte, Gt, Gte with a constant
 * operand) over a dictionary whose values are all numbers or all strings is a prefix or a suffix of the sorted values
 * (values of another type never compare, filter/value-ops.ts; the dictionary sorts them as the filter compares
 * them, filter-index.ts), found by binary search with the same closure: O(log values) calls, not O(values).
 */
export function scalarAccepts(f: unknown[], d: DictIndex, compile: LeafCompiler): Uint8Array {
  const n = d.values.length;
  const out = new Uint8Array(n + 1);
  const attr = f[0] as string;
  const test = compile(f);
  const one = { id: 0, vector: null, attrs: {} as Record<string, unknown> } as unknown as Doc;
  const attrs = one.attrs as Record<string, unknown>;
  const at = (i: number) => {
    attrs[attr] = d.values[i];
    return test(one);
  };
  out[n] = test(docOf(attr, undefined)) ? 1 : 0;
  const op = f[1] as string;
  const single = n > 0 && (typeof d.values[0] === 'number' || typeof d.values[0] === 'string') && typeof d.values[0] === typeof d.values[n - 1];
  if (single && f.length === 3 && RANGE_OPS.has(op) && !Array.isArray(f[2]) && (typeof f[2] !== 'object' || f[2] === null)) {
    if (op === 'Lt' || op === 'Lte') out.fill(1, 0, firstTrue(0, n, (i) => !at(i)));
    else out.fill(1, firstTrue(0, n, at), n);
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = at(i) ? 1 : 0;
  return out;
}

/**
 * The bound the filter's required range leaves on `attr` put on index `d` of `attr`: the filter itself when it is
 * such a leaf, or the leaves on `attr` among its top-level And's children (`price < 100` in `cat = c7 AND price <
 * 100`). A range leaf is Lt, Lte, Gt or Gte with a constant operand; over a dictionary its values must be all numbers
 * or all strings (scalarAccepts: the accepted values are then a prefix or a suffix), a sorted index always is. Each
 * bound is found by binary search with the leaf's own closure. Null when no such leaf is required (an Or, a Not, other
 * operators: the walk then visits every value). No row outside the bound can match the filter.
 */
export function requiredRange(filter: unknown, attr: string, d: AttrIndex, compile: LeafCompiler): { lo: number; hi: number; nulls: boolean } | null {
  if ((d.kind === 'dict' && d.array) || !Array.isArray(filter)) return null;
  const n = d.values.length;
  if (d.kind === 'dict' && !(n > 0 && (typeof d.values[0] === 'number' || typeof d.values[0] === 'string') && typeof d.values[0] === typeof d.values[n - 1])) return null;
  const isRange = (f: unknown): f is unknown[] =>
    Array.isArray(f) && f.length === 3 && f[0] === attr && typeof f[1] === 'string' && RANGE_OPS.has(f[1]) && !Array.isArray(f[2]) && (typeof f[2] !== 'object' || f[2] === null);
  const leaves = isRange(filter) ? [filter] : filter[0] === 'And' && isLogical(filter) ? (filter[1] as unknown[]).filter(isRange) : [];
  if (leaves.length === 0) return null;
  const bound = { lo: 0, hi: n, nulls: true };
  try {
    for (const f of leaves) {
      const test = compile(f);
      const at = (i: number) => test(docOf(attr, d.values[i]));
      if (f[1] === 'Lt' || f[1] === 'Lte') bound.hi = Math.min(bound.hi, firstTrue(0, n, (i) => !at(i)));
      else bound.lo = Math.max(bound.lo, firstTrue(0, n, at));
      bound.nulls &&= test(docOf(attr, undefined));
    }
  } catch {
    return null; // a leaf the filter compiler rejects: no bound (the compiled filter decides)
  }
  if (bound.hi < bound.lo) bound.hi = bound.lo;
  return bound;
}

/**
 * A filter over one scalar dictionary attribute as a test per row (RFC-0009, filtered ANN over unselective filters):
 * the values it accepts (`accept`, one byte per dictionary value and a last one for missing), and how many rows hold
 * them (`rows`, dead rows included, from the value bitmaps' counts): no bitmap of the matching rows is built. Null
 * when the filter reads another attribute too, an attribute without a scalar dictionary, `id`, or nothing.
 */
export function valueFilterOf(filter: unknown, index: (attr: string) => AttrIndex | null, compile: LeafCompiler): { attr: string; index: DictIndex; accept: Uint8Array; rows: number } | null {
  let dict: DictIndex | null = null;
  const node = (f: unknown): Uint8Array | null => {
    if (!Array.isArray(f)) return null;
    if (isLogical(f)) {
      if (f[0] === 'Not') {
        const c = node(f[1]);
        if (c === null) return null;
        for (let i = 0; i < c.length; i++) c[i] = c[i]! ^ 1;
        return c;
      }
      const kids = f[1] as unknown[];
      if (kids.length === 0) return null; // the compiled filter decides what an empty And / Or means
      let acc: Uint8Array | null = null;
      for (const k of kids) {
        const c = node(k);
        if (c === null) return null;
        if (acc === null) acc = c;
        else if (f[0] === 'And') for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! & c[i]!;
        else for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! | c[i]!;
      }
      return acc;
    }
    const attr = f[0];
    if (typeof attr !== 'string' || attr === 'id' || typeof f[1] !== 'string') return null;
    if (dict !== null && dict.attr !== attr) return null;
    const d = index(attr);
    if (d === null || d.kind !== 'dict' || d.array) return null;
    dict = d;
    return scalarAccepts(f, d, compile);
  };
  const accept = node(filter);
  if (accept === null || dict === null) return null;
  const d: DictIndex = dict;
  return { attr: d.attr, index: d, accept, rows: acceptedRows(d, accept) };
}

/** Rows (dead included) holding a value `accept` accepts (its last byte: missing), from the value bitmaps' counts. */
function acceptedRows(d: DictIndex, accept: Uint8Array): number {
  const counts = valueCounts(d);
  let n = accept[counts.length] === 1 ? d.nulls.cardinality : 0;
  for (let i = 0; i < counts.length; i++) if (accept[i] === 1) n += counts[i]!;
  return n;
}

/** The rows (dead included) holding a value `accept` accepts: one union of disjoint value bitmaps. */
function acceptedBits(d: DictIndex, accept: Uint8Array, rows: number): Bitmap {
  const hit: Bitmap[] = [Bitmap.empty(rows)];
  for (let i = 0; i < d.values.length; i++) if (accept[i] === 1) hit.push(d.bitmaps[i]!);
  if (accept[d.values.length] === 1) hit.push(d.nulls);
  // A scalar row holds one value (or none): the value bitmaps are disjoint.
  return Bitmap.union(rows, hit, true);
}

function isLogical(f: unknown[]): boolean {
  return f.length === 2 && (((f[0] === 'And' || f[0] === 'Or') && Array.isArray(f[1])) || f[0] === 'Not');
}

/**
 * The rows of a part (ordinals [0, rows)) that `filter` matches, as far as the indexes tell; null when no index
 * helped at all (the caller scans as before).
 */
export function evalWithIndexes(filter: unknown, rows: number, index: (attr: string) => AttrIndex | null, compile: LeafCompiler, trace?: LeafTrace, fuzzy?: FuzzyIndexOf): Eval | null {
  let used = false;
  const leaf = (f: unknown[]): Eval => {
    const fz = fuzzyLeaf(f, rows, fuzzy);
    if (fz !== null) {
      used = true;
      trace?.(f, fz.cardinality, 'fuzzy');
      return { bits: fz, exact: true };
    }
    const e = leafOf(f);
    trace?.(f, e.bits === null ? null : e.bits.cardinality, e.bits === null ? null : index(f[0] as string)!.kind);
    return e;
  };
  const leafOf = (f: unknown[]): Eval => {
    const [attr, op, operand] = f;
    if (typeof attr !== 'string' || typeof op !== 'string' || attr === 'id') return INEXACT;
    const d = index(attr);
    if (d === null) return INEXACT;
    if (d.kind === 'sorted') {
      const bits = sortedLeaf(f, d, rows, compile);
      if (bits === null) return INEXACT;
      used = true;
      return { bits, exact: true };
    }
    let positive = f;
    let negate = false;
    if (d.array) {
      if (op in NEGATED) {
        positive = [attr, NEGATED[op], ...f.slice(2)];
        negate = true;
      } else if (!ANY_OPS.has(op)) return INEXACT;
      if ((positive[1] === 'Eq' && Array.isArray(operand)) || f.length > 3) return INEXACT;
    }
    used = true;
    if (!d.array) {
      // A scalar dictionary: the values the leaf accepts (a run found by binary search for a range), then their rows.
      return { bits: acceptedBits(d, scalarAccepts(f, d, compile), rows), exact: true };
    }
    const test = compile(positive);
    const hit: Bitmap[] = [Bitmap.empty(rows)];
    // One document moved from value to value (the compiled leaf reads it and keeps nothing): no object per value.
    const one = { id: 0, vector: null, attrs: {} as Record<string, unknown> } as unknown as Doc;
    const attrs = one.attrs as Record<string, unknown>;
    const elem: unknown[] = [undefined];
    for (let i = 0; i < d.values.length; i++) {
      if (d.array) {
        elem[0] = d.values[i];
        attrs[attr] = elem;
      } else attrs[attr] = d.values[i];
      if (test(one)) hit.push(d.bitmaps[i]!);
    }
    if (test(docOf(attr, undefined))) hit.push(d.nulls);
    if (d.array && test(docOf(attr, []))) hit.push(d.empty);
    // One union of every hit (a range leaf over many values), not a new bitmap per pairwise `or`.
    const bits = Bitmap.union(rows, hit);
    return { bits: negate ? bits.complement() : bits, exact: true };
  };
  const node = (f: unknown): Eval => {
    if (!Array.isArray(f)) return INEXACT;
    if (!isLogical(f)) return leaf(f);
    if (f[0] === 'Not') {
      const c = node(f[1]);
      return c.exact && c.bits !== null ? { bits: c.bits.complement(), exact: true } : INEXACT;
    }
    if (f[0] === 'And') return andOf(f[1] as unknown[]);
    const kids = (f[1] as unknown[]).map(node);
    if (kids.length === 0) return INEXACT; // the compiled filter decides what an empty Or means
    if (kids.some((k) => k.bits === null)) return INEXACT;
    let bits = kids[0]!.bits!;
    for (const k of kids.slice(1)) bits = bits.or(k.bits!);
    return { bits, exact: kids.every((k) => k.exact) };
  };
  /**
   * An And. A leaf over a scalar dictionary whose accepted values hold many more rows than the And's smallest side
   * (`price < 100` next to `cat = c7`) is not turned into a bitmap (a union of thousands of value bitmaps): it is
   * tested by value on the other sides' rows (dictCodes: each row's value position), exactly as the union would
   * have cut them. Its row count for the trace comes from the value bitmaps' counts.
   */
  const andOf = (list: readonly unknown[]): Eval => {
    const byValue: { f: unknown[]; d: DictIndex; accept: Uint8Array; rows: number }[] = [];
    const kids: Eval[] = [];
    for (const k of list) {
      const d = Array.isArray(k) && !isLogical(k) ? scalarDictOf(k) : null;
      if (d === null) {
        kids.push(node(k));
        continue;
      }
      const accept = scalarAccepts(k as unknown[], d, compile);
      byValue.push({ f: k as unknown[], d, accept, rows: acceptedRows(d, accept) });
    }
    let smallest = Infinity;
    for (const k of kids) if (k.bits !== null) smallest = Math.min(smallest, k.bits.cardinality);
    for (const v of byValue) smallest = Math.min(smallest, v.rows);
    // The smallest side is never tested by value (it is not 8× itself): there is always a bitmap to test against.
    const later: typeof byValue = [];
    for (const v of byValue) {
      if (v.rows > BY_VALUE_RATIO * smallest) {
        later.push(v);
        continue;
      }
      const bits = acceptedBits(v.d, v.accept, rows);
      trace?.(v.f, bits.cardinality, 'dict');
      used = true;
      kids.push({ bits, exact: true });
    }
    let bits: Bitmap | null = null;
    for (const k of kids) if (k.bits !== null) bits = bits === null ? k.bits : bits.and(k.bits);
    if (bits !== null && later.length > 0) {
      const ords = bits.toArray(); // may be the bitmap's own array (a cached value bitmap): read, never written
      const kept = new Uint32Array(ords.length);
      let n = 0;
      const tests = later.map((v) => ({ accept: v.accept, codes: dictCodes(v.d, rows) }));
      for (let i = 0; i < ords.length; i++) {
        const o = ords[i]!;
        let ok = true;
        for (const t of tests) if (t.accept[t.codes[o]!] !== 1) ok = false;
        if (ok) kept[n++] = o;
      }
      bits = Bitmap.fromSorted(rows, kept.subarray(0, n));
      for (const v of later) trace?.(v.f, v.rows, 'dict');
      used = true;
    }
    return { bits, exact: kids.every((k) => k.exact) && bits !== null };
  };
  /** The scalar dictionary a plain leaf reads (not `id`), or null. */
  const scalarDictOf = (f: unknown[]): DictIndex | null => {
    const [attr, op] = f;
    if (typeof attr !== 'string' || typeof op !== 'string' || attr === 'id') return null;
    if (op === 'Fuzzy' && fuzzy?.(attr)) return null; // its fuzzy index answers it (leaf)
    const d = index(attr);
    return d !== null && d.kind === 'dict' && !d.array ? d : null;
  };
  const out = node(filter);
  return used ? out : null;
}

/** Each value's row count of a scalar dictionary, kept with it (a typed array: summing it is a pass over numbers). */
const countsOf = new WeakMap<DictIndex, Float64Array>();
function valueCounts(d: DictIndex): Float64Array {
  let c = countsOf.get(d);
  if (c === undefined) {
    c = new Float64Array(d.values.length);
    for (let i = 0; i < c.length; i++) c[i] = d.bitmaps[i]!.cardinality;
    countsOf.set(d, c);
  }
  return c;
}

/** A leaf is tested by value (evalWithIndexes andOf) once its values hold this many times the And's smallest side. */
const BY_VALUE_RATIO = 8;

/**
 * The per-ordinal mask of `evalWithIndexes`: 1 = the row may match (exact: does match). Null when no index helped.
 */
export function filterMaskOf(
  filter: unknown,
  rows: number,
  index: (attr: string) => AttrIndex | null,
  compile: LeafCompiler,
  trace?: LeafTrace,
  fuzzy?: FuzzyIndexOf,
): { mask: Uint8Array; exact: boolean } | null {
  const e = evalWithIndexes(filter, rows, index, compile, trace, fuzzy);
  if (e === null || e.bits === null) return null;
  return { mask: e.bits.toByteMask(), exact: e.exact };
}
