/**
 * Evaluating a text rank expression (text-expr.ts) in two passes over sources of rows (text-source.ts):
 *
 *   1. statistics (text-stats.ts): namespace-wide BM25 statistics over the live documents of every source — per
 *      clause N and average length, per term df — one source at a time;
 *   2. scoring (text-scorer.ts): each source scored with those statistics into one top-k carried across sources
 *      (max-score pruning against its running k-th score), one source at a time.
 *
 * `stream` hands the passes to a caller that prepares and releases each source around its turn (query/: a BM25
 * query over many parts then holds one part's postings at a time). `evaluateSources` and `evaluate` run both passes
 * over sources (or documents) that are all at hand. Both give the same rows and the same scores, bit for bit: the
 * statistics are sums of integers and scoring does not depend on the order sources come in.
 */
import { ElaxError, type Doc } from '../core/index.js';
import type { TextCorpus } from './corpus.js';
import { compileExpr, type TextRankExpr } from './text-expr.js';
import { TextScorer } from './text-scorer.js';
import { docTermsOf, postingsOf, StatisticsPass, type TermsOf } from './text-stats.js';
import type { SourceHit, TextSource } from './text-source.js';
import type { Bm25PartInput, Bm25PartOutput } from './part-task.js';

export { BM25_K3, PREFIX_SCORE, qtfWeight, type TextRankExpr } from './text-expr.js';
export type { SourceHit, TextSource } from './text-source.js';

export interface Scored {
  doc: Doc;
  score: number;
}

/**
 * One query's two passes, driven by the caller one source at a time: addStatistics for every source, then
 * finishStatistics, then score for every source that mayMatch, then results.
 */
export interface TextRankStream {
  /** The query has no terms (e.g. only stop words): it matches nothing and needs nothing read. */
  readonly empty: boolean;
  /**
   * Whether `src` (prepared with its postings dictionaries) is scored from postings: false when some clause has no
   * usable postings there (then prepare its text attributes before addStatistics: its live rows are analysed).
   */
  usesPostings(src: TextSource): boolean;
  /** Pass 1, source `s` (see StatisticsPass.add for what it must be prepared with). */
  addStatistics(s: number, src: TextSource): void;
  /** Ends pass 1. */
  finishStatistics(): void;
  /**
   * Pass 2: how source `s` is scored — from its postings, or from the rows the statistics pass analysed — or null
   * when it cannot hold a match (skip it: nothing to read).
   */
  scoredFrom(s: number): 'postings' | 'rows' | null;
  /**
   * Pass 2, source `s`: prepared with its ids and the filter's columns, and when scored from postings with its
   * postings and the lists the query names. Returns its matching rows when k is null (every match: read what else
   * they need now), else [].
   */
  score(s: number, src: TextSource): SourceHit[];
  /** With k: a set holding the best k by (score desc, id asc), unsorted, that may skip rows that cannot make it. */
  results(): SourceHit[];
  /**
   * Instead of score(s, src): the input of a pool task that scores source `s` (part-task.ts), or null when it must be
   * scored here (TextScorer.pooledInput says when). Its answer goes to offerPooled, with `src` still prepared.
   */
  pooledInput(s: number, src: TextSource, minPostings: number, cancel: Int32Array | null, allow?: Uint8Array | null): Bm25PartInput | null;
  offerPooled(s: number, src: TextSource, out: Bm25PartOutput): void;
}

export interface CompiledTextRank {
  evaluate(corpus: TextCorpus, filter: ((doc: Doc) => boolean) | undefined, k: number | null): Scored[];
  /** Both passes over sources all at hand (prepared for both). */
  evaluateSources(sources: readonly TextSource[], k: number | null): SourceHit[];
  stream(k: number | null): TextRankStream;
}

/** The corpus API over document arrays, as sources: its segments, then its loose documents. */
function corpusSources(corpus: TextCorpus, filter: ((doc: Doc) => boolean) | undefined): { sources: TextSource[]; docs: (readonly Doc[])[] } {
  const docs: (readonly Doc[])[] = [];
  const sources: TextSource[] = [];
  const add = (rows: readonly Doc[], postings: TextSource['postings'], dead: Uint8Array | null, deadOrdinals: readonly number[]) => {
    docs.push(rows);
    sources.push({
      rows: rows.length,
      postings,
      dead,
      deadOrdinals,
      id: (o) => rows[o]!.id,
      value: (attr, o) => rows[o]!.attrs[attr],
      row: (o) => rows[o]!,
      filter: filter ? (o) => filter(rows[o]!) : null,
    });
  };
  for (const seg of corpus.segments) add(seg.docs, (a, an) => seg.postings(a, an), seg.dead, seg.deadOrdinals);
  add(corpus.loose, () => null, null, []);
  return { sources, docs };
}

export function compileTextRank(expr: TextRankExpr): CompiledTextRank {
  const compiled = compileExpr(expr);
  const stream = (k: number | null, termsOf?: TermsOf): TextRankStream => {
    const pass = new StatisticsPass(compiled, termsOf);
    let scorer: TextScorer | null = null;
    const scoring = () => {
      if (scorer === null) throw new ElaxError('ELAX_ERR_INTERNAL', 'text ranking: a source was scored before finishStatistics()');
      return scorer;
    };
    // Nothing can match: no query term in any BM25 clause (e.g. only stop words) and no Attribute / filter leaf.
    const empty = compiled.leaves.length === 0 && compiled.values.length === 0;
    return {
      empty,
      usesPostings: (src) => postingsOf(compiled, src) !== null,
      addStatistics: (s, src) => {
        if (!empty) pass.add(s, src);
      },
      finishStatistics: () => {
        scorer = new TextScorer(compiled, pass.finish(), k);
      },
      scoredFrom: (s) => (empty ? null : scoring().scoredFrom(s)),
      score: (s, src) => (empty ? [] : scoring().score(s, src)),
      results: () => (empty ? [] : scoring().results()),
      pooledInput: (s, src, minPostings, cancel, allow) => (empty ? null : scoring().pooledInput(s, src, minPostings, cancel, allow ?? null)),
      offerPooled: (s, src, out) => scoring().offerPooled(s, src, out),
    };
  };
  /** Both passes over sources at hand. */
  const allAtOnce = (sources: readonly TextSource[], k: number | null, termsOf?: TermsOf): SourceHit[] => {
    const run = stream(k, termsOf);
    if (run.empty) return [];
    sources.forEach((src, s) => run.addStatistics(s, src));
    run.finishStatistics();
    sources.forEach((src, s) => run.scoredFrom(s) !== null && run.score(s, src));
    return run.results();
  };
  return {
    evaluate: (corpus, filter, k) => {
      const { sources, docs } = corpusSources(corpus, filter);
      const docOf = (s: number, o: number) => docs[s]![o]!;
      // Documents' analyses are cached per Doc (doc-terms.ts), so repeated queries analyse each document once.
      return allAtOnce(sources, k, docTermsOf(docOf)).map((h) => ({ doc: docOf(h.source, h.ord), score: h.score }));
    },
    evaluateSources: (sources, k) => allAtOnce(sources, k),
    stream,
  };
}
