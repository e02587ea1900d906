import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob, GlobSyntaxError } from './index.js';

/**
 * Reference glob matcher: direct backtracking over code points, written independently of glob.ts
 * (which translates to RegExp with fast paths).
 */
function refGlob(pattern: string, value: string, ci: boolean): boolean {
  const p = Array.from(pattern);
  const v = Array.from(ci ? value.toLowerCase() : value);
  const eq = (a: string, b: string): boolean => (ci ? a.toLowerCase() === b.toLowerCase() : a === b);
  // Returns [matches(ch), next index] for the class starting at p[i] === '['.
  const cls = (i: number, ch: string): [boolean, number] => {
    let j = i + 1;
    let neg = false;
    if (p[j] === '!' || p[j] === '^') {
      neg = true;
      j++;
    }
    let hit = false;
    let first = true;
    while (p[j] !== ']' || first) {
      first = false;
      let lo = p[j]!;
      if (lo === '\\') lo = p[++j]!;
      if (p[j + 1] === '-' && p[j + 2] !== undefined && p[j + 2] !== ']') {
        let hi = p[j + 2]!;
        let adv = 3;
        if (hi === '\\') {
          hi = p[j + 3]!;
          adv = 4;
        }
        const inRange = (x: string): boolean => x.codePointAt(0)! >= lo.codePointAt(0)! && x.codePointAt(0)! <= hi.codePointAt(0)!;
        if (inRange(ch) || (ci && (inRange(ch.toUpperCase()) || inRange(ch.toLowerCase())))) hit = true;
        j += adv;
      } else {
        if (eq(lo, ch)) hit = true;
        j++;
      }
    }
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
    if (c === '\\') return eq(p[i + 1]!, v[k]!) && go(i + 2, k + 1);
    return eq(c, v[k]!) && go(i + 1, k + 1);
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

describe('compileGlob', () => {
  it('should handle the documented syntax', () => {
    const m = (p: string, s: string, ci = false): boolean => compileGlob(p, ci)(s);
    expect(m('a*', 'abc')).toBe(true);
    expect(m('a*', 'bac')).toBe(false);
    expect(m('*', '')).toBe(true);
    expect(m('a?c', 'abc')).toBe(true);
    expect(m('a?c', 'ac')).toBe(false);
    expect(m('[a-c]x', 'bx')).toBe(true);
    expect(m('[!a-c]x', 'bx')).toBe(false);
    expect(m('[^a-c]x', 'dx')).toBe(true);
    expect(m('[]]', ']')).toBe(true);
    expect(m('a\\*', 'a*')).toBe(true);
    expect(m('a\\*', 'ab')).toBe(false);
    expect(m('*.txt', 'dir/file.txt')).toBe(true); // * crosses '/'
    expect(m('(a|b)+', '(a|b)+')).toBe(true); // RegExp metacharacters are literal
    expect(m('?', '😀')).toBe(true); // one code point
    expect(m('ÄB*', 'äbc', true)).toBe(true);
    expect(m('*mid*', 'a mid b')).toBe(true);
    expect(m('*end', 'the end')).toBe(true);
    expect(m('exact', 'exact!')).toBe(false);
  });

  it('should agree with a reference matcher on random patterns and values', () => {
    const alphabet = fc.constantFrom('a', 'b', 'A', '-', '/', '.', 'é', '😀');
    const patChar = fc.constantFrom('a', 'b', 'A', '-', '.', 'é', '😀', '*', '?', '[', ']', '!', '^', '\\');
    fc.assert(
      fc.property(fc.array(patChar, { maxLength: 8 }), fc.array(alphabet, { maxLength: 8 }), fc.boolean(), (pc, vc, ci) => {
        const pattern = pc.join('');
        fc.pre(isValid(pattern));
        const value = vc.join('');
        expect(compileGlob(pattern, ci)(value)).toBe(refGlob(pattern, value, ci));
      }),
      { numRuns: 3000 },
    );
  });
});
