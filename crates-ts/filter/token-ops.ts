/**
 * Token operators: ContainsAllTokens, ContainsAnyToken, ContainsTokenSequence. Both sides are analysed with the
 * attribute's full_text_search config through crates-ts/fts (document analysis is memoised per Doc there).
 */
import type { Doc } from '../core/index.js';
import { analyzerFor, docTermsReader, type QueryTerms, type TextAnalyzer } from '../fts/index.js';
import { MATCH_NONE, checkRef, condFail, refName, type CompiledFilter, type CondCtx, type Op } from './condition.js';
import { describeValue } from './operand.js';


function tokenParams(c: CondCtx, params: unknown): boolean {
  if (params === undefined) return false;
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw condFail(c, `params must be an object like {"last_as_prefix": true}, got ${describeValue(params)}`);
  }
  let lastAsPrefix = false;
  for (const [k, v] of Object.entries(params)) {
    if (k !== 'last_as_prefix') throw condFail(c, `unknown param '${k}'; valid params: last_as_prefix`);
    if (typeof v !== 'boolean') throw condFail(c, `last_as_prefix must be a boolean, got ${describeValue(v)}`);
    lastAsPrefix = v;
  }
  return lastAsPrefix;
}

function isTokenInput(v: unknown): v is string | string[] {
  return typeof v === 'string' || (Array.isArray(v) && v.every((e) => typeof e === 'string'));
}

export function compileTokenOp(c: CondCtx, operand: unknown, params: unknown): CompiledFilter {
  const fts = c.a.fts;
  if (fts === null) throw condFail(c, 'token operators need full_text_search enabled on the attribute in the schema');
  const lastAsPrefix = tokenParams(c, params);
  const analyzer = analyzerFor(fts);
  const match = tokenMatcher(c.op, c.a.name, analyzer);
  const rn = refName(operand, c.path);
  if (rn !== null) {
    const rr = checkRef(c, rn, { scalarOnly: false });
    return (d, r) => {
      const x = rr(r);
      return isTokenInput(x) ? match(d, analyzer.query(x, lastAsPrefix)) : false;
    };
  }
  if (!isTokenInput(operand)) throw condFail(c, `needs a string or an array of strings, got ${describeValue(operand)}`);
  const q = analyzer.query(operand, lastAsPrefix);
  if (q.terms.length === 0 && q.prefix === null) return MATCH_NONE;
  return (d) => match(d, q);
}

function sequenceAt(tokens: readonly string[], q: QueryTerms): boolean {
  const n = q.terms.length + (q.prefix === null ? 0 : 1);
  if (n === 0) return false;
  outer: for (let i = 0; i + n <= tokens.length; i++) {
    for (let j = 0; j < q.terms.length; j++) if (tokens[i + j] !== q.terms[j]) continue outer;
    if (q.prefix !== null && !tokens[i + q.terms.length]!.startsWith(q.prefix)) continue;
    return true;
  }
  return false;
}

function tokenMatcher(op: Op, attr: string, analyzer: TextAnalyzer): (d: Doc, q: QueryTerms) => boolean {
  const read = docTermsReader(attr, analyzer);
  switch (op) {
    case 'ContainsAllTokens':
      return (d, q) => {
        if (q.terms.length === 0 && q.prefix === null) return false;
        const dt = read(d);
        if (dt === null) return false;
        for (const t of q.terms) if (dt.count(t) === 0) return false;
        return q.prefix === null || dt.prefixCount(q.prefix) > 0;
      };
    case 'ContainsAnyToken':
      return (d, q) => {
        const dt = read(d);
        if (dt === null) return false;
        for (const t of q.terms) if (dt.count(t) > 0) return true;
        return q.prefix !== null && dt.prefixCount(q.prefix) > 0;
      };
    default:
      return (d, q) => {
        const v = d.attrs[attr];
        if (typeof v === 'string' || analyzer.config.tokenizer === 'pre_tokenized_array') {
          const dt = read(d);
          return dt !== null && sequenceAt(dt.tokens, q);
        }
        if (!Array.isArray(v)) return false;
        // A phrase must not span two array elements.
        for (const tokens of analyzer.tokensPerValue(v as readonly string[])) if (sequenceAt(tokens, q)) return true;
        return false;
      };
  }
}
