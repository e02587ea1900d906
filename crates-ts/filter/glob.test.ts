import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob, GlobSyntaxError } from './index.js';

const m = (p: string, s: string, ci = false): boolean => compileGlob(p, ci)(s);

describe('compileGlob: globset syntax and semantics', () => {
  // [glob, value, matches] — expected answers from globset's documentation and its test suite (default options:
  // literal_separator off, backslash_escape on, empty_alternates off).
  const cases: Array<[string, string, boolean]> = [
    ['a*', 'abc', true],
    ['a*', 'bac', false],
    ['*', '', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['?', '😀', true], // one character (code point)
    ['?', '\n', true], // wildcards match newlines
    ['a*b', 'a\nb', true],
    ['exact', 'exact!', false],
    ['*mid*', 'a mid b', true],
    ['*end', 'the end', true],
    ['a*b*c', 'a___b___c', true],
    ['a*b*c', 'abcd', false],
    ['abc*abc*abc', 'abcabcabcabcabcabcabc', true],
    ['a*a*a*a*a*a*a*a*a', 'a'.repeat(31), true],
    ['*.rs', '.rs', true],
    ['*.txt', 'dir/file.txt', true], // * crosses '/' (literal_separator off)
    ['a?b', 'a/b', true],
    ['(a|b)+', '(a|b)+', true], // regex metacharacters are literal
    ['a.c', 'abc', false],
    // classes
    ['[a-c]x', 'bx', true],
    ['[!a-c]x', 'bx', false],
    ['[^a-c]x', 'dx', true],
    ['a[0-9]b', 'a_b', false],
    ['[a-z123]', '1', true],
    ['[]]', ']', true],
    ['[!]]', 'a', true],
    ['[-abc]', '-', true],
    ['[abc-]', '-', true],
    ['[-a-c]', 'b', true],
    ['[!-]', '-', false],
    ['[a-c-e]', 'd', true], // a '-' after a range extends it
    ['_[[]_[]]_[?]_[*]_!_', '_[_]_?_*_!_', true],
    ['[*]', 'x', false],
    ['[\\]', '\\', true], // a backslash is literal inside brackets
    ['[\\]]', '\\]', true],
    ['[{]', '{', true],
    ['[é-ë]', 'ê', true],
    // escapes
    ['a\\*', 'a*', true],
    ['a\\*', 'ab', false],
    ['\\[', '[', true],
    ['\\a', 'a', true],
    ['\\{a,b\\}', '{a,b}', true],
    // alternation
    ['{a,b}', 'a', true],
    ['{a,b}', 'b', true],
    ['{a,b}', 'c', false],
    ['{apple,date}', 'date', true],
    ['{apple,date}', 'apple', true],
    ['{apple,date}', 'appledate', false],
    ['{*.foo,*.bar,*.wat}', 'test.bar', true],
    ['{[}],foo}', '}', true],
    ['{foo}', 'foo', true],
    ['{}', '', true],
    ['{,}', '', true],
    ['foo{,.txt}', 'foo.txt', true],
    ['foo{,.txt}', 'foo', false], // empty alternatives are dropped
    ['{a,b{c,d}}', 'bc', true], // nesting
    ['{a,b{c,d}}', 'a', true],
    ['{a,b{c,d}}', 'b', false],
    ['a,b', 'a,b', true], // ',' outside braces is literal
    [',', ',', true],
    // ** next to a separator
    ['**', 'abcde', true],
    ['**', '', true],
    ['**', '/x/.asdf', true],
    ['**/test', 'test', true],
    ['**/test', 'one/two/test', true],
    ['**/foo', 'foofoo', false],
    ['/**/test', '/test', true],
    ['/**/test', 'test', false],
    ['some/**/needle.txt', 'some/needle.txt', true],
    ['some/**/needle.txt', 'some/one/two/needle.txt', true],
    ['some/**/needle.txt', 'some/other/notthis.txt', false],
    ['some/*/needle.txt', 'some/needle.txt', false],
    ['test/**', 'test/', true],
    ['test/**', 'test/one/two', true],
    ['test/**', 'test', false],
    ['{**/src/**,foo}', 'abc/src/bar', true],
    ['{**/src/**,foo}', 'foo', true],
    ['a**b', 'a/x/b', true], // elsewhere ** is * twice
  ];
  it.each(cases)('%j on %j is %s', (pattern, value, expected) => {
    expect(m(pattern, value)).toBe(expected);
  });

  it('should fold case for IGlob, Unicode included', () => {
    expect(m('ÄB*', 'äbc', true)).toBe(true);
    expect(m('{APPLE,Date}', 'apple', true)).toBe(true);
    expect(m('[A-C]x', 'bX', true)).toBe(true);
    expect(m('abc', 'ABC', false)).toBe(false);
  });

  it('should reject malformed globs', () => {
    const err = (p: string): string => {
      try {
        compileGlob(p, false);
      } catch (e) {
        expect(e).toBeInstanceOf(GlobSyntaxError);
        return (e as Error).message;
      }
      throw new Error(`expected ${JSON.stringify(p)} to be rejected`);
    };
    expect(err('a[bc')).toMatch(/unclosed '\['/);
    expect(err('[]')).toMatch(/unclosed '\['/);
    expect(err('[z-a]')).toMatch(/reversed range 'z-a'/);
    expect(err('[a--]')).toMatch(/reversed range 'a--'/);
    expect(err('abc\\')).toMatch(/escaping backslash/);
    expect(err('{a,b')).toMatch(/'\{' without a matching '\}'/);
    expect(err('{a,{b,c}')).toMatch(/'\{' without a matching '\}'/);
    expect(err('a}')).toMatch(/'\}' without a matching '\{'/);
  });

  it('should take braces nested as deep as the size limit allows', () => {
    const deep = `${'{a'.repeat(1300)}${'}'.repeat(1300)}`;
    expect(m(deep, 'a'.repeat(1300))).toBe(true);
    expect(m(deep, 'a'.repeat(1299))).toBe(false);
  });
});

describe('compileGlob: adversarial globs run in linear time', () => {
  // No timing asserts: a backtracking implementation makes these hang rather than pass.
  const many = `${'*a'.repeat(12)}*b`;
  it('should answer a dozen * against 5,000 characters', () => {
    expect(m(many, 'a'.repeat(5000))).toBe(false);
    expect(m(many, `${'a'.repeat(5000)}b`)).toBe(true);
    expect(m(many, 'a'.repeat(5000), true)).toBe(false);
    expect(m(`${'*{a,b}'.repeat(12)}*c`, 'ab'.repeat(2500))).toBe(false);
    expect(m(`${'*?'.repeat(30)}x`, 'y'.repeat(5000))).toBe(false);
  });
});

/**
 * Reference matcher, written from the documented semantics for patterns without '/', '{', '}' and ',' (so no
 * recursive ** or alternation): direct backtracking over code points, independent of glob.ts.
 */
function refGlob(pattern: string, value: string, ci: boolean): boolean {
  const p = Array.from(pattern);
  const v = Array.from(value);
  const fold = (s: string): string => (ci ? s.toLowerCase() : s);
  // [matches(ch), index after ']'] for the class starting at p[i] === '['.
  const cls = (i: number, ch: string): [boolean, number] => {
    let j = i + 1;
    const neg = p[j] === '!' || p[j] === '^';
    if (neg) j++;
    const ranges: Array<[number, number]> = [];
    let pendingDash = false;
    for (let first = true; ; first = false, j++) {
      const c = p[j]!;
      if (c === ']' && !first) break;
      if (c === '-' && !first) {
        if (pendingDash) {
          ranges[ranges.length - 1]![1] = 0x2d;
          pendingDash = false;
        } else pendingDash = true;
      } else if (pendingDash) {
        ranges[ranges.length - 1]![1] = c.codePointAt(0)!;
        pendingDash = false;
      } else ranges.push([c.codePointAt(0)!, c.codePointAt(0)!]);
    }
    if (pendingDash) ranges.push([0x2d, 0x2d]);
    const inAny = (x: string): boolean => ranges.some(([a, b]) => x.codePointAt(0)! >= a && x.codePointAt(0)! <= b);
    const hit = inAny(ch) || (ci && (inAny(ch.toLowerCase()) || inAny(ch.toUpperCase())));
    return [hit !== neg, j + 1];
  };
  const go = (i: number, k: number): boolean => {
    if (i === p.length) return k === v.length;
    const c = p[i]!;
    if (c === '*') return go(i + 1, k) || (k < v.length && go(i, k + 1));
    if (k === v.length) return false;
    if (c === '?') return go(i + 1, k + 1);
    if (c === '[') {
      const [ok, next] = cls(i, v[k]!);
      return ok && go(next, k + 1);
    }
    if (c === '\\') return fold(p[i + 1]!) === fold(v[k]!) && go(i + 2, k + 1);
    return fold(c) === fold(v[k]!) && go(i + 1, k + 1);
  };
  return go(0, 0);
}

const isValid = (p: string): boolean => {
  try {
    compileGlob(p, false);
    return true;
  } catch (e) {
    if (e instanceof GlobSyntaxError) return false;
    throw e;
  }
};

describe('compileGlob: agrees with a reference matcher', () => {
  it('should agree on random patterns and values', () => {
    const alphabet = fc.constantFrom('a', 'b', 'A', '-', '/', '.', 'é', '😀', '\n');
    const patChar = fc.constantFrom('a', 'b', 'A', '-', '.', 'é', '😀', '*', '?', '[', ']', '!', '^', '\\');
    fc.assert(
      fc.property(fc.array(patChar, { maxLength: 8 }), fc.array(alphabet, { maxLength: 8 }), fc.boolean(), (pc, vc, ci) => {
        const pattern = pc.join('');
        fc.pre(isValid(pattern));
        const value = vc.join('');
        expect(compileGlob(pattern, ci)(value), `${JSON.stringify(pattern)} on ${JSON.stringify(value)}`).toBe(refGlob(pattern, value, ci));
      }),
      { numRuns: 3000 },
    );
  });
});
