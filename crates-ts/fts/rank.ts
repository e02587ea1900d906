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
 * A query term repeated in the query counts once per occurrence ("fox fox" weighs fox twice), as in Lucene's
 * BooleanQuery of term clauses. A query with no terms after analysis (e.g. only stop words) matches nothing.
 */
import { ElaxError, type Doc, type FullTextConfig, type Schema } from '../core/index.js';
import { analyzerFor, type QueryTerms, type TextAnalyzer } from './analyzer.js';
import { bm25 } from './bm25.js';
import { fullTextConfigOf } from './config.js';
import { docTermsReader } from './doc-terms.js';

export type TextRankExpr =
  | { kind: 'bm25'; attr: string; config: FullTextConfig; query: QueryTerms }
  | { kind: 'sum'; children: TextRankExpr[] }
  | { kind: 'max'; children: TextRankExpr[] }
  | { kind: 'product'; weight: number; child: TextRankExpr };

export interface TextRankPlan {
  attributes: string[];
  /** The validated expression, for the indexed path (postings) to evaluate with the same semantics. */
  expr: TextRankExpr;
  /**
   * Scores every doc in `docs` with namespace-wide statistics computed over ALL of `docs` (the live set).
   * Returns only docs with score > 0, unsorted, for those passing `candidate` (filters), if given.
   */
  evaluate(docs: readonly Doc[], candidate?: (doc: Doc) => boolean): Array<{ doc: Doc; score: number }>;
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

/**
 * Dense scores of one BM25 clause over `docs` (0 where it does not match), computing the clause's statistics in
 * the same pass.
 */
function scoreClause(docs: readonly Doc[], e: Extract<TextRankExpr, { kind: 'bm25' }>): Float64Array {
  const scores = new Float64Array(docs.length);
  const analyzer: TextAnalyzer = analyzerFor(e.config);
  const { k1, b } = e.config;
  // Distinct terms with their multiplicity in the query; the prefix (if any) is slot m.
  const mult = new Map<string, number>();
  for (const t of e.query.terms) mult.set(t, (mult.get(t) ?? 0) + 1);
  const terms = [...mult.keys()];
  const weights = terms.map((t) => mult.get(t)!);
  const m = terms.length;
  const prefix = e.query.prefix;
  const slots = m + (prefix === null ? 0 : 1);
  const df = new Float64Array(slots);
  let docCount = 0;
  let totalTokens = 0;
  const hitIdx: number[] = [];
  const hitLen: number[] = [];
  const hitTf: Float64Array[] = [];
  const read = docTermsReader(e.attr, analyzer);
  for (let i = 0; i < docs.length; i++) {
    const dt = read(docs[i]!);
    if (dt === null) continue;
    docCount++;
    totalTokens += dt.tokens.length;
    if (slots === 0) continue;
    let tf: Float64Array | null = null;
    for (let j = 0; j < m; j++) {
      const c = dt.count(terms[j]!);
      if (c > 0) {
        df[j]!++;
        (tf ??= new Float64Array(slots))[j] = c;
      }
    }
    if (prefix !== null) {
      const ptf = dt.prefixCount(prefix);
      if (ptf > 0) {
        df[m]!++;
        (tf ??= new Float64Array(slots))[m] = ptf;
      }
    }
    if (tf !== null) {
      hitIdx.push(i);
      hitLen.push(dt.tokens.length);
      hitTf.push(tf);
    }
  }
  const avg = docCount > 0 ? totalTokens / docCount : 0;
  for (let h = 0; h < hitIdx.length; h++) {
    const tf = hitTf[h]!;
    const len = hitLen[h]!;
    let s = 0;
    for (let j = 0; j < m; j++) if (tf[j]! > 0) s += weights[j]! * bm25(tf[j]!, df[j]!, len, avg, docCount, k1, b);
    if (prefix !== null && tf[m]! > 0) s += bm25(tf[m]!, df[m]!, len, avg, docCount, k1, b);
    scores[hitIdx[h]!] = s;
  }
  return scores;
}

function scoreExpr(docs: readonly Doc[], e: TextRankExpr): Float64Array {
  switch (e.kind) {
    case 'bm25':
      return scoreClause(docs, e);
    case 'product': {
      const s = scoreExpr(docs, e.child);
      for (let i = 0; i < s.length; i++) s[i]! *= e.weight;
      return s;
    }
    case 'sum':
    case 'max': {
      const acc = scoreExpr(docs, e.children[0]!);
      for (let c = 1; c < e.children.length; c++) {
        const s = scoreExpr(docs, e.children[c]!);
        if (e.kind === 'sum') for (let i = 0; i < acc.length; i++) acc[i]! += s[i]!;
        else for (let i = 0; i < acc.length; i++) if (s[i]! > acc[i]!) acc[i] = s[i]!;
      }
      return acc;
    }
  }
}

/** Validates a text rank_by against the schema (attribute must have full_text_search) and plans it. */
export function planTextRank(rankBy: unknown, schema: Schema): TextRankPlan {
  const expr = parseExpr(rankBy, schema, 'rank_by');
  const attrs = new Set<string>();
  collectAttrs(expr, attrs);
  return {
    attributes: [...attrs],
    expr,
    evaluate(docs, candidate) {
      const scores = scoreExpr(docs, expr);
      const out: Array<{ doc: Doc; score: number }> = [];
      for (let i = 0; i < scores.length; i++) {
        const s = scores[i]!;
        if (s > 0 && (candidate === undefined || candidate(docs[i]!))) out.push({ doc: docs[i]!, score: s });
      }
      return out;
    },
  };
}
