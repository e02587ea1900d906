import { describe, expect, it } from 'vitest';
import type { Doc, Schema } from '../core/index.js';
import { normalizeFullTextConfig } from '../fts/index.js';
import { compileFilter, filterAttributes } from './index.js';

const fts = normalizeFullTextConfig(true, 'text');
const schema: Schema = {
  id: { type: 'uint' },
  name: { type: 'string' },
  n: { type: 'int' },
  price: { type: 'float' },
  ok: { type: 'bool' },
  tags: { type: '[]string' },
  nums: { type: '[]int' },
  owner: { type: 'uuid' },
  at: { type: 'datetime' },
  ats: { type: '[]datetime' },
  text: { type: 'string', full_text_search: fts },
  ftext: { type: 'string', full_text_search: fts, filterable: true },
  lines: { type: '[]string', full_text_search: fts },
  toks: { type: '[]string', full_text_search: { ...fts, tokenizer: 'pre_tokenized_array' } },
  vector: { type: '[3]f32' },
};

const U1 = '3d7a7296-3d6a-4796-8fb0-f90406b1f621';
const docs: Doc[] = [
  {
    id: 1,
    vector: null,
    attrs: {
      name: 'apple pie', n: 3, price: 1.5, ok: true, tags: ['red', 'fruit'], nums: [1, 5, 10], owner: U1,
      at: '2024-01-01T00:00:00.000Z', ats: ['2023-06-01T00:00:00.000Z'], text: 'The quick brown fox jumps over the lazy dog',
      ftext: 'Hello World', lines: ['new york', 'city of light'], toks: ['new', 'york', 'city'],
    },
  },
  {
    id: 2,
    vector: null,
    attrs: { name: 'Banana', n: 10, price: 0.25, ok: false, tags: ['yellow', 'fruit'], nums: [20], at: '2024-06-01T12:00:00.000Z', text: 'lazy dogs sleep all day' },
  },
  { id: 3, vector: null, attrs: { name: null, tags: [], text: 'the' } },
];

function ids(filter: unknown, refNew?: Doc): unknown[] {
  const f = compileFilter(filter, schema, { allowRefNew: true });
  return docs.filter((d) => f(d, refNew)).map((d) => d.id);
}

describe('compileFilter: null and missing values', () => {
  it('should match everything for a null or undefined filter', () => {
    expect(ids(null)).toEqual([1, 2, 3]);
    expect(ids(undefined)).toEqual([1, 2, 3]);
  });
  it('should treat Eq null as missing-or-null and NotEq null as present', () => {
    expect(ids(['name', 'Eq', null])).toEqual([3]);
    expect(ids(['name', 'NotEq', null])).toEqual([1, 2]);
    expect(ids(['n', 'Eq', null])).toEqual([3]); // absent attribute
  });
  it('should make every Not* operator the exact negation (missing values included)', () => {
    expect(ids(['n', 'NotEq', 3])).toEqual([2, 3]);
    expect(ids(['n', 'NotIn', [3, 10]])).toEqual([3]);
    expect(ids(['tags', 'NotContains', 'fruit'])).toEqual([3]);
    expect(ids(['name', 'NotGlob', 'apple*'])).toEqual([2, 3]);
  });
  // turbopuffer: Lt "matches `null` attribute values unless the value passed to `Lt` is `null` itself"; Lte "matches
  // `null` attribute values". null orders before every value, so Gt / Gte never match it for a non-null operand.
  it('should match missing values with Lt / Lte and never with Gt / Gte', () => {
    expect(ids(['n', 'Gte', -1e9])).toEqual([1, 2]);
    expect(ids(['n', 'Gt', -1e9])).toEqual([1, 2]);
    expect(ids(['n', 'Lt', 1e9])).toEqual([1, 2, 3]);
    expect(ids(['n', 'Lt', -1e9])).toEqual([3]);
    expect(ids(['n', 'Lte', 3])).toEqual([1, 3]);
    expect(ids(['name', 'Lt', 'B'])).toEqual([3]); // name: null
    expect(ids(['at', 'Lte', '2024-01-01T00:00:00Z'])).toEqual([1, 3]);
  });
  it('should order a null operand before every value', () => {
    expect(ids(['n', 'Lt', null])).toEqual([]);
    expect(ids(['n', 'Lte', null])).toEqual([3]);
    expect(ids(['n', 'Gt', null])).toEqual([1, 2]);
    expect(ids(['n', 'Gte', null])).toEqual([1, 2, 3]);
  });
  it('should apply the same rules to AnyLt / AnyLte on a missing array, not to an empty one', () => {
    // nums: [1, 5, 10], [20], missing; ats: one element, missing, missing; tags of 3 is [].
    expect(ids(['nums', 'AnyLt', 2])).toEqual([1, 3]);
    expect(ids(['nums', 'AnyLte', null])).toEqual([3]);
    expect(ids(['nums', 'AnyLt', null])).toEqual([]);
    expect(ids(['nums', 'AnyGte', null])).toEqual([1, 2, 3]);
    expect(ids(['nums', 'AnyGt', 15])).toEqual([2]);
    expect(ids(['tags', 'AnyLt', 'zzz'])).toEqual([1, 2]);
    expect(ids(['tags', 'AnyGte', null])).toEqual([1, 2]);
  });
  it('should make Not Lt exactly Gte and Not Lte exactly Gt, missing values included', () => {
    for (const x of [-1e9, 3, 10, 1e9, null]) {
      expect(ids(['Not', ['n', 'Lt', x]])).toEqual(ids(['n', 'Gte', x]));
      expect(ids(['Not', ['n', 'Lte', x]])).toEqual(ids(['n', 'Gt', x]));
    }
  });
});

describe('compileFilter: equality and membership', () => {
  it('Eq compares scalars exactly (type included)', () => {
    expect(ids(['n', 'Eq', 3])).toEqual([1]);
    expect(ids(['name', 'Eq', 'banana'])).toEqual([]); // case-sensitive
    expect(ids(['ok', 'Eq', false])).toEqual([2]);
    expect(ids(['id', 'Eq', 2])).toEqual([2]);
  });
  it('Eq with a scalar on an array attribute matches any element; with an array, the whole array', () => {
    expect(ids(['tags', 'Eq', 'fruit'])).toEqual([1, 2]);
    expect(ids(['tags', 'Eq', ['red', 'fruit']])).toEqual([1]);
    expect(ids(['tags', 'Eq', ['fruit', 'red']])).toEqual([]);
    expect(ids(['tags', 'Eq', []])).toEqual([3]);
  });
  it('In matches values in the list; on arrays any element; null in the list matches missing', () => {
    expect(ids(['n', 'In', [10, 11]])).toEqual([2]);
    expect(ids(['tags', 'In', ['red', 'blue']])).toEqual([1]);
    expect(ids(['n', 'In', [3, null]])).toEqual([1, 3]);
    expect(ids(['n', 'In', []])).toEqual([]);
    expect(ids(['id', 'In', [1, 3]])).toEqual([1, 3]);
  });
  it('Contains / ContainsAny test array membership', () => {
    expect(ids(['tags', 'Contains', 'yellow'])).toEqual([2]);
    expect(ids(['nums', 'Contains', 5])).toEqual([1]);
    expect(ids(['tags', 'ContainsAny', ['yellow', 'red']])).toEqual([1, 2]);
    expect(ids(['tags', 'NotContainsAny', ['yellow', 'red']])).toEqual([3]);
    expect(ids(['nums', 'ContainsAny', []])).toEqual([]);
  });
  it('normalises UUID operands to the stored lowercase form', () => {
    expect(ids(['owner', 'Eq', U1.toUpperCase()])).toEqual([1]);
    expect(ids(['owner', 'In', [U1.replace(/-/g, '')]])).toEqual([1]);
  });
});

describe('compileFilter: ordering', () => {
  it('Lt/Lte/Gt/Gte compare numbers with boundaries exact', () => {
    // Document 3 has no n: Lt and Lte match it (null is the least value), Gt and Gte do not.
    expect(ids(['n', 'Lt', 10])).toEqual([1, 3]);
    expect(ids(['n', 'Lte', 10])).toEqual([1, 2, 3]);
    expect(ids(['n', 'Gt', 3])).toEqual([2]);
    expect(ids(['n', 'Gte', 3])).toEqual([1, 2]);
    expect(ids(['price', 'Gt', 0.25])).toEqual([1]);
    expect(ids(['n', 'Lt', 3.5])).toEqual([1, 3]); // a float bound on an int attribute
  });
  it('compares strings lexicographically and ids numerically', () => {
    expect(ids(['name', 'Gt', 'Banana'])).toEqual([1]); // 'a' (97) sorts after 'B' (66)
    expect(ids(['name', 'Lt', 'a'])).toEqual([2, 3]);
    expect(ids(['name', 'Gte', 'Banana'])).toEqual([1, 2]);
    expect(ids(['id', 'Gte', 2])).toEqual([2, 3]);
  });
  it('normalises datetime operands (ISO strings in any zone, epoch ms) before comparing', () => {
    expect(ids(['at', 'Gte', '2024-01-01T00:00:00Z'])).toEqual([1, 2]);
    expect(ids(['at', 'Gt', '2024-01-01T01:00:00+02:00'])).toEqual([1, 2]); // = 2023-12-31T23:00Z
    expect(ids(['at', 'Lt', Date.UTC(2024, 2, 1)])).toEqual([1, 3]);
    expect(ids(['at', 'Eq', '2024-06-01T12:00:00Z'])).toEqual([2]);
  });
  it('Any* operators match when any element satisfies the comparison', () => {
    expect(ids(['nums', 'AnyLt', 5])).toEqual([1, 3]); // 3 has no nums: null is less
    expect(ids(['nums', 'AnyLte', 1])).toEqual([1, 3]);
    expect(ids(['nums', 'AnyGt', 10])).toEqual([2]);
    expect(ids(['nums', 'AnyGte', 10])).toEqual([1, 2]);
    expect(ids(['nums', 'AnyGt', 20])).toEqual([]);
    expect(ids(['ats', 'AnyLt', '2024-01-01'])).toEqual([1, 2, 3]); // only 1 has ats
  });
});

describe('compileFilter: patterns', () => {
  it('Glob is anchored and case-sensitive; IGlob ignores case', () => {
    expect(ids(['name', 'Glob', 'apple*'])).toEqual([1]);
    expect(ids(['name', 'Glob', 'pie'])).toEqual([]);
    expect(ids(['name', 'Glob', '*pie'])).toEqual([1]);
    expect(ids(['name', 'Glob', 'b*'])).toEqual([]);
    expect(ids(['name', 'IGlob', 'b*'])).toEqual([2]);
    expect(ids(['name', 'NotIGlob', 'B?NANA'])).toEqual([1, 3]);
    expect(ids(['name', 'Glob', '[AB]anana'])).toEqual([2]);
    expect(ids(['name', 'Glob', '[!B]*'])).toEqual([1]);
  });
  it('Glob on an array attribute matches any element', () => {
    expect(ids(['tags', 'Glob', 'yel*'])).toEqual([2]);
  });
  it('Regex searches (unanchored) with Rust syntax and inline flags', () => {
    expect(ids(['name', 'Regex', 'pl+e'])).toEqual([1]);
    expect(ids(['name', 'Regex', '^ban'])).toEqual([]);
    expect(ids(['name', 'Regex', '(?i)^ban'])).toEqual([2]);
    expect(ids(['name', 'Regex', '^(?i:B)an'])).toEqual([2]);
    expect(ids(['tags', 'Regex', '^(red|yel+ow)$'])).toEqual([1, 2]);
  });
  it('Glob supports {a,b} alternation', () => {
    expect(ids(['name', 'Glob', '{apple,Banana}*'])).toEqual([1, 2]);
    expect(ids(['name', 'IGlob', '{APPLE,x} pie'])).toEqual([1]);
  });
});

describe('compileFilter: token operators', () => {
  it('ContainsAllTokens analyses both sides (case, stop words)', () => {
    expect(ids(['text', 'ContainsAllTokens', 'LAZY the dog'])).toEqual([1]);
    expect(ids(['text', 'ContainsAllTokens', 'lazy dogs'])).toEqual([2]);
    expect(ids(['text', 'ContainsAllTokens', ['fox', 'jumps']])).toEqual([1]);
  });
  it('ContainsAnyToken matches any token; last_as_prefix treats the last word as a prefix', () => {
    expect(ids(['text', 'ContainsAnyToken', 'fox sleep'])).toEqual([1, 2]);
    expect(ids(['text', 'ContainsAnyToken', 'do'])).toEqual([]);
    expect(ids(['text', 'ContainsAnyToken', 'do', { last_as_prefix: true }])).toEqual([1, 2]);
    expect(ids(['text', 'ContainsAllTokens', 'lazy sle', { last_as_prefix: true }])).toEqual([2]);
  });
  it('an operand with no tokens after analysis matches nothing', () => {
    expect(ids(['text', 'ContainsAllTokens', 'the'])).toEqual([]);
    expect(ids(['text', 'ContainsAnyToken', '...'])).toEqual([]);
  });
  it('ContainsTokenSequence needs the tokens adjacent and in order', () => {
    expect(ids(['text', 'ContainsTokenSequence', 'brown fox'])).toEqual([1]);
    expect(ids(['text', 'ContainsTokenSequence', 'fox brown'])).toEqual([]);
    expect(ids(['text', 'ContainsTokenSequence', 'quick fox'])).toEqual([]);
    expect(ids(['text', 'ContainsTokenSequence', 'brown fo', { last_as_prefix: true }])).toEqual([1]);
  });
  it('a token sequence never spans two []string elements', () => {
    expect(ids(['lines', 'ContainsTokenSequence', 'new york'])).toEqual([1]);
    expect(ids(['lines', 'ContainsTokenSequence', 'york city'])).toEqual([]);
    expect(ids(['lines', 'ContainsAllTokens', 'york city'])).toEqual([1]);
  });
  it('pre_tokenized_array attributes use the array as tokens', () => {
    expect(ids(['toks', 'ContainsTokenSequence', ['york', 'city']])).toEqual([1]);
    expect(ids(['toks', 'ContainsAllTokens', ['York']])).toEqual([]); // as-is, no case folding
  });
  it('filterable full-text attributes also accept value operators', () => {
    expect(ids(['ftext', 'Eq', 'Hello World'])).toEqual([1]);
    expect(ids(['ftext', 'ContainsAnyToken', 'hello'])).toEqual([1]);
  });
});

describe('compileFilter: logic', () => {
  it('And / Or / Not combine, with empty And = all and empty Or = none', () => {
    expect(ids(['And', [['n', 'Gt', 1], ['tags', 'Contains', 'fruit']]])).toEqual([1, 2]);
    expect(ids(['And', [['n', 'Gt', 1], ['tags', 'Contains', 'red'], ['ok', 'Eq', true]]])).toEqual([1]);
    expect(ids(['Or', [['n', 'Eq', 3], ['name', 'Eq', null]]])).toEqual([1, 3]);
    expect(ids(['Or', [['n', 'Eq', 3], ['n', 'Eq', 10], ['n', 'Eq', 99]]])).toEqual([1, 2]);
    expect(ids(['Not', ['Or', [['n', 'Eq', 3], ['name', 'Eq', null]]]])).toEqual([2]);
    expect(ids(['And', []])).toEqual([1, 2, 3]);
    expect(ids(['Or', []])).toEqual([]);
  });
  it('treats ["Not", "Eq", x] as a condition on an attribute named Not', () => {
    const s: Schema = { Not: { type: 'int' } };
    const f = compileFilter(['Not', 'Eq', 1], s);
    expect(f({ id: 1, vector: null, attrs: { Not: 1 } })).toBe(true);
    expect(f({ id: 1, vector: null, attrs: { Not: 2 } })).toBe(false);
  });
});

describe('compileFilter: $ref_new', () => {
  const newDoc = (attrs: Doc['attrs'], id = 9): Doc => ({ id, vector: null, attrs });
  it('compares with the new document value', () => {
    expect(ids(['n', 'Lt', { $ref_new: 'n' }], newDoc({ n: 5 }))).toEqual([1, 3]);
    expect(ids(['n', 'Eq', { $ref_new: 'n' }], newDoc({ n: 10 }))).toEqual([2]);
    expect(ids(['id', 'Eq', { $ref_new: 'id' }], newDoc({}, 2))).toEqual([2]);
  });
  it('reads a missing new value (or no new document) as null', () => {
    expect(ids(['n', 'Eq', { $ref_new: 'n' }], newDoc({}))).toEqual([3]);
    expect(ids(['n', 'Lt', { $ref_new: 'n' }])).toEqual([]); // a null operand: Lt matches nothing
    expect(ids(['n', 'Lte', { $ref_new: 'n' }])).toEqual([3]); // Lte null: the nulls
    expect(ids(['n', 'Lt', { $ref_new: 'n' }], newDoc({ n: 4 }))).toEqual([1, 3]); // a missing n is less
  });
  it('works inside In lists, as a whole In list, and for patterns and tokens', () => {
    expect(ids(['n', 'In', [{ $ref_new: 'n' }, 3]], newDoc({ n: 10 }))).toEqual([1, 2]);
    expect(ids(['tags', 'In', { $ref_new: 'tags' }], newDoc({ tags: ['yellow'] }))).toEqual([2]);
    expect(ids(['name', 'Glob', { $ref_new: 'name' }], newDoc({ name: 'app*' }))).toEqual([1]);
    expect(ids(['text', 'ContainsAllTokens', { $ref_new: 'name' }], newDoc({ name: 'lazy fox' }))).toEqual([1]);
  });
});

describe('filterAttributes', () => {
  it('lists attributes read from stored docs, once, without id or $ref_new targets', () => {
    expect(
      filterAttributes(['And', [['n', 'Gt', 1], ['Or', [['tags', 'Contains', 'x'], ['Not', ['n', 'Eq', { $ref_new: 'm' }]]]], ['id', 'Eq', 1]]]),
    ).toEqual(['n', 'tags']);
    expect(filterAttributes(null)).toEqual([]);
    expect(filterAttributes(['And', 'garbage'])).toEqual([]);
  });
});
