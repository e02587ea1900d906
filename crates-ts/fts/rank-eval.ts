/**
 * Evaluating a general rank expression (text-expr.ts `general`) on one row: which rows it ranks and their scores.
 *
 * Every node has, on a row, either a value or none ("the node does not match the row"):
 *   - a BM25 clause: its score on rows holding one of its query terms (or the prefix), none elsewhere;
 *   - ["Attribute", a]: the row's value (datetimes in epoch ms); none when the row has no value (null / missing);
 *   - a filter: 1 on the rows it accepts, none elsewhere (turbopuffer: "scored 0" — the same in a Sum or a Max);
 *   - a constant: its value on every row, but it makes no row match by itself;
 *   - Sum / Max: the sum / maximum of the children that have a value, none when no child matches;
 *   - Product, Saturate, Decay, Dist: applied to the child's value, none when the child has none.
 * A row is ranked when the root matches it (some leaf that is not a constant matches it, through nodes that keep
 * it), with the root's value as its score, whatever its sign: an expression of Attribute leaves ranks every row with
 * a value, a Sum of BM25 and a filter ranks the rows matching either (a disjunction, as in a max-score engine).
 * A missing attribute value therefore never counts as 0 inside Decay (which would score it 1, the best).
 */
import type { Doc } from '../core/index.js';
import { parseDatetimeString } from '../schema/scalars.js';
import { decay, dist, saturate } from './rank-value.js';
import type { CompiledExpr, Node, ValueLeaf } from './text-expr.js';

/** A leaf's numeric value on a row, or undefined (no value / not matched). */
export function valueOf(leaf: ValueLeaf, doc: Doc): number | undefined {
  if (leaf.kind === 'filter') return leaf.test(doc) ? 1 : undefined;
  const v = leaf.attr === 'id' ? doc.id : doc.attrs[leaf.attr];
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && leaf.datetime) return epochMs(v);
  return undefined;
}

const digit = (s: string, i: number) => s.charCodeAt(i) - 48;
const num = (s: string, i: number, n: number) => {
  let v = 0;
  for (let j = i; j < i + n; j++) {
    const d = digit(s, j);
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
};

/**
 * Epoch ms of a stored datetime. Stored values are canonical ("2026-01-02T03:04:05.678Z", schema/scalars.ts), read
 * here without the general parser's regex (a rank expression reads one per candidate row); anything else goes
 * through parseDatetimeString. Both give the same integer.
 */
export function epochMs(s: string): number | undefined {
  if (s.length === 24 && s.charCodeAt(4) === 45 && s.charCodeAt(10) === 84 && s.charCodeAt(19) === 46 && s.charCodeAt(23) === 90) {
    const y = num(s, 0, 4);
    const mo = num(s, 5, 2);
    const d = num(s, 8, 2);
    const h = num(s, 11, 2);
    const mi = num(s, 14, 2);
    const se = num(s, 17, 2);
    const ms = num(s, 20, 3);
    if (y >= 1000 && mo >= 1 && d >= 1 && h >= 0 && mi >= 0 && se >= 0 && ms >= 0) return Date.UTC(y, mo - 1, d, h, mi, se, ms);
  }
  return parseDatetimeString(s) ?? undefined;
}

/**
 * The value of node `n` for a row whose BM25 leaf scores are `leafScores` (0 = the leaf does not match) and whose
 * value leaves read through `value(i)`; undefined when the node does not match the row.
 */
export function evalGeneral(expr: CompiledExpr, n: Node, leafScores: Float64Array, value: (i: number) => number | undefined): number | undefined {
  switch (n.kind) {
    case 'clause': {
      let s = 0;
      let matched = false;
      for (const i of expr.clauses[n.clause]!.leaves) {
        const ls = leafScores[i]!;
        if (ls !== 0) matched = true;
        s += expr.leaves[i]!.mult * ls;
      }
      return matched ? s : undefined;
    }
    case 'value':
      return value(n.value);
    case 'const':
      return n.value;
    case 'product': {
      const c = evalGeneral(expr, n.child, leafScores, value);
      return c === undefined ? undefined : n.weight * c;
    }
    case 'sum':
    case 'max': {
      let acc: number | undefined;
      let matched = false;
      for (const child of n.children) {
        const c = evalGeneral(expr, child, leafScores, value);
        if (c === undefined) continue;
        if (child.kind !== 'const') matched = true;
        acc = acc === undefined ? c : n.kind === 'sum' ? acc + c : Math.max(acc, c);
      }
      return matched ? acc : undefined;
    }
    case 'saturate':
    case 'decay': {
      const c = evalGeneral(expr, n.child, leafScores, value);
      if (c === undefined) return undefined;
      return n.kind === 'saturate' ? saturate(c, n.midpoint, n.exponent) : decay(c, n.midpoint, n.exponent);
    }
    case 'dist': {
      const c = evalGeneral(expr, n.child, leafScores, value);
      return c === undefined ? undefined : dist(c, n.origin);
    }
  }
}
