/**
 * Property test: compileFilter agrees with a tiny interpretive reference evaluator, written from the documented
 * semantics without sharing code, on random documents and random filters (all operators, nested logic,
 * $ref_new operands, datetime operands given as epoch ms).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttrValue, Doc, Schema } from '../core/index.js';
import { normalizeFullTextConfig } from '../fts/index.js';
import { compileFilter } from './index.js';

const schema: Schema = {
  id: { type: 'uint' },
  s: { type: 'string' },
  n: { type: 'int' },
  f: { type: 'float' },
  b: { type: 'bool' },
  tags: { type: '[]string' },
  nums: { type: '[]int' },
  dt: { type: 'datetime' },
  body: { type: 'string', full_text_search: normalizeFullTextConfig(true, 'body') },
};

// Small domains so that equality and membership hit often.
const WORDS = ['ab', 'b', 'ba', 'Ab', 'c', 'abc'];
const TEXT_WORDS = ['fox', 'Fox', 'the', 'dog', 'dogs', 'a', 'run'];
const DATES = [0, 86_400_000, 1_700_000_000_000, 1_700_000_000_001];
const STOP = new Set(['the', 'a']);

const str = fc.constantFrom(...WORDS);
const int = fc.integer({ min: -3, max: 3 });
const num = fc.constantFrom(-1.5, 0, 0.5, 2, 3);
const date = fc.constantFrom(...DATES);

const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> =>
  fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constant(undefined) });

const docArb: fc.Arbitrary<Doc> = fc
  .record({
    id: fc.integer({ min: 0, max: 5 }),
    s: maybe(str),
    n: maybe(int),
    f: maybe(num),
    b: maybe(fc.boolean()),
    tags: maybe(fc.array(str, { maxLength: 3 })),
    nums: maybe(fc.array(int, { maxLength: 3 })),
    dt: maybe(date.map((d) => new Date(d).toISOString())),
    body: maybe(fc.array(fc.constantFrom(...TEXT_WORDS), { maxLength: 5 }).map((w) => w.join(' '))),
  })
  .map(({ id, ...rest }) => {
    const attrs: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) attrs[k] = v as AttrValue;
    return { id, vector: null, attrs };
  });

const ref = (attr: string) => fc.constant({ $ref_new: attr });

/** Leaf conditions, typed per attribute. */
const leafArb: fc.Arbitrary<unknown[]> = fc.oneof(
  fc.tuple(fc.constant('s'), fc.constantFrom('Eq', 'NotEq'), fc.oneof(str, fc.constant(null), ref('s'))),
  fc.tuple(fc.constant('s'), fc.constantFrom('In', 'NotIn'), fc.array(fc.oneof(str, fc.constant(null)), { maxLength: 3 })),
  fc.tuple(fc.constant('s'), fc.constantFrom('Lt', 'Lte', 'Gt', 'Gte'), fc.oneof(str, ref('s'), fc.constant(null))),
  fc.tuple(fc.constant('s'), fc.constantFrom('Glob', 'NotGlob', 'IGlob', 'NotIGlob'), fc.constantFrom('a*', '*b', '?b', '[ab]*', '[!a]*', 'ab')),
  fc.tuple(fc.constant('s'), fc.constant('Regex'), fc.constantFrom('^a', 'b$', 'a.c', 'B')),
  fc.tuple(fc.constant('n'), fc.constantFrom('Eq', 'NotEq', 'Lt', 'Lte', 'Gt', 'Gte'), fc.oneof(int, num, ref('n'), ref('f'), fc.constant(null))),
  fc.tuple(fc.constant('n'), fc.constantFrom('In', 'NotIn'), fc.array(fc.oneof(int, fc.constant(null)), { maxLength: 3 })),
  fc.tuple(fc.constant('f'), fc.constantFrom('Eq', 'Lt', 'Gte'), fc.oneof(num, int)),
  fc.tuple(fc.constant('b'), fc.constantFrom('Eq', 'NotEq'), fc.oneof(fc.boolean(), fc.constant(null))),
  fc.tuple(fc.constant('id'), fc.constantFrom('Eq', 'NotEq', 'Lt', 'Gte'), fc.integer({ min: 0, max: 5 })),
  fc.tuple(fc.constant('id'), fc.constantFrom('In', 'NotIn'), fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 })),
  fc.tuple(fc.constant('tags'), fc.constantFrom('Eq', 'NotEq'), fc.oneof(str, fc.constant(null), fc.array(str, { maxLength: 2 }))),
  fc.tuple(fc.constant('tags'), fc.constantFrom('In', 'NotIn', 'ContainsAny', 'NotContainsAny'), fc.array(str, { maxLength: 3 })),
  fc.tuple(fc.constant('tags'), fc.constantFrom('Contains', 'NotContains'), fc.oneof(str, ref('s'))),
  fc.tuple(fc.constant('tags'), fc.constantFrom('AnyLt', 'AnyGte', 'Glob'), fc.constantFrom('b', 'ab', 'a*')),
  fc.tuple(fc.constant('nums'), fc.constantFrom('AnyLt', 'AnyLte', 'AnyGt', 'AnyGte', 'Contains', 'NotContains'), int),
  fc.tuple(fc.constant('nums'), fc.constantFrom('AnyLt', 'AnyLte', 'AnyGt', 'AnyGte'), fc.oneof(fc.constant(null), ref('n'))),
  fc.tuple(fc.constant('dt'), fc.constantFrom('Eq', 'NotEq', 'Lt', 'Lte', 'Gt', 'Gte'), fc.oneof(date, ref('dt'), fc.constant(null))),
  fc.tuple(fc.constant('body'), fc.constantFrom('ContainsAllTokens', 'ContainsAnyToken', 'ContainsTokenSequence'), fc.array(fc.constantFrom(...TEXT_WORDS), { minLength: 1, maxLength: 3 }).map((w) => w.join(' '))),
);

const filterArb: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: leafArb },
    { weight: 1, arbitrary: fc.tuple(fc.constant('Not'), tie('node')) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('And', 'Or'), fc.array(tie('node'), { maxLength: 3 })) },
  ),
})).node;

// ------------------------------------------------------------------------------------------- reference

function refGlob(p: string, v: string): boolean {
  // Patterns here use only *, ?, [ab], [!a] and letters.
  const re = p
    .replace(/\[!/g, '[^')
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c))
    .join('');
  return new RegExp(`^${re}$`, 's').test(v);
}

function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((w) => w !== '' && !STOP.has(w));
}

function evalRef(f: unknown[], doc: Doc, newDoc: Doc): boolean {
  if (f.length === 2 && f[0] === 'Not') return !evalRef(f[1] as unknown[], doc, newDoc);
  if (f.length === 2 && f[0] === 'And') return (f[1] as unknown[][]).every((c) => evalRef(c, doc, newDoc));
  if (f.length === 2 && f[0] === 'Or') return (f[1] as unknown[][]).some((c) => evalRef(c, doc, newDoc));
  const [attr, op, raw] = f as [string, string, unknown];
  const read = (d: Doc, a: string): unknown => (a === 'id' ? d.id : (d.attrs[a] ?? null));
  let x: unknown = raw;
  if (x !== null && typeof x === 'object' && !Array.isArray(x)) x = read(newDoc, (x as { $ref_new: string }).$ref_new);
  if (attr === 'dt' && typeof x === 'number') x = new Date(x).toISOString();
  const v = read(doc, attr);
  const elems: unknown[] = v === null ? [] : Array.isArray(v) ? v : [v];
  const negate = op.startsWith('Not');
  const base = negate ? op.slice(3) : op;
  // null (missing) orders before every value (turbopuffer: Lt / Lte match nulls unless the operand is null).
  const less = (a: unknown, b: unknown, strict: boolean): boolean => {
    if (a === null || b === null) return strict ? a === null && b !== null : a === null;
    return typeof a === typeof b && (strict ? (a as number) < (b as number) : (a as number) <= (b as number));
  };
  let r: boolean;
  switch (base) {
    case 'Eq':
      if (x === null) r = v === null;
      else if (Array.isArray(x)) r = Array.isArray(v) && JSON.stringify(v) === JSON.stringify(x);
      else r = elems.includes(x);
      break;
    case 'In':
      r = (x as unknown[]).some((e) => (e === null ? v === null : elems.includes(e)));
      break;
    case 'Contains':
      r = x !== null && elems.includes(x);
      break;
    case 'ContainsAny':
      r = (x as unknown[]).some((e) => elems.includes(e));
      break;
    case 'Lt':
    case 'Lte':
    case 'Gt':
    case 'Gte':
    case 'AnyLt':
    case 'AnyLte':
    case 'AnyGt':
    case 'AnyGte': {
      const o = base.replace('Any', '');
      const test = (e: unknown): boolean =>
        o === 'Lt' ? less(e, x, true) : o === 'Lte' ? less(e, x, false) : o === 'Gt' ? less(x, e, true) : less(x, e, false);
      // Any*: "the same rules as Lt" — a missing array compares as null; an empty one has no element.
      r = base.startsWith('Any') ? (v === null ? test(null) : elems.some(test)) : !Array.isArray(v) && test(v);
      break;
    }
    case 'Glob':
      r = elems.some((e) => typeof e === 'string' && refGlob(x as string, e));
      break;
    case 'IGlob':
      r = elems.some((e) => typeof e === 'string' && refGlob((x as string).toLowerCase(), e.toLowerCase()));
      break;
    case 'Regex':
      r = elems.some((e) => typeof e === 'string' && new RegExp(x as string).test(e));
      break;
    case 'ContainsAllTokens':
    case 'ContainsAnyToken':
    case 'ContainsTokenSequence': {
      const q = words(x as string);
      const d = typeof v === 'string' ? words(v) : [];
      if (q.length === 0) r = false;
      else if (base === 'ContainsAllTokens') r = q.every((w) => d.includes(w));
      else if (base === 'ContainsAnyToken') r = q.some((w) => d.includes(w));
      else r = d.some((_, i) => q.every((w, j) => d[i + j] === w));
      break;
    }
    default:
      throw new Error(`reference does not know ${op}`);
  }
  return negate ? !r : r;
}

describe('compileFilter vs reference evaluator', () => {
  it('should agree on random documents and filters', () => {
    fc.assert(
      fc.property(filterArb, fc.array(docArb, { minLength: 1, maxLength: 8 }), docArb, (filter, docs, newDoc) => {
        const compiled = compileFilter(filter, schema, { allowRefNew: true });
        for (const d of docs) expect(compiled(d, newDoc)).toBe(evalRef(filter as unknown[], d, newDoc));
      }),
      { numRuns: 2000 },
    );
  });
});
