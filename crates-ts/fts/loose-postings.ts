/**
 * An in-memory inverted index of one text attribute over rows that only ever get appended (the WAL tail): term →
 * ascending row ordinals with their term frequencies (typed arrays, grown by doubling) and the bounds max-score
 * pruning needs (largest tf, shortest row), each row's token count, and prefix sums of both. A BM25 query over the
 * first `rows` rows (a snapshot's) then costs O(log list) to bound each of its terms' lists and, in the scoring pass,
 * what max-score enumerates of them (text-scorer.ts): no pass over the rows, no per-row object. Rows are analysed once,
 * when appended; a row never changes once appended (an upsert of the same id appends a new row), so nothing is ever
 * re-indexed.
 */
import type { AttrValue } from '../core/index.js';
import type { TextAnalyzer } from './analyzer.js';
import { isTextValue } from './doc-terms.js';

export interface LooseList {
  /** Row ordinals, ascending. */
  readonly ords: readonly number[];
  /** Term frequency in each row. */
  readonly tfs: readonly number[];
}

/**
 * The entries of one term (or of the terms a prefix stands for, tfs summed) among a source's rows, for the scoring
 * pass: `ords` hold ordinal + the index's `base`, ascending, and are views of the index's arrays (nothing copied for a
 * term). `maxTf` and `minLen` bound the entries' tfs and lengths (over at least these entries: a valid upper bound).
 */
export interface LooseSlice {
  readonly ords: Uint32Array;
  readonly tfs: Uint32Array;
  readonly maxTf: number;
  readonly minLen: number;
}

/** What BM25 reads of in-memory postings (text-stats.ts addLooseIndexed, text-scorer.ts). */
export interface LooseIndex {
  /** Rows indexed so far. */
  readonly rows: number;
  /** Added to every ordinal in slices and lengths: row o is lengths()[base + o], and appears as base + o in a slice. */
  readonly base: number;
  /** Rows with text among the first `rows` (≤ this.rows). */
  docsBefore(rows: number): number;
  /** Tokens of the first `rows` rows. */
  tokensBefore(rows: number): number;
  /** Token count of row `ord`, -1 when it has no text. */
  len(ord: number): number;
  /** Token counts by ordinal + base (-1: no text), covering at least the rows indexed now (not copied). */
  lengths(): Int32Array;
  /** The entries of `term` among rows [0, `rows`), or null when there are none. */
  slice(term: string, rows: number): LooseSlice | null;
  /** The union of the entries of the terms starting with `prefix` among rows [0, `rows`) (tfs summed), or null. */
  prefixSlice(prefix: string, rows: number): LooseSlice | null;
  /** The rows holding `term`, ascending, as ordinals (tests, inspection: copies). */
  list(term: string): LooseList;
}

const EMPTY_LIST: LooseList = { ords: [], tfs: [] };
const INT32_MAX = 0x7fffffff;

/** One term's entries: ordinals and tfs in [0, n) of arrays grown by doubling. */
class TermPostings {
  ords = new Uint32Array(4);
  tfs = new Uint32Array(4);
  n = 0;
  maxTf = 0;
  minLen = INT32_MAX;

  /** One occurrence in row `ord` (of `len` tokens): a new entry, or one more for the row's entry, which is the last. */
  add(ord: number, len: number): void {
    const n = this.n;
    if (n > 0 && this.ords[n - 1] === ord) {
      const tf = this.tfs[n - 1]! + 1;
      this.tfs[n - 1] = tf;
      if (tf > this.maxTf) this.maxTf = tf;
      return;
    }
    if (n === this.ords.length) {
      const ords = new Uint32Array(n * 2);
      ords.set(this.ords);
      const tfs = new Uint32Array(n * 2);
      tfs.set(this.tfs);
      // Old arrays stay valid for the slices handed out from them: their entries never change (a row's tfs are
      // complete before a slice can cover the row: rows are appended whole).
      this.ords = ords;
      this.tfs = tfs;
    }
    this.ords[n] = ord;
    this.tfs[n] = 1;
    this.n = n + 1;
    if (this.maxTf < 1) this.maxTf = 1;
    if (len < this.minLen) this.minLen = len;
  }
}

/** First index in ords[0, n) whose value is >= target. */
function lowerBound(ords: Uint32Array, n: number, target: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ords[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class LoosePostings implements LooseIndex {
  readonly base = 0;
  private covered = 0;
  /** Token count of each covered row; -1 when it has no text. */
  private lens = new Int32Array(64);
  /** cumDocs[o]: rows with text among [0, o); cumTokens[o]: their tokens. */
  private cumDocs = new Int32Array(65);
  private cumTokens = new Float64Array(65);
  private readonly lists = new Map<string, TermPostings>();

  constructor(
    private readonly analyzer: TextAnalyzer,
    private readonly valueOf: (ord: number) => AttrValue | undefined,
  ) {}

  /** Rows indexed so far. */
  get rows(): number {
    return this.covered;
  }

  /** Analyses and indexes rows [rows, `rows`). */
  extendTo(rows: number): void {
    for (let o = this.covered; o < rows; o++) this.appendValue(this.valueOf(o));
  }

  /**
   * Indexes the next row (ordinal `rows`) from its value (what valueOf would give for it, at hand to the caller).
   * Analysed as fts/doc-terms.ts analyzeValue does: a value that is not text is no document; any other (an empty
   * string, an array) is one, of its token count.
   */
  appendValue(value: AttrValue | undefined): void {
    const tokens = value === null || value === undefined || !isTextValue(value) ? null : this.analyzer.tokens(value);
    const o = this.covered;
    if (o >= this.lens.length) {
      const cap = this.lens.length * 2;
      const lens = new Int32Array(cap);
      lens.set(this.lens.subarray(0, o));
      const docs = new Int32Array(cap + 1);
      docs.set(this.cumDocs.subarray(0, o + 1));
      const toks = new Float64Array(cap + 1);
      toks.set(this.cumTokens.subarray(0, o + 1));
      this.lens = lens;
      this.cumDocs = docs;
      this.cumTokens = toks;
    }
    const len = tokens === null ? -1 : tokens.length;
    this.lens[o] = len;
    this.cumDocs[o + 1] = this.cumDocs[o]! + (len >= 0 ? 1 : 0);
    this.cumTokens[o + 1] = this.cumTokens[o]! + (len >= 0 ? len : 0);
    this.covered = o + 1;
    if (tokens === null) return;
    // One map lookup per token: a term met again in this row is its list's last entry (no per-row counting map).
    const lists = this.lists;
    for (let i = 0; i < len; i++) {
      const t = tokens[i]!;
      let l = lists.get(t);
      if (l === undefined) lists.set(t, (l = new TermPostings()));
      l.add(o, len);
    }
  }

  /** Rows with text among the first `rows` (≤ this.rows). */
  docsBefore(rows: number): number {
    return this.cumDocs[rows]!;
  }

  /** Tokens of the first `rows` rows. */
  tokensBefore(rows: number): number {
    return this.cumTokens[rows]!;
  }

  /** Token count of row `ord`, -1 when it has no text. */
  len(ord: number): number {
    return this.lens[ord]!;
  }

  lengths(): Int32Array {
    return this.lens;
  }

  slice(term: string, rows: number): LooseSlice | null {
    return this.sliceOf(term, 0, rows);
  }

  prefixSlice(prefix: string, rows: number): LooseSlice | null {
    return this.prefixSliceOf(prefix, 0, rows);
  }

  /** The entries of `term` with physical ordinals in [from, to). */
  sliceOf(term: string, from: number, to: number): LooseSlice | null {
    const l = this.lists.get(term);
    if (l === undefined) return null;
    const lo = from === 0 ? 0 : lowerBound(l.ords, l.n, from);
    const hi = lowerBound(l.ords, l.n, to);
    if (lo >= hi) return null;
    return { ords: l.ords.subarray(lo, hi), tfs: l.tfs.subarray(lo, hi), maxTf: l.maxTf, minLen: l.minLen };
  }

  /**
   * The union of the entries with physical ordinals in [from, to) of the terms starting with `prefix`, tfs summed (a
   * last_as_prefix leaf): a walk of the vocabulary, then O(entries) for the union.
   */
  prefixSliceOf(prefix: string, from: number, to: number): LooseSlice | null {
    const parts: LooseSlice[] = [];
    for (const term of this.lists.keys()) {
      if (!term.startsWith(prefix)) continue;
      const s = this.sliceOf(term, from, to);
      if (s !== null) parts.push(s);
    }
    if (parts.length === 0) return null;
    if (parts.length === 1) return parts[0]!;
    const acc = new Map<number, number>();
    for (const p of parts) for (let j = 0; j < p.ords.length; j++) acc.set(p.ords[j]!, (acc.get(p.ords[j]!) ?? 0) + p.tfs[j]!);
    const ords = Uint32Array.from(acc.keys()).sort();
    const tfs = new Uint32Array(ords.length);
    let maxTf = 0;
    let minLen = INT32_MAX;
    for (let j = 0; j < ords.length; j++) {
      const tf = acc.get(ords[j]!)!;
      tfs[j] = tf;
      if (tf > maxTf) maxTf = tf;
      const len = this.lens[ords[j]!]!;
      if (len < minLen) minLen = len;
    }
    return { ords, tfs, maxTf, minLen };
  }

  /** The rows holding `term` (over every row indexed). */
  list(term: string): LooseList {
    const l = this.lists.get(term);
    return l === undefined ? EMPTY_LIST : { ords: Array.from(l.ords.subarray(0, l.n)), tfs: Array.from(l.tfs.subarray(0, l.n)) };
  }
}

/**
 * The postings of rows [base, ∞) of `inner`, as ordinals from 0 (a WAL tail carried over at a publish: its rows start
 * past the ones the new parts hold, namespace/tail-segment.ts). Counts are differences of the prefix sums; slices are
 * the inner lists from their first row at or past `base` (binary search), not copied: their ordinals keep `base`
 * added, which the scorer subtracts.
 */
export class LooseWindow implements LooseIndex {
  constructor(
    private readonly inner: LoosePostings,
    readonly base: number,
  ) {}

  get rows(): number {
    return this.inner.rows - this.base;
  }

  docsBefore(rows: number): number {
    return this.inner.docsBefore(this.base + rows) - this.inner.docsBefore(this.base);
  }

  tokensBefore(rows: number): number {
    return this.inner.tokensBefore(this.base + rows) - this.inner.tokensBefore(this.base);
  }

  len(ord: number): number {
    return this.inner.len(this.base + ord);
  }

  lengths(): Int32Array {
    return this.inner.lengths();
  }

  slice(term: string, rows: number): LooseSlice | null {
    return this.inner.sliceOf(term, this.base, this.base + rows);
  }

  prefixSlice(prefix: string, rows: number): LooseSlice | null {
    return this.inner.prefixSliceOf(prefix, this.base, this.base + rows);
  }

  list(term: string): LooseList {
    const l = this.inner.list(term);
    const out: LooseList = { ords: [], tfs: [] };
    for (let j = 0; j < l.ords.length; j++) {
      if (l.ords[j]! < this.base) continue;
      (out.ords as number[]).push(l.ords[j]! - this.base);
      (out.tfs as number[]).push(l.tfs[j]!);
    }
    return out;
  }
}
