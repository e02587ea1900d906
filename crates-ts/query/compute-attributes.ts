/**
 * compute_attributes (turbopuffer query parameter: "Computes additional values on documents returned by a query. Each
 * key is the name of the computed attribute; each value is an expression describing how to compute it").
 *
 * Computed only for the rows a query returns (after top-k / limit / limit.per), never for candidates: the engine
 * materializes the returned rows' documents (with the attributes the expressions read), builds the rows, then calls
 * applyComputed. A computed value is a key of the row like an attribute, after the projected attributes.
 *
 * Expressions (the client's `Expr` types, resources/custom.d.ts):
 *   [attr, "VectorDist", vector]        the distance of the row's vector to `vector` (number[] or base64 float32),
 *                                       with the query's metric (distance_metric, else the namespace's): the same
 *                                       function and so the same number `$dist` gives for ["vector", "kNN", vector].
 *                                       A row without a vector gets no value (the key is omitted, as for a missing
 *                                       attribute).
 *   ["Highlight", attr]                 fragments of a full-text attribute that match the query, best first:
 *   ["Highlight", attr, {fragment_by, fragment_limit, include_offsets, rank_fragments_by}]
 *       fragment_by      'sentence' (default: Unicode sentence boundaries, Intl.Segmenter), 'paragraph' (text between
 *                        line breaks), 'word' (each token of the attribute's tokenizer), 'none' (the whole value);
 *                        fragments are trimmed of surrounding white space, empty ones dropped.
 *       rank_fragments_by a text rank expression; default the query's rank_by. The row's fragments are the corpus:
 *                        each fragment is scored as a document holding only `attr` (clauses over other attributes
 *                        score 0), BM25 statistics over this row's fragments; fragments scoring 0 are dropped.
 *       fragment_limit   most fragments returned (default 3, 1..1024), by score descending, then position.
 *       include_offsets  'utf-8' | 'utf-16' | 'codepoints': each fragment also carries `fragment_range` [start, end)
 *                        of the fragment in the value and `match_ranges` [[start, end), ...] of the tokens that match
 *                        a query term (analysed with the attribute's full_text_search config; a last_as_prefix
 *                        query's last word matches tokens it prefixes), in the value, in those units; a []string
 *                        value's fragments also carry `array_index` (the element the offsets are in).
 *   The value is an array of {text, ...} objects ([] when nothing matches or the row has no text).
 *
 * Not supported (400 naming the expression): ["Embed", ...] (elax has no embedding provider), {"$ref_new": ...}
 * (conditional writes only), rank expressions such as BM25 clauses or ANN used as computed values.
 */
import type { Doc, DistanceMetric, Schema } from '../core/index.js';
import { analyzerFor, fullTextConfigOf, planTextRank, type TextAnalyzer, type TextRankPlan } from '../fts/index.js';
import { distanceTo } from './distance.js';
import { vectorDims } from './parse-rank-by.js';
import { attrVectorDistance } from './attr-vector.js';
import { isPlainObject, queryError, show } from './parse-util.js';
import { decodeBase64Vector } from './vector-codec.js';
import type { RankPlan, Row } from './types.js';

export const MAX_COMPUTE_ATTRIBUTES = 64;
export const DEFAULT_FRAGMENT_LIMIT = 3;
export const MAX_FRAGMENT_LIMIT = 1024;

export type FragmentBy = 'none' | 'sentence' | 'paragraph' | 'word';
export type OffsetUnits = 'utf-8' | 'utf-16' | 'codepoints';
const FRAGMENT_BY: readonly FragmentBy[] = ['none', 'sentence', 'paragraph', 'word'];
const OFFSET_UNITS: readonly OffsetUnits[] = ['utf-8', 'utf-16', 'codepoints'];
const HIGHLIGHT_KEYS = new Set(['fragment_by', 'fragment_limit', 'include_offsets', 'rank_fragments_by']);
/** Row keys a computed attribute may not take: turbopuffer's row fields. */
const RESERVED = new Set(['id', 'vector', '$dist']);

export interface VectorDistSpec {
  kind: 'vector_dist';
  name: string;
  attr: string;
  dist: (v: Float32Array) => number;
  dims: number;
  /** For a vector attribute other than `vector` (RFC-0014): the distance from the row's stored value. */
  ofValue?: (value: unknown) => number | undefined;
}

export interface HighlightSpec {
  kind: 'highlight';
  name: string;
  attr: string;
  analyzer: TextAnalyzer;
  fragmentBy: FragmentBy;
  fragmentLimit: number;
  offsets: OffsetUnits | null;
  plan: TextRankPlan;
  /** Analysed query terms over `attr` (what a matching token's term is one of). */
  terms: ReadonlySet<string>;
  /** last_as_prefix words over `attr`: a token whose term starts with one matches. */
  prefixes: readonly string[];
}

export type ComputeSpec = VectorDistSpec | HighlightSpec;

export interface ComputeContext {
  schema: Schema;
  /** The query's rank (Highlight's default rank_fragments_by). */
  rank: RankPlan | null;
  /** The query's distance metric (distance_metric, else the namespace's, else cosine_distance), as ranking uses. */
  metric: DistanceMetric;
}

/** compute_attributes → specs, or a 400 naming the attribute and the problem. */
export function parseComputeAttributes(raw: unknown, ctx: ComputeContext): ComputeSpec[] {
  if (!isPlainObject(raw)) throw queryError(`compute_attributes must be an object of {name: expression}, got ${show(raw)}`);
  const entries = Object.entries(raw);
  if (entries.length > MAX_COMPUTE_ATTRIBUTES) {
    throw queryError(`compute_attributes has ${entries.length} entries; the limit is ${MAX_COMPUTE_ATTRIBUTES}`);
  }
  return entries.map(([name, expr]) => {
    const where = `compute_attributes.${name}`;
    if (name === '') throw queryError('compute_attributes: a computed attribute name must not be empty');
    // A key assigned to a plain object: '__proto__' would replace the row's prototype instead of adding a value.
    if (name === '__proto__') throw queryError(`${where}: '__proto__' cannot be an attribute name`);
    if (RESERVED.has(name) || name.startsWith('$')) {
      throw queryError(`${where}: the name '${name}' is reserved for the row's own fields (id, vector, $dist, $...)`);
    }
    if (Object.prototype.hasOwnProperty.call(ctx.schema, name)) {
      throw queryError(`${where}: the name clashes with the namespace attribute '${name}'; choose another name`);
    }
    return parseExpr(name, where, expr, ctx);
  });
}

function parseExpr(name: string, where: string, expr: unknown, ctx: ComputeContext): ComputeSpec {
  if (isPlainObject(expr) && Object.hasOwn(expr, '$ref_new')) {
    throw queryError(`${where}: {"$ref_new": ...} refers to a conditional write's new row; it cannot be computed for query rows`);
  }
  if (!Array.isArray(expr) || expr.length === 0) {
    throw queryError(`${where}: expected an expression such as ["vector", "VectorDist", [...]] or ["Highlight", "attr"], got ${show(expr)}`);
  }
  if (expr[0] === 'Highlight') return parseHighlight(name, where, expr, ctx);
  if (expr[1] === 'VectorDist') return parseVectorDist(name, where, expr, ctx);
  if (expr[0] === 'Embed') throw queryError(`${where}: "Embed" is not supported (elax has no embedding provider)`);
  // The operator: a leading capitalised name (["Sum", ...], ["Bogus", ...]), else the second element ([attr, op, ...]).
  const op = typeof expr[0] === 'string' && /^[A-Z]/.test(expr[0]) ? expr[0] : typeof expr[1] === 'string' ? expr[1] : typeof expr[0] === 'string' ? expr[0] : null;
  if (op !== null && /^(ANN|kNN|BM25|SparseKNN|Sum|Max|Product|Saturate|Decay|Dist|Attribute|asc|desc)$/.test(op)) {
    throw queryError(`${where}: the rank expression "${op}" cannot be a computed attribute in elax; supported: VectorDist and Highlight`);
  }
  throw queryError(`${where}: unknown expression ${show(op ?? expr)}; supported: [attr, "VectorDist", vector] and ["Highlight", attr, {...}]`);
}

function parseVectorDist(name: string, where: string, expr: unknown[], ctx: ComputeContext): VectorDistSpec {
  if (expr.length !== 3) throw queryError(`${where}: VectorDist takes [attr, "VectorDist", vector], got ${expr.length} elements`);
  const attr = expr[0];
  if (typeof attr !== 'string') throw queryError(`${where}: VectorDist attribute must be a string, got ${show(attr)}`);
  if (attr !== 'vector') {
    if (!Object.prototype.hasOwnProperty.call(ctx.schema, attr)) throw queryError(`${where}: attribute '${attr}' does not exist in the namespace schema`);
    const a = ctx.schema[attr]!;
    const m = /^\[(\d+)\]f(32|16)$/.exec(a.type);
    if (m === null) throw queryError(`${where}: VectorDist needs a vector attribute; '${attr}' has type ${a.type}`);
    // Another vector column (RFC-0014): its distance as ranking by it would give (the rank's metric when the query
    // ranks by it, else the attribute's own metric, else the query's / namespace's).
    const dims = Number(m[1]);
    const query = parseVector(where, expr[2], dims);
    const own = typeof a.ann === 'object' && a.ann !== null ? a.ann.distance_metric : undefined;
    const metric = ctx.rank?.kind === 'attr_vector' && ctx.rank.attr === attr ? ctx.rank.metric : (own ?? ctx.metric);
    const d = attrVectorDistance(metric, query);
    return { kind: 'vector_dist', name, attr, dist: distanceTo(metric, query), dims, ofValue: (v) => d(v) ?? undefined };
  }
  const dims = vectorDims(ctx.schema);
  if (dims === null) throw queryError(`${where}: the namespace has no vectors, so VectorDist cannot be computed`);
  const query = parseVector(where, expr[2], dims);
  return { kind: 'vector_dist', name, attr, dist: distanceTo(ctx.metric, query), dims };
}

function parseVector(where: string, raw: unknown, dims: number): Float32Array {
  let v: Float32Array;
  if (typeof raw === 'string') {
    const decoded = decodeBase64Vector(raw);
    if (!decoded) throw queryError(`${where}: the vector string is not base64 of little-endian float32 values`);
    v = decoded;
  } else if (Array.isArray(raw)) {
    v = new Float32Array(raw.length);
    raw.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw queryError(`${where}: vector element ${i} must be a finite number, got ${show(x)}`);
      v[i] = x;
    });
  } else {
    throw queryError(`${where}: VectorDist needs a vector (number array or base64 string), got ${show(raw)}`);
  }
  if (v.length !== dims) throw queryError(`${where}: the vector has ${v.length} dimensions but the namespace's vectors have ${dims}`);
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) throw queryError(`${where}: vector element ${i} is not a finite float32`);
  return v;
}

function parseHighlight(name: string, where: string, expr: unknown[], ctx: ComputeContext): HighlightSpec {
  if (expr.length < 2 || expr.length > 3) throw queryError(`${where}: Highlight takes ["Highlight", attr] or ["Highlight", attr, {...}]`);
  const attr = expr[1];
  if (typeof attr !== 'string') throw queryError(`${where}: Highlight attribute must be a string, got ${show(attr)}`);
  const entry = ctx.schema[attr];
  if (entry === undefined) throw queryError(`${where}: attribute '${attr}' does not exist in the namespace schema`);
  const config = fullTextConfigOf(entry.full_text_search, attr);
  if (config === null) throw queryError(`${where}: Highlight needs an attribute with full_text_search; '${attr}' has none`);
  if (config.tokenizer === 'pre_tokenized_array') {
    throw queryError(`${where}: '${attr}' uses tokenizer pre_tokenized_array, which has no text to highlight`);
  }
  const params = expr[2] ?? {};
  if (!isPlainObject(params)) throw queryError(`${where}: Highlight parameters must be an object, got ${show(params)}`);
  for (const k of Object.keys(params)) {
    if (!HIGHLIGHT_KEYS.has(k)) throw queryError(`${where}: unknown Highlight parameter '${k}' (expected one of ${[...HIGHLIGHT_KEYS].join(', ')})`);
  }
  const fragmentBy = params.fragment_by ?? 'sentence';
  if (!FRAGMENT_BY.includes(fragmentBy as FragmentBy)) {
    throw queryError(`${where}: fragment_by must be one of ${FRAGMENT_BY.join(', ')}, got ${show(fragmentBy)}`);
  }
  const limit = params.fragment_limit ?? DEFAULT_FRAGMENT_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_FRAGMENT_LIMIT) {
    throw queryError(`${where}: fragment_limit must be an integer in 1..${MAX_FRAGMENT_LIMIT}, got ${show(limit)}`);
  }
  const offsets = params.include_offsets ?? null;
  if (offsets !== null && !OFFSET_UNITS.includes(offsets as OffsetUnits)) {
    throw queryError(`${where}: include_offsets must be one of ${OFFSET_UNITS.join(', ')}, got ${show(offsets)}`);
  }
  let plan: TextRankPlan;
  if (params.rank_fragments_by !== undefined && params.rank_fragments_by !== null) {
    try {
      plan = planTextRank(params.rank_fragments_by, ctx.schema);
    } catch (e) {
      throw queryError(`${where}: rank_fragments_by: ${(e as Error).message}`);
    }
  } else if (ctx.rank?.kind === 'text') {
    plan = ctx.rank.plan;
  } else {
    throw queryError(`${where}: Highlight ranks fragments by the query's BM25 clauses over '${attr}', and rank_by has none; give rank_fragments_by`);
  }
  const terms = new Set<string>();
  const prefixes: string[] = [];
  if (!collectClauses(plan.expr, attr, terms, prefixes)) {
    const from = params.rank_fragments_by !== undefined ? 'rank_fragments_by' : 'rank_by';
    throw queryError(`${where}: ${from} has no BM25 clause over '${attr}', so nothing in '${attr}' can be highlighted`);
  }
  return {
    kind: 'highlight',
    name,
    attr,
    analyzer: analyzerFor(config),
    fragmentBy: fragmentBy as FragmentBy,
    fragmentLimit: limit,
    offsets: offsets as OffsetUnits | null,
    plan,
    terms,
    prefixes,
  };
}

/**
 * Adds the query terms and prefixes of every BM25 clause over `attr`, wherever it sits in a text rank expression;
 * true if there is one (its query may still have no terms after analysis, e.g. only stop words: nothing matches).
 */
function collectClauses(e: unknown, attr: string, terms: Set<string>, prefixes: string[]): boolean {
  if (e === null || typeof e !== 'object') return false;
  if (Array.isArray(e)) {
    let found = false;
    for (const c of e) found = collectClauses(c, attr, terms, prefixes) || found;
    return found;
  }
  const node = e as Record<string, unknown>;
  if (node.kind === 'bm25') {
    if (node.attr !== attr) return false;
    const q = node.query as { terms: string[]; prefix: string | null };
    for (const t of q.terms) terms.add(t);
    if (q.prefix !== null && q.prefix !== '') prefixes.push(q.prefix);
    return true;
  }
  let found = false;
  for (const k of ['children', 'child']) if (k in node) found = collectClauses(node[k], attr, terms, prefixes) || found;
  return found;
}

/** What the returned rows' documents must carry for the expressions (besides the projection). */
export function computeNeeds(specs: readonly ComputeSpec[]): { attrs: string[]; vector: boolean } {
  const attrs = new Set<string>();
  let vector = false;
  for (const s of specs) {
    if (s.kind === 'vector_dist' && s.attr === 'vector') vector = true;
    else attrs.add(s.attr);
  }
  return { attrs: [...attrs], vector };
}

/** Sets each computed attribute on each returned row (`docs[i]` is the document of `rows[i]`). */
export function applyComputed(specs: readonly ComputeSpec[], docs: readonly Doc[], rows: Row[]): void {
  for (let i = 0; i < rows.length; i++) {
    const doc = docs[i]!;
    const row = rows[i]!;
    for (const s of specs) {
      const v = s.kind === 'vector_dist' ? vectorDist(s, doc) : highlight(s, doc.attrs[s.attr]);
      if (v !== undefined) row[s.name] = v;
    }
  }
}

function vectorDist(s: VectorDistSpec, doc: Doc): number | undefined {
  if (s.ofValue !== undefined) return s.ofValue(doc.attrs[s.attr]);
  const v = doc.vector;
  return v && v.length === s.dims ? s.dist(v) : undefined;
}

export interface HighlightFragment {
  text: string;
  fragment_range?: [number, number];
  match_ranges?: Array<[number, number]>;
  array_index?: number;
}

interface Fragment {
  elem: number;
  start: number;
  end: number;
}

/** The Highlight of one value (a string, or a []string's elements); [] when nothing matches. */
export function highlight(s: HighlightSpec, value: unknown): HighlightFragment[] {
  const isArray = Array.isArray(value);
  const elems: Array<string | null> = typeof value === 'string' ? [value] : isArray ? value.map((x) => (typeof x === 'string' ? x : null)) : [];
  const fragments: Fragment[] = [];
  elems.forEach((text, elem) => {
    if (text === null) return;
    for (const [start, end] of fragmentRanges(text, s.fragmentBy, s.analyzer)) fragments.push({ elem, start, end });
  });
  if (fragments.length === 0) return [];
  const fragDocs: Doc[] = fragments.map((f, i) => ({ id: i, vector: null, attrs: { [s.attr]: elems[f.elem]!.slice(f.start, f.end) } }));
  const scored = s.plan.evaluate(fragDocs);
  scored.sort((a, b) => {
    const fa = fragments[a.doc.id as number]!;
    const fb = fragments[b.doc.id as number]!;
    return b.score - a.score || fa.elem - fb.elem || fa.start - fb.start;
  });
  const best = scored.slice(0, s.fragmentLimit).map((x) => fragments[x.doc.id as number]!);
  if (s.offsets === null) return best.map((f) => ({ text: elems[f.elem]!.slice(f.start, f.end) }));

  const spansOf = new Map<number, Array<[number, number]>>();
  const matches = (elem: number): Array<[number, number]> => {
    let m = spansOf.get(elem);
    if (!m) {
      m = [];
      for (const t of s.analyzer.spans(elems[elem]!)) if (t.term !== null && isMatch(s, t.term)) m.push([t.start, t.end]);
      spansOf.set(elem, m);
    }
    return m;
  };
  const out = best.map((f) => {
    const r: HighlightFragment = {
      text: elems[f.elem]!.slice(f.start, f.end),
      fragment_range: [f.start, f.end],
      match_ranges: matches(f.elem).filter(([a, b]) => a >= f.start && b <= f.end),
    };
    if (isArray) r.array_index = f.elem;
    return r;
  });
  if (s.offsets !== 'utf-16') {
    // Convert every reported position of an element in one forward pass over its text.
    const byElem = new Map<number, HighlightFragment[]>();
    best.forEach((f, i) => {
      const list = byElem.get(f.elem);
      if (list) list.push(out[i]!);
      else byElem.set(f.elem, [out[i]!]);
    });
    for (const [elem, frs] of byElem) {
      const positions: number[] = [];
      for (const r of frs) {
        positions.push(...r.fragment_range!);
        for (const m of r.match_ranges!) positions.push(...m);
      }
      const conv = convertOffsets(elems[elem]!, positions, s.offsets);
      for (const r of frs) {
        r.fragment_range = [conv.get(r.fragment_range![0])!, conv.get(r.fragment_range![1])!];
        r.match_ranges = r.match_ranges!.map(([a, b]) => [conv.get(a)!, conv.get(b)!]);
      }
    }
  }
  return out;
}

function isMatch(s: HighlightSpec, term: string): boolean {
  if (s.terms.has(term)) return true;
  for (const p of s.prefixes) if (term.startsWith(p)) return true;
  return false;
}

let sentenceSegmenter: Intl.Segmenter | null = null;
const PARAGRAPH_BREAK = /[^\S\r\n\u2029]*(?:\r\n|\r|\n|\u2029)\s*/g;

/** [start, end) UTF-16 ranges of the fragments of `text`, in order, trimmed of white space, none empty. */
export function fragmentRanges(text: string, by: FragmentBy, analyzer: TextAnalyzer): Array<[number, number]> {
  switch (by) {
    case 'none':
      return text.length > 0 ? [[0, text.length]] : [];
    case 'word':
      return analyzer.spans(text).map((t) => [t.start, t.end]);
    case 'sentence': {
      sentenceSegmenter ??= new Intl.Segmenter('und', { granularity: 'sentence' });
      const out: Array<[number, number]> = [];
      for (const seg of sentenceSegmenter.segment(text)) pushTrimmed(out, text, seg.index, seg.index + seg.segment.length);
      return out;
    }
    case 'paragraph': {
      const out: Array<[number, number]> = [];
      let start = 0;
      for (const m of text.matchAll(PARAGRAPH_BREAK)) {
        pushTrimmed(out, text, start, m.index!);
        start = m.index! + m[0].length;
      }
      pushTrimmed(out, text, start, text.length);
      return out;
    }
  }
}

const WS = /\s/;
function pushTrimmed(out: Array<[number, number]>, text: string, start: number, end: number): void {
  while (start < end && WS.test(text[start]!)) start++;
  while (end > start && WS.test(text[end - 1]!)) end--;
  if (end > start) out.push([start, end]);
}

/** UTF-16 positions in `text` → the same positions in UTF-8 bytes or code points (one forward pass). */
export function convertOffsets(text: string, positions: readonly number[], unit: OffsetUnits): Map<number, number> {
  const sorted = [...new Set(positions)].sort((a, b) => a - b);
  const out = new Map<number, number>();
  let i = 0;
  let acc = 0;
  for (const p of sorted) {
    while (i < p) {
      const c = text.charCodeAt(i);
      const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      if (unit === 'utf-16') acc += pair ? 2 : 1;
      else if (unit === 'codepoints') acc += 1;
      else acc += pair ? 4 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
      i += pair ? 2 : 1;
    }
    out.set(p, acc);
  }
  return out;
}
