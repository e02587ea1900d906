/**
 * An in-memory inverted index of one text attribute over rows that only ever get appended (the WAL tail): term →
 * ascending row ordinals with their term frequencies, each row's token count, and prefix sums of both, so that BM25's
 * statistics pass over the first `rows` rows (a snapshot's) costs O(matches of the query terms + dead rows) instead
 * of a lookup per row (text-stats.ts addLoose). Rows are analysed once, when `extendTo` first covers them; a row never
 * changes once appended (an upsert of the same id appends a new row), so nothing is ever re-indexed.
 */
import type { AttrValue } from '../core/index.js';
import type { TextAnalyzer } from './analyzer.js';
import { analyzeValue, type DocTerms } from './doc-terms.js';

export interface LooseList {
  /** Row ordinals, ascending. */
  readonly ords: readonly number[];
  /** Term frequency in each row. */
  readonly tfs: readonly number[];
}

const EMPTY: LooseList = { ords: [], tfs: [] };

/** What BM25's statistics pass reads of in-memory postings (text-stats.ts addLooseIndexed). */
export interface LooseIndex {
  /** Rows indexed so far. */
  readonly rows: number;
  /** Rows with text among the first `rows` (≤ this.rows). */
  docsBefore(rows: number): number;
  /** Tokens of the first `rows` rows. */
  tokensBefore(rows: number): number;
  /** Token count of row `ord`, -1 when it has no text. */
  len(ord: number): number;
  /** The rows holding `term`, ascending (over every row indexed: callers stop at their own bound). */
  list(term: string): LooseList;
}

export class LoosePostings implements LooseIndex {
  private covered = 0;
  /** Token count of each covered row; -1 when it has no text. */
  private lens = new Int32Array(64);
  /** cumDocs[o]: rows with text among [0, o); cumTokens[o]: their tokens. */
  private cumDocs = new Int32Array(65);
  private cumTokens = new Float64Array(65);
  private readonly lists = new Map<string, { ords: number[]; tfs: number[] }>();

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
    for (let o = this.covered; o < rows; o++) this.append(analyzeValue(this.valueOf(o), this.analyzer));
  }

  /**
   * Indexes the next row (ordinal `rows`) from its analysed terms, when the caller has them at hand (a document whose
   * analysis fts/doc-terms.ts caches: the same document replayed into a rebuilt tail is not analysed again).
   */
  append(terms: DocTerms | null): void {
    const o = this.covered;
    if (o >= this.lens.length) {
      const cap = this.lens.length * 2;
      const lens = new Int32Array(cap);
      lens.set(this.lens.subarray(0, o));
      const docs = new Int32Array(cap + 1);
      docs.set(this.cumDocs.subarray(0, o + 1));
      const tokens = new Float64Array(cap + 1);
      tokens.set(this.cumTokens.subarray(0, o + 1));
      this.lens = lens;
      this.cumDocs = docs;
      this.cumTokens = tokens;
    }
    const len = terms === null ? -1 : terms.tokens.length;
    this.lens[o] = len;
    this.cumDocs[o + 1] = this.cumDocs[o]! + (len >= 0 ? 1 : 0);
    this.cumTokens[o + 1] = this.cumTokens[o]! + (len >= 0 ? len : 0);
    this.covered = o + 1;
    if (terms === null) return;
    for (const [term, tf] of terms.counts()) {
      let l = this.lists.get(term);
      if (l === undefined) this.lists.set(term, (l = { ords: [], tfs: [] }));
      l.ords.push(o);
      l.tfs.push(tf);
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

  /** The rows holding `term` (over every row indexed: callers stop at their own bound). */
  list(term: string): LooseList {
    return this.lists.get(term) ?? EMPTY;
  }
}

/**
 * The postings of rows [base, ∞) of `inner`, as ordinals from 0 (a WAL tail carried over at a publish: its rows start
 * past the ones the new parts hold, namespace/tail-segment.ts). Counts are differences of the prefix sums; a list is
 * the inner one from its first row at or past `base` (binary search), shifted: O(matches) like the inner lists.
 */
export class LooseWindow implements LooseIndex {
  constructor(
    private readonly inner: LoosePostings,
    private readonly base: number,
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

  list(term: string): LooseList {
    const l = this.inner.list(term);
    const ords = l.ords;
    let lo = 0;
    let hi = ords.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ords[mid]! < this.base) lo = mid + 1;
      else hi = mid;
    }
    if (lo === ords.length) return EMPTY;
    const out: number[] = new Array(ords.length - lo);
    for (let i = lo; i < ords.length; i++) out[i - lo] = ords[i]! - this.base;
    return { ords: out, tfs: l.tfs.slice(lo) };
  }
}
