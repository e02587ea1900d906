/**
 * BM25 scoring and the corpus statistics it needs.
 *
 * Statistics are namespace-wide (docs/ARCHITECTURE.md, fts/): the exhaustive path computes them over every live document; the
 * indexed path will sum per-part statistics with mergeFieldStats (minus shadowed rows), so a namespace split into
 * parts ranks like the same documents in one index.
 *
 * Definitions (shared by both paths, so they must not drift):
 *   - docCount: documents whose attribute holds text (a string or array; missing/null does not count, an empty
 *     string counts with length 0) — Lucene's per-field docCount;
 *   - totalTokens: the sum of those documents' token counts (after analysis: stop words removed);
 *   - docFreq(term): documents among them containing the term at least once;
 *   - prefixDocFreq(p): documents containing at least one term starting with p (a statistic only: a last_as_prefix
 *     match scores a constant 1.0, see score.ts).
 */
import type { Doc } from '../core/index.js';
import type { TextAnalyzer } from './analyzer.js';
import { docTermsReader } from './doc-terms.js';

/**
 * BM25 of one term in one document:
 *   idf = ln(1 + (N - df + 0.5) / (df + 0.5));  score = idf * tf*(k1+1) / (tf + k1*(1 - b + b*len/avgLen)).
 * 0 when tf is 0. avgDocLen 0 (every document empty) is treated as length-normalisation 0.
 */
export function bm25(tf: number, df: number, docLen: number, avgDocLen: number, docCount: number, k1: number, b: number): number {
  if (tf <= 0) return 0;
  const idf = Math.log(1 + (docCount - df + 0.5) / (df + 0.5));
  const norm = avgDocLen > 0 ? docLen / avgDocLen : 0;
  return (idf * (tf * (k1 + 1))) / (tf + k1 * (1 - b + b * norm));
}

export interface FieldStats {
  docCount: number;
  totalTokens: number;
  /** Document frequency of the collected terms (all terms when collection was not restricted). */
  docFreq: Map<string, number>;
  /** Document frequency of the collected prefixes. */
  prefixDocFreq: Map<string, number>;
}

export function emptyFieldStats(): FieldStats {
  return { docCount: 0, totalTokens: 0, docFreq: new Map(), prefixDocFreq: new Map() };
}

/** Average document length (0 for an empty corpus). */
export function avgDocLength(s: FieldStats): number {
  return s.docCount > 0 ? s.totalTokens / s.docCount : 0;
}

/** Adds `other` into `into` (statistics of disjoint document sets add up) and returns `into`. */
export function mergeFieldStats(into: FieldStats, other: FieldStats): FieldStats {
  into.docCount += other.docCount;
  into.totalTokens += other.totalTokens;
  for (const [t, n] of other.docFreq) into.docFreq.set(t, (into.docFreq.get(t) ?? 0) + n);
  for (const [p, n] of other.prefixDocFreq) into.prefixDocFreq.set(p, (into.prefixDocFreq.get(p) ?? 0) + n);
  return into;
}

/**
 * Statistics of `attr` over `docs`. With `terms`, docFreq is collected only for those terms (what a query needs);
 * without, for every term. `prefixes` adds prefixDocFreq entries.
 */
export function collectFieldStats(
  docs: readonly Doc[],
  attr: string,
  analyzer: TextAnalyzer,
  terms?: Iterable<string>,
  prefixes: Iterable<string> = [],
): FieldStats {
  const s = emptyFieldStats();
  const wanted = terms === undefined ? null : [...new Set(terms)];
  const pre = [...new Set(prefixes)];
  if (wanted !== null) for (const t of wanted) s.docFreq.set(t, 0);
  for (const p of pre) s.prefixDocFreq.set(p, 0);
  const read = docTermsReader(attr, analyzer);
  for (const doc of docs) {
    const dt = read(doc);
    if (dt === null) continue;
    s.docCount++;
    s.totalTokens += dt.tokens.length;
    if (wanted === null) {
      for (const t of dt.counts().keys()) s.docFreq.set(t, (s.docFreq.get(t) ?? 0) + 1);
    } else {
      for (const t of wanted) if (dt.count(t) > 0) s.docFreq.set(t, s.docFreq.get(t)! + 1);
    }
    for (const p of pre) if (dt.prefixCount(p) > 0) s.prefixDocFreq.set(p, s.prefixDocFreq.get(p)! + 1);
  }
  return s;
}
