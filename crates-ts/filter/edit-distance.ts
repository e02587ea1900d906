/**
 * Edit distance for the Fuzzy filter (issue 14 item 13): Levenshtein distance (insert, delete, substitute one
 * character; a transposition costs 2) over Unicode code points, bounded by a maximum so a comparison stops as soon as
 * the bound is exceeded. The scan (fuzzy-ops.ts) and the part index (part/fuzzy-index.ts) both use these functions,
 * so the two answer the same rows by construction.
 *
 * Case-insensitive matching compares `foldCase` forms: each code point lowercased when its lowercase is one code
 * point (else kept). Folding is per code point and keeps the length, so an edit script between two strings is one
 * between their folds: lev(fold a, fold b) ≤ lev(a, b). An index keyed by folded terms therefore finds every
 * case-sensitive match too (then checked exactly).
 */

/** The code points of `s` (a lone surrogate counts as one). */
export function codePoints(s: string): Uint32Array {
  const out = new Uint32Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out[n++] = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        continue;
      }
    }
    out[n++] = c;
  }
  return n === s.length ? out : out.slice(0, n);
}

/** `s` with each code point lowercased when its lowercase is a single code point (length-preserving). */
export function foldCase(s: string): string {
  // ASCII lowercases code point by code point.
  if (/^[\x00-\x7f]*$/.test(s)) return s.toLowerCase();
  let out = '';
  for (const ch of s) {
    const l = ch.toLowerCase();
    // 'İ' (U+0130) lowercases to two code points: kept as is, so the fold keeps the length.
    out += l === ch || [...l].length === 1 ? l : ch;
  }
  return out;
}

/** Compares two code point arrays lexicographically (code point order, not UTF-16 order). */
export function compareCodePoints(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Whether lev(a, b) ≤ max; stops once every cell of a row exceeds max. */
export function withinDistance(a: ArrayLike<number>, b: ArrayLike<number>, max: number): boolean {
  const m = a.length;
  const n = b.length;
  if (Math.abs(m - n) > max) return false;
  if (max === 0) {
    for (let i = 0; i < m; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  let prev = new Int32Array(n + 1);
  let cur = new Int32Array(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    let rowMin = i;
    const ca = a[i - 1];
    for (let j = 1; j <= n; j++) {
      const sub = prev[j - 1]! + (ca === b[j - 1] ? 0 : 1);
      const del = prev[j]! + 1;
      const ins = cur[j - 1]! + 1;
      const v = sub < del ? (sub < ins ? sub : ins) : del < ins ? del : ins;
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return false;
    const t = prev;
    prev = cur;
    cur = t;
  }
  return prev[n]! <= max;
}

/**
 * Terms of a sorted dictionary (code point order; term t is `cps[off[t]] .. cps[off[t + 1]]`) within edit distance
 * `max` of `q`, by a depth-first walk of the trie the sorted terms imply: one row of the Levenshtein matrix per trie
 * depth, shared by the terms that share the prefix (reused from the previous term up to their common prefix), and a
 * whole subtree skipped (by galloping search for the end of the prefix's run) once every cell of a row exceeds `max`,
 * which is a dead state of the Levenshtein automaton. Calls `visit(t)` for each match in order; returns the number
 * of matrix rows computed (the work done, for benchmarks and the explain text).
 */
export function walkWithinDistance(cps: Uint32Array, off: Uint32Array, q: ArrayLike<number>, max: number, visit: (t: number) => void): number {
  const T = off.length - 1;
  const m = q.length;
  const W = m + 1;
  const maxDepth = m + max;
  const rows = new Int32Array((maxDepth + 1) * W);
  for (let j = 0; j <= m; j++) rows[j] = j;
  let computed = 0;
  let prev = -1;
  let valid = 0; // rows 1..valid hold the matrix of prev's first `valid` code points
  let i = 0;
  while (i < T) {
    const s = off[i]!;
    const len = off[i + 1]! - s;
    let l = 0;
    if (prev >= 0) {
      const ps = off[prev]!;
      const lim = Math.min(valid, len, off[prev + 1]! - ps);
      while (l < lim && cps[s + l] === cps[ps + l]) l++;
    }
    let pruned = -1;
    for (let depth = l + 1; depth <= len; depth++) {
      if (depth > maxDepth) {
        pruned = depth;
        break;
      }
      const rowMin = levenshteinRow(rows, (depth - 1) * W, rows, depth * W, depth, cps[s + depth - 1]!, q, m);
      computed++;
      if (rowMin > max) {
        pruned = depth;
        break;
      }
    }
    prev = i;
    if (pruned < 0) {
      valid = len;
      if (rows[len * W + m]! <= max) visit(i);
      i++;
      continue;
    }
    // No extension of the first `pruned` code points of term i can come within `max`: skip every term with that prefix.
    valid = pruned - 1;
    i = endOfPrefixRun(cps, off, i, s, pruned);
  }
  return computed;
}

/** Whether term t starts with the `p` code points at cps[s..] (a top-level function: no closure per call). */
function hasPrefix(cps: Uint32Array, off: Uint32Array, t: number, s: number, p: number): boolean {
  const ts = off[t]!;
  if (off[t + 1]! - ts < p) return false;
  for (let k = 0; k < p; k++) if (cps[ts + k] !== cps[s + k]) return false;
  return true;
}

/** The first term after `i` that does not start with term i's first `p` code points (terms sorted, from `s`). */
function endOfPrefixRun(cps: Uint32Array, off: Uint32Array, i: number, s: number, p: number): number {
  const T = off.length - 1;
  // Gallop: the run is usually short.
  let lo = i; // hasPrefix(lo)
  let step = 1;
  let hi = i + 1;
  while (hi < T && hasPrefix(cps, off, hi, s, p)) {
    lo = hi;
    step *= 2;
    hi = i + step;
  }
  if (hi > T) hi = T;
  // hasPrefix(lo), not hasPrefix(hi) (or hi = T): binary search for the first false in (lo, hi].
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (hasPrefix(cps, off, mid, s, p)) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * One row of the Levenshtein table against query `q` (its first m code points): the row for `depth` term code points,
 * written to out[outAt, outAt + m], from the row for depth - 1 at prev[prevAt, prevAt + m], for the term's code point
 * `c` at that depth. Returns the row's minimum, which bounds every distance below it (the walks prune on it).
 */
export function levenshteinRow(prev: Int32Array, prevAt: number, out: Int32Array, outAt: number, depth: number, c: number, q: ArrayLike<number>, m: number): number {
  out[outAt] = depth;
  let rowMin = depth;
  for (let j = 1; j <= m; j++) {
    const sub = prev[prevAt + j - 1]! + (c === q[j - 1] ? 0 : 1);
    const del = prev[prevAt + j]! + 1;
    const ins = out[outAt + j - 1]! + 1;
    const v = sub < del ? (sub < ins ? sub : ins) : del < ins ? del : ins;
    out[outAt + j] = v;
    if (v < rowMin) rowMin = v;
  }
  return rowMin;
}
