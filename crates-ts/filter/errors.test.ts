import { describe, expect, it } from 'vitest';
import { isElaxError, type Schema } from '../core/index.js';
import { normalizeFullTextConfig } from '../fts/index.js';
import {
  compileFilter, MAX_FILTER_DEPTH, MAX_FILTER_NODES, MAX_OPERAND_VALUES, MAX_PATTERN_BYTES, MAX_PATTERN_CONDITIONS,
} from './index.js';

const schema: Schema = {
  id: { type: 'uuid' },
  name: { type: 'string' },
  n: { type: 'int' },
  ok: { type: 'bool' },
  tags: { type: '[]string' },
  at: { type: 'datetime' },
  body: { type: 'string', full_text_search: normalizeFullTextConfig(true, 'body') },
  hidden: { type: 'string', filterable: false },
  vector: { type: '[4]f32' },
};

/** The error message compileFilter throws; fails the test if it does not throw an INVALID_FILTER ElaxError. */
function errorOf(filter: unknown, s: Schema = schema, path?: string, allowRefNew = true): string {
  try {
    compileFilter(filter, s, path === undefined ? { allowRefNew } : { path, allowRefNew });
  } catch (e) {
    expect(isElaxError(e, 'ELAX_ERR_INVALID_FILTER')).toBe(true);
    expect((e as { status: number }).status).toBe(400);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(filter)} to be rejected`);
}

describe('compileFilter errors', () => {
  it('should reject non-array filters and say what a filter looks like', () => {
    expect(errorOf('name = x')).toMatch(/^invalid filter at filters: expected a filter array like \["attr", "Eq", value\]/);
    expect(errorOf({ name: ['Eq', 1] })).toMatch(/expected a filter array/);
  });

  it('should name the unknown operator, the attribute and the path, and list valid operators', () => {
    const m = errorOf(['And', [['n', 'Eq', 1], ['Or', [['name', 'Equals', 'x']]]]]);
    expect(m).toContain('filters[1][1][1][0]');
    expect(m).toContain("unknown filter operator 'Equals' on attribute 'name'");
    expect(m).toContain('ContainsTokenSequence');
  });

  it('should use the caller-given root name in the path', () => {
    expect(errorOf(['n', 'Lt', 'x'], schema, 'upsert_condition')).toMatch(/^invalid filter at upsert_condition: Lt on attribute 'n'/);
  });

  it('should reject wrong arity', () => {
    expect(errorOf(['n', 'Eq'])).toMatch(/Eq takes \["n", "Eq", value\], got 2 elements/);
    expect(errorOf(['n', 'Eq', 1, 2])).toMatch(/got 4 elements/);
    expect(errorOf(['And', [['n', 'Eq', 1]], 'extra'])).toMatch(/filters:/);
    expect(errorOf(['Or'])).toMatch(/Or takes a list of filters/);
    expect(errorOf(['Not', ['n', 'Eq', 1], 2])).toMatch(/filters/);
  });

  it('should reject operand types that do not match the schema type, naming expected and got', () => {
    expect(errorOf(['n', 'Eq', 'five'])).toBe(`invalid filter at filters: Eq on attribute 'n': expected a number, got string "five"`);
    expect(errorOf(['name', 'Gt', 5])).toMatch(/Gt on attribute 'name': expected a string, got integer 5/);
    expect(errorOf(['ok', 'Eq', 1])).toMatch(/expected a boolean/);
    expect(errorOf(['id', 'Eq', 'not-a-uuid'])).toMatch(/Eq on attribute 'id': expected a UUID/);
    expect(errorOf(['at', 'Gt', '2024-13-45'])).toMatch(/expected an ISO 8601 datetime/);
    expect(errorOf(['n', 'In', [1, 'two']])).toMatch(/In on attribute 'n': element 1: expected a number, got string "two"/);
    expect(errorOf(['n', 'In', 3])).toMatch(/In on attribute 'n': needs an array of values/);
    expect(errorOf(['tags', 'Contains', null])).toMatch(/Contains on attribute 'tags': needs a value, got null/); // (Lt null is valid: null orders first)
    expect(errorOf(['n', 'Eq', [1, 2]])).toMatch(/scalar .* use In/);
  });

  it('should reject operators that do not fit the attribute shape', () => {
    expect(errorOf(['n', 'Contains', 1])).toMatch(/Contains on attribute 'n': needs an array attribute.*use Eq/);
    expect(errorOf(['n', 'AnyLt', 1])).toMatch(/use Lt/);
    expect(errorOf(['tags', 'Lt', 'x'])).toMatch(/use AnyLt/);
    expect(errorOf(['ok', 'Lt', true])).toMatch(/bool attributes cannot be ordered/);
    expect(errorOf(['n', 'Glob', '1*'])).toMatch(/Glob on attribute 'n': needs a string attribute/);
    expect(errorOf(['vector', 'Eq', 1])).toMatch(/vector attributes cannot be filtered/);
  });

  it('should reject unknown attributes by default, and evaluate them as missing when asked', () => {
    expect(errorOf(['stauts', 'NotEq', 'x'])).toMatch(/NotEq on attribute 'stauts': attribute 'stauts' is not in the namespace schema/);
    const f = compileFilter(['stauts', 'Eq', null], schema, { unknownAttributes: 'null' });
    expect(f({ id: 'a', vector: null, attrs: { name: 'x' } })).toBe(true);
    const g = compileFilter(['stauts', 'Eq', 'x'], schema, { unknownAttributes: 'null' });
    expect(g({ id: 'a', vector: null, attrs: {} })).toBe(false);
  });

  it('should reject value operators on non-filterable attributes and token operators without full_text_search', () => {
    expect(errorOf(['body', 'Eq', 'x'])).toMatch(/not filterable \(full-text search attributes/);
    expect(errorOf(['hidden', 'Eq', 'x'])).toMatch(/not filterable \(schema has filterable: false\)/);
    expect(errorOf(['name', 'ContainsAllTokens', 'x'])).toMatch(/ContainsAllTokens on attribute 'name': token operators need full_text_search/);
  });

  it('should validate token operator operands and params', () => {
    expect(errorOf(['body', 'ContainsAllTokens', 5])).toMatch(/needs a string or an array of strings, got integer 5/);
    expect(errorOf(['body', 'ContainsAnyToken', 'x', { prefix: true }])).toMatch(/unknown param 'prefix'; valid params: last_as_prefix/);
    expect(errorOf(['body', 'ContainsAnyToken', 'x', { last_as_prefix: 'yes' }])).toMatch(/last_as_prefix must be a boolean/);
  });

  it('should reject invalid regexes and globs with 400', () => {
    expect(errorOf(['name', 'Regex', 'a(b'])).toMatch(/Regex on attribute 'name': invalid regular expression "a\(b"/);
    expect(errorOf(['name', 'Regex', '(?z)a'])).toMatch(/inline flag '\(\?z'/);
    expect(errorOf(['name', 'Regex', '(a)\\1'])).toMatch(/Regex on attribute 'name': unsupported regular expression "\(a\)\\\\1": backreferences/);
    expect(errorOf(['name', 'Regex', 'a(?=b)'])).toMatch(/lookahead \(\?=\.\.\.\) is not supported/);
    expect(errorOf(['name', 'Regex', '(?<!a)b'])).toMatch(/lookbehind \(\?<!\.\.\.\) is not supported/);
    expect(errorOf(['name', 'Glob', 'a[bc'])).toMatch(/invalid glob pattern "a\[bc": unclosed '\['/);
    expect(errorOf(['name', 'Glob', '[z-a]'])).toMatch(/reversed range/);
    expect(errorOf(['name', 'IGlob', 'abc\\'])).toMatch(/escaping backslash/);
    expect(errorOf(['name', 'Glob', '{a,b'])).toMatch(/'\{' without a matching '\}'/);
    expect(errorOf(['name', 'Glob', 'a}'])).toMatch(/'\}' without a matching '\{'/);
  });

  it('should validate $ref_new operands', () => {
    expect(errorOf(['n', 'Eq', { $ref: 'n' }])).toMatch(/an object operand must be \{"\$ref_new": "attribute"\}/);
    expect(errorOf(['n', 'Eq', { $ref_new: 'nope' }])).toMatch(/\$ref_new attribute 'nope' is not in the namespace schema/);
    expect(errorOf(['n', 'Lt', { $ref_new: 'name' }])).toMatch(/cannot compare int with \$ref_new attribute 'name' of type string/);
    expect(errorOf(['n', 'Lt', { $ref_new: 'tags' }])).toMatch(/filters: Lt on attribute 'n'/);
  });

  it('should reject $ref_new unless the caller allows it (write conditions), naming the operand', () => {
    const m = errorOf(['name', 'Eq', { $ref_new: 'name' }], schema, undefined, false);
    expect(m).toBe(
      `invalid filter at filters: Eq on attribute 'name': {"$ref_new": "name"} refers to the document being written and is only valid in upsert_condition, patch_condition and delete_condition`,
    );
    expect(errorOf(['n', 'In', [1, { $ref_new: 'n' }]], schema, undefined, false)).toMatch(/In on attribute 'n': \{"\$ref_new": "n"\}/);
    expect(errorOf(['name', 'Glob', { $ref_new: 'name' }], schema, 'delete_by_filter', false)).toMatch(/^invalid filter at delete_by_filter: Glob/);
    expect(() => compileFilter(['name', 'Eq', { $ref_new: 'name' }], schema, { allowRefNew: true })).not.toThrow();
  });

  it('should bound nesting depth', () => {
    let f: unknown = ['n', 'Eq', 1];
    for (let i = 0; i <= MAX_FILTER_DEPTH + 1; i++) f = ['Not', f];
    expect(errorOf(f)).toMatch(/nest deeper than 64 levels/);
  });

  it('should bound the number of nodes, naming the limit and the actual count', () => {
    const at = (n: number) => ['Or', Array.from({ length: n - 1 }, (_, i) => ['n', 'Eq', i])];
    expect(() => compileFilter(at(MAX_FILTER_NODES), schema)).not.toThrow();
    expect(errorOf(at(MAX_FILTER_NODES + 1))).toBe(
      `invalid filter at filters: the filter has ${MAX_FILTER_NODES + 1} nodes (conditions, And, Or, Not); the limit is ${MAX_FILTER_NODES}`,
    );
    // Nodes count at every level: And, the Or and its 4094 conditions, Not and its condition.
    expect(errorOf(['And', [at(MAX_FILTER_NODES - 1), ['Not', ['n', 'Eq', 1]]]])).toMatch(new RegExp(`has ${MAX_FILTER_NODES + 2} nodes`));
  });

  it('should bound the number of Regex/Glob conditions', () => {
    const pats = (n: number) => ['Or', Array.from({ length: n }, (_, i) => ['name', i % 2 ? 'Regex' : 'NotIGlob', `x${i}*`])];
    expect(() => compileFilter(pats(MAX_PATTERN_CONDITIONS), schema)).not.toThrow();
    expect(errorOf(pats(MAX_PATTERN_CONDITIONS + 1), schema, 'patch_by_filter.filters')).toBe(
      `invalid filter at patch_by_filter.filters: the filter has ${MAX_PATTERN_CONDITIONS + 1} Regex/Glob/Fuzzy conditions; the limit is ${MAX_PATTERN_CONDITIONS}`,
    );
  });

  it('should bound pattern length in bytes', () => {
    const ok = 'é'.repeat(MAX_PATTERN_BYTES / 2);
    expect(() => compileFilter(['name', 'Regex', ok], schema)).not.toThrow();
    expect(errorOf(['name', 'Regex', `${ok}a`])).toMatch(new RegExp(`pattern is ${MAX_PATTERN_BYTES + 1} bytes long; patterns are limited to ${MAX_PATTERN_BYTES} bytes`));
    expect(errorOf(['name', 'Glob', 'a'.repeat(1 << 20)])).toMatch(
      new RegExp(`Glob on attribute 'name': invalid glob pattern "a{77}\\.\\.\\.": the pattern is 1048576 characters long; patterns are limited to ${MAX_PATTERN_BYTES} bytes`),
    );
  });

  it('should bound array operands', () => {
    const big = Array.from({ length: MAX_OPERAND_VALUES + 1 }, (_, i) => i);
    expect(() => compileFilter(['n', 'In', big.slice(1)], schema)).not.toThrow();
    expect(errorOf(['n', 'NotIn', big])).toBe(
      `invalid filter at filters: NotIn on attribute 'n': the operand has ${MAX_OPERAND_VALUES + 1} values; the limit is ${MAX_OPERAND_VALUES}`,
    );
    expect(errorOf(['tags', 'ContainsAny', big.map(String)])).toMatch(/ContainsAny on attribute 'tags': the operand has 100001 values/);
  });
});
