/**
 * What text ranking reads: sources of rows addressed by ordinal — a part (postings, dead rows) or loose rows (the WAL
 * tail, a part whose postings cannot serve the query) — and the rows it returns.
 */
import type { AttrValue, Doc, Id } from '../core/index.js';
import type { PostingsFile } from './postings.js';
import type { TextAnalyzer } from './analyzer.js';
import type { DocTerms } from './doc-terms.js';
import type { LooseIndex } from './loose-postings.js';

export interface TextSource {
  readonly rows: number;
  /** Postings of `attr` built with `analysis`, or null (then the live rows are analysed). */
  postings(attr: string, analysis: string): PostingsFile | null;
  /** 1 = dead; null when every row is live. The same for both passes of one query. */
  readonly dead: Uint8Array | null;
  /** Dead ordinals, ascending (the same array until liveness changes: statistics are cached on it). */
  readonly deadOrdinals: readonly number[];
  /** A row's id (scoring: for ties and the returned rows). */
  id(ord: number): Id;
  /** The value of a text attribute (analysed when the source has no postings for it). */
  value(attr: string, ord: number): AttrValue | undefined;
  /** The analysed terms of a row's text attribute, memoised by the source (absent: `value` is analysed). */
  terms?(attr: string, analyzer: TextAnalyzer, ord: number): DocTerms | null;
  /** In-memory postings of a text attribute covering at least the source's rows (the WAL tail), or null/absent. */
  loosePostings?(attr: string, analyzer: TextAnalyzer): LooseIndex | null;
  /**
   * The row at `ord` with (at least) the attributes a general rank expression reads (TextRankPlan.valueAttributes),
   * for its Attribute and filter leaves; read while scoring only, one row at a time (absent: read through `value`).
   */
  row?(ord: number): Doc;
  /**
   * Rows `filter` (a filter used as a rank expression, as given; `compile` compiles one leaf) may match by the
   * source's filter indexes: mask[o] = 1 for a candidate, every candidate matching when `exact`. Null or absent: no
   * index helped (the filter is evaluated on the rows).
   */
  filterMask?(filter: unknown, compile: (leaf: unknown) => (doc: Doc) => boolean): { mask: Uint8Array; exact: boolean } | null;
  /** Rows the query's filters accept (null: all). Read while scoring only. */
  readonly filter: ((ord: number) => boolean) | null;
  /**
   * The smallest and largest value of `attr` over the source's rows (a part's column stats), or null / absent when
   * unknown (the WAL tail): bounds a general rank expression's score on rows without a BM25 match (rank-bounds.ts).
   */
  attrRange?(attr: string): { min: number | string; max: number | string } | null;
  /**
   * Visits the rows in the order of scalar `attr` (descending with `desc`; missing values first ascending, last
   * descending) until `visit` returns false; false, visiting nothing, when the source has no index that orders it.
   */
  walkOrder?(attr: string, desc: boolean, visit: (value: unknown, ord: number) => boolean): boolean;
  /**
   * Visits, through the same index, the rows whose value of `attr` satisfies `atLeast` (monotone: false then true in
   * value order) ascending from the smallest (`up`), or those that do not, descending from the largest; missing values
   * never. False, visiting nothing, when the source has no index that orders it.
   */
  walkFrom?(attr: string, atLeast: (value: unknown) => boolean, up: boolean, visit: (value: unknown, ord: number) => boolean): boolean;
}

/** A scored row of a TextSource, with its id (captured while the source was at hand). */
export interface SourceHit {
  source: number;
  ord: number;
  score: number;
  id: Id;
}
