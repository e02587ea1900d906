/**
 * Pattern operators: Glob / NotGlob, IGlob / NotIGlob (glob.ts) and Regex (regex.ts), on string-typed attributes
 * (string, uuid, datetime); on an array attribute any element may match. Both compile to linear-time matchers
 * (re2js), so no pattern can make evaluation run away; patterns are capped at MAX_PATTERN_BYTES.
 */
import { checkRef, condFail, refName, type CompiledFilter, type CondCtx, type Op, type Reader } from './condition.js';
import { compileGlob, GlobSyntaxError } from './glob.js';
import { describeValue } from './operand.js';
import { compileRegex, quotePattern, type StringMatcher } from './regex.js';

const STRINGY = new Set(['string', 'uuid', 'datetime', 'any']);

/** String predicate for Glob / IGlob / Regex, or an error message. */
function patternMatcher(op: Op, pattern: string): StringMatcher | { error: string } {
  if (op === 'Regex') return compileRegex(pattern);
  try {
    return compileGlob(pattern, op === 'IGlob' || op === 'NotIGlob');
  } catch (e) {
    if (e instanceof GlobSyntaxError) return { error: `invalid glob pattern ${quotePattern(pattern)}: ${e.message}` };
    throw e;
  }
}

function matchAnyString(v: unknown, m: StringMatcher): boolean {
  if (typeof v === 'string') return m(v);
  if (Array.isArray(v)) {
    for (const e of v) if (typeof e === 'string' && m(e)) return true;
  }
  return false;
}

export function compilePattern(c: CondCtx, get: Reader, operand: unknown): CompiledFilter {
  if (!STRINGY.has(c.a.kind)) throw condFail(c, `needs a string attribute, but the attribute has type ${c.a.array ? '[]' : ''}${c.a.kind}`);
  const rn = refName(operand, c.path);
  if (rn !== null) {
    const rr = checkRef(c, rn, { scalarOnly: true });
    // Patterns from the new document are compiled per evaluation (memoised on the last one); a malformed one
    // matches nothing, since a 400 is no longer possible at that point.
    let lastPattern: unknown;
    let lastMatcher: StringMatcher = () => false;
    return (d, r) => {
      const p = rr(r);
      if (typeof p !== 'string') return false;
      if (p !== lastPattern) {
        const m = patternMatcher(c.op, p);
        lastMatcher = typeof m === 'function' ? m : () => false;
        lastPattern = p;
      }
      return matchAnyString(get(d), lastMatcher);
    };
  }
  if (typeof operand !== 'string') throw condFail(c, `needs a pattern string, got ${describeValue(operand)}`);
  const m = patternMatcher(c.op, operand);
  if (typeof m !== 'function') throw condFail(c, m.error);
  return (d) => matchAnyString(get(d), m);
}
