/**
 * Text rank_by expressions: validation, planning and exhaustive evaluation.
 *
 *   [attr, "BM25", query]               query: a string, or an array of strings (analysed and concatenated;
 *   [attr, "BM25", query, {last_as_prefix}]     for pre_tokenized_array attributes the array IS the tokens)
 *   ["Sum", [expr, ...]]                sum of the scores
 *   ["Max", [expr, ...]]                maximum of the scores
 *   ["Product", weight, expr]           weight * score (also ["Product", expr, weight] and the older
 *                                       ["Product", [weight, expr]] form from turbopuffer's docs)
 *
 * Saturate, Decay, Dist and filters used as rank expressions are rejected as not supported yet.
 * A query term repeated in the query saturates as turbopuffer documents (k3 = 8): its BM25 score is weighted
 * 9·qtf / (8 + qtf), so "fox fox" weighs fox 1.8 times, not twice. With last_as_prefix, a document holding a term
 * that starts with the last word gets a constant 1.0 for it (score.ts). A query with no terms after analysis
 * (e.g. only stop words) matches nothing.
 */
import { ElaxError, type Doc, type FullTextConfig, type Schema } from '../core/index.js';
import { analyzerFor } from './analyzer.js';
import { fullTextConfigOf } from './config.js';
import { looseCorpus, type TextCorpus } from './corpus.js';
import { compileTextRank, type SourceHit, type TextRankExpr, type TextRankStream, type TextSource } from './score.js';
import type { TextNeed } from './postings.js';

export type { TextRankExpr };

export interface TextRankPlan {
  attributes: string[];
  /** The postings lists the plan reads, per attribute (what a cold part must fetch before evaluation). */
  needs: TextNeed[];
  /** The validated expression, for the indexed path (postings) to evaluate with the same semantics. */
  expr: TextRankExpr;
  /**
   * Scores every doc in `docs` with namespace-wide statistics computed over ALL of `docs` (the live set).
   * Returns only docs with score > 0, unsorted, for those passing `candidate` (filters), if given.
   */
  evaluate(docs: readonly Doc[], candidate?: (doc: Doc) => boolean): Array<{ doc: Doc; score: number }>;
  /**
   * Scores a corpus of indexed parts and loose documents with the same statistics and semantics. With `k`, returns
   * (unsorted) a set that contains the best k by (score desc, id asc) and may skip documents that cannot make it;
   * with k null, every matching document.
   */
  evaluateCorpus(corpus: TextCorpus, candidate: ((doc: Doc) => boolean) | undefined, k: number | null): Array<{ doc: Doc; score: number }>;
  /** The same over sources addressed by ordinal (query segments), all at hand: rows come back as (source, ordinal, score, id). */
  evaluateSources(sources: readonly TextSource[], k: number | null): SourceHit[];
  /**
   * The same in two passes driven one source at a time (score.ts TextRankStream): what a query over many parts runs,
   * holding one part's postings at a time.
   */
  stream(k: number | null): TextRankStream;
  /**
   * What the statistics pass reads of a source's postings: the dictionaries, and the term lists only when the source
   * has dead rows (their dead entries are subtracted from df); prefixes never (a prefix match's df is not needed).
   */
  statisticsNeeds(deadRows: boolean): TextNeed[];
}

const COMBINATORS = new Set(['Sum', 'Max', 'Product']);
const UNSUPPORTED = new Set(['Saturate', 'Decay', 'Dist']);
const LOGICAL = new Set(['And', 'Or', 'Not']);

/** True if rank_by is a text ranking expression (a BM25 clause, or Sum / Max / Product / Saturate / Decay / Dist). */
export function isTextRankBy(rankBy: unknown): boolean {
  if (!Array.isArray(rankBy) || rankBy.length < 2) return false;
  if (rankBy.length >= 3 && rankBy[1] === 'BM25') return true;
  const head = rankBy[0];
  if (head === 'Sum' || head === 'Max') return rankBy.length === 2 && Array.isArray(rankBy[1]);
  if (head === 'Product') return rankBy.length === 3 || (rankBy.length === 2 && Array.isArray(rankBy[1]));
  // Recognised so that planTextRank answers "not supported yet" instead of another planner misreading them.
  return typeof head === 'string' && UNSUPPORTED.has(head) && Array.isArray(rankBy[1]);
}

function fail(path: string, msg: string): ElaxError {
  return new ElaxError('ELAX_ERR_INVALID_QUERY', `invalid rank_by at ${path}: ${msg}`);
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function parseBm25(node: unknown[], schema: Schema, path: string): TextRankExpr {
  const [attr, , query, params] = node;
  if (typeof attr !== 'string') throw fail(path, `BM25 clause: attribute name must be a string, got ${show(attr)}`);
  if (node.length > 4) throw fail(path, `BM25 clause takes [attribute, "BM25", query, params?], got ${node.length} elements`);
  const entry = schema[attr];
  if (entry === undefined) throw fail(path, `attribute '${attr}' is not in the namespace schema; BM25 needs an attribute with full_text_search`);
  const config = fullTextConfigOf(entry.full_text_search, attr);
  if (config === null) throw fail(path, `attribute '${attr}' does not have full_text_search enabled; BM25 needs it`);
  const isArr = Array.isArray(query);
  if (!(typeof query === 'string' || (isArr && query.every((q) => typeof q === 'string')))) {
    throw fail(path, `BM25 query for '${attr}' must be a string or an array of strings, got ${show(query)}`);
  }
  if (config.tokenizer === 'pre_tokenized_array' && !isArr) {
    throw fail(path, `attribute '${attr}' uses tokenizer pre_tokenized_array: the BM25 query must be an array of tokens`);
  }
  let lastAsPrefix = false;
  if (params !== undefined) {
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      throw fail(path, `BM25 params must be an object like {"last_as_prefix": true}, got ${show(params)}`);
    }
    for (const [k, v] of Object.entries(params)) {
      if (k !== 'last_as_prefix') throw fail(path, `unknown BM25 param '${k}'; valid params: last_as_prefix`);
      if (typeof v !== 'boolean') throw fail(path, `BM25 param last_as_prefix must be a boolean, got ${show(v)}`);
      lastAsPrefix = v;
    }
  }
  return { kind: 'bm25', attr, config, query: analyzerFor(config).query(query as string | string[], lastAsPrefix) };
}

const MAX_RANK_DEPTH = 64;

function parseExpr(node: unknown, schema: Schema, path: string, depth = 0): TextRankExpr {
  if (depth > MAX_RANK_DEPTH) throw fail(path, `rank_by expressions nest deeper than ${MAX_RANK_DEPTH} levels`);
  if (!Array.isArray(node)) throw fail(path, `expected a text ranking expression such as ["attr", "BM25", "query"], got ${show(node)}`);
  if (node.length >= 3 && node[1] === 'BM25') return parseBm25(node, schema, path);
  const head = node[0];
  if (head === 'Sum' || head === 'Max') {
    const list = node[1];
    if (node.length !== 2 || !Array.isArray(list)) throw fail(path, `${head} takes ["${head}", [expr, ...]]`);
    if (list.length === 0) throw fail(path, `${head} needs at least one expression`);
    const children = list.map((c, i) => parseExpr(c, schema, `${path}[1][${i}]`, depth + 1));
    return { kind: head === 'Sum' ? 'sum' : 'max', children };
  }
  if (head === 'Product') {
    let pair: unknown[];
    let base: string;
    if (node.length === 3) {
      pair = [node[1], node[2]];
      base = path;
    } else if (node.length === 2 && Array.isArray(node[1]) && node[1].length === 2) {
      pair = node[1];
      base = `${path}[1]`;
    } else {
      throw fail(path, 'Product takes ["Product", weight, expr] or ["Product", expr, weight]');
    }
    const wi = typeof pair[0] === 'number' ? 0 : typeof pair[1] === 'number' ? 1 : -1;
    if (wi < 0) throw fail(path, `Product needs a numeric weight, got ${show(pair[0])} and ${show(pair[1])}`);
    const weight = pair[wi] as number;
    if (!Number.isFinite(weight)) throw fail(path, `Product weight must be a finite number, got ${show(weight)}`);
    const offset = base === path ? 1 : 0;
    return { kind: 'product', weight, child: parseExpr(pair[1 - wi], schema, `${base}[${1 - wi + offset}]`, depth + 1) };
  }
  if (typeof head === 'string' && UNSUPPORTED.has(head)) throw fail(path, `${head} is not supported yet`);
  if ((typeof head === 'string' && LOGICAL.has(head)) || (node.length >= 3 && typeof node[1] === 'string')) {
    throw fail(path, `filters used as rank expressions are not supported yet (got ${show(node)}); use a BM25 clause, Sum, Max or Product`);
  }
  throw fail(path, `expected a text ranking expression such as ["attr", "BM25", "query"], got ${show(node)}`);
}

function collectAttrs(e: TextRankExpr, out: Set<string>): void {
  if (e.kind === 'bm25') out.add(e.attr);
  else if (e.kind === 'product') collectAttrs(e.child, out);
  else for (const c of e.children) collectAttrs(c, out);
}

/** Validates a text rank_by against the schema (attribute must have full_text_search) and plans it. */
export function planTextRank(rankBy: unknown, schema: Schema): TextRankPlan {
  const expr = parseExpr(rankBy, schema, 'rank_by');
  const attrs = new Set<string>();
  collectAttrs(expr, attrs);
  const compiled = compileTextRank(expr);
  const needs = new Map<string, { terms: Set<string>; prefixes: Set<string> }>();
  const walk = (e: TextRankExpr): void => {
    if (e.kind === 'bm25') {
      let n = needs.get(e.attr);
      if (n === undefined) needs.set(e.attr, (n = { terms: new Set(), prefixes: new Set() }));
      for (const t of e.query.terms) n.terms.add(t);
      if (e.query.prefix !== null) n.prefixes.add(e.query.prefix);
    } else if (e.kind === 'product') walk(e.child);
    else e.children.forEach(walk);
  };
  walk(expr);
  return {
    attributes: [...attrs],
    needs: [...needs].map(([attr, n]) => ({ attr, terms: [...n.terms], prefixes: [...n.prefixes] })),
    expr,
    evaluate: (docs, candidate) => compiled.evaluate(looseCorpus(docs), candidate, null),
    evaluateCorpus: (corpus, candidate, k) => compiled.evaluate(corpus, candidate, k),
    evaluateSources: (sources, k) => compiled.evaluateSources(sources, k),
    stream: (k) => compiled.stream(k),
    statisticsNeeds: (deadRows) => [...needs].map(([attr, n]) => ({ attr, terms: deadRows ? [...n.terms] : [], prefixes: [] })),
  };
}
