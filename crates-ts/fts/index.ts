/**
 * fts: full-text analysis and BM25 ranking over in-memory documents.
 *
 * Owns: the full_text_search config (validation, defaults), text analysis (tokenizers, case and ASCII folding,
 * stop words, Snowball stemming), the postings file format, BM25 scoring with namespace-wide statistics in two passes
 * that a caller can drive one source at a time (score.ts: statistics, then scoring), and text rank_by expressions
 * (BM25 clauses, Sum, Max, Product). The token filters in crates-ts/filter analyse through this module so that
 * filters and ranking always tokenize alike.
 *
 * Does not: read storage (callers hand it postings bytes or ranged readers, and prepare sources), sort or truncate
 * results (the query module does), or own any object keys.
 */
export { normalizeFullTextConfig, fullTextConfigOf, analysisKey, DEFAULT_FULL_TEXT_CONFIG, MIN_TOKEN_LENGTH, MAX_TOKEN_LENGTH } from './config.js';
export { LANGUAGES, TOKENIZERS, stemmingSupported } from './languages.js';
export { tokenize, analyzerFor, asciiFold, type TextAnalyzer, type QueryTerms, type TokenSpan } from './analyzer.js';
export { docTerms, docTermsReader, valueTerms, analyzeValue, isTextValue, type DocTerms, type DocTermsReader } from './doc-terms.js';
export { bm25, collectFieldStats, mergeFieldStats, emptyFieldStats, avgDocLength, type FieldStats } from './bm25.js';
export { isTextRankBy, planTextRank, type RankFilterCompiler, type TextRankPlan, type TextRankExpr } from './rank.js';
export { decay, dist, parseDuration, saturate } from './rank-value.js';
export { buildPostings, neededLists, PostingsFile, type PostingsHeader, type PostingList, type RangeReader, type TextNeed } from './postings.js';
export { looseCorpus, type TextCorpus, type TextSegment } from './corpus.js';
export type { TextSource, SourceHit, TextRankStream } from './score.js';
export { LoosePostings, LooseWindow, type LooseIndex, type LooseList } from './loose-postings.js';
export { scoreBm25Part, bm25SharedBytes, TiesHeap, type Bm25PartInput, type Bm25PartOutput, type PartLeaf } from './part-task.js';
