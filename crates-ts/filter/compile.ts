/**
 * Filter compilation: a turbopuffer filter expression, validated against the schema, becomes one closure
 * `(doc, refNew?) => boolean`. All validation, operand normalisation, Set/RegExp/glob/token preparation happens
 * here once; the closure does no allocation for constant operands.
 *
 * Shapes:   [attr, op, operand] | [attr, op, operand, params] (token operators) |
 *           ["And", [f, ...]] | ["Or", [f, ...]] | ["Not", f]
 * ("And"/"Or"/"Not" followed by exactly one list / filter are logical; `["Not", "Eq", 1]` filters attribute "Not".)
 *
 * Semantics (turbopuffer's, decisions marked *):
 *   - A missing attribute and a null attribute are the same. `Eq null` matches docs where it is missing/null,
 *     `NotEq null` those where it is present. Every Not* operator is exactly the negation of its positive form
 *     (so `NotEq 5` also matches docs without the attribute*).
 *   - Eq with a scalar on an array attribute matches if any element equals it*; Eq with an array compares whole
 *     arrays (order matters)*. In matches if the value (or, for an array attribute, any element) is in the list;
 *     a null in the list matches missing/null values.
 *   - Contains / ContainsAny: an array attribute contains the value / any of the values.
 *   - Lt/Lte/Gt/Gte compare scalars: numbers numerically, strings (and UUIDs, datetimes in their stored ISO form)
 *     by UTF-16 code units. null (missing) orders before every value, as turbopuffer documents for Lt ("matches
 *     `null` attribute values unless the value passed to `Lt` is `null` itself") and Lte ("matches `null`
 *     attribute values"): Lt x / Lte x match missing values, Gt x / Gte x never do*; a null operand is accepted
 *     (Lt null: nothing, Lte null: the nulls, Gt null: every non-null value, Gte null: everything)*, so Not Lt is
 *     exactly Gte. AnyLt/...: any array element satisfies the comparison; a missing array follows the null rule
 *     ("the same rules as Lt"), an empty array has no element and never matches*.
 *   - Glob/IGlob/Regex on an array attribute match if any element matches*.
 *   - Fuzzy (fuzzy-ops.ts): Levenshtein distance of the whole value (any element) to the query, on attributes with
 *     schema `fuzzy: true` only.
 *   - ContainsAllTokens / ContainsAnyToken / ContainsTokenSequence analyse the attribute and the operand with the
 *     attribute's full_text_search config; `last_as_prefix` treats the operand's last word as a prefix. An operand
 *     with no tokens after analysis (e.g. only stop words) matches nothing*. A token sequence never spans two
 *     elements of a []string attribute.
 *   - `{"$ref_new": "attr"}` anywhere an operand (or an In / ContainsAny list element) may appear is the value
 *     of attr in the document being written. Only write conditions (callers pass allowRefNew) accept it*; in a
 *     query, delete_by_filter or patch_by_filter it is a 400 (there is no document being written: it would
 *     silently read as null).
 *   - Work limits (limits.ts): nodes, depth, pattern conditions, pattern bytes, array operand length.
 *   - * An attribute that is not in the schema is a 400 by default: the filter cannot match anything, and a typo
 *     in `delete_by_filter: ["stauts", "NotEq", "x"]` would otherwise delete every document. Callers that want
 *     turbopuffer-style "missing = null" evaluation pass `unknownAttributes: 'null'`.
 *   - Attributes with `filterable: false` (full-text attributes by default) accept only the token operators.
 */
import type { Schema } from '../core/index.js';
import {
  MATCH_ALL, MATCH_NONE, OPS, condFail, fail, info, not, readerFor, show, type CompiledFilter, type CondCtx, type Ctx, type Op,
} from './condition.js';
import { filterSize, MAX_FILTER_DEPTH, MAX_FILTER_NODES, MAX_OPERAND_VALUES, MAX_PATTERN_CONDITIONS } from './limits.js';
import { compileFuzzy } from './fuzzy-ops.js';
import { compilePattern } from './pattern-ops.js';
import { compileTokenOp } from './token-ops.js';
import { compileCompare, compileContains, compileContainsAny, compileEq, compileIn } from './value-ops.js';

export type { CompiledFilter };

export interface CompileOptions {
  /** Name of the filter in error messages (default 'filters'; e.g. 'upsert_condition'). */
  path?: string;
  /** 'error' (default): a filter on an attribute not in the schema is a 400. 'null': it reads as missing. */
  unknownAttributes?: 'error' | 'null';
  /** Accept `{"$ref_new": attr}` operands: only for write conditions (upsert/patch/delete_condition). Default false. */
  allowRefNew?: boolean;
}

const OP_SET = new Set<string>(OPS);
const TOKEN_OPS = new Set<string>(['ContainsAllTokens', 'ContainsAnyToken', 'ContainsTokenSequence']);
const GLOB_OPS = new Set<string>(['Glob', 'NotGlob', 'IGlob', 'NotIGlob']);

/** Validates and compiles; throws ElaxError ELAX_ERR_INVALID_FILTER. `null`/`undefined` filter = match all. */
export function compileFilter(filter: unknown, schema: Schema, options: CompileOptions = {}): CompiledFilter {
  if (filter === null || filter === undefined) return MATCH_ALL;
  const path = options.path ?? 'filters';
  const size = filterSize(filter);
  if (size.nodes > MAX_FILTER_NODES) {
    throw fail(path, `the filter has ${size.nodes} nodes (conditions, And, Or, Not); the limit is ${MAX_FILTER_NODES}`);
  }
  if (size.patterns > MAX_PATTERN_CONDITIONS) {
    throw fail(path, `the filter has ${size.patterns} Regex/Glob/Fuzzy conditions; the limit is ${MAX_PATTERN_CONDITIONS}`);
  }
  const ctx: Ctx = { schema, unknown: options.unknownAttributes ?? 'error', allowRefNew: options.allowRefNew ?? false, infos: new Map() };
  return compileNode(filter, path, ctx, 0);
}

function isLogical(f: unknown[]): boolean {
  if (f.length !== 2) return false;
  return ((f[0] === 'And' || f[0] === 'Or') && Array.isArray(f[1])) || f[0] === 'Not';
}

function compileNode(f: unknown, path: string, ctx: Ctx, depth: number): CompiledFilter {
  if (!Array.isArray(f)) {
    throw fail(path, `expected a filter array like ["attr", "Eq", value] or ["And", [...]], got ${show(f)}`);
  }
  if (depth > MAX_FILTER_DEPTH) throw fail(path, `filters nest deeper than ${MAX_FILTER_DEPTH} levels`);
  if (isLogical(f)) {
    if (f[0] === 'Not') {
      const c = compileNode(f[1], `${path}[1]`, ctx, depth + 1);
      return (d, r) => !c(d, r);
    }
    const cs = (f[1] as unknown[]).map((c, i) => compileNode(c, `${path}[1][${i}]`, ctx, depth + 1));
    return f[0] === 'And' ? and(cs) : or(cs);
  }
  if (f[0] === 'And' || f[0] === 'Or') {
    if (f.length === 2 || f.length === 1) throw fail(path, `${f[0]} takes a list of filters: ["${f[0]}", [filter, ...]], got ${show(f)}`);
  }
  if (f[0] === 'Not' && f.length === 1) throw fail(path, 'Not takes one filter: ["Not", filter]');
  return compileCondition(f, path, ctx);
}

function and(cs: CompiledFilter[]): CompiledFilter {
  if (cs.length === 0) return MATCH_ALL;
  if (cs.length === 1) return cs[0]!;
  if (cs.length === 2) {
    const [a, b] = cs as [CompiledFilter, CompiledFilter];
    return (d, r) => a(d, r) && b(d, r);
  }
  return (d, r) => {
    for (const c of cs) if (!c(d, r)) return false;
    return true;
  };
}

function or(cs: CompiledFilter[]): CompiledFilter {
  if (cs.length === 0) return MATCH_NONE;
  if (cs.length === 1) return cs[0]!;
  if (cs.length === 2) {
    const [a, b] = cs as [CompiledFilter, CompiledFilter];
    return (d, r) => a(d, r) || b(d, r);
  }
  return (d, r) => {
    for (const c of cs) if (c(d, r)) return true;
    return false;
  };
}

/** "Regex and Glob / NotGlob / IGlob / NotIGlob filters (schema regex: true, glob: true)": what a non-filterable attribute allows. */
function allowedPatterns(a: { regex: boolean; glob: boolean; fuzzy: boolean }): string {
  const ops: string[] = [];
  const opts: string[] = [];
  if (a.regex) ops.push('Regex'), opts.push('regex: true');
  if (a.glob) ops.push('Glob / NotGlob / IGlob / NotIGlob'), opts.push('glob: true');
  if (a.fuzzy) ops.push('Fuzzy'), opts.push('fuzzy: true');
  return `${ops.join(' and ')} filters (schema ${opts.join(', ')})`;
}

function compileCondition(f: unknown[], path: string, ctx: Ctx): CompiledFilter {
  const [attr, op] = f;
  if (typeof attr !== 'string') {
    throw fail(path, `expected ["attribute", "Operator", value] with a string attribute name, got ${show(f)}`);
  }
  if (typeof op !== 'string') throw fail(path, `expected an operator name after attribute '${attr}', got ${show(op)}`);
  if (!OP_SET.has(op)) {
    throw fail(path, `unknown filter operator '${op}' on attribute '${attr}'; valid operators: ${OPS.join(', ')}, And, Or, Not`);
  }
  const isToken = TOKEN_OPS.has(op);
  if (op === 'Fuzzy') {
    if (f.length !== 4) throw fail(path, `Fuzzy takes ["${attr}", "Fuzzy", "query", {"max_edit_distance": [{"distance": 1, "min_query_chars": 6}]}], got ${f.length} elements`);
  } else if (f.length < 3 || f.length > (isToken ? 4 : 3)) {
    throw fail(path, `${op} takes ["${attr}", "${op}", value${isToken ? ', params?' : ''}], got ${f.length} elements`);
  }
  const a = info(ctx, attr);
  const c: CondCtx = { ctx, a, op: op as Op, path };
  if (Array.isArray(f[2]) && f[2].length > MAX_OPERAND_VALUES) {
    throw condFail(c, `the operand has ${f[2].length} values; the limit is ${MAX_OPERAND_VALUES}`);
  }
  if (!a.known && ctx.unknown === 'error') throw condFail(c, `attribute '${attr}' is not in the namespace schema`);
  if (a.vector) throw condFail(c, 'vector attributes cannot be filtered');
  if (isToken) return compileTokenOp(c, f[2], f[3]);
  if (op === 'Fuzzy' && a.isId) throw condFail(c, 'Fuzzy filters apply to string attributes with schema "fuzzy": true, not to the id');
  if (op === 'Fuzzy' && a.known && !a.fuzzy) {
    throw condFail(c, `the attribute does not allow Fuzzy filters; enable them in its schema with {"type": "${a.array ? '[]' : ''}${a.kind}", "fuzzy": true}`);
  }
  // turbopuffer: `regex` / `glob` "enable Regex / Glob filters on this attribute", which then need not be filterable.
  const patternAllowed = (op === 'Regex' && a.regex) || (GLOB_OPS.has(op) && a.glob) || (op === 'Fuzzy' && a.fuzzy);
  if (!a.filterable && !patternAllowed) {
    throw condFail(
      c,
      a.fts !== null
        ? 'the attribute is not filterable (full-text search attributes are not filterable unless the schema sets filterable: true); use ContainsAllTokens / ContainsAnyToken / ContainsTokenSequence'
        : a.regex || a.glob || a.fuzzy
          ? `the attribute is not filterable (schema has filterable: false); it allows only ${allowedPatterns(a)}`
          : 'the attribute is not filterable (schema has filterable: false)',
    );
  }
  const get = readerFor(a);
  const operand = f[2];
  switch (c.op) {
    case 'Eq':
      return compileEq(c, get, operand);
    case 'NotEq':
      return not(compileEq(c, get, operand));
    case 'In':
      return compileIn(c, get, operand);
    case 'NotIn':
      return not(compileIn(c, get, operand));
    case 'Contains':
      return compileContains(c, get, operand);
    case 'NotContains':
      return not(compileContains(c, get, operand));
    case 'ContainsAny':
      return compileContainsAny(c, get, operand);
    case 'NotContainsAny':
      return not(compileContainsAny(c, get, operand));
    case 'Lt':
    case 'Lte':
    case 'Gt':
    case 'Gte':
      return compileCompare(c, get, operand, false);
    case 'AnyLt':
    case 'AnyLte':
    case 'AnyGt':
    case 'AnyGte':
      return compileCompare(c, get, operand, true);
    case 'Glob':
    case 'IGlob':
    case 'Regex':
      return compilePattern(c, get, operand);
    case 'NotGlob':
    case 'NotIGlob':
      return not(compilePattern(c, get, operand));
    case 'Fuzzy':
      return compileFuzzy(c, get, operand, f[3]);
    default:
      throw condFail(c, 'unsupported operator'); // unreachable: OP_SET and the cases agree
  }
}
