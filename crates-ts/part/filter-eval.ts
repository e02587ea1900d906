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
 * And intersects, Or unions, Not complements within the part's rows. A leaf the index cannot answer (an attribute
 * without an index, `id`, other array operators) makes its subtree inexact: the result is then a superset of the
 * matching rows (or null: every row), on which the caller still runs the compiled filter.
 */
import { Bitmap } from '../bitmap/index.js';
import type { Doc } from '../core/index.js';
import type { DictIndex } from './filter-index.js';

export type LeafCompiler = (leaf: unknown) => (doc: Doc) => boolean;

/** bits: a superset of the matching rows (null: all rows); exact: it is the matching set. */
interface Eval {
  bits: Bitmap | null;
  exact: boolean;
}

const ANY_OPS = new Set(['Eq', 'In', 'Contains', 'ContainsAny']);
const NEGATED: Record<string, string> = { NotEq: 'Eq', NotIn: 'In', NotContains: 'Contains', NotContainsAny: 'ContainsAny' };
const INEXACT: Eval = { bits: null, exact: false };

const docOf = (attr: string, v: unknown): Doc => ({ id: 0, vector: null, attrs: v === undefined ? {} : { [attr]: v } }) as Doc;

function isLogical(f: unknown[]): boolean {
  return f.length === 2 && (((f[0] === 'And' || f[0] === 'Or') && Array.isArray(f[1])) || f[0] === 'Not');
}

/**
 * The rows of a part (ordinals [0, rows)) that `filter` matches, as far as the indexes tell; null when no index
 * helped at all (the caller scans as before).
 */
export function evalWithIndexes(filter: unknown, rows: number, index: (attr: string) => DictIndex | null, compile: LeafCompiler): Eval | null {
  let used = false;
  const leaf = (f: unknown[]): Eval => {
    const [attr, op, operand] = f;
    if (typeof attr !== 'string' || typeof op !== 'string' || attr === 'id') return INEXACT;
    const d = index(attr);
    if (d === null) return INEXACT;
    let positive = f;
    let negate = false;
    if (d.array) {
      if (op in NEGATED) {
        positive = [attr, NEGATED[op], ...f.slice(2)];
        negate = true;
      } else if (!ANY_OPS.has(op)) return INEXACT;
      if ((positive[1] === 'Eq' && Array.isArray(operand)) || f.length > 3) return INEXACT;
    }
    const test = compile(positive);
    used = true;
    const hit: Bitmap[] = [Bitmap.empty(rows)];
    for (let i = 0; i < d.values.length; i++) if (test(docOf(attr, d.array ? [d.values[i]] : d.values[i]))) hit.push(d.bitmaps[i]!);
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
    const kids = (f[1] as unknown[]).map(node);
    if (f[0] === 'And') {
      let bits: Bitmap | null = null;
      for (const k of kids) if (k.bits !== null) bits = bits === null ? k.bits : bits.and(k.bits);
      return { bits, exact: kids.every((k) => k.exact) && bits !== null };
    }
    if (kids.length === 0) return INEXACT; // the compiled filter decides what an empty Or means
    if (kids.some((k) => k.bits === null)) return INEXACT;
    let bits = kids[0]!.bits!;
    for (const k of kids.slice(1)) bits = bits.or(k.bits!);
    return { bits, exact: kids.every((k) => k.exact) };
  };
  const out = node(filter);
  return used ? out : null;
}

/**
 * The per-ordinal mask of `evalWithIndexes`: 1 = the row may match (exact: does match). Null when no index helped.
 */
export function filterMaskOf(filter: unknown, rows: number, index: (attr: string) => DictIndex | null, compile: LeafCompiler): { mask: Uint8Array; exact: boolean } | null {
  const e = evalWithIndexes(filter, rows, index, compile);
  if (e === null || e.bits === null) return null;
  const mask = new Uint8Array(rows);
  e.bits.forEach((o) => (mask[o] = 1));
  return { mask, exact: e.exact };
}
