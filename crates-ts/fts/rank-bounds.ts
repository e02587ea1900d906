/**
 * Bounds of a general rank expression (rank-eval.ts) on the rows of one source that no BM25 leaf matches, from what
 * the source knows of its Attribute values (a part's head: each column's min and max), so that a top-k query skips a
 * source's unmatched rows once its k-th score is above their bound, or visits them best first through an index that
 * orders the attribute (text-scorer.ts). The WAL tail knows no bounds: its rows are all evaluated (exact).
 *
 * `unmatchedRange` is interval arithmetic over the expression: an Attribute leaf is [min, max] of the source (or
 * unbounded), a filter 1, a constant itself; Sum / Max combine their children (a child without a value on a row adds
 * nothing, so each contributes [min(lo, 0), max(hi, 0)]), Product scales, Saturate is increasing, Decay decreasing,
 * Dist |x - origin| is 0 inside the input's range and grows outwards.
 *
 * `monotoneShape` says whether the unmatched rows' score is a monotone function of ONE Attribute's value: increasing
 * ('up': visit values descending), decreasing ('down': ascending), or increasing in |value - origin| ('vup': Dist of
 * the attribute itself under increasing functions: values above the origin descending, then below it ascending), or
 * decreasing in it ('vdown', e.g. Decay(Dist(...)): outwards from the origin, values above it ascending, then below
 * it descending). The
 * score of an unmatched row with value v is then exactly evalGeneral with no BM25 leaf and that value, so a walk in
 * that order stops at the first value whose score is below the k-th (strict: ties on the k-th score are still visited).
 */
import { decay, dist, saturate } from './rank-value.js';
import { evalGeneral } from './rank-eval.js';
import type { CompiledExpr, Node } from './text-expr.js';

/** Off: every unmatched row is evaluated as before these bounds (benchmarks compare both in one run). */
export const RANK_BOUNDS = { enabled: true };

export interface Range {
  lo: number;
  hi: number;
}

const ALL: Range = { lo: -Infinity, hi: Infinity };

/**
 * The range of values node `n` takes on rows no BM25 leaf matches, or null when it cannot match such a row.
 * `attrRange(i)`: the source's range of value leaf i (an Attribute), or null when unknown.
 */
export function unmatchedRange(expr: CompiledExpr, n: Node, attrRange: (i: number) => Range | null): Range | null {
  switch (n.kind) {
    case 'clause':
      return null;
    case 'value':
      return expr.values[n.value]!.kind === 'filter' ? { lo: 1, hi: 1 } : (attrRange(n.value) ?? ALL);
    case 'const':
      return { lo: n.value, hi: n.value };
    case 'product': {
      const c = unmatchedRange(expr, n.child, attrRange);
      if (c === null) return null;
      if (n.weight === 0) return { lo: 0, hi: 0 };
      const a = n.weight * c.lo;
      const b = n.weight * c.hi;
      return { lo: Math.min(a, b), hi: Math.max(a, b) };
    }
    case 'sum':
    case 'max': {
      let any = false;
      let lo = n.kind === 'sum' ? 0 : Infinity;
      let hi = n.kind === 'sum' ? 0 : -Infinity;
      for (const child of n.children) {
        const c = unmatchedRange(expr, child, attrRange);
        if (c === null) continue;
        if (child.kind !== 'const') any = true;
        if (n.kind === 'sum') {
          lo += Math.min(c.lo, 0);
          hi += Math.max(c.hi, 0);
        } else {
          lo = Math.min(lo, c.lo, 0);
          hi = Math.max(hi, c.hi);
        }
      }
      return any ? { lo, hi } : null;
    }
    case 'saturate': {
      const c = unmatchedRange(expr, n.child, attrRange);
      return c === null ? null : { lo: saturate(c.lo, n.midpoint, n.exponent), hi: c.hi === Infinity ? 1 : saturate(c.hi, n.midpoint, n.exponent) };
    }
    case 'decay': {
      const c = unmatchedRange(expr, n.child, attrRange);
      return c === null ? null : { lo: c.hi === Infinity ? 0 : decay(c.hi, n.midpoint, n.exponent), hi: c.lo === -Infinity ? 1 : decay(c.lo, n.midpoint, n.exponent) };
    }
    case 'dist': {
      const c = unmatchedRange(expr, n.child, attrRange);
      if (c === null) return null;
      const hi = Math.max(dist(c.lo, n.origin), dist(c.hi, n.origin));
      const lo = n.origin >= c.lo && n.origin <= c.hi ? 0 : Math.min(dist(c.lo, n.origin), dist(c.hi, n.origin));
      return { lo, hi };
    }
  }
}

/** The upper bound of the unmatched rows' score in a source (-Infinity: none can match). */
export function unmatchedBound(expr: CompiledExpr, attrRange: (i: number) => Range | null): number {
  const r = unmatchedRange(expr, expr.root, attrRange);
  return r === null ? -Infinity : r.hi;
}

type Shape = 'const' | 'up' | 'down' | 'vup' | 'vdown';

export interface MonotoneShape {
  /** The value leaf (an Attribute) the unmatched rows' score depends on. */
  value: number;
  shape: 'up' | 'down' | 'vup' | 'vdown';
  /** For 'vup' / 'vdown': the Dist's origin. */
  origin: number;
  /** The score of an unmatched row whose attribute value is v (undefined: not ranked). */
  score(v: number): number | undefined;
}

/** Whether the unmatched rows' score is a monotone function of one Attribute leaf's value (see the module note). */
export function monotoneShape(expr: CompiledExpr): MonotoneShape | null {
  const attrs = expr.values.map((v, i) => (v.kind === 'attr' ? i : -1)).filter((i) => i >= 0);
  if (attrs.length !== 1 || expr.values.length !== 1) return null;
  const a = attrs[0]!;
  let origin = NaN;
  const flip = (s: Shape): Shape => (s === 'up' ? 'down' : s === 'down' ? 'up' : s === 'vup' ? 'vdown' : s === 'vdown' ? 'vup' : 'const');
  const shape = (n: Node): Shape | null => {
    switch (n.kind) {
      case 'clause':
      case 'const':
        return 'const';
      case 'value':
        return n.value === a ? 'up' : null;
      case 'product': {
        const c = shape(n.child);
        return c === null ? null : n.weight === 0 ? 'const' : n.weight > 0 ? c : flip(c);
      }
      case 'sum':
      case 'max': {
        let out: Shape = 'const';
        for (const child of n.children) {
          const c = shape(child);
          if (c === null) return null;
          if (c === 'const') continue;
          if (out !== 'const' && out !== c) return null;
          out = c;
        }
        return out;
      }
      case 'saturate':
        return shape(n.child);
      case 'decay': {
        const c = shape(n.child);
        return c === null ? null : flip(c);
      }
      case 'dist': {
        if (n.child.kind !== 'value' || n.child.value !== a || !Number.isNaN(origin)) return null;
        origin = n.origin;
        return 'vup';
      }
    }
  };
  const s = shape(expr.root);
  if (s === null || s === 'const') return null;
  const zeros = new Float64Array(expr.leaves.length);
  return { value: a, shape: s, origin, score: (v) => evalGeneral(expr, expr.root, zeros, () => v) };
}
