/**
 * Text rank_by expressions ("ranking expressions"): validation, planning and exhaustive evaluation.
 *
 *   [attr, "BM25", query]               query: a string, or an array of strings (analysed and concatenated;
 *   [attr, "BM25", query, {last_as_prefix}]     for pre_tokenized_array attributes the array IS the tokens)
 *   ["Sum", [expr, ...]]                sum of the scores
 *   ["Max", [expr, ...]], ["Max", a, b] maximum of the scores (a number in these lists is a constant)
 *   ["Product", weight, expr]           weight * score, weight >= 0 (also ["Product", expr, weight] and the older
 *                                       ["Product", [weight, expr]] form from turbopuffer's docs)
 *   ["Attribute", attr]                 the row's value of an int / uint / float / datetime (epoch ms) attribute;
 *                                       int / float only under Max, Saturate, Decay or Dist (turbopuffer rejects
 *                                       signed attributes "without the Max operator")
 *   ["Saturate", expr, {midpoint, exponent?}]   x^e / (x^e + m^e), x = max(expr, 0)   (rank-value.ts)
 *   ["Decay", expr, {midpoint, exponent?}]      m^e / (x^e + m^e), x = max(expr, 0)
 *   ["Dist", expr, origin]              |expr - origin|; origin a number, or an ISO datetime over a datetime
 *   a filter ([attr, op, v], And/Or/Not)  1 on the rows it accepts (compiled by the caller's RankFilterCompiler)
 *
 * A midpoint over a datetime (a Dist of a datetime attribute) may be a duration string ("6h", "7d", "1d12h").
 *
 * Rows ranked: every node has a value on a row or does not match it (rank-eval.ts). BM25 clauses match the rows
 * holding a query term, Attribute the rows with a value (null / missing never reads as 0), filters the rows they
 * accept, constants nothing by themselves; Sum / Max match what any child matches, Product / Saturate / Decay / Dist
 * what their child matches. The expression ranks the rows it matches (and the query's filters pass), whatever their
 * score. For BM25 / Sum / Max / Product with non-negative weights that is every row holding a query term.
 *
 * Evaluation: BM25 leaves always come from postings (or analysed rows without postings) with namespace-wide
 * statistics. A BM25 / Sum / Max / Product expression keeps max-score pruning when linear (text-scorer.ts). Any
 * other node makes the expression "general" (text-expr.ts): evaluated exhaustively — over every live row of a
 * source when it has Attribute / filter leaves (their columns are read for those rows only: valueAttributes),
 * else over the BM25 matches. Decay decreases in its input and Max / constants are not linear, so max-score's
 * per-leaf upper bounds do not apply; with top_k the scorer instead scores the BM25 matches first and skips the
 * other rows once the k-th score is above their bound (text-scorer.ts unmatchedBound).
 *
 * A query term repeated in the query saturates as turbopuffer documents (k3 = 8): its BM25 score is weighted
 * 9·qtf / (8 + qtf), so "fox fox" weighs fox 1.8 times, not twice. With last_as_prefix, a document holding a term
 * that starts with the last word gets a constant 1.0 for it (score.ts). A query with no terms after analysis
 * (e.g. only stop words) matches nothing.
 */
import { ElaxError, type Doc, type FullTextConfig, type Schema } from '../core/index.js';
import { analyzerFor } from './analyzer.js';
import { fullTextConfigOf } from './config.js';
import { looseCorpus, type TextCorpus } from './corpus.js';
import { parseDatetimeString } from '../schema/scalars.js';
import { parseDuration } from './rank-value.js';
import { compileTextRank, type SourceHit, type TextRankExpr, type TextRankStream, type TextSource } from './score.js';
import type { TextNeed } from './postings.js';

export type { TextRankExpr };

export interface TextRankPlan {
  /** The attributes of the BM25 clauses. */
  attributes: string[];
  /**
   * What the Attribute and filter leaves read (rank-eval.ts): the columns a source must have prepared for scoring
   * (TextSource.row). Empty for BM25 / Sum / Max / Product expressions.
   */
  valueAttributes: string[];
  /** What the filter leaves read: the filter indexes a part may answer them from (TextSource.filterMask). */
  filterAttributes: string[];
  /**
   * The attribute of the only Attribute leaf of an expression without filter leaves: a part's index of it lets the
   * scorer visit rows without a BM25 match best first (TextSource.walkOrder, rank-bounds.ts). Else empty.
   */
  orderAttributes: string[];
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

const SHAPES = new Set(['Saturate', 'Decay', 'Dist']);

/**
 * True if rank_by is a text ranking expression: a BM25 clause, Sum / Max / Product / Saturate / Decay / Dist,
 * ["Attribute", attr], or a filter (callers check vector and attribute-order shapes first).
 */
export function isTextRankBy(rankBy: unknown): boolean {
  if (!Array.isArray(rankBy) || rankBy.length < 2) return false;
  if (rankBy.length >= 3 && rankBy[1] === 'BM25') return true;
  const head = rankBy[0];
  if (head === 'Sum') return rankBy.length === 2 && Array.isArray(rankBy[1]);
  if (head === 'Max') return (rankBy.length === 2 && Array.isArray(rankBy[1])) || (rankBy.length === 3 && typeof rankBy[1] !== 'string');
  if (head === 'Product') return rankBy.length === 3 || (rankBy.length === 2 && Array.isArray(rankBy[1]));
  if (head === 'Attribute') return rankBy.length === 2 && typeof rankBy[1] === 'string';
  if (typeof head === 'string' && SHAPES.has(head) && Array.isArray(rankBy[1])) return true;
  return isFilterNode(rankBy);
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

/** Compiles a filter used as a rank expression (the query layer passes filter/'s compiler; fts/ does not import it). */
export type RankFilterCompiler = (
  filter: unknown,
  path: string,
) => { test: (doc: Doc) => boolean; attrs: readonly string[]; compileLeaf?: (leaf: unknown) => (doc: Doc) => boolean };

interface ParseCtx {
  schema: Schema;
  compileFilter: RankFilterCompiler | undefined;
}

/** A parsed node and whether its values are datetimes (epoch ms) or distances between datetimes. */
interface Parsed {
  expr: TextRankExpr;
  datetime: boolean;
}

const ATTRIBUTE_TYPES = new Set(['int', 'uint', 'float', 'datetime']);
const SIGNED_TYPES = new Set(['int', 'float']);

function isFilterNode(node: unknown[]): boolean {
  const head = node[0];
  if ((head === 'And' || head === 'Or') && node.length === 2 && Array.isArray(node[1])) return true;
  if (head === 'Not' && node.length === 2 && Array.isArray(node[1])) return true;
  // [attr, op, operand, ...]: any op but the other rank_by forms' (filter/ names the unknown ones).
  return node.length >= 3 && typeof node[0] === 'string' && typeof node[1] === 'string' && !NOT_FILTER_OPS.has(node[1]);
}

const NOT_FILTER_OPS = new Set(['BM25', 'ANN', 'kNN', 'SparseKNN', 'asc', 'desc']);

/** A Saturate / Decay midpoint: a positive number, or on datetimes also a duration string ("6h"). */
function parseMidpoint(v: unknown, datetime: boolean, head: string, path: string): number {
  if (typeof v === 'string') {
    if (!datetime) throw fail(path, `${head} midpoint ${show(v)} is a duration, which needs a datetime input (e.g. ["Dist", ["Attribute", "published_at"], "2026-01-01T00:00:00Z"]); use a number`);
    const ms = parseDuration(v);
    if (ms === null || !(ms > 0)) throw fail(path, `${head} midpoint ${show(v)} is not a positive duration such as "6h", "30m", "7d" (units ms, s, m, h, d, w)`);
    return ms;
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0)) {
    throw fail(path, `${head} midpoint must be a positive number${datetime ? ' of milliseconds or a duration string such as "6h"' : ''}, got ${show(v)}`);
  }
  return v;
}

function parseShape(node: unknown[], ctx: ParseCtx, path: string, depth: number): Parsed {
  const head = node[0] as string;
  if (node.length !== 3) throw fail(path, `${head} takes ["${head}", expr, {"midpoint": m, "exponent"?: e}]`);
  const child = parseNode(node[1], ctx, `${path}[1]`, depth + 1, true, false);
  const params = node[2];
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw fail(path, `${head} params must be an object like {"midpoint": 10}, got ${show(params)}`);
  }
  let midpoint: number | null = null;
  let exponent = 1;
  for (const [k, v] of Object.entries(params)) {
    if (k === 'midpoint') midpoint = parseMidpoint(v, child.datetime, head, `${path}[2].midpoint`);
    else if (k === 'exponent') {
      if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0)) throw fail(`${path}[2].exponent`, `${head} exponent must be a positive number, got ${show(v)}`);
      exponent = v;
    } else throw fail(path, `unknown ${head} param '${k}'; valid params: midpoint, exponent`);
  }
  if (midpoint === null) throw fail(path, `${head} needs a midpoint: ["${head}", expr, {"midpoint": m}]`);
  return { expr: { kind: head === 'Saturate' ? 'saturate' : 'decay', child: child.expr, midpoint, exponent }, datetime: false };
}

function parseDist(node: unknown[], ctx: ParseCtx, path: string, depth: number): Parsed {
  if (node.length !== 3) throw fail(path, 'Dist takes ["Dist", expr, origin]');
  const child = parseNode(node[1], ctx, `${path}[1]`, depth + 1, true, false);
  const o = node[2];
  let origin: number | null = null;
  if (typeof o === 'number' && Number.isFinite(o)) origin = o;
  else if (typeof o === 'string' && child.datetime) origin = parseDatetimeString(o);
  if (origin === null) {
    throw fail(
      `${path}[2]`,
      child.datetime
        ? `Dist origin must be a datetime (ISO 8601 string or epoch milliseconds), got ${show(o)}`
        : `Dist origin must be a finite number, got ${show(o)}`,
    );
  }
  // The distance between two datetimes is a duration: a Decay / Saturate above it may take "6h".
  return { expr: { kind: 'dist', child: child.expr, origin }, datetime: child.datetime };
}

function parseAttribute(node: unknown[], ctx: ParseCtx, path: string, clamped: boolean): Parsed {
  const attr = node[1];
  if (node.length !== 2 || typeof attr !== 'string') throw fail(path, `Attribute takes ["Attribute", "attr"], got ${show(node)}`);
  const entry = ctx.schema[attr];
  if (entry === undefined) throw fail(path, `attribute '${attr}' is not in the namespace schema`);
  if (!ATTRIBUTE_TYPES.has(entry.type)) {
    throw fail(path, `Attribute needs a numeric or datetime attribute (int, uint, float, datetime); '${attr}' has type ${entry.type}`);
  }
  if (SIGNED_TYPES.has(entry.type) && !clamped) {
    throw fail(
      path,
      `Attribute '${attr}' has the signed type ${entry.type}: wrap it so scores stay non-negative, e.g. ["Max", 0, ["Attribute", "${attr}"]], or use it under Saturate, Decay or Dist`,
    );
  }
  return { expr: { kind: 'attr', attr, datetime: entry.type === 'datetime' }, datetime: entry.type === 'datetime' };
}

function parseList(head: 'Sum' | 'Max', items: unknown[], ctx: ParseCtx, path: (i: number) => string, depth: number, clamped: boolean): Parsed {
  if (items.length === 0) throw fail(path(-1), `${head} needs at least one expression`);
  const children = items.map((c, i) => parseNode(c, ctx, path(i), depth + 1, clamped || head === 'Max', true).expr);
  if (children.every((c) => c.kind === 'const')) throw fail(path(-1), `${head} needs at least one expression that is not a number`);
  return { expr: { kind: head === 'Sum' ? 'sum' : 'max', children }, datetime: false };
}

/**
 * `clamped`: under Max, Saturate, Decay or Dist (a signed Attribute may appear there); `constOk`: a direct element of
 * a Sum / Max list, where a number is a constant.
 */
function parseNode(node: unknown, ctx: ParseCtx, path: string, depth: number, clamped: boolean, constOk: boolean): Parsed {
  if (depth > MAX_RANK_DEPTH) throw fail(path, `rank_by expressions nest deeper than ${MAX_RANK_DEPTH} levels`);
  if (typeof node === 'number' && constOk) {
    if (!Number.isFinite(node)) throw fail(path, `constants must be finite numbers, got ${show(node)}`);
    return { expr: { kind: 'const', value: node }, datetime: false };
  }
  if (!Array.isArray(node)) throw fail(path, `expected a text ranking expression such as ["attr", "BM25", "query"], got ${show(node)}`);
  if (node.length >= 3 && node[1] === 'BM25') return { expr: parseBm25(node, ctx.schema, path), datetime: false };
  const head = node[0];
  // Operator heads win over a filter on an attribute of the same name (["Max", "Eq", 1] is a filter: Max takes no string).
  const named = head === 'Sum' || head === 'Product' || head === 'Attribute' || SHAPES.has(head as string) || (head === 'Max' && typeof node[1] !== 'string');
  if (!named && isFilterNode(node)) {
    if (ctx.compileFilter === undefined) throw fail(path, `filters used as rank expressions are not supported here (got ${show(node)})`);
    const { test, attrs, compileLeaf } = ctx.compileFilter(node, path);
    return { expr: { kind: 'filter', test, attrs, source: node, ...(compileLeaf ? { compileLeaf } : {}) }, datetime: false };
  }
  if (head === 'Sum' || head === 'Max') {
    if (node.length === 2 && Array.isArray(node[1])) return parseList(head, node[1], ctx, (i) => (i < 0 ? path : `${path}[1][${i}]`), depth, clamped);
    if (head === 'Max' && node.length === 3) return parseList(head, [node[1], node[2]], ctx, (i) => (i < 0 ? path : `${path}[${i + 1}]`), depth, clamped);
    throw fail(path, head === 'Sum' ? 'Sum takes ["Sum", [expr, ...]]' : 'Max takes ["Max", [expr, ...]] or ["Max", a, b] (e.g. ["Max", 0, ["Attribute", "x"]])');
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
    if (!Number.isFinite(weight) || weight < 0) throw fail(path, `Product weight must be a finite non-negative number, got ${show(weight)}`);
    if (typeof pair[1 - wi] === 'number') throw fail(path, 'Product takes one weight and one expression, got two numbers');
    const offset = base === path ? 1 : 0;
    const child = parseNode(pair[1 - wi], ctx, `${base}[${1 - wi + offset}]`, depth + 1, clamped, false);
    return { expr: { kind: 'product', weight, child: child.expr }, datetime: false };
  }
  if (head === 'Attribute') return parseAttribute(node, ctx, path, clamped);
  if (head === 'Saturate' || head === 'Decay') return parseShape(node, ctx, path, depth);
  if (head === 'Dist') return parseDist(node, ctx, path, depth);
  throw fail(path, `expected a text ranking expression such as ["attr", "BM25", "query"], got ${show(node)}`);
}

function parseExpr(node: unknown, ctx: ParseCtx, path: string): TextRankExpr {
  return parseNode(node, ctx, path, 0, false, false).expr;
}

function children(e: TextRankExpr): readonly TextRankExpr[] {
  switch (e.kind) {
    case 'sum':
    case 'max':
      return e.children;
    case 'product':
    case 'saturate':
    case 'decay':
    case 'dist':
      return [e.child];
    default:
      return [];
  }
}

function collectAttrs(e: TextRankExpr, bm25: Set<string>, values: Set<string>, filters: Set<string>): void {
  if (e.kind === 'bm25') bm25.add(e.attr);
  else if (e.kind === 'attr') values.add(e.attr);
  else if (e.kind === 'filter') {
    for (const a of e.attrs) {
      values.add(a);
      filters.add(a);
    }
  }
  for (const c of children(e)) collectAttrs(c, bm25, values, filters);
}

/**
 * Validates a text rank_by against the schema (BM25 needs full_text_search, Attribute a numeric or datetime type) and
 * plans it. `compileFilter` compiles filters used as rank expressions (without it they are a 400).
 */
export function planTextRank(rankBy: unknown, schema: Schema, compileFilter?: RankFilterCompiler): TextRankPlan {
  const expr = parseExpr(rankBy, { schema, compileFilter }, 'rank_by');
  const attrs = new Set<string>();
  const valueAttrs = new Set<string>();
  const filterAttrs = new Set<string>();
  collectAttrs(expr, attrs, valueAttrs, filterAttrs);
  const attrLeaves = new Set<string>();
  const leavesOf = (e: TextRankExpr): void => {
    if (e.kind === 'attr') attrLeaves.add(e.attr);
    children(e).forEach(leavesOf);
  };
  leavesOf(expr);
  const compiled = compileTextRank(expr);
  const needs = new Map<string, { terms: Set<string>; prefixes: Set<string> }>();
  const walk = (e: TextRankExpr): void => {
    if (e.kind === 'bm25') {
      let n = needs.get(e.attr);
      if (n === undefined) needs.set(e.attr, (n = { terms: new Set(), prefixes: new Set() }));
      for (const t of e.query.terms) n.terms.add(t);
      if (e.query.prefix !== null) n.prefixes.add(e.query.prefix);
    } else children(e).forEach(walk);
  };
  walk(expr);
  return {
    attributes: [...attrs],
    valueAttributes: [...valueAttrs],
    filterAttributes: [...filterAttrs],
    orderAttributes: filterAttrs.size === 0 && attrLeaves.size === 1 && !attrLeaves.has('id') ? [...attrLeaves] : [],
    needs: [...needs].map(([attr, n]) => ({ attr, terms: [...n.terms], prefixes: [...n.prefixes] })),
    expr,
    evaluate: (docs, candidate) => compiled.evaluate(looseCorpus(docs), candidate, null),
    evaluateCorpus: (corpus, candidate, k) => compiled.evaluate(corpus, candidate, k),
    evaluateSources: (sources, k) => compiled.evaluateSources(sources, k),
    stream: (k) => compiled.stream(k),
    statisticsNeeds: (deadRows) => [...needs].map(([attr, n]) => ({ attr, terms: deadRows ? [...n.terms] : [], prefixes: [] })),
  };
}
