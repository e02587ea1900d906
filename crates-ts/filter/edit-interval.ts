/**
 * Whether a lexicographic interval of strings can hold one within a bounded Levenshtein distance of a query
 * (RFC-0009 "Fuzzy indexes", fuzzy_version 2): a fuzzy index's term blocks are ranges [first, last] of sorted folded
 * terms, and a query reads only the blocks whose range `mayHold` a match.
 *
 * Sound, not exact: it asks whether ANY string s (not only the block's terms) with first ≤ s ≤ last (code point order)
 * has lev(s, q) ≤ max. Every s in the range shares P = lcp(first, last) and then either follows a boundary (first's
 * next code points, or last's) or branches off one of them with a code point strictly between, after which anything
 * may follow. The bounded automaton (one Levenshtein matrix row per code point, the matrix shared by every string with
 * that prefix) is run along P and the two boundaries; a branch-off "then anything" is possible iff the row after the
 * branching code point still has a cell ≤ max (append the rest of the query), and a row whose every cell exceeds max
 * (dead) ends a path: no extension can come back within reach. Rows are kept for the last path walked and reused up to
 * the common prefix, so checking the sorted blocks of a directory in order costs about one walk of their boundaries.
 */
import { levenshteinRow } from './edit-distance.js';

/** Above every code point: an open upper end. */
const NO_HIGH = 0x110000;

export class IntervalAutomaton {
  private readonly m: number;
  private readonly W: number;
  private readonly maxDepth: number;
  /** Row d (d = 0..valid) of the matrix along `path`: rows[d·W .. d·W + m]; its minimum in mins[d]. */
  private readonly rows: Int32Array;
  private readonly mins: Int32Array;
  private readonly path: Uint32Array;
  private valid = 0;
  private readonly scratch: Int32Array;
  /** Distinct code points of the query, ascending. */
  private readonly qChars: number[];
  /** Matrix rows computed (the work done, for explain_query and benchmarks). */
  computed = 0;

  constructor(
    private readonly q: ArrayLike<number>,
    private readonly max: number,
  ) {
    this.m = q.length;
    this.W = this.m + 1;
    this.maxDepth = this.m + max;
    this.rows = new Int32Array((this.maxDepth + 1) * this.W);
    this.mins = new Int32Array(this.maxDepth + 1);
    this.path = new Uint32Array(this.maxDepth + 1);
    for (let j = 0; j <= this.m; j++) this.rows[j] = j;
    this.mins[0] = 0;
    this.scratch = new Int32Array(this.W);
    this.qChars = [...new Set(Array.from(q))].sort((a, b) => a - b);
  }

  /**
   * Whether some string s with first ≤ s ≤ last (code point order; first ≤ last) may be within `max` of the query. False
   * only when none is.
   */
  mayHold(first: ArrayLike<number>, last: ArrayLike<number>): boolean {
    if (this.max < 0) return false;
    const nf = first.length;
    const nl = last.length;
    let p = 0;
    while (p < nf && p < nl && first[p] === last[p]) p++;
    if (this.along(first, p) < p) return false;
    if (p === nf && p === nl) return this.accepts(p);
    if (p === nf) {
      // first is a prefix of last: first itself, or P + c (c < last[p]) + anything, or along last.
      if (this.accepts(p) || this.anyAlive(p, -1, last[p]!)) return true;
    } else {
      if (this.anyAlive(p, first[p]!, last[p]!)) return true;
      if (this.lower(first, p)) return true;
    }
    return this.upper(last, p);
  }

  /** Strings ≥ first that start with first's p + 1 code points. */
  private lower(first: ArrayLike<number>, p: number): boolean {
    const n = first.length;
    for (let j = p + 1; j <= n; j++) {
      if (this.along(first, j) < j) return false;
      // first[0..j) + anything ≥ first[0..j): at j = n, first and every extension of it (all ≥ first) lie in the range.
      if (j === n) return true;
      if (this.anyAlive(j, first[j]!, NO_HIGH)) return true;
    }
    return false;
  }

  /** Strings ≤ last that start with last's p + 1 code points. */
  private upper(last: ArrayLike<number>, p: number): boolean {
    const n = last.length;
    for (let j = p + 1; j <= n; j++) {
      if (this.along(last, j) < j) return false;
      // last[0..j) itself (≤ last), or last[0..j) + c (c < last[j]) + anything.
      if (this.accepts(j)) return true;
      if (j < n && this.anyAlive(j, -1, last[j]!)) return true;
    }
    return false;
  }

  /** The path's first `depth` code points are within max of the whole query. */
  private accepts(depth: number): boolean {
    return this.rows[depth * this.W + this.m]! <= this.max;
  }

  /**
   * Rows along s[0..k) (reusing the previous path's up to the common prefix); returns how many leading rows are alive
   * (k when all are). A row deeper than m + max is dead by construction.
   */
  private along(s: ArrayLike<number>, k: number): number {
    let l = 0;
    const lim = Math.min(this.valid, k);
    while (l < lim && this.path[l] === s[l]) l++;
    for (let d = 1; d <= l; d++) if (this.mins[d]! > this.max) return d - 1;
    const { W, m, q, rows } = this;
    for (let depth = l + 1; depth <= k; depth++) {
      if (depth > this.maxDepth) {
        this.valid = depth - 1;
        return depth - 1;
      }
      const c = s[depth - 1]!;
      this.path[depth - 1] = c;
      const rowMin = levenshteinRow(rows, (depth - 1) * W, rows, depth * W, depth, c, q, m);
      this.computed++;
      this.mins[depth] = rowMin;
      this.valid = depth;
      if (rowMin > this.max) return depth - 1;
    }
    return k;
  }

  /** Whether some code point c with lo < c < hi keeps the row after the path's first `depth` code points alive. */
  private anyAlive(depth: number, lo: number, hi: number): boolean {
    if (hi - lo <= 1 || depth >= this.maxDepth) return false;
    // A row's minimum grows by at most 1 a code point: below max, any code point keeps it alive.
    if (this.mins[depth]! < this.max) return true;
    let inside = 0;
    for (const c of this.qChars) {
      if (c <= lo || c >= hi) continue;
      inside++;
      if (this.nextMin(depth, c) <= this.max) return true;
    }
    // A code point the query does not hold (there is one in the interval when it holds more than the query's).
    return hi - lo - 1 > inside && this.nextMin(depth, -1) <= this.max;
  }

  private nextMin(depth: number, c: number): number {
    const { W, m, q, rows, scratch } = this;
    const rowMin = levenshteinRow(rows, depth * W, scratch, 0, depth + 1, c, q, m);
    this.computed++;
    return rowMin;
  }
}
